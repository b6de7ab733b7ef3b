package wire

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
)

// Sizes and timing of a Socket.
const (
	// socketReadBuffer is a Socket's read buffer, grown for a bigger
	// frame. One read system call takes up to this much of what the
	// server sent, so a reader that fell behind catches up with a quarter
	// of the calls coder/websocket's 4 KiB buffer needs; at 16 KiB a
	// connection, ten thousand connections hold 160 MiB.
	socketReadBuffer = 16 << 10
	// closeTimeout bounds the wait, in Close, for the server's answer to
	// our close frame.
	closeTimeout = 5 * time.Second
	// maxControlPayload is the largest payload of a control frame (RFC
	// 6455, section 5.5).
	maxControlPayload = 125
)

// WebSocket opcodes (RFC 6455, section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// websocketGUID is what the server appends to our key before hashing it
// into Sec-WebSocket-Accept (RFC 6455, section 1.3).
const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// errProtocol reports a frame that breaks RFC 6455.
var errProtocol = errors.New("websocket protocol error")

// Socket is a client WebSocket (RFC 6455) for connections that receive a
// great many small messages, such as a chat run's members, where the
// generator's cost per message is what limits the measurement.
//
// coder/websocket, which the rest of the generator uses, takes and
// releases several channel-based locks and checks for cancellation for
// each message it reads, and reads the network 4 KiB at a time; a reader
// that waits in it also makes two read system calls per wakeup, one that
// returns data and one that finds nothing left. At hundreds of thousands
// of messages a second that cost more than the messages. A Socket has one goroutine
// receive (Receive takes no lock), reads the network in large chunks,
// hands each message to a Receiver in place in its buffer, and, on Unix,
// reads only when the kernel said there is something to read (see
// receiveRaw). Writes may come from any goroutine. No extension
// (compression) is negotiated.
type Socket struct {
	conn net.Conn
	raw  syscall.RawConn // conn's descriptor, for receiveRaw; nil with TLS

	buf  []byte // what was read and not yet handled is buf[r:w]
	r, w int
	msg  []byte                // a message that came in fragments
	typ  websocket.MessageType // of the fragmented message in msg; 0 if none

	readDone  chan struct{} // closed when Receive returns
	closeOnce sync.Once

	wmu       sync.Mutex
	wbuf      []byte
	closeSent bool
}

// DialSocket opens a Socket signed in with an access token. It connects
// as Dial does (loopback sources, receive buffer).
func (d *Dialer) DialSocket(ctx context.Context, token string) (*Socket, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, err := d.dialTCP(ctx, "tcp", d.addr)
	if err != nil {
		return nil, fmt.Errorf("open websocket: %w", err)
	}
	if d.secure {
		tc := tls.Client(conn, &tls.Config{ServerName: d.host, NextProtos: []string{"http/1.1"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("open websocket: %w", err)
		}
		conn = tc
	}
	s, err := handshake(ctx, conn, d.wsURL, token)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("open websocket: %w", err)
	}
	return s, nil
}

// handshake sends the opening handshake on conn and checks the answer.
func handshake(ctx context.Context, conn net.Conn, url, token string) (*Socket, error) {
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:]) // never fails
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header = http.Header{
		"Upgrade":               {"websocket"},
		"Connection":            {"Upgrade"},
		"Sec-WebSocket-Version": {"13"},
		"Sec-WebSocket-Key":     {key},
		"Authorization":         {"Bearer " + token},
	}
	if err := req.Write(conn); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(conn, socketReadBuffer)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return nil, fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	sum := sha1.Sum([]byte(key + websocketGUID))
	switch {
	case !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket"):
		return nil, fmt.Errorf("upgrade to %q, not websocket", resp.Header.Get("Upgrade"))
	case !headerHasToken(resp.Header, "Connection", "upgrade"):
		return nil, errors.New("no Connection: Upgrade in the answer")
	case resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]):
		return nil, errors.New("wrong Sec-WebSocket-Accept")
	case resp.Header.Get("Sec-WebSocket-Extensions") != "":
		return nil, fmt.Errorf("unasked-for extensions %q", resp.Header.Get("Sec-WebSocket-Extensions"))
	}
	_ = conn.SetDeadline(time.Time{})
	s := &Socket{conn: conn, raw: rawConn(conn), buf: make([]byte, socketReadBuffer), readDone: make(chan struct{})}
	// Frames that came in with the answer wait in br.
	early, _ := br.Peek(br.Buffered()) // cannot fail: the bytes are there
	s.w = copy(s.buf, early)
	return s, nil
}

