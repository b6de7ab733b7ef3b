//go:build !linux

package transport

import (
	"fmt"
	"net"
)

// setSocketBuffers asks for size-byte receive and send buffers on conn.
// Outside Linux the granted size cannot be read back, so it reports the
// size asked for.
func setSocketBuffers(conn *net.UDPConn, size int) (int, error) {
	if err := conn.SetReadBuffer(size); err != nil {
		return 0, fmt.Errorf("media socket receive buffer: %w", err)
	}
	if err := conn.SetWriteBuffer(size); err != nil {
		return 0, fmt.Errorf("media socket send buffer: %w", err)
	}
	return size, nil
}
