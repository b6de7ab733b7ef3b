package wire

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// socketServer serves /ws with coder/websocket, the library the Parley
// server uses, and runs serve on each connection; serve's error is sent
// on the returned channel.
func socketServer(t *testing.T, serve func(ctx context.Context, c *websocket.Conn) error) (*Dialer, <-chan error) {
	t.Helper()
	errs := make(chan error, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			errs <- err
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(ReadLimit)
		errs <- serve(r.Context(), c)
	}))
	t.Cleanup(srv.Close)
	d, err := NewDialer(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return d, errs
}

func dialSocket(t *testing.T, d *Dialer) *Socket {
	t.Helper()
	s, err := d.DialSocket(context.Background(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.conn.Close() })
	return s
}

type message struct {
	typ websocket.MessageType
	msg []byte
}

// collector passes on copies of the messages it receives, and checks that
// the Socket calls it in order: Arrived before messages, Drained after.
type collector struct {
	t       *testing.T
	msgs    chan message
	arrived bool // since the last Drained
}

func (c *collector) Arrived() { c.arrived = true }

func (c *collector) Message(typ websocket.MessageType, msg []byte) {
	if !c.arrived {
		c.t.Error("a message with no Arrived before it")
	}
	c.msgs <- message{typ, bytes.Clone(msg)}
}

func (c *collector) Drained() { c.arrived = false }

// receive runs s.Receive with a collector; the error that ends it comes
// on the second channel.
func receive(t *testing.T, s *Socket) (<-chan message, <-chan error) {
	c := &collector{t: t, msgs: make(chan message, 1000)}
	end := make(chan error, 1)
	go func() { end <- s.Receive(c) }()
	return c.msgs, end
}

// hangGuard bounds waits that only a bug makes long.
const hangGuard = 10 * time.Second

func expectMessage(t *testing.T, msgs <-chan message, want []byte) {
	t.Helper()
	select {
	case m := <-msgs:
		if m.typ != websocket.MessageText || !bytes.Equal(m.msg, want) {
			t.Fatalf("got %v, %d bytes %.40q…; want text, %d bytes %.40q…", m.typ, len(m.msg), m.msg, len(want), want)
		}
	case <-time.After(hangGuard):
		t.Fatalf("no message; want %d bytes %.40q…", len(want), want)
	}
}

func expectEnd(t *testing.T, end <-chan error) error {
	t.Helper()
	select {
	case err := <-end:
		return err
	case <-time.After(hangGuard):
		t.Fatal("Receive did not return")
		return nil
	}
}

// TestSocketTalksToCoderWebsocket exchanges messages of every size class
// with a coder/websocket server, which rejects unmasked or malformed
// client frames, and has the server ping in between.
func TestSocketTalksToCoderWebsocket(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 3*socketReadBuffer/16+7) // over the read buffer
	sizes := []int{0, 1, 125, 126, 300, 0xffff, 0x10000}
	d, errs := socketServer(t, func(ctx context.Context, c *websocket.Conn) error {
		for range sizes {
			typ, msg, err := c.Read(ctx)
			if err != nil {
				return err
			}
			if err := c.Write(ctx, typ, msg); err != nil { // echo
				return err
			}
		}
		if err := c.Write(ctx, websocket.MessageText, big); err != nil {
			return err
		}
		// A message in three fragments.
		w, err := c.Writer(ctx, websocket.MessageText)
		if err != nil {
			return err
		}
		for _, part := range []string{"frag", "men", "ted"} {
			if _, err := w.Write([]byte(part)); err != nil {
				return err
			}
		}
		if err := w.Close(); err != nil {
			return err
		}
		// A ping, whose pong this side's Read takes in while it waits
		// for the client's next message.
		pinged := make(chan error, 1)
		go func() {
			err := c.Ping(ctx)
			if err == nil {
				err = c.Write(ctx, websocket.MessageText, []byte("after ping"))
			}
			pinged <- err
		}()
		if _, _, err := c.Read(ctx); err != nil {
			return err
		}
		if err := <-pinged; err != nil {
			return fmt.Errorf("ping: %w", err)
		}
		_, _, err = c.Read(ctx)
		return err
	})
	s := dialSocket(t, d)
	msgs, end := receive(t, s)
	for _, n := range sizes {
		msg := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
		if err := s.WriteText(msg, time.Second); err != nil {
			t.Fatal(err)
		}
		expectMessage(t, msgs, msg)
	}
	expectMessage(t, msgs, big)
	expectMessage(t, msgs, []byte("fragmented"))
	expectMessage(t, msgs, []byte("after ping"))
	if err := s.WriteText([]byte("got it"), time.Second); err != nil {
		t.Fatal(err)
	}

	// Close while receiving, as a run ends: the server sees our status
	// and reason, and Receive ends with the server's answer.
	if err := s.Close(websocket.StatusNormalClosure, "bench done"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	var ce websocket.CloseError
	if err := <-errs; !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure || ce.Reason != "bench done" {
		t.Fatalf("server read after Close: %v", err)
	}
	if err := expectEnd(t, end); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
		t.Fatalf("Receive after Close: %v", err)
	}
	if err := s.WriteText([]byte("late"), time.Second); err == nil {
		t.Fatal("WriteText after Close succeeded")
	}
}