// headerHasToken reports whether the comma-separated header name lists
// token, ignoring case.
func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// Receiver takes what a Socket receives. Its methods run on the
// goroutine that called Receive.
type Receiver interface {
	// Arrived is called after each read from the network, before the
	// messages it completed are passed on: all of them had arrived by
	// then, whatever time handling the earlier ones takes.
	Arrived()
	// Message is called with each data message, whose bytes stay valid
	// only until it returns.
	Message(typ websocket.MessageType, msg []byte)
	// Drained is called when everything read so far has been passed on
	// and the Socket is about to wait for the network: a receiver that
	// batches its work finishes the batch here.
	Drained()
}

// Receive reads messages until the socket ends and passes them to rcv.
// It answers pings on the way. A close frame from the server is answered
// and ends the socket with a websocket.CloseError (so
// websocket.CloseStatus reads its code); Receive returns the error that
// ended the socket. Only one goroutine may receive, once.
func (s *Socket) Receive(rcv Receiver) error {
	// Frames that came in with the handshake's answer go first.
	rcv.Arrived()
	err := s.consume(rcv)
	rcv.Drained()
	if err == nil && s.raw != nil {
		err = s.receiveRaw(rcv)
	} else if err == nil {
		err = s.receiveConn(rcv)
	}
	s.conn.Close()
	close(s.readDone)
	return err
}

// receiveConn reads from conn, for TLS and where receiveRaw cannot. It
// cannot tell whether conn has more, so it calls Drained after each read.
func (s *Socket) receiveConn(rcv Receiver) error {
	for {
		n, err := s.conn.Read(s.buf[s.w:])
		if n > 0 {
			s.w += n
			rcv.Arrived()
			cerr := s.consume(rcv)
			rcv.Drained()
			if cerr != nil {
				return cerr
			}
		}
		if err != nil {
			return err
		}
	}
}

// consume passes on every whole frame in the buffer, then moves what is
// left of the next one to the buffer's start, and grows the buffer if
// that frame needs more room.
func (s *Socket) consume(rcv Receiver) error {
	need := 0
	for {
		fin, op, payload, n, err := parseFrame(s.buf[s.r:s.w])
		if err != nil {
			return err
		}
		if n <= 0 {
			need = -n
			break
		}
		s.r += n
		if err := s.onFrame(fin, op, payload, rcv); err != nil {
			return err
		}
	}
	if s.r > 0 {
		s.w = copy(s.buf, s.buf[s.r:s.w])
		s.r = 0
	}
	if need > len(s.buf) {
		s.buf = append(s.buf, make([]byte, need-len(s.buf))...)
	}
	return nil
}

// onFrame handles one frame.
func (s *Socket) onFrame(fin bool, op byte, payload []byte, rcv Receiver) error {
	switch op {
	case opPing:
		if err := s.writeFrame(opPong, payload, time.Now().Add(closeTimeout)); err != nil {
			return fmt.Errorf("answer ping: %w", err)
		}
		return nil
	case opPong:
		return nil
	case opClose:
		return s.closedByServer(payload)
	case opText, opBinary:
		if s.typ != 0 {
			return fmt.Errorf("%w: a new message inside a fragmented one", errProtocol)
		}
		if fin {
			rcv.Message(websocket.MessageType(op), payload) // the usual case: a message in one frame
			return nil
		}
		s.typ, s.msg = websocket.MessageType(op), append(s.msg[:0], payload...)
		return nil
	case opContinuation:
		if s.typ == 0 {
			return fmt.Errorf("%w: a continuation frame outside a message", errProtocol)
		}
		if len(s.msg)+len(payload) > ReadLimit {
			return fmt.Errorf("message over the read limit of %d bytes", ReadLimit)
		}
		s.msg = append(s.msg, payload...)
		if fin {
			typ := s.typ
			s.typ = 0
			rcv.Message(typ, s.msg)
		}
		return nil
	}
	return fmt.Errorf("%w: unknown opcode %d", errProtocol, op)
}

