package livews_test

import (
	"context"
	"encoding/json"
	"fmt"
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

	"parley/chat/audit"
	"parley/chat/bus"
	"parley/chat/conversation"
	"parley/chat/directory"
	"parley/chat/fanout"
	"parley/chat/liveroom"
	"parley/chat/messaging"
	"parley/chat/msglog"
	"parley/sfu/live"
	"parley/signaling/api"
	"parley/signaling/auth"
	"parley/signaling/livews"
	"parley/signaling/ws"
	"parley/storage"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// env is one node's live interaction stack on loopback: real Pebble,
// directory, auth, embedded NATS, chat log and service, live store, the
// member hub at /ws and the viewer endpoint at /ws/live.
type env struct {
	t     *testing.T
	url   string
	db    *storage.DB
	dir   *directory.Directory
	auth  *auth.Service
	lives *live.Store
	rooms *liveroom.Service
	sales string // department id: Sales, under the root
	east  string // department id: Sales East, under Sales
	eng   string // department id: Engineering
	vip   string // tag id
}

type active struct{ dir *directory.Directory }

func (a active) MemberActive(id string) (bool, error) {
	m, err := a.dir.GetMember(id)
	if err != nil {
		return false, nil
	}
	return m.Status == directory.StatusActive, nil
}

type noEvents struct{}

func (noEvents) MemberJoined(string, string) error { return nil }
func (noEvents) MemberLeft(string, string) error   { return nil }

// members of the test company: alice hosts, gina is a guest presenter;
// bob and carol are in Sales (carol in Sales East), erin in
// Engineering with the VIP tag, frank in Engineering without it.
var members = map[string]string{"alice": "eng", "gina": "eng", "bob": "sales", "carol": "east", "dave": "sales", "erin": "eng", "frank": "eng"}

func newEnv(t *testing.T, cfg livews.Config, tally time.Duration) *env {
	t.Helper()
	e := &env{t: t}
	var err error
	if e.db, err = storage.Open(t.TempDir(), storage.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	e.dir = directory.New(e.db, audit.New(e.db))
	if err := e.dir.Bootstrap("Acme"); err != nil {
		t.Fatal(err)
	}
	sys := directory.Actor{ID: "system"}
	mk := func(name, parent string) string {
		d, err := e.dir.CreateDepartment(sys, name, parent, 0)
		if err != nil {
			t.Fatal(err)
		}
		return d.ID
	}
	e.sales = mk("Sales", directory.RootDepartmentID)
	e.east = mk("Sales East", e.sales)
	e.eng = mk("Engineering", directory.RootDepartmentID)
	depts := map[string]string{"sales": e.sales, "east": e.east, "eng": e.eng}
	for id, d := range members {
		if _, err := e.dir.CreateMember(sys, directory.Member{ID: id, Name: strings.ToUpper(id[:1]) + id[1:], Departments: []string{depts[d]}}); err != nil {
			t.Fatal(err)
		}
	}
	tag, err := e.dir.CreateTag(sys, "VIP")
	if err != nil {
		t.Fatal(err)
	}
	e.vip = tag.ID
	if err := e.dir.UpdateTagMembers(sys, tag.ID, []string{"erin"}, nil); err != nil {
		t.Fatal(err)
	}
	if e.auth, err = auth.New(e.db, active{e.dir}, auth.Config{}); err != nil {
		t.Fatal(err)
	}

	b, err := bus.Start(bus.Config{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	log, err := msglog.Open(e.db, msglog.Options{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	wsCfg := ws.Config{ReadLimit: 64 << 10, SendQueue: 1024, PingInterval: 20 * time.Second}
	hub := ws.NewHub(wsCfg, e.auth, active{e.dir}, quiet)
	convs := conversation.New(e.db, conversation.Options{})
	chat := messaging.New(messaging.Deps{
		DB: e.db, Log: log, Conversations: convs, Fanout: fanout.New(b.Conn(), hub, convs, quiet),
		Members: active{e.dir}, Events: noEvents{}, Logger: quiet,
	})
	if e.rooms, err = liveroom.New(liveroom.Deps{DB: e.db, Log: log, Conn: b.Conn(), Config: liveroom.Config{TallyInterval: tally}, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
	e.lives = live.New(e.db, live.Options{FlushInterval: -1})
	viewers, err := livews.NewViewerEndpoint(wsCfg, e.auth, quiet)
	if err != nil {
		t.Fatal(err)
	}
	handlers, err := livews.Register(livews.Deps{
		Rooms: e.rooms, Lives: e.lives, Members: e.dir, Config: cfg, Logger: quiet,
		Identify: livews.Identifier{Directory: e.dir, Viewers: viewers}.Identify,
		InScope:  api.New(api.Deps{Directory: e.dir, Auth: e.auth, Lives: e.lives, Logger: quiet}).InLiveScope,
	}, hub, viewers.Hub())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /ws", hub)
	mux.Handle("GET "+livews.ViewerPath, viewers)
	srv := httptest.NewServer(mux)
	e.url = srv.URL
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		viewers.Hub().Shutdown(ctx)
		if err := handlers.Wait(ctx); err != nil {
			t.Error(err)
		}
		srv.Close()
		e.rooms.Close()
		chat.Close()
		log.Close()
		e.lives.Close()
		b.Close()
	})
	return e
}

// newLive creates a live hosted by alice with gina as guest, on air.
func (e *env) newLive(scope live.Scope) live.Live {
	e.t.Helper()
	l, _, err := e.lives.Create(live.NewLive{Title: "All hands", HostID: "alice", Guests: []string{"gina"}, Scope: scope})
	if err != nil {
		e.t.Fatal(err)
	}
	if l, err = e.lives.MarkLive(l.ID, time.Now()); err != nil {
		e.t.Fatal(err)
	}
	return l
}

func (e *env) memberToken(id string) string {
	e.t.Helper()
	tok, err := e.auth.StartSession(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.AccessToken
}

func (e *env) viewerToken(liveID, name string) (token, guestID string) {
	e.t.Helper()
	g, err := e.auth.IssueGuest(auth.TokenScope{Kind: auth.ScopeKindLive, ID: liveID}, name)
	if err != nil {
		e.t.Fatal(err)
	}
	return g.AccessToken, g.GuestID
}

// member connects a member's device to /ws.
func (e *env) member(id string) *client { return e.dial("/ws", e.memberToken(id)) }

// msg is one frame as a device sees it.
type msg struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// client is a test device: it reads on its own goroutine, hands replies
// to the waiting request by id, and keeps pushed frames by type.
type client struct {
	t    *testing.T
	conn *websocket.Conn
	next atomic.Int64

	mu      sync.Mutex
	waiting map[string]chan msg
	pushed  map[string][]msg
	notify  chan struct{}
	done    chan struct{}
}

func (e *env) dial(path, token string) *client {
	e.t.Helper()
	conn, err := e.tryDial(path, token)
	if err != nil {
		e.t.Fatalf("dial %s: %v", path, err)
	}
	c := &client{t: e.t, conn: conn, waiting: map[string]chan msg{}, pushed: map[string][]msg{}, notify: make(chan struct{}, 1), done: make(chan struct{})}
	go c.readLoop()
	e.t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	c.call("ping", nil, nil)
	return c
}

func (e *env) tryDial(path, token string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.url, "http")+path, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	return conn, nil
}

func (c *client) readLoop() {
	defer close(c.done)
	for {
		_, raw, err := c.conn.Read(context.Background())
		if err != nil {
			return
		}
		var m msg
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		c.mu.Lock()
		if ch, ok := c.waiting[m.ID]; ok && m.ID != "" {
			c.mu.Unlock()
			ch <- m
			continue
		}
		c.pushed[m.Type] = append(c.pushed[m.Type], m)
		c.mu.Unlock()
		select {
		case c.notify <- struct{}{}:
		default:
		}
	}
}

// call sends one request and returns its reply's type, decoding its data
// into out when out is not nil. An error reply's code is returned as
// "error:<code>".
func (c *client) call(typ string, data any, out any) string {
	c.t.Helper()
	id := fmt.Sprintf("r%d", c.next.Add(1))
	ch := make(chan msg, 1)
	c.mu.Lock()
	c.waiting[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}()
	raw, _ := json.Marshal(data)
	frame, _ := json.Marshal(msg{Type: typ, ID: id, Data: raw})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, frame); err != nil {
		c.t.Fatalf("%s: write: %v", typ, err)
	}
	select {
	case m := <-ch:
		if m.Type == "error" {
			var e struct{ Code string }
			json.Unmarshal(m.Data, &e)
			return "error:" + e.Code
		}
		if out != nil {
			if err := json.Unmarshal(m.Data, out); err != nil {
				c.t.Fatalf("%s reply %s: %v", typ, m.Data, err)
			}
		}
		return m.Type
	case <-c.done:
		c.t.Fatalf("%s: connection closed", typ)
	case <-ctx.Done():
		c.t.Fatalf("%s: no reply within 10s", typ)
	}
	return ""
}

// must is call that fails the test unless the reply is of type want.
func (c *client) must(want, typ string, data any, out any) {
	c.t.Helper()
	if got := c.call(typ, data, out); got != want {
		c.t.Fatalf("%s %v: reply %s, want %s", typ, data, got, want)
	}
}

// pushes returns the pushed frames of typ received so far.
func (c *client) pushes(typ string) []msg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]msg(nil), c.pushed[typ]...)
}

// waitFor waits until a pushed frame of typ satisfies ok, and returns
// every frame of typ received by then.
func (c *client) waitFor(typ string, ok func([]msg) bool) []msg {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := c.pushes(typ); ok(got) {
			return got
		}
		select {
		case <-c.notify:
		case <-c.done:
			c.t.Fatalf("connection closed waiting for %s", typ)
		case <-deadline:
			c.t.Fatalf("waited 10s for %s frames; got %d", typ, len(c.pushes(typ)))
		}
	}
}

// atLeast waits for n pushed frames of typ.
func (c *client) atLeast(typ string, n int) []msg {
	c.t.Helper()
	return c.waitFor(typ, func(m []msg) bool { return len(m) >= n })
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}
