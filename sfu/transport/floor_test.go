package transport

import (
	"net"
	"testing"
)

// BenchmarkLoopbackUDPSend measures what the kernel charges for one
// 1200-byte datagram sent over loopback to a socket another goroutine
// drains: the floor under every packet the SFU forwards (one send per
// packet per subscriber), before SRTP and any RTP work. On loopback the
// sender's system call also runs the receiving side of the stack, as it
// would for the load generator on the same machine. bench/RESULTS.md
// quotes it against the per-core targets.
func BenchmarkLoopbackUDPSend(b *testing.B) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer rx.Close()
	if err := rx.SetReadBuffer(8 << 20); err != nil {
		b.Fatal(err)
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, _, err := rx.ReadFromUDP(buf); err != nil {
				return
			}
		}
	}()
	tx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Close()
	dst := rx.LocalAddr().(*net.UDPAddr)
	pkt := make([]byte, 1200)
	b.SetBytes(int64(len(pkt)))
	b.ResetTimer()
	for range b.N {
		if _, err := tx.WriteToUDP(pkt, dst); err != nil {
			b.Fatal(err)
		}
	}
}
