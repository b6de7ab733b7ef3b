package presence

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parley/chat/bus"
	"parley/chat/bus/bustest"
	"parley/storage"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// clock is a test clock that moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder is a watching session: it keeps the frames it is sent.
type recorder struct {
	mu     sync.Mutex
	frames []State
}

func (r *recorder) Send(frame []byte) bool {
	var m struct {
		Type string `json:"type"`
		Data State  `json:"data"`
	}
	if err := json.Unmarshal(frame, &m); err != nil || m.Type != FramePresence {
		panic(fmt.Sprintf("bad presence frame %s", frame))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames = append(r.frames, m.Data)
	return true
}

func (r *recorder) got() []State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.frames)
}

func openDB(t *testing.T, dir string) *storage.DB {
	t.Helper()
	db, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func startBus(t *testing.T) *bus.Bus {
	t.Helper()
	b, err := bus.Start(bus.Config{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func startTracker(t *testing.T, nc *nats.Conn, db *storage.DB, opts Options) *Tracker {
	t.Helper()
	opts.Logger = quiet
	tr, err := Start(nc, db, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	return tr
}

// eventually polls cond for up to five seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func state(t *testing.T, tr *Tracker, member string) State {
	t.Helper()
	st, err := tr.States([]string{member})
	if err != nil {
		t.Fatal(err)
	}
	return st[0]
}

// hasEntry reports whether tr holds node's entry for member.
func hasEntry(tr *Tracker, member, node string) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	_, ok := tr.remote[member][node]
	return ok
}

// TestMemberOnTwoNodes: a member with sessions on two nodes is online on
// both until both nodes have reported zero sessions; then both record the
// same last seen.
func TestMemberOnTwoNodes(t *testing.T) {
	busA, busB := bustest.Pair(t, quiet)
	// Short heartbeats: a change published before the other node's
	// subscription crossed the route is repaired by the next heartbeat.
	opts := Options{HeartbeatInterval: 50 * time.Millisecond}
	opts.NodeName = "a"
	a := startTracker(t, busA.Conn(), openDB(t, t.TempDir()), opts)
	opts.NodeName = "b"
	b := startTracker(t, busB.Conn(), openDB(t, t.TempDir()), opts)

	a.SessionOpened("alice")
	a.SessionOpened("alice") // a second device on node a
	eventually(t, "b to see alice online", func() bool { return state(t, b, "alice").Online })
	b.SessionOpened("alice")
	eventually(t, "a to hear of alice on b", func() bool { return hasEntry(a, "alice", b.Node()) })

	// Both devices on a close: a's count reaches zero, b still has one.
	a.SessionClosed("alice")
	a.SessionClosed("alice")
	eventually(t, "b to drop a's entry", func() bool { return !hasEntry(b, "alice", a.Node()) })
	if !state(t, a, "alice").Online || !state(t, b, "alice").Online {
		t.Fatal("alice went offline while she still has a session on node b")
	}

	b.SessionClosed("alice")
	eventually(t, "a to see alice offline", func() bool { return !state(t, a, "alice").Online })
	sa, sb := state(t, a, "alice"), state(t, b, "alice")
	if sb.Online || sb.LastSeen.IsZero() {
		t.Fatalf("on b after the last close: %+v", sb)
	}
	if !sa.LastSeen.Equal(sb.LastSeen) {
		t.Fatalf("last seen differs: a has %v, b has %v", sa.LastSeen, sb.LastSeen)
	}
}

// TestNewNodeLearnsOnlineMembers: a node that starts later learns who is
// online on the others without waiting for their changes.
func TestNewNodeLearnsOnlineMembers(t *testing.T) {
	busA, busB := bustest.Pair(t, quiet)
	opts := Options{HeartbeatInterval: 50 * time.Millisecond}
	a := startTracker(t, busA.Conn(), openDB(t, t.TempDir()), opts)
	a.SessionOpened("carol")
	b := startTracker(t, busB.Conn(), openDB(t, t.TempDir()), opts)
	eventually(t, "b to see carol online", func() bool { return state(t, b, "carol").Online })
	if state(t, b, "dave").Online {
		t.Fatal("dave is online without a session")
	}
}

// publish sends a presence message as a node that is not a Tracker.
func publish(t *testing.T, nc *nats.Conn, node string, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Publish(bus.PresenceSubject(node), data); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
}

// TestSilentNodeExpires: the members of a node that stops sending
// heartbeats go offline ExpireAfter after it was last heard, last seen
// then; a node whose heartbeats keep coming keeps its members online. The
// clock is a test clock and the sweep is called directly, so nothing
// waits 90 s. The two other nodes are played by raw publishes.
func TestSilentNodeExpires(t *testing.T) {
	b := startBus(t)
	clk := newClock()
	tr := startTracker(t, b.Conn(), openDB(t, t.TempDir()), Options{
		NodeName: "here", HeartbeatInterval: time.Hour, Now: clk.Now,
	})
	watcher := &recorder{}
	if err := tr.Watch(watcher, []string{"zed", "yan"}, func([]State) {}); err != nil {
		t.Fatal(err)
	}

	start := clk.Now()
	publish(t, b.Conn(), "ghost", Change{Type: TypeChange, Node: "ghost", MemberID: "zed", Online: true})
	publish(t, b.Conn(), "live", Heartbeat{Type: TypeHeartbeat, Node: "live", Members: []string{"yan"}})
	eventually(t, "zed and yan online", func() bool { return state(t, tr, "zed").Online && state(t, tr, "yan").Online })

	// 60 s later only the live node speaks again.
	clk.Add(60 * time.Second)
	heard := clk.Now()
	publish(t, b.Conn(), "live", Heartbeat{Type: TypeHeartbeat, Node: "live", Members: []string{"yan"}})
	eventually(t, "the live heartbeat", func() bool {
		tr.mu.Lock()
		defer tr.mu.Unlock()
		return tr.remote["yan"]["live"].Equal(heard)
	})

	tr.sweep(start.Add(DefaultExpireAfter)) // not yet past 90 s
	if !state(t, tr, "zed").Online {
		t.Fatal("zed expired before 90 s")
	}
	clk.Add(31 * time.Second) // 91 s after the ghost was last heard
	tr.sweep(clk.Now())
	zed, yan := state(t, tr, "zed"), state(t, tr, "yan")
	if zed.Online || !zed.LastSeen.Equal(start) {
		t.Fatalf("zed after the ghost's entries expired: %+v, want offline, last seen %v", zed, start)
	}
	if !yan.Online {
		t.Fatal("yan expired although the live node kept sending heartbeats")
	}
	got := watcher.got()
	want := []State{{MemberID: "zed", Online: true}, {MemberID: "yan", Online: true}, {MemberID: "zed", LastSeen: start}}
	if !slices.EqualFunc(got, want, sameState) {
		t.Fatalf("pushes %+v, want %+v", got, want)
	}
}

func sameState(a, b State) bool {
	return a.MemberID == b.MemberID && a.Online == b.Online && a.LastSeen.Equal(b.LastSeen)
}

// TestWatchPushesOnlyWatchedMembers: Watch answers with the current
// states, then pushes changes of the watched members only; a new Watch
// replaces the list, and Unwatch ends the pushes.
func TestWatchPushesOnlyWatchedMembers(t *testing.T) {
	b := startBus(t)
	clk := newClock()
	tr := startTracker(t, b.Conn(), openDB(t, t.TempDir()), Options{HeartbeatInterval: time.Hour, Now: clk.Now})
	tr.SessionOpened("bob")

	w := &recorder{}
	var initial []State
	if err := tr.Watch(w, []string{"alice", "bob", "alice"}, func(s []State) { initial = s }); err != nil {
		t.Fatal(err)
	}
	if want := []State{{MemberID: "alice"}, {MemberID: "bob", Online: true}}; !slices.EqualFunc(initial, want, sameState) {
		t.Fatalf("initial states %+v, want %+v", initial, want)
	}

	tr.SessionOpened("carol") // not watched
	tr.SessionOpened("alice")
	tr.SessionOpened("alice") // a second device: no second push
	tr.SessionClosed("alice")
	clk.Add(time.Second)
	tr.SessionClosed("alice")
	tr.SessionClosed("carol")
	left := clk.Now()
	want := []State{{MemberID: "alice", Online: true}, {MemberID: "alice", LastSeen: left}}
	if got := w.got(); !slices.EqualFunc(got, want, sameState) {
		t.Fatalf("pushes %+v, want %+v", got, want)
	}

	// A new list replaces the old one.
	if err := tr.Watch(w, []string{"carol"}, func([]State) {}); err != nil {
		t.Fatal(err)
	}
	tr.SessionOpened("alice")
	tr.SessionOpened("carol")
	if got := w.got(); len(got) != 3 || got[2].MemberID != "carol" || !got[2].Online {
		t.Fatalf("after rewatching carol: %+v", got)
	}
	tr.Unwatch(w)
	tr.SessionClosed("carol")
	if got := w.got(); len(got) != 3 {
		t.Fatalf("pushed after Unwatch: %+v", got)
	}
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if len(tr.watchers) != 0 || len(tr.watching) != 0 {
		t.Fatalf("watch tables not empty after Unwatch: %v %v", tr.watchers, tr.watching)
	}
}

// TestLastSeenSurvivesRestart: Close stores the pending last-seen times,
// and a new tracker on the same database reads them; an older time never
// replaces a newer one.
func TestLastSeenSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b := startBus(t)
	clk := newClock()
	db, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Start(b.Conn(), db, Options{HeartbeatInterval: time.Hour, Now: clk.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tr.SessionOpened("alice")
	clk.Add(1500 * time.Microsecond) // kept to the millisecond
	tr.SessionClosed("alice")
	left := clk.Now().Truncate(time.Millisecond)
	// Another node reports an older time for alice: ignored.
	tr.applyChange(Change{Type: TypeChange, Node: "old", MemberID: "alice", LastSeen: left.Add(-time.Hour)})
	tr.Close()
	tr.Close() // idempotent
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir)
	tr = startTracker(t, b.Conn(), db, Options{HeartbeatInterval: time.Hour, Now: clk.Now})
	got := state(t, tr, "alice")
	if got.Online || !got.LastSeen.Equal(left) {
		t.Fatalf("alice after restart: %+v, want offline, last seen %v", got, left)
	}
	if never := state(t, tr, "nobody"); never.Online || !never.LastSeen.IsZero() {
		t.Fatalf("a member never seen: %+v", never)
	}
}

// TestHeartbeatIsSplit: a large online set goes out in messages of at
// most MaxHeartbeatMembers ids, and all of it arrives.
func TestHeartbeatIsSplit(t *testing.T) {
	b := startBus(t)
	tr := startTracker(t, b.Conn(), openDB(t, t.TempDir()), Options{NodeName: "big", HeartbeatInterval: time.Hour})
	n := MaxHeartbeatMembers + 1
	for i := range n {
		tr.SessionOpened(fmt.Sprintf("m%d", i))
	}
	msgs := make(chan Heartbeat, 16)
	sub, err := b.Conn().Subscribe(bus.PresenceSubject(tr.Node()), func(m *nats.Msg) {
		var hb Heartbeat
		if json.Unmarshal(m.Data, &hb) == nil && hb.Type == TypeHeartbeat {
			msgs <- hb
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	b.Conn().Flush()
	tr.publishHeartbeat(false)
	seen := map[string]bool{}
	for range 2 {
		select {
		case hb := <-msgs:
			if len(hb.Members) > MaxHeartbeatMembers || hb.Node != tr.Node() {
				t.Fatalf("heartbeat of %d members from %q", len(hb.Members), hb.Node)
			}
			for _, m := range hb.Members {
				seen[m] = true
			}
		case <-time.After(5 * time.Second):
			t.Fatal("heartbeat messages did not arrive")
		}
	}
	if len(seen) != n {
		t.Fatalf("heartbeats carried %d members, want %d", len(seen), n)
	}
}

func TestStatesValidatesMembers(t *testing.T) {
	b := startBus(t)
	tr := startTracker(t, b.Conn(), openDB(t, t.TempDir()), Options{HeartbeatInterval: time.Hour})
	tooMany := make([]string, MaxQueryMembers+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprintf("m%d", i)
	}
	for name, members := range map[string][]string{
		"none":     nil,
		"empty id": {"alice", ""},
		"slash":    {"a/b"},
		"control":  {"a\nb"},
		"too long": {string(make([]byte, MaxMemberIDBytes+1))},
		"too many": tooMany,
	} {
		if _, err := tr.States(members); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	// Duplicates count once.
	dups := append(tooMany[:MaxQueryMembers:MaxQueryMembers], tooMany[0])
	if st, err := tr.States(dups); err != nil || len(st) != MaxQueryMembers {
		t.Fatalf("%d ids with one duplicate: %d states, %v", len(dups), len(st), err)
	}
	w := &recorder{}
	tooManyWatch := make([]string, MaxWatchMembers+1)
	for i := range tooManyWatch {
		tooManyWatch[i] = fmt.Sprintf("w%d", i)
	}
	if err := tr.Watch(w, tooManyWatch, func([]State) { t.Error("reply to a refused watch") }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("watching %d members: %v", len(tooManyWatch), err)
	}
}
