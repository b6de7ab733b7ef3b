package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/signaling/auth"
	"parley/storage"
)

// activeMembers is the directory's answer for the members of these tests:
// every id is an active member.
type activeMembers struct{}

func (activeMembers) MemberActive(string) (bool, error) { return true, nil }

// testHub serves a hub with real tokens on loopback and returns a client
// connected as "alice".
func testHub(t *testing.T, cfg Config, register func(h *Hub)) *websocket.Conn {
	t.Helper()
	h, as := newTestHub(t, cfg, register)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.Shutdown(ctx)
		srv.Close()
	})
	return dialAs(t, srv, as, "alice")
}

// newTestHub creates a hub over real tokens and storage, with register
// called before it serves.
func newTestHub(t *testing.T, cfg Config, register func(h *Hub)) (*Hub, *auth.Service) {
	t.Helper()
	db, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	as, err := auth.New(db, activeMembers{}, auth.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := NewHub(cfg, as, activeMembers{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	register(h)
	return h, as
}

// dialAs connects to srv (http or https) as member.
func dialAs(t *testing.T, srv *httptest.Server, as *auth.Service, member string) *websocket.Conn {
	t.Helper()
	tok, err := as.IssueAccess(member, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{
		HTTPClient: srv.Client(),
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.AccessToken}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 22)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

func testConfig() Config {
	return Config{ReadLimit: 1 << 20, SendQueue: 4096, PingInterval: time.Minute}
}

func readMessage(t *testing.T, c *websocket.Conn) Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typ, raw, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if typ != websocket.MessageText {
		t.Fatalf("got a %v frame, want text", typ)
	}
	m, err := DecodeMessage(raw)
	if err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
	return m
}

// TestSessionFramesEveryLength checks the session's own framing at each
// length encoding of RFC 6455 (7-bit, 16-bit, 64-bit) and its edges.
func TestSessionFramesEveryLength(t *testing.T) {
	pads := []int{0, 1, 60, 125, 126, 127, 4000, 65535, 65536, 70000, 1 << 20}
	c := testHub(t, testConfig(), func(h *Hub) {
		h.Handle("sizes", func(_ context.Context, s *Session, m Message) {
			for _, n := range pads {
				s.Reply(m, "pad", strings.Repeat("x", n))
			}
		})
	})
	if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"sizes","id":"1"}`)); err != nil {
		t.Fatal(err)
	}
	for _, n := range pads {
		m := readMessage(t, c)
		var got string
		if err := json.Unmarshal(m.Data, &got); err != nil || m.Type != "pad" || len(got) != n || strings.Trim(got, "x") != "" {
			t.Fatalf("want a pad of %d bytes, got type %q, %d bytes, err %v", n, m.Type, len(got), err)
		}
	}
}

// TestSessionKeepsOrder queues far more frames at once than one write
// batch holds and checks that every one arrives once, in order.
func TestSessionKeepsOrder(t *testing.T) {
	const n = 3000
	c := testHub(t, testConfig(), func(h *Hub) {
		h.Handle("burst", func(_ context.Context, s *Session, m Message) {
			for i := range n {
				s.Reply(m, "n", i)
			}
		})
	})
	if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"burst","id":"b"}`)); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		m := readMessage(t, c)
		if m.Type != "n" || string(m.Data) != fmt.Sprint(i) {
			t.Fatalf("message %d: got %s %s", i, m.Type, m.Data)
		}
	}
}

// TestSessionReadsPipelinedAndLargeFrames writes many requests without
// waiting, one of them larger than a read chunk, and checks that each is
// answered, in order, with its exact size.
func TestSessionReadsPipelinedAndLargeFrames(t *testing.T) {
	c := testHub(t, testConfig(), func(h *Hub) {
		h.Handle("size", func(_ context.Context, s *Session, m Message) {
			s.Reply(m, "size", len(m.Data))
		})
	})
	var want []int
	for i := range 200 {
		body := strings.Repeat("y", i*37)
		if i == 100 {
			body = strings.Repeat("z", 3*readChunkSize+5)
		}
		data, _ := json.Marshal(body)
		want = append(want, len(data))
		req := fmt.Sprintf(`{"type":"size","id":"%d","data":%s}`, i, data)
		if err := c.Write(context.Background(), websocket.MessageText, []byte(req)); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range want {
		m := readMessage(t, c)
		if m.ID != fmt.Sprint(i) || string(m.Data) != fmt.Sprint(n) {
			t.Fatalf("answer %d: got id %s data %s, want %d", i, m.ID, m.Data, n)
		}
	}
}

// TestAppendTextFrame checks the header encodings byte for byte.
func TestAppendTextFrame(t *testing.T) {
	for _, tc := range []struct {
		n    int
		head []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xff, 0xff}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		msg := bytes.Repeat([]byte{'a'}, tc.n)
		got := appendTextFrame([]byte("prefix"), msg)
		want := append(append([]byte("prefix"), tc.head...), msg...)
		if !bytes.Equal(got, want) {
			t.Errorf("length %d: header %x, want %x", tc.n, got[6:6+len(tc.head)], tc.head)
		}
	}
}
