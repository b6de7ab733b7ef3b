package ws

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// coder/websocket reads and writes a connection through the bufio pair
// that the HTTP hijack hands it, 4 KB each, held for the life of the
// socket. Most sockets are idle most of the time, so the session gives it
// a tiny pair instead, over a reader and a writer that borrow real buffers
// from pools only while bytes are moving. The session's own messages do
// not go through coder/websocket at all: the socketWriter frames a batch
// of them into one buffer and writes it with one system call.
const (
	// bufioReadSize is the bufio.Reader kept per connection: bufio's
	// minimum. Frame headers are parsed from it; payloads of this size
	// or more bypass it.
	bufioReadSize = 16
	// bufioWriteSize is the bufio.Writer kept per connection: any control
	// frame coder/websocket writes as a server (2 bytes of header and at
	// most 125 of payload) fits, so it hands each to the socketWriter in
	// one Write.
	bufioWriteSize = 128
	// readChunkSize is the buffer a readable socket is read into. It is
	// borrowed when the socket has data and returned once it is consumed.
	readChunkSize = 4096
	// writeBufferSize is the initial size of a borrowed write buffer.
	writeBufferSize = 4096
	// maxWriteBatch is the most bytes of queued frames written with one
	// system call. Frames queued beyond it go out in further calls.
	maxWriteBatch = 64 << 10
	// maxPooledWriteBuffer keeps buffers that grew for one large frame
	// out of the pool.
	maxPooledWriteBuffer = 2 * maxWriteBatch
)

var (
	readChunks   = sync.Pool{New: func() any { b := make([]byte, readChunkSize); return &b }}
	writeBuffers = sync.Pool{New: func() any { b := make([]byte, 0, writeBufferSize); return &b }}
)

// hijackResponse lets websocket.Accept hijack the connection, and hands it
// the small bufio pair over a socketReader and a socketWriter.
type hijackResponse struct {
	http.ResponseWriter
	out *socketWriter // set by Hijack
	in  *socketReader // set by Hijack; nil when the connection is not a plain socket
	br  *bufio.Reader // the reader handed to coder/websocket
}

// Hijack takes over the connection from net/http.
func (h *hijackResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	// Bytes the client sent right after its request are already in
	// net/http's reader; they are served first.
	early, err := brw.Reader.Peek(brw.Reader.Buffered())
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("hijack: read buffered bytes: %w", err)
	}
	h.out = &socketWriter{conn: conn}
	bw := bufio.NewWriterSize(h.out, bufioWriteSize)
	sr, ok := newSocketReader(conn, h.out, early)
	if !ok {
		// Not a plain socket (TLS): keep net/http's reader, which TLS
		// buffers behind anyway.
		return conn, bufio.NewReadWriter(brw.Reader, bw), nil
	}
	// coder/websocket reads through the connection it is given (after
	// what the returned reader has buffered, here nothing), so the
	// socketReader goes in as the connection's reader.
	h.in, h.br = sr, bufio.NewReaderSize(sr, bufioReadSize)
	return &readerConn{Conn: conn, r: sr}, bufio.NewReadWriter(h.br, bw), nil
}

// readerConn is a connection whose reads go through a socketReader.
type readerConn struct {
	net.Conn
	r *socketReader
}

// Read implements net.Conn.
func (c *readerConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// errWriterClosed is returned by a socketWriter after a failed write, and
// for messages after the close handshake began.
var errWriterClosed = errors.New("websocket writer closed")

// errClosing is returned by writeControl once the close handshake began.
var errClosing = errors.New("websocket closing")

// socketWriter writes a connection. The session's messages it frames
// itself, as many as maxWriteBatch allows per system call, into a buffer
// borrowed for the write; coder/websocket's own frames (pongs, pings,
// the close frame) arrive whole through Write from its bufio.Writer,
// which is large enough for any control frame, so the two never
// interleave within a frame.
type socketWriter struct {
	conn net.Conn

	mu     sync.Mutex
	failed bool // a write failed: the socket is unusable
	closed bool // closing: no more messages, only coder's frames
}

// Write implements io.Writer for coder/websocket's bufio.Writer.
func (w *socketWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeLocked(p)
}

func (w *socketWriter) writeLocked(p []byte) (int, error) {
	if w.failed {
		return 0, errWriterClosed
	}
	if err := w.conn.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		w.failed = true
		return 0, err
	}
	n, err := w.conn.Write(p)
	if err != nil {
		w.failed = true
	}
	return n, err
}

// writeMessages writes each of msgs as one unfragmented text frame.
func (w *socketWriter) writeMessages(msgs [][]byte) error {
	buf := writeBuffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooledWriteBuffer {
			*buf = (*buf)[:0]
			writeBuffers.Put(buf)
		}
	}()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errWriterClosed
	}
	for _, m := range msgs {
		*buf = appendTextFrame(*buf, m)
		if len(*buf) >= maxWriteBatch {
			if _, err := w.writeLocked(*buf); err != nil {
				return err
			}
			*buf = (*buf)[:0]
		}
	}
	if len(*buf) == 0 {
		return nil
	}
	_, err := w.writeLocked(*buf)
	return err
}

// writeControl writes one control frame of the session's own: a
// keepalive ping, or the pong answering a client's ping. Like messages,
// none is written once the close handshake began.
func (w *socketWriter) writeControl(op byte, payload []byte) error {
	var frame [2 + maxControlPayload]byte
	frame[0], frame[1] = 0x80|op, byte(len(payload))
	n := 2 + copy(frame[2:], payload)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return errClosing
	}
	_, err := w.writeLocked(frame[:n])
	return err
}

// closeMessages refuses further messages, after the one being written:
// nothing may follow the close frame.
func (w *socketWriter) closeMessages() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
}

// appendTextFrame appends msg as a final, unmasked text frame (RFC 6455
// section 5.2; a server never masks).
func appendTextFrame(buf, msg []byte) []byte {
	const finText = 0x80 | 0x1
	switch n := len(msg); {
	case n < 126:
		buf = append(buf, finText, byte(n))
	case n <= 0xffff:
		buf = append(buf, finText, 126, byte(n>>8), byte(n))
	default:
		buf = append(buf, finText, 127)
		buf = binary.BigEndian.AppendUint64(buf, uint64(n))
	}
	return append(buf, msg...)
}
