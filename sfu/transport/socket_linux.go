package transport

import (
	"fmt"
	"net"
	"syscall"
)

// setSocketBuffers asks the kernel for size-byte receive and send
// buffers on conn and returns the receive buffer it granted. A plain
// SO_RCVBUF is capped, silently, at net.core.rmem_max (208 KiB on many
// distributions: a few milliseconds of a busy server's media); with root
// or CAP_NET_ADMIN, SO_RCVBUFFORCE passes the cap, so it is tried first.
func setSocketBuffers(conn *net.UDPConn, size int) (granted int, err error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("media socket: %w", err)
	}
	var sockErr error
	ctlErr := raw.Control(func(fd uintptr) {
		for _, opts := range [][2]int{{syscall.SO_RCVBUFFORCE, syscall.SO_RCVBUF}, {syscall.SO_SNDBUFFORCE, syscall.SO_SNDBUF}} {
			if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opts[0], size) != nil {
				if err := syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, opts[1], size); err != nil {
					sockErr = err
					return
				}
			}
		}
		// Linux reports twice what was set: the other half is its own
		// bookkeeping.
		n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF)
		if err != nil {
			sockErr = err
			return
		}
		granted = n / 2
	})
	if ctlErr != nil {
		return 0, fmt.Errorf("media socket: %w", ctlErr)
	}
	if sockErr != nil {
		return 0, fmt.Errorf("media socket buffers: %w", sockErr)
	}
	return granted, nil
}
