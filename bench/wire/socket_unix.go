//go:build unix

package wire

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// rawConn returns the descriptor of a plain TCP connection, nil for any
// other.
func rawConn(c net.Conn) syscall.RawConn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// receiveRaw reads the socket's descriptor itself, inside one long call of
// RawConn.Read, to save the read system call that finds nothing.
//
// A goroutine blocked in net.Conn.Read reads until the kernel says there
// is nothing left (EAGAIN), and only then waits for the poller; every
// wakeup costs a read that returns data and one that returns nothing. But
// a read that returns less than it asked for has already emptied the
// socket, so here such a read goes straight to the wait. No wakeup is
// lost: the poller is edge-triggered and marks the descriptor ready when
// data arrives after that read, even before the wait begins, and only the
// start of a RawConn.Read clears that mark; all of a socket's reading
// happens within the one call. A read that fills the buffer is followed by
// another at once, as more may be waiting.
func (s *Socket) receiveRaw(rcv Receiver) error {
	var err error
	rerr := s.raw.Read(func(fd uintptr) bool {
		for {
			free := len(s.buf) - s.w
			n, rerr := syscall.Read(int(fd), s.buf[s.w:])
			switch {
			case errors.Is(rerr, syscall.EAGAIN):
				return false
			case errors.Is(rerr, syscall.EINTR):
				continue
			case rerr != nil:
				err = os.NewSyscallError("read", rerr)
				return true
			case n == 0:
				err = io.EOF
				return true
			}
			s.w += n
			rcv.Arrived()
			if err = s.consume(rcv); err != nil {
				return true
			}
			if n < free {
				rcv.Drained()
				return false // the socket is empty: wait for more
			}
		}
	})
	if err == nil {
		err = rerr
	}
	return err
}