// maxFrameHeader is the longest frame header a server sends: two bytes
// and an eight-byte length (it sends no masking key).
const maxFrameHeader = 10

// parseFrame reads the frame at the start of b. For a whole frame it
// returns its fields and its length n; for a frame not yet whole, n is
// minus the bytes it needs in all (as far as known), and the rest is zero.
// payload points into b.
func parseFrame(b []byte) (fin bool, op byte, payload []byte, n int, err error) {
	if len(b) < 2 {
		return false, 0, nil, -2, nil
	}
	fin, op = b[0]&0x80 != 0, b[0]&0x0f
	switch {
	case b[0]&0x70 != 0:
		return false, 0, nil, 0, fmt.Errorf("%w: reserved bits set", errProtocol)
	case b[1]&0x80 != 0:
		return false, 0, nil, 0, fmt.Errorf("%w: masked frame from the server", errProtocol)
	}
	size, header := uint64(b[1]&0x7f), 2
	switch size {
	case 126:
		header = 4
	case 127:
		header = maxFrameHeader
	}
	if len(b) < header {
		return false, 0, nil, -header, nil
	}
	switch header {
	case 4:
		size = uint64(binary.BigEndian.Uint16(b[2:]))
	case maxFrameHeader:
		size = binary.BigEndian.Uint64(b[2:])
	}
	switch {
	case op >= opClose && (size > maxControlPayload || !fin):
		return false, 0, nil, 0, fmt.Errorf("%w: control frame of %d bytes or in fragments", errProtocol, size)
	case size > ReadLimit:
		return false, 0, nil, 0, fmt.Errorf("frame of %d bytes, over the read limit of %d", size, ReadLimit)
	}
	n = header + int(size)
	if len(b) < n {
		return false, 0, nil, -n, nil
	}
	return fin, op, b[header:n], n, nil
}

// closedByServer answers the server's close frame and returns the error
// that ends the socket.
func (s *Socket) closedByServer(payload []byte) error {
	ce := websocket.CloseError{Code: websocket.StatusNoStatusRcvd}
	if len(payload) >= 2 {
		ce.Code = websocket.StatusCode(binary.BigEndian.Uint16(payload))
		ce.Reason = string(payload[2:])
	}
	_ = s.writeClose(ce.Code, "", time.Now().Add(closeTimeout))
	return fmt.Errorf("received close frame: %w", ce)
}

// WriteText sends one text message as a single frame, failing if the
// server takes no bytes for timeout.
func (s *Socket) WriteText(msg []byte, timeout time.Duration) error {
	return s.writeFrame(opText, msg, time.Now().Add(timeout))
}

// writeFrame sends one frame, masked as every client frame must be.
func (s *Socket) writeFrame(op byte, payload []byte, deadline time.Time) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if s.closeSent {
		return net.ErrClosed
	}
	if op == opClose {
		s.closeSent = true
	}
	b := append(s.wbuf[:0], 0x80|op)
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xffff:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var key [4]byte
	_, _ = rand.Read(key[:]) // never fails
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, payload...)
	for i := range b[start:] {
		b[start+i] ^= key[i&3]
	}
	s.wbuf = b
	if err := s.conn.SetWriteDeadline(deadline); err != nil {
		return err
	}
	_, err := s.conn.Write(b)
	return err
}

func (s *Socket) writeClose(code websocket.StatusCode, reason string, deadline time.Time) error {
	payload := binary.BigEndian.AppendUint16(nil, uint16(code))
	return s.writeFrame(opClose, append(payload, reason...), deadline)
}

// Close sends a close frame, waits up to closeTimeout for the reading
// goroutine to get the server's answer, and closes the connection. It
// expects a goroutine to be reading.
func (s *Socket) Close(code websocket.StatusCode, reason string) error {
	var err error
	s.closeOnce.Do(func() {
		deadline := time.Now().Add(closeTimeout)
		err = s.writeClose(code, reason, deadline)
		if err == nil {
			select {
			case <-s.readDone:
			case <-time.After(time.Until(deadline)):
				err = errors.New("no close frame from the server")
			}
		}
		if cerr := s.conn.Close(); err == nil && !errors.Is(cerr, net.ErrClosed) {
			err = cerr
		}
	})
	return err
}
