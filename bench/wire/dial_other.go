//go:build !unix

package wire

import "syscall"

// receiveBufferControl leaves the receive buffer alone where SO_RCVBUF is
// not set the Unix way.
func receiveBufferControl(int) func(network, address string, c syscall.RawConn) error {
	return nil
}
