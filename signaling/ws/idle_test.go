package ws

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func requirePoller(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("idle sessions park only where there is epoll")
	}
}

// idleHub serves an echo handler with a short linger and returns the hub
// and a client connected as alice.
func idleHub(t *testing.T, cfg Config) (*Hub, *websocket.Conn) {
	t.Helper()
	var hub *Hub
	c := testHub(t, cfg, func(h *Hub) {
		hub = h
		h.readLinger = 20 * time.Millisecond
		h.Handle("echo", func(_ context.Context, s *Session, m Message) { s.Reply(m, "echo", m.Data) })
	})
	return hub, c
}

// onlySession returns alice's one session.
func onlySession(t *testing.T, h *Hub) *Session {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if ss := h.MemberSessions("alice"); len(ss) == 1 {
			return ss[0]
		}
		if time.Now().After(deadline) {
			t.Fatal("alice has no session")
		}
		time.Sleep(time.Millisecond)
	}
}

func readState(s *Session) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readState
}

func waitReadState(t *testing.T, s *Session, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for readState(s) != want {
		if time.Now().After(deadline) {
			t.Fatalf("reader state %d, want %d", readState(s), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitCount(t *testing.T, h *Hub, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.Count() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions open, want %d", h.Count(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// An idle session gives up its reader goroutine and gets one back for
// each message, answered in order.
func TestIdleSessionParksAndWakes(t *testing.T) {
	requirePoller(t)
	h, c := idleHub(t, testConfig())
	s := onlySession(t, h)
	for i := range 3 {
		waitReadState(t, s, readParked)
		want := []byte(`"m` + string(rune('0'+i)) + `"`)
		req := append(append([]byte(`{"type":"echo","id":"e","data":`), want...), '}')
		if err := c.Write(context.Background(), websocket.MessageText, req); err != nil {
			t.Fatal(err)
		}
		if m := readMessage(t, c); m.Type != "echo" || !bytes.Equal(m.Data, want) {
			t.Fatalf("round %d: got %s %s, want echo %s", i, m.Type, m.Data, want)
		}
	}
	waitReadState(t, s, readParked)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	readErr := make(chan error, 1)
	go func() { // the client answers the close handshake
		_, _, err := c.Read(ctx)
		readErr <- err
	}()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with a parked session: %v", err)
	}
	if err := <-readErr; websocket.CloseStatus(err) != CloseGoingAway {
		t.Fatalf("client read after shutdown: %v, want close %d", err, CloseGoingAway)
	}
}

// Keepalive pings reach a parked session's client, and the pongs are taken
// without the session closing for "no pong" and without keeping a reader:
// with a linger five times the ping interval, a reader that stayed for a
// linger after each pong would never park again.
func TestParkedSessionAnswersKeepalive(t *testing.T) {
	requirePoller(t)
	cfg := testConfig()
	cfg.PingInterval = 30 * time.Millisecond
	var hub *Hub
	c := testHub(t, cfg, func(h *Hub) {
		hub = h
		h.readLinger = 5 * cfg.PingInterval
	})
	ctx := c.CloseRead(context.Background()) // reads, so the client answers pings
	s := onlySession(t, hub)
	waitReadState(t, s, readParked)
	parkedSeen := 0
	for range 40 { // about 13 ping intervals
		time.Sleep(10 * time.Millisecond)
		if readState(s) == readParked {
			parkedSeen++
		}
	}
	if ctx.Err() != nil || hub.Count() != 1 {
		t.Fatalf("session closed while its client answered every ping (open: %d)", hub.Count())
	}
	if parkedSeen < 15 {
		t.Fatalf("session was parked in %d of 40 samples; pongs should not keep a reader", parkedSeen)
	}
}

// A client that never answers pings is closed with 1008 even though its
// session has no reader running.
func TestParkedSessionWithoutPongsIsClosed(t *testing.T) {
	requirePoller(t)
	cfg := testConfig()
	cfg.PingInterval = 30 * time.Millisecond
	h, c := idleHub(t, cfg)
	s := onlySession(t, h)
	waitReadState(t, s, readParked)
	// The client reads only now: the pings sent meanwhile were never
	// answered, so the server's close frame is waiting behind them.
	time.Sleep(3 * cfg.PingInterval)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err == nil {
			continue // a ping's pong is answered inside Read
		}
		if websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
			t.Fatalf("client read: %v, want close 1008", err)
		}
		break
	}
	waitCount(t, h, 0)
}

// A parked session answers the client's own pings.
func TestParkedSessionAnswersClientPing(t *testing.T) {
	requirePoller(t)
	h, c := idleHub(t, testConfig())
	c.CloseRead(context.Background()) // reads, so the client sees its pongs
	s := onlySession(t, h)
	for range 3 {
		waitReadState(t, s, readParked)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.Ping(ctx)
		cancel()
		if err != nil {
			t.Fatalf("ping a parked session: %v", err)
		}
	}
	waitReadState(t, s, readParked)
}

// A parked session ends when either side closes it, and the hub's close
// hook runs once.
func TestParkedSessionEnds(t *testing.T) {
	requirePoller(t)
	for _, side := range []string{"server", "client"} {
		t.Run(side, func(t *testing.T) {
			var closed atomic.Int32
			var hub *Hub
			c := testHub(t, testConfig(), func(h *Hub) {
				hub = h
				h.readLinger = 20 * time.Millisecond
				h.OnSession(func(*Session) error { return nil }, func(*Session) { closed.Add(1) })
			})
			s := onlySession(t, hub)
			waitReadState(t, s, readParked)
			if side == "server" {
				hub.CloseMember("alice", CloseTooSlow, "bye")
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if _, _, err := c.Read(ctx); websocket.CloseStatus(err) != CloseTooSlow {
					t.Fatalf("client read: %v, want close %d", err, CloseTooSlow)
				}
			} else {
				c.CloseNow()
			}
			waitCount(t, hub, 0)
			if s.Context().Err() == nil {
				t.Fatal("the session's context is still live")
			}
			time.Sleep(20 * time.Millisecond)
			if n := closed.Load(); n != 1 {
				t.Fatalf("close hook ran %d times, want 1", n)
			}
		})
	}
}

// maskedFrame builds a client frame (RFC 6455 section 5.2).
func maskedFrame(b0 byte, payload []byte) []byte {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	f := []byte{b0, 0x80 | byte(len(payload))}
	f = append(f, key[:]...)
	for i, c := range payload {
		f = append(f, c^key[i&3])
	}
	return f
}

// The socketReader passes data frames through byte for byte, takes pongs,
// and answers pings, also between the fragments of one message and when
// frames arrive a byte at a time.
func TestSocketReaderTakesControlFrames(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	out := &socketWriter{conn: server}
	first := maskedFrame(0x01, []byte("ab")) // text, not final
	last := maskedFrame(0x80, []byte("cd"))  // continuation, final
	r, ok := newSocketReader(server, out, first[:3])
	if !ok {
		t.Fatal("a TCP connection has a raw descriptor")
	}
	r.awaitingPong.Store(true)
	stream := bytes.Join([][]byte{
		first[3:],
		maskedFrame(0x89, []byte("hi")), // ping
		maskedFrame(0x8a, nil),          // pong
		last,
	}, nil)
	go func() {
		for _, b := range stream {
			if _, err := client.Write([]byte{b}); err != nil {
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
	}()

	want := append(append([]byte(nil), first...), last...)
	got := make([]byte, 0, len(want))
	buf := make([]byte, 3)
	for len(got) < len(want) {
		n, err := r.Read(buf)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("data frames read as %x, want %x", got, want)
	}
	if r.awaitingPong.Load() {
		t.Fatal("the pong was not taken")
	}
	pong := make([]byte, 4)
	client.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(client, pong); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pong, []byte{0x8a, 2, 'h', 'i'}) {
		t.Fatalf("answer to the ping: %x, want a pong with its payload", pong)
	}

	// With nothing on the socket, a wait with a deadline already passed
	// returns at once, and one with a later deadline returns then.
	if err := r.wait(time.Now()); !errors.Is(err, errReadIdle) {
		t.Fatalf("wait with nothing to read: %v, want errReadIdle", err)
	}
	if err := r.wait(time.Now().Add(10 * time.Millisecond)); !errors.Is(err, errReadIdle) {
		t.Fatalf("wait until a deadline: %v, want errReadIdle", err)
	}
	if r.chunk != nil {
		t.Fatal("an idle reader holds a read buffer")
	}
}

// Over TLS there is no raw socket to watch: the session keeps its reader,
// and coder/websocket's pings keep the connection open.
func TestTLSSessionKeepsItsReader(t *testing.T) {
	cfg := testConfig()
	cfg.PingInterval = 30 * time.Millisecond
	h, as := newTestHub(t, cfg, func(h *Hub) {
		h.readLinger = 10 * time.Millisecond
		h.Handle("echo", func(_ context.Context, s *Session, m Message) { s.Reply(m, "echo", m.Data) })
	})
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := dialAs(t, srv, as, "alice")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s := onlySession(t, h)
	// The client reads throughout, which answers the server's pings.
	replies := make(chan Message, 1)
	go func() {
		for {
			_, raw, err := c.Read(context.Background())
			if err != nil {
				close(replies)
				return
			}
			if m, err := DecodeMessage(raw); err == nil {
				replies <- m
			}
		}
	}()
	time.Sleep(10 * cfg.PingInterval)
	if st := readState(s); st != readRunning || h.Count() != 1 {
		t.Fatalf("TLS session: reader state %d, %d open; want a running reader and the session open", st, h.Count())
	}
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"type":"echo","id":"t","data":1}`)); err != nil {
		t.Fatal(err)
	}
	if m, ok := <-replies; !ok || m.Type != "echo" {
		t.Fatalf("TLS echo: got %+v (open %v)", m, ok)
	}
	shutCtx, shutCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer shutCancel()
	if err := h.Shutdown(shutCtx); err != nil {
		t.Fatal(err)
	}
}