// TestSocketMissesNoMessage has the server write many messages alone and
// in bursts, pausing between, so the receiver keeps emptying its socket
// and waiting: every message must arrive, in order, whether the Socket
// reads the descriptor itself or through net.Conn (as with TLS).
func TestSocketMissesNoMessage(t *testing.T) {
	for _, path := range []string{"raw", "conn"} {
		t.Run(path, func(t *testing.T) {
			const total = 2000
			d, errs := socketServer(t, func(ctx context.Context, c *websocket.Conn) error {
				for i := range total {
					if err := c.Write(ctx, websocket.MessageText, []byte(strconv.Itoa(i))); err != nil {
						return err
					}
					if i%7 == 0 {
						runtime.Gosched()
					}
					if i%97 == 0 {
						time.Sleep(time.Millisecond)
					}
				}
				_, _, err := c.Read(ctx)
				return err
			})
			s := dialSocket(t, d)
			if s.raw == nil && runtime.GOOS != "windows" && runtime.GOOS != "plan9" {
				t.Fatal("a plain TCP socket is not read raw")
			}
			if path == "conn" {
				s.raw = nil
			}
			msgs, end := receive(t, s)
			for i := range total {
				expectMessage(t, msgs, []byte(strconv.Itoa(i)))
			}
			if err := s.Close(websocket.StatusNormalClosure, ""); err != nil {
				t.Fatal(err)
			}
			if websocket.CloseStatus(<-errs) != websocket.StatusNormalClosure {
				t.Fatal("the server did not see the close")
			}
			expectEnd(t, end)
		})
	}
}

func TestSocketReportsTheServersCloseCode(t *testing.T) {
	d, errs := socketServer(t, func(ctx context.Context, c *websocket.Conn) error {
		if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
			return err
		}
		return c.Close(CloseTooSlow, "send queue overflow") // waits for our answer
	})
	s := dialSocket(t, d)
	msgs, end := receive(t, s)
	expectMessage(t, msgs, []byte("hello"))
	err := expectEnd(t, end)
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != CloseTooSlow || ce.Reason != "send queue overflow" {
		t.Fatalf("Receive after the server's close = %v", err)
	}
	if err := <-errs; err != nil {
		t.Fatalf("server's close handshake: %v", err)
	}
}

func TestDialSocketFailsWithoutAnUpgrade(t *testing.T) {
	d, _ := socketServer(t, func(context.Context, *websocket.Conn) error { return nil })
	if _, err := d.DialSocket(context.Background(), "wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("DialSocket with a bad token = %v, want a 401 error", err)
	}
}

// rawServer answers the handshake itself and then writes frames as given,
// so frames no library would send can be tried.
func rawServer(t *testing.T, frames []byte, accept func(key string) string) *Dialer {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
			accept(r.Header.Get("Sec-WebSocket-Key")))
		brw.Write(frames)
		brw.Flush()
		conn.(interface{ CloseWrite() error }).CloseWrite() // then EOF
		buf := make([]byte, 512)
		for { // until the client goes
			if _, err := conn.Read(buf); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	d, err := NewDialer(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func rightAccept(key string) string {
	sum := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(sum[:])
}

func TestSocketRejectsMalformedFrames(t *testing.T) {
	ok := []byte{0x81, 2, 'o', 'k'}
	for name, frame := range map[string][]byte{
		"reserved bit":           {0xc1, 1, 'x'},
		"masked":                 {0x81, 0x81, 1, 2, 3, 4, 'x'},
		"unknown opcode":         {0x83, 0},
		"fragmented control":     {0x09, 0},
		"long control":           append([]byte{0x89, 126, 0, 126}, make([]byte, 126)...),
		"lone continuation":      {0x80, 1, 'x'},
		"message inside message": {0x01, 1, 'a', 0x81, 1, 'b'},
		"over the read limit":    {0x81, 127, 0, 0, 0, 0, 0, 0x10, 0, 1},
		"cut short":              {0x81, 5, 'a'},
	} {
		t.Run(name, func(t *testing.T) {
			s := dialSocket(t, rawServer(t, append(append([]byte{}, ok...), frame...), rightAccept))
			msgs, end := receive(t, s)
			expectMessage(t, msgs, []byte("ok"))
			if err := expectEnd(t, end); err == nil {
				t.Fatal("Receive ended without an error")
			}
			select {
			case m := <-msgs:
				t.Fatalf("Receive passed on %v %q", m.typ, m.msg)
			default:
			}
		})
	}
	t.Run("wrong accept", func(t *testing.T) {
		d := rawServer(t, ok, func(string) string { return "d3Jvbmc=" })
		if _, err := d.DialSocket(context.Background(), "tok"); err == nil || !strings.Contains(err.Error(), "Accept") {
			t.Fatalf("DialSocket = %v, want a Sec-WebSocket-Accept error", err)
		}
	})
}

func TestParseFrameWaitsForTheWholeFrame(t *testing.T) {
	for _, size := range []int{0, 5, 125, 126, 300, 0xffff, 0x10000} {
		var frame []byte
		switch {
		case size < 126:
			frame = []byte{0x81, byte(size)}
		case size <= 0xffff:
			frame = []byte{0x81, 126, byte(size >> 8), byte(size)}
		default:
			frame = []byte{0x81, 127, 0, 0, 0, 0, 0, byte(size >> 16), byte(size >> 8), byte(size)}
		}
		header := len(frame)
		frame = append(frame, bytes.Repeat([]byte("p"), size)...)
		for cut := range len(frame) {
			_, _, payload, n, err := parseFrame(frame[:cut])
			want := len(frame)
			if cut < 2 {
				want = 2
			} else if cut < header {
				want = header
			}
			if err != nil || payload != nil || n != -want {
				t.Fatalf("%d-byte frame cut at %d: n %d, err %v; want n %d", size, cut, n, err, -want)
			}
		}
		fin, op, payload, n, err := parseFrame(append(frame, 0x81))
		if err != nil || !fin || op != opText || len(payload) != size || n != len(frame) {
			t.Fatalf("whole %d-byte frame: %v %v %d bytes, n %d, %v", size, fin, op, len(payload), n, err)
		}
	}
}
