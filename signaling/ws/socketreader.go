package ws

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// WebSocket opcodes and limits the socketReader acts on (RFC 6455 section
// 5.2 and 5.5).
const (
	opClose           = 0x8
	opPing            = 0x9
	opPong            = 0xa
	maxControlPayload = 125
	// maxFrameHeader is the longest frame header: 2 bytes, an 8-byte
	// extended length and a 4-byte mask key.
	maxFrameHeader = 14
)

// errReadIdle is returned by socketReader.wait when no frame arrived
// before its deadline.
var errReadIdle = errors.New("websocket: no frame before the idle deadline")

// socketReader reads a TCP connection into a pooled buffer, and only once
// the socket is readable, so a connection waiting for its next frame holds
// no read buffer.
//
// It also answers the client's pings and takes its pongs itself, and
// removes both from the bytes coder/websocket reads. coder/websocket
// handles a control frame only inside a Read, which then goes on waiting
// for the next message: a pong answering a keepalive would tie a goroutine
// to every idle socket until its next message. Without control frames in
// its way, a session's reader can leave an idle socket to the hub's poller
// and come back only when a message starts (see Session.read).
//
// Every other frame, close frames included, passes through unchanged;
// coder/websocket validates it.
type socketReader struct {
	conn net.Conn
	raw  syscall.RawConn
	out  *socketWriter // answers pings

	// awaitingPong is set when the session sends a keepalive ping and
	// cleared by any pong.
	awaitingPong atomic.Bool

	// mu is held by a read, also while it waits for the socket: the
	// session's reader and coder/websocket's close handshake may both
	// read.
	mu sync.Mutex
	// chunk is borrowed from readChunks while it holds unread bytes,
	// which are (*chunk)[start:end].
	chunk      *[]byte
	start, end int
	// frameLeft is how many bytes of the frame being passed to
	// coder/websocket, header included, it has not read yet; 0 between
	// frames.
	frameLeft uint64
}

// newSocketReader reports false when conn gives no raw file descriptor.
// early holds bytes the client sent before the hijack; they are read first.
func newSocketReader(conn net.Conn, out *socketWriter, early []byte) (*socketReader, bool) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil, false
	}
	r := &socketReader{conn: conn, raw: raw, out: out}
	if len(early) > 0 {
		// net/http's reader holds at most its 4 KB buffer, a chunk's size;
		// a larger remainder would be a bug there, not the client's doing.
		r.chunk = readChunks.Get().(*[]byte)
		r.end = copy(*r.chunk, early)
	}
	return r, true
}

// Read implements net.Conn for coder/websocket. It returns bytes of one
// frame at a time, handling control frames in between itself.
func (r *socketReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frameLeft == 0 {
		if err := r.nextFrame(time.Time{}); err != nil {
			return 0, err
		}
	}
	if uint64(len(p)) > r.frameLeft {
		p = p[:r.frameLeft]
	}
	if r.start == r.end {
		if len(p) >= readChunkSize {
			// Large payloads go straight to the caller.
			n, err := r.conn.Read(p)
			r.frameLeft -= uint64(n)
			return n, err
		}
		if err := r.fill(time.Time{}); err != nil {
			return 0, err
		}
	}
	n := copy(p, (*r.chunk)[r.start:r.end])
	r.consume(n)
	r.frameLeft -= uint64(n)
	return n, nil
}

// wait returns once a frame for coder/websocket has begun to arrive:
// control frames before it are handled. A non-zero deadline bounds the
// wait, which then fails with errReadIdle; a deadline already passed
// takes only the bytes the socket holds now.
func (r *socketReader) wait(deadline time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frameLeft > 0 {
		return nil
	}
	return r.nextFrame(deadline)
}

