package fanout

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"parley/chat/bus"
	"parley/chat/bus/bustest"
)

// recorder stands in for a node's WebSocket hub: it records what each
// member's sessions were handed.
type recorder struct {
	mu  sync.Mutex
	got map[string][]string
}

func (r *recorder) DeliverToMember(memberID string, frame []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string][]string{}
	}
	r.got[memberID] = append(r.got[memberID], string(frame))
}

func (r *recorder) frames(memberID string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got[memberID])
}

// memberships is a fixed membership table.
type memberships map[string][]string

func (m memberships) ListForMember(id string) ([]string, error) { return m[id], nil }

// converge publishes probe frames on conv from node until every listed
// member has one, then forgets all probes, so later counts see only the
// test's own frames.
func converge(t *testing.T, node *Fanout, conv string, want map[*recorder][]string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		node.Publish(conv, []byte("probe"))
		time.Sleep(20 * time.Millisecond)
		done := true
		for rec, members := range want {
			for _, m := range members {
				done = done && slices.Contains(rec.frames(m), "probe")
			}
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("interest in %s did not converge", conv)
		}
	}
	time.Sleep(50 * time.Millisecond) // let stray probes land before forgetting them
	for rec := range want {
		rec.forgetProbes()
	}
}

func (r *recorder) forgetProbes() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for m, frames := range r.got {
		r.got[m] = slices.DeleteFunc(frames, func(f string) bool { return f == "probe" })
	}
}

// eventually polls cond for up to two seconds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFanoutAcrossNodes(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	busA, busB := bustest.Pair(t, quiet)
	table := memberships{"alice": {"g1"}, "bob": {"g1", "g2"}, "carol": {"g2"}}
	recA, recB := &recorder{}, &recorder{}
	nodeA := New(busA.Conn(), recA, table, quiet)
	nodeB := New(busB.Conn(), recB, table, quiet)

	// alice on node A with two devices, bob and carol on node B.
	for _, open := range []struct {
		f  *Fanout
		id string
	}{{nodeA, "alice"}, {nodeA, "alice"}, {nodeB, "bob"}, {nodeB, "carol"}} {
		if err := open.f.SessionOpened(open.id); err != nil {
			t.Fatal(err)
		}
	}
	if convs, members := nodeA.Interest(); convs != 1 || members != 1 {
		t.Fatalf("node A interest: %d conversations, %d members", convs, members)
	}
	if convs, members := nodeB.Interest(); convs != 2 || members != 2 {
		t.Fatalf("node B interest: %d conversations, %d members", convs, members)
	}

	// Interest crosses the route asynchronously: wait until node A's
	// publishes reach node B's members before counting deliveries.
	converge(t, nodeA, "g1", map[*recorder][]string{recA: {"alice"}, recB: {"bob"}})
	converge(t, nodeB, "g2", map[*recorder][]string{recB: {"bob", "carol"}})
	converge(t, nodeA, "g2", map[*recorder][]string{recB: {"bob", "carol"}})

	if err := nodeA.Publish("g1", []byte("m1")); err != nil {
		t.Fatal(err)
	}
	if err := nodeB.Publish("g2", []byte("m2")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "deliveries", func() bool {
		return len(recA.frames("alice")) == 1 && len(recB.frames("bob")) == 2 && len(recB.frames("carol")) == 1
	})
	time.Sleep(50 * time.Millisecond) // nothing further may arrive
	if got := recA.frames("alice"); !slices.Equal(got, []string{"m1"}) {
		t.Errorf("alice got %v, want [m1] once (one delivery per member; the hub copies it to each device)", got)
	}
	if got := recB.frames("carol"); !slices.Equal(got, []string{"m2"}) {
		t.Errorf("carol got %v, want only g2's message", got)
	}

	// carol joins g1 while online; a later message reaches her.
	if err := nodeB.Joined("carol", "g1"); err != nil {
		t.Fatal(err)
	}
	converge(t, nodeA, "g1", map[*recorder][]string{recB: {"carol"}})
	nodeA.Publish("g1", []byte("m3"))
	eventually(t, "carol's g1 message", func() bool { return slices.Contains(recB.frames("carol"), "m3") })

	// bob leaves g1: g1 messages stop reaching him, g2 ones still do.
	nodeB.Left("bob", "g1")
	nodeA.Publish("g1", []byte("m4"))
	nodeA.Publish("g2", []byte("m5"))
	eventually(t, "m5", func() bool { return slices.Contains(recB.frames("bob"), "m5") })
	eventually(t, "m4 to carol", func() bool { return slices.Contains(recB.frames("carol"), "m4") })
	if slices.Contains(recB.frames("bob"), "m4") {
		t.Error("bob got a message of a conversation he left")
	}

	// The inbox reaches one member on any node.
	nodeB.SendToMember("alice", []byte("receipt"))
	eventually(t, "inbox frame", func() bool { return slices.Contains(recA.frames("alice"), "receipt") })
	if slices.Contains(recB.frames("bob"), "receipt") || slices.Contains(recB.frames("carol"), "receipt") {
		t.Error("an inbox frame reached another member")
	}

	// alice's devices close: the last one drops node A's interest.
	nodeA.SessionClosed("alice")
	if _, members := nodeA.Interest(); members != 1 {
		t.Fatal("interest dropped while a device was still connected")
	}
	nodeA.SessionClosed("alice")
	if convs, members := nodeA.Interest(); convs != 0 || members != 0 {
		t.Fatalf("node A still interested: %d conversations, %d members", convs, members)
	}
}

