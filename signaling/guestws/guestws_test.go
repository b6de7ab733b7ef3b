package guestws_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/signaling/auth"
	"parley/signaling/guestws"
	"parley/signaling/ws"
	"parley/storage"
)

// clock is the auth service's clock, which the test sets.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

type noMembers struct{}

func (noMembers) MemberActive(string) (bool, error) { return true, nil }

type fixture struct {
	auth  *auth.Service
	clock *clock
	ep    *guestws.Endpoint
	srv   *httptest.Server
	// refuse makes MayRenew refuse everyone.
	refuse atomic.Bool
}

func newFixture(t *testing.T, kind string) *fixture {
	t.Helper()
	db, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	f := &fixture{clock: &clock{now: time.Now()}}
	f.auth, err = auth.New(db, noMembers{}, auth.Config{Secret: []byte(strings.Repeat("k", 32)), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.ep, err = guestws.New(guestws.Config{
		WS:   ws.Config{ReadLimit: 64 << 10, SendQueue: 64, PingInterval: 20 * time.Second},
		Kind: kind, Path: "/ws/guest", Describe: kind + " guest tokens",
		MayRenew: func(g guestws.Guest) error {
			if f.refuse.Load() {
				return errors.New("the meeting has ended")
			}
			return nil
		},
	}, f.auth, quiet)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.ep)
	t.Cleanup(func() {
		f.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = f.ep.Hub().Shutdown(ctx)
	})
	return f
}

func (f *fixture) dial(token string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.srv.URL, "http"),
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	return c, err
}

// request sends one request and reads frames until its reply.
func request(t *testing.T, c *websocket.Conn, typ string, data any) ws.Message {
	t.Helper()
	raw, _ := json.Marshal(data)
	frame, _ := json.Marshal(ws.Message{Type: typ, ID: "1", Data: raw})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, frame); err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	for {
		_, in, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("%s: read: %v", typ, err)
		}
		var m ws.Message
		if err := json.Unmarshal(in, &m); err != nil {
			t.Fatal(err)
		}
		if m.ID == "1" {
			return m
		}
	}
}

func errorCode(m ws.Message) string {
	var e struct{ Code string }
	_ = json.Unmarshal(m.Data, &e)
	return e.Code
}

// Only restricted tokens of the endpoint's kind open a socket, and the
// endpoint knows each guest by its token.
func TestEndpointAdmitsOnlyItsGuests(t *testing.T) {
	f := newFixture(t, auth.ScopeKindMeeting)
	g, err := f.auth.IssueGuest(auth.TokenScope{Kind: auth.ScopeKindMeeting, ID: "M1"}, "Visitor")
	if err != nil {
		t.Fatal(err)
	}
	viewer, err := f.auth.IssueGuest(auth.TokenScope{Kind: auth.ScopeKindLive, ID: "L1"}, "Viewer")
	if err != nil {
		t.Fatal(err)
	}
	member, err := f.auth.IssueAccess("alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"a live's token": viewer.AccessToken, "a member's token": member.AccessToken, "garbage": "x.y.z"} {
		if c, err := f.dial(tok); err == nil {
			c.CloseNow()
			t.Errorf("%s opened a meeting guest socket", name)
		}
	}
	c, err := f.dial(g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	got, ok := f.ep.Guest(g.GuestID)
	if !ok || got.Name != "Visitor" || got.ScopeID != "M1" {
		t.Fatalf("Guest(%s) = %+v, %v", g.GuestID, got, ok)
	}
	if _, ok := f.ep.Guest("guest:unknown"); ok {
		t.Fatal("an unknown guest is known")
	}
}

// A guest renews its token before it expires, under the same guest id,
// and auth.refresh with the new one keeps its socket open past the old
// token's expiry; without that, the socket closes with 4001.
func TestGuestRenewsAndKeepsItsSocket(t *testing.T) {
	f := newFixture(t, auth.ScopeKindLive)
	scope := auth.TokenScope{Kind: auth.ScopeKindLive, ID: "L1"}
	// Tokens issued now expire in 2 s of real time.
	f.clock.Set(time.Now().Add(-auth.GuestTokenTTL + 2*time.Second))
	g, err := f.auth.IssueGuest(scope, "Viewer")
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.auth.IssueGuest(scope, "Someone else")
	if err != nil {
		t.Fatal(err)
	}
	stays, err := f.dial(g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	defer stays.CloseNow()
	lapses, err := f.dial(other.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	defer lapses.CloseNow()

	// Another guest's token, or none, renews nothing.
	if m := request(t, stays, "auth.renew", map[string]string{"access_token": other.AccessToken}); errorCode(m) != ws.ErrCodeUnauth {
		t.Fatalf("renew with another guest's token: %s %s", m.Type, m.Data)
	}
	if m := request(t, stays, "auth.renew", map[string]string{}); errorCode(m) != ws.ErrCodeBadMessage {
		t.Fatalf("renew without a token: %s %s", m.Type, m.Data)
	}
	f.refuse.Store(true)
	if m := request(t, stays, "auth.renew", map[string]string{"access_token": g.AccessToken}); errorCode(m) != guestws.CodeForbidden {
		t.Fatalf("renew MayRenew refuses: %s %s", m.Type, m.Data)
	}
	f.refuse.Store(false)

	f.clock.Set(time.Now())
	m := request(t, stays, "auth.renew", map[string]string{"access_token": g.AccessToken})
	var renewed auth.GuestToken
	if err := json.Unmarshal(m.Data, &renewed); err != nil || m.Type != "auth.renewed" {
		t.Fatalf("renew: %s %s", m.Type, m.Data)
	}
	if renewed.GuestID != g.GuestID || renewed.Name != "Viewer" || renewed.AccessToken == g.AccessToken {
		t.Fatalf("renewed %+v", renewed)
	}
	if m := request(t, stays, "auth.refresh", map[string]string{"access_token": renewed.AccessToken}); m.Type != "auth.refreshed" {
		t.Fatalf("refresh with the renewed token: %s %s", m.Type, m.Data)
	}

	// The old tokens' expiry passes.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err = lapses.Read(ctx)
	if websocket.CloseStatus(err) != ws.CloseTokenExpired {
		t.Fatalf("a socket whose token expired ended with %v, want 4001", err)
	}
	if m := request(t, stays, "ping", nil); m.Type != "pong" {
		t.Fatalf("the renewed guest's socket: %s %s", m.Type, m.Data)
	}
	if got, ok := f.ep.Guest(g.GuestID); !ok || !got.ExpiresAt.After(time.Now().Add(time.Minute)) {
		t.Fatalf("the endpoint forgot the renewed guest: %+v %v", got, ok)
	}
}
