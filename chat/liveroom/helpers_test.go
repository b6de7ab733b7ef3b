package liveroom_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"parley/chat/bus"
	"parley/chat/conversation"
	"parley/chat/fanout"
	"parley/chat/liveroom"
	"parley/chat/messaging"
	"parley/chat/msglog"
	"parley/storage"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// viewer stands in for a WebSocket session: it records every frame the
// room hands it.
type viewer struct {
	mu     sync.Mutex
	frames []frame
	notify chan struct{}
}

type frame struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

func newViewer() *viewer { return &viewer{notify: make(chan struct{}, 1)} }

func (v *viewer) Send(raw []byte) bool {
	var f frame
	if err := json.Unmarshal(raw, &f); err != nil {
		f = frame{Type: "undecodable"}
	}
	v.mu.Lock()
	v.frames = append(v.frames, f)
	v.mu.Unlock()
	select {
	case v.notify <- struct{}{}:
	default:
	}
	return true
}

// ofType returns the frames of typ received so far.
func (v *viewer) ofType(typ string) []frame {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []frame
	for _, f := range v.frames {
		if f.Type == typ {
			out = append(out, f)
		}
	}
	return out
}

// wait waits until v holds at least n frames of typ.
func (v *viewer) wait(t *testing.T, typ string, n int) []frame {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if got := v.ofType(typ); len(got) >= n {
			return got
		}
		select {
		case <-v.notify:
		case <-deadline:
			t.Fatalf("waited 10s for %d %s frames, got %d", n, typ, len(v.ofType(typ)))
		}
	}
}

// node is one server's live interaction stack over real parts: Pebble,
// the message log, embedded NATS, and the chat service whose durable hook
// publishes the live's entries.
type node struct {
	dir  string
	db   *storage.DB
	log  *msglog.Log
	bus  *bus.Bus
	chat *messaging.Service
	svc  *liveroom.Service
	cfg  liveroom.Config
	seed io.Reader
}

// nobody is an empty directory: live tests make no chat conversations.
type nobody struct{}

func (nobody) MemberActive(string) (bool, error) { return false, nil }

type noEvents struct{}

func (noEvents) MemberJoined(string, string) error { return nil }
func (noEvents) MemberLeft(string, string) error   { return nil }

type noDeliver struct{}

func (noDeliver) DeliverToMember(string, []byte) {}

// startNode starts a node in a fresh directory. A zero cfg takes an hour
// long tally interval, so tests flush tallies themselves.
func startNode(t *testing.T, cfg liveroom.Config) *node {
	t.Helper()
	if cfg.TallyInterval == 0 {
		cfg.TallyInterval = time.Hour
	}
	n := &node{dir: t.TempDir(), cfg: cfg}
	n.open(t)
	return n
}

func (n *node) open(t testing.TB) {
	t.Helper()
	var err error
	if n.db, err = storage.Open(n.dir, storage.Options{}); err != nil {
		t.Fatal(err)
	}
	if n.log, err = msglog.Open(n.db, msglog.Options{Shards: 2}); err != nil {
		t.Fatal(err)
	}
	if n.bus, err = bus.Start(bus.Config{}, quiet); err != nil {
		t.Fatal(err)
	}
	convs := conversation.New(n.db, conversation.Options{})
	fan := fanout.New(n.bus.Conn(), noDeliver{}, convs, quiet)
	n.chat = messaging.New(messaging.Deps{
		DB: n.db, Log: n.log, Conversations: convs, Fanout: fan, Members: nobody{}, Events: noEvents{}, Logger: quiet,
	})
	n.svc, err = liveroom.New(liveroom.Deps{DB: n.db, Log: n.log, Conn: n.bus.Conn(), Config: n.cfg, Logger: quiet, Seeds: n.seed})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.close)
}

// close stops the node in the server's order; safe to call twice.
func (n *node) close() {
	if n.svc == nil {
		return
	}
	n.svc.Close()
	n.chat.Close()
	n.log.Close()
	n.bus.Close()
	n.db.Close()
	n.svc = nil
}

// restart closes the node and opens it again on the same directory.
func (n *node) restart(t *testing.T) {
	t.Helper()
	n.close()
	n.open(t)
}

// join adds a recording viewer of live as viewerID.
func (n *node) join(t *testing.T, live, viewerID string) *viewer {
	t.Helper()
	v := newViewer()
	if err := n.svc.Join(live, viewerID, v); err != nil {
		t.Fatal(err)
	}
	return v
}

func decode[T any](t *testing.T, raw json.RawMessage) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return v
}

// fixedSeeds hands out seeds 0x01.., 0x02.., ... so draws are
// reproducible.
type fixedSeeds struct{ next byte }

func (f *fixedSeeds) Read(p []byte) (int, error) {
	f.next++
	for i := range p {
		p[i] = f.next
	}
	return len(p), nil
}
