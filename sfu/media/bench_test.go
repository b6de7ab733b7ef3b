package media

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"parley/sfu/mediatest"
	"parley/sfu/transport"

	"github.com/pion/rtp"
)

// BenchmarkForward measures the forwarding path: one receiver layer's
// packets cached and fanned out to N downtracks, each munging and writing
// to a writer that only counts (Pion's SRTP and the socket are left out,
// so this is the engine's own cost). It reports packets in and packets
// out per second; allocs/op is per packet in.
//
//	go test -run '^$' -bench Forward -benchmem ./sfu/media/
func BenchmarkForward(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("downtracks=%d", n), func(b *testing.B) {
			r := newTestReceiver(b, vp8Params, ReceiverConfig{})
			f := newFeed(b, r, "")
			var writers []*recordingWriter
			for range n {
				d := NewDownTrack(r, DownTrackConfig{})
				ctx := newFakeContext(vp8Params, false)
				if _, err := d.Bind(ctx); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(d.Close)
				writers = append(writers, ctx.w)
			}
			payload := make([]byte, 1100)
			copy(payload, vp8Payload(true, 640, 360))
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1, Timestamp: 1000, Marker: true}, Payload: payload}
			_ = pkt.Header.SetExtension(3, []byte{1, 2})
			raw, err := pkt.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			f.r.push(f.l, raw, &f.pkt) // the keyframe that starts every downtrack
			waitWritten(writers, 1)
			raw[12+4+4] = 0x10 | 0x00 // descriptor start bit, then...
			raw[12+4+4+1] = 0x01      // ...a delta frame from here on

			b.ReportAllocs()
			b.ResetTimer()
			const batch = 64 // within every queue's size
			for i := 1; i <= b.N; i++ {
				binary.BigEndian.PutUint16(raw[2:], uint16(i))
				binary.BigEndian.PutUint32(raw[4:], uint32(1000+i*3000))
				f.r.push(f.l, raw, &f.pkt)
				if i%batch == 0 || i == b.N {
					waitWritten(writers, uint64(i+1))
				}
			}
			b.StopTimer()
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)/secs, "pkts_in/s")
			b.ReportMetric(float64(b.N*n)/secs, "pkts_out/s")
		})
	}
}

func waitWritten(writers []*recordingWriter, n uint64) {
	for _, w := range writers {
		for w.count.Load() < n {
			runtime.Gosched()
		}
	}
}

// BenchmarkForwardToPeers is BenchmarkForward through real subscriber
// connections on loopback: Pion's interceptors (transport-cc stamping,
// sender reports, the estimator), SRTP and the UDP socket. The test
// clients decrypt on the same machine, so the rate is a floor for the
// server alone.
//
//	go test -run '^$' -bench ForwardToPeers -benchmem ./sfu/media/
func BenchmarkForwardToPeers(b *testing.B) {
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("subscribers=%d", n), func(b *testing.B) {
			tr, err := transport.New(transport.Config{LoopbackOnly: true}, testLogger())
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { tr.Close() })
			r := newTestReceiver(b, vp8Params, ReceiverConfig{})
			f := newFeed(b, r, "")
			payload := make([]byte, 1100)
			copy(payload, vp8Payload(true, 640, 360))
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 1, Timestamp: 1000, Marker: true}, Payload: payload}
			raw, err := pkt.Marshal()
			if err != nil {
				b.Fatal(err)
			}
			var downs []*DownTrack
			for range n {
				pc, _, err := tr.NewSubscriber()
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { pc.Close() })
				d := NewDownTrack(r, DownTrackConfig{})
				if _, err := AddDownTrack(pc, d); err != nil {
					b.Fatal(err)
				}
				offer, err := transport.Offer(context.Background(), pc)
				if err != nil {
					b.Fatal(err)
				}
				client := mediatest.NewPeer(b, mediatest.ClientConfig{})
				if err := transport.AcceptAnswer(pc, client.Answer(offer)); err != nil {
					b.Fatal(err)
				}
				client.WaitConnected(10 * time.Second)
				downs = append(downs, d)
			}
			// Start every downtrack on a keyframe.
			for i := 0; ; i++ {
				binary.BigEndian.PutUint16(raw[2:], uint16(i))
				f.r.push(f.l, raw, &f.pkt)
				started := true
				for _, d := range downs {
					started = started && d.Stats().Packets > 0
				}
				if started {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			raw[12+1] = 0x01 // delta frames from here on
			base := make([]uint64, n)
			for i, d := range downs {
				base[i] = d.Stats().Packets
			}

			b.ReportAllocs()
			b.ResetTimer()
			const batch = 64
			for i := 1; i <= b.N; i++ {
				binary.BigEndian.PutUint16(raw[2:], uint16(1000+i))
				binary.BigEndian.PutUint32(raw[4:], uint32(1000+i*3000))
				f.r.push(f.l, raw, &f.pkt)
				if i%batch == 0 || i == b.N {
					for j, d := range downs {
						for d.Stats().Packets-base[j] < uint64(i) {
							runtime.Gosched()
						}
					}
				}
			}
			b.StopTimer()
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(b.N)/secs, "pkts_in/s")
			b.ReportMetric(float64(b.N*n)/secs, "pkts_out/s")
		})
	}
}
