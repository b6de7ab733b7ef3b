//go:build !unix

package wire

import (
	"net"
	"syscall"
)

// rawConn returns nil: receiveRaw is Unix-only.
func rawConn(net.Conn) syscall.RawConn { return nil }

// receiveRaw is never called where rawConn returns nil.
func (s *Socket) receiveRaw(rcv Receiver) error { return s.receiveConn(rcv) }
