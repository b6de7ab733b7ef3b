package ws

import (
	"context"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The hub counts requests by registered type, anything else as
// UnknownType, error replies by type and code, and deliveries.
func TestStatsCountRequestsErrorsAndDeliveries(t *testing.T) {
	var hub *Hub
	c := testHub(t, testConfig(), func(h *Hub) {
		hub = h
		h.Handle("echo", func(_ context.Context, s *Session, m Message) { s.Reply(m, "echo", nil) })
		h.Handle("fail", func(_ context.Context, s *Session, m Message) { s.ReplyError(m, "nope", "refused") })
	})
	ctx := context.Background()
	for _, frame := range []string{
		`{"type":"echo","id":"1"}`, `{"type":"echo","id":"2"}`, `{"type":"fail","id":"3"}`,
		`{"type":"no.such.type","id":"4"}`, `not json`,
	} {
		if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		readMessage(t, c)
	}
	for range 3 {
		hub.DeliverToMember("alice", []byte(`{"type":"pushed"}`))
		hub.DeliverToMember("nobody", []byte(`{"type":"pushed"}`))
	}
	for range 3 {
		if m := readMessage(t, c); m.Type != "pushed" {
			t.Fatalf("got %s, want a pushed frame", m.Type)
		}
	}

	st := hub.Stats()
	wantRequests := map[string]uint64{"echo": 2, "fail": 1, "ping": 0, "auth.refresh": 0, UnknownType: 2}
	if len(st.Requests) != len(wantRequests) {
		t.Fatalf("requests %v, want %v", st.Requests, wantRequests)
	}
	for typ, n := range wantRequests {
		if st.Requests[typ] != n {
			t.Errorf("requests of %s: %d, want %d", typ, st.Requests[typ], n)
		}
	}
	wantErrors := map[ErrorKey]uint64{
		{Type: "fail", Code: "nope"}: 1, {Type: UnknownType, Code: ErrCodeUnknownType}: 1, {Type: UnknownType, Code: ErrCodeBadMessage}: 1,
	}
	if len(st.Errors) != len(wantErrors) {
		t.Fatalf("errors %v, want %v", st.Errors, wantErrors)
	}
	for k, n := range wantErrors {
		if st.Errors[k] != n {
			t.Errorf("errors %+v: %d, want %d", k, st.Errors[k], n)
		}
	}
	if st.Sessions != 1 || st.Delivered != 3 || st.TooSlow != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A session whose queue overflows is closed as too slow, and counted.
func TestStatsCountTooSlowSessions(t *testing.T) {
	cfg := testConfig()
	cfg.SendQueue = 8
	var hub *Hub
	c := testHub(t, cfg, func(h *Hub) {
		hub = h
		h.Handle("flood", func(_ context.Context, s *Session, m Message) {
			for range 1000 {
				s.Reply(m, "n", 1)
			}
		})
	})
	if err := c.Write(context.Background(), websocket.MessageText, []byte(`{"type":"flood"}`)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, _, err := c.Read(ctx); err != nil {
			if st := websocket.CloseStatus(err); st != CloseTooSlow {
				t.Fatalf("read ended with %v, want close %d", err, CloseTooSlow)
			}
			break
		}
	}
	if st := hub.Stats(); st.TooSlow != 1 {
		t.Fatalf("too slow: %d, want 1", st.TooSlow)
	}
}