// nextFrame reads frame headers until one that coder/websocket must see,
// answering pings and taking pongs on the way, and sets frameLeft to that
// frame's length.
func (r *socketReader) nextFrame(deadline time.Time) error {
	for {
		if err := r.ensure(2, deadline); err != nil {
			return err
		}
		b := (*r.chunk)[r.start:r.end]
		size, n7 := 2, uint64(b[1]&0x7f)
		switch n7 {
		case 126:
			size += 2
		case 127:
			size += 8
		}
		masked := b[1]&0x80 != 0
		if masked {
			size += 4
		}
		if err := r.ensure(size, deadline); err != nil {
			return err
		}
		b = (*r.chunk)[r.start:r.end]
		payload := n7
		switch n7 {
		case 126:
			payload = uint64(binary.BigEndian.Uint16(b[2:]))
		case 127:
			payload = binary.BigEndian.Uint64(b[2:])
		}
		op := b[0] & 0x0f
		// A control frame is taken here only when it is well formed (final,
		// no reserved bits, masked as a client's must be, short enough);
		// anything else goes to coder/websocket, which fails the
		// connection with the right close code.
		control := (op == opPing || op == opPong) && b[0]&0xf0 == 0x80 && masked && payload <= maxControlPayload
		if !control {
			if payload > 1<<62 {
				payload = 1 << 62 // coder/websocket refuses it; keep the sum in range
			}
			r.frameLeft = uint64(size) + payload
			return nil
		}
		total := size + int(payload)
		if err := r.ensure(total, deadline); err != nil {
			return err
		}
		frame := (*r.chunk)[r.start : r.start+total]
		key := frame[size-4 : size]
		body := frame[size:total]
		for i := range body {
			body[i] ^= key[i&3]
		}
		if op == opPing {
			if err := r.out.writeControl(opPong, body); err != nil {
				r.consume(total)
				return err
			}
		} else {
			r.awaitingPong.Store(false)
		}
		r.consume(total)
	}
}

// ensure reads until at least n unread bytes are buffered. n is at most
// maxFrameHeader plus maxControlPayload, well under a chunk.
func (r *socketReader) ensure(n int, deadline time.Time) error {
	for r.end-r.start < n {
		if err := r.fill(deadline); err != nil {
			return err
		}
	}
	return nil
}

// consume drops n read bytes, and returns the chunk once it is empty.
func (r *socketReader) consume(n int) {
	r.start += n
	if r.start == r.end {
		readChunks.Put(r.chunk)
		r.chunk, r.start, r.end = nil, 0, 0
	}
}

// fill reads the socket, after any bytes still buffered. A new chunk is
// taken only once a read succeeds: while the socket has nothing, the
// caller parks in the runtime's poller holding no buffer.
func (r *socketReader) fill(deadline time.Time) error {
	if r.chunk != nil && r.end == len(*r.chunk) {
		r.end = copy(*r.chunk, (*r.chunk)[r.start:r.end])
		r.start = 0
	}
	noWait := false
	if !deadline.IsZero() {
		// A passed deadline would fail the read before it looks at the
		// socket, so that case reads without one and does not park.
		if noWait = !time.Now().Before(deadline); !noWait {
			if err := r.conn.SetReadDeadline(deadline); err != nil {
				return err
			}
			defer r.conn.SetReadDeadline(time.Time{})
		}
	}
	var (
		n    int
		rerr error
	)
	err := r.raw.Read(func(fd uintptr) bool {
		chunk := r.chunk
		if chunk == nil {
			chunk = readChunks.Get().(*[]byte)
		}
		for {
			n, rerr = syscall.Read(int(fd), (*chunk)[r.end:])
			if rerr != syscall.EINTR {
				break
			}
		}
		if rerr == syscall.EAGAIN {
			if r.chunk == nil {
				readChunks.Put(chunk)
			}
			return noWait // else park until readable, then call again
		}
		r.chunk = chunk
		return true
	})
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), rerr == syscall.EAGAIN:
		err = errReadIdle
	case err != nil: // closed
	case rerr != nil:
		err = &net.OpError{Op: "read", Net: "tcp", Err: rerr}
	case n == 0:
		err = io.EOF
	}
	if err != nil {
		if r.chunk != nil && r.start == r.end {
			readChunks.Put(r.chunk)
			r.chunk, r.start, r.end = nil, 0, 0
		}
		return err
	}
	r.end += n
	return nil
}