func TestFanoutManyMembersOneFrame(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	busA, _ := bustest.Pair(t, quiet)
	table := memberships{}
	for i := 0; i < 200; i++ {
		table[fmt.Sprintf("m%d", i)] = []string{"big"}
	}
	rec := &recorder{}
	node := New(busA.Conn(), rec, table, quiet)
	for id := range table {
		if err := node.SessionOpened(id); err != nil {
			t.Fatal(err)
		}
	}
	node.Publish("big", []byte("hello"))
	eventually(t, "200 deliveries", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return len(rec.got) == 200
	})
	for id := range table {
		if got := rec.frames(id); len(got) != 1 || got[0] != "hello" {
			t.Fatalf("%s got %v", id, got)
		}
	}
}

// sameShard returns n member ids whose inboxes share one shard.
func sameShard(t *testing.T, n int) []string {
	t.Helper()
	byShard := map[int][]string{}
	for i := 0; ; i++ {
		id := fmt.Sprintf("member-%d", i)
		s := bus.InboxShard(id)
		if byShard[s] = append(byShard[s], id); len(byShard[s]) == n {
			return byShard[s]
		}
	}
}

// A node holds one subscription per inbox shard with a member online
// there, not one per member: it hears the shard's members who are online
// elsewhere and drops their frames, and it keeps the shard until the
// shard's last local member goes.
func TestInboxShards(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	busA, busB := bustest.Pair(t, quiet)
	ids := sameShard(t, 3)
	x, x2, y := ids[0], ids[1], ids[2]
	shard := bus.InboxShard(x)
	recA, recB := &recorder{}, &recorder{}
	nodeA := New(busA.Conn(), recA, memberships{}, quiet)
	nodeB := New(busB.Conn(), recB, memberships{}, quiet)
	for _, open := range []struct {
		f  *Fanout
		id string
	}{{nodeA, x}, {nodeA, x2}, {nodeB, y}} {
		if err := open.f.SessionOpened(open.id); err != nil {
			t.Fatal(err)
		}
	}
	nodeA.mu.Lock()
	subs := len(nodeA.routes)
	nodeA.mu.Unlock()
	if subs != 1 {
		t.Fatalf("node A holds %d subscriptions for two members of one shard, want 1", subs)
	}

	// Wait until node A's interest in the shard has crossed the route.
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(recA.frames(x), "probe") {
		if time.Now().After(deadline) {
			t.Fatal("node A's inbox shard interest did not reach node B")
		}
		nodeB.SendToMember(x, []byte("probe"))
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	recA.forgetProbes()
	elsewhere := nodeB.Stats().InboxElsewhere

	nodeB.SendToMember(x, []byte("receipt"))
	eventually(t, "x's frame on node A", func() bool { return slices.Contains(recA.frames(x), "receipt") })
	eventually(t, "node B dropping x's frame", func() bool { return nodeB.Stats().InboxElsewhere == elsewhere+1 })
	if got := recB.frames(x); len(got) != 0 {
		t.Errorf("node B delivered %v to x, who has no session there", got)
	}
	if got := recA.frames(x2); len(got) != 0 {
		t.Errorf("x2 got x's frames: %v", got)
	}

	// x goes; x2 keeps the shard.
	nodeA.SessionClosed(x)
	nodeB.SendToMember(x2, []byte("for x2"))
	eventually(t, "x2's frame", func() bool { return slices.Contains(recA.frames(x2), "for x2") })
	if got := recA.frames(x); !slices.Equal(got, []string{"receipt"}) {
		t.Errorf("x got %v after leaving, want only the earlier receipt", got)
	}

	// The shard's last member goes: the subscription goes with it.
	nodeA.SessionClosed(x2)
	nodeA.mu.Lock()
	defer nodeA.mu.Unlock()
	if len(nodeA.routes) != 0 || nodeA.inboxes[shard].sub != nil || nodeA.inboxes[shard].members != 0 {
		t.Errorf("node A kept its interest: %d subscriptions, shard %+v", len(nodeA.routes), nodeA.inboxes[shard])
	}
}
