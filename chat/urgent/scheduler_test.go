package urgent_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"parley/chat/conversation"
	"parley/chat/urgent"
	"parley/chat/urgent/urgenttest"
	"parley/storage"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// notices records reminders, standing in for the chat service's delivery
// to devices, and holds the recalled messages.
type notices struct {
	mu       sync.Mutex
	got      []string // "member:conv:seq:repeat/of"
	recalled map[string]bool
}

func (n *notices) Recalled(convID string, seq uint64) (uint64, bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return 0, n.recalled[fmt.Sprintf("%s:%d", convID, seq)], nil
}

func (n *notices) NotifyUrgent(memberIDs []string, nt urgent.Notice) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range memberIDs {
		n.got = append(n.got, fmt.Sprintf("%s:%s:%d:%d/%d", m, nt.ConversationID, nt.Seq, nt.Repeat, nt.Of))
	}
}

func (n *notices) list() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.got)
}

// fixture: a real Pebble and conversation store holding the direct
// conversation of alice and bob (created at seq 1) and a group of alice,
// bob and carol.
type fixture struct {
	dir    string
	db     *storage.DB
	convs  *conversation.Store
	clock  *urgenttest.ManualClock
	notes  *notices
	sched  *urgent.Scheduler
	direct string
	group  string
	close  func() // stops the scheduler and closes the database; safe twice
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{dir: t.TempDir(), clock: urgenttest.NewManualClock(), notes: &notices{recalled: map[string]bool{}}}
	f.open(t)
	err := f.db.Update(func(b *storage.Batch) error {
		d, err := f.convs.StageCreateDirect(b, "alice", "bob", 1, f.clock.Now())
		if err != nil {
			return err
		}
		f.direct = d.ID
		g, err := f.convs.StageCreateGroup(b, conversation.Conversation{ID: conversation.NewGroupID(), Name: "Team"}, "alice", []string{"bob", "carol"}, 1, f.clock.Now())
		f.group = g.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// open opens the database and starts a scheduler on it.
func (f *fixture) open(t *testing.T) {
	t.Helper()
	db, err := storage.Open(f.dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.db = db
	f.convs = conversation.New(db, conversation.Options{})
	sched := urgent.New(db, f.convs, f.notes, urgent.Options{Clock: f.clock, Logger: quiet})
	f.sched = sched
	var once sync.Once
	f.close = func() {
		once.Do(func() {
			sched.Close()
			db.Close()
		})
	}
	t.Cleanup(f.close)
	sched.Start()
}

// schedule stages it in its own commit and wakes the scheduler, as the
// chat service does after an urgent message's commit.
func (f *fixture) schedule(t *testing.T, it urgent.Item) {
	t.Helper()
	if err := f.db.Update(func(b *storage.Batch) error { return f.sched.Stage(b, it) }); err != nil {
		t.Fatal(err)
	}
	f.sched.Wake()
}

// waitFor polls until the schedule holds exactly want, as "seq:repeat".
func (f *fixture) waitFor(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		items, err := f.sched.Pending(0)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, it := range items {
			got = append(got, fmt.Sprintf("%d:%d", it.Seq, it.Repeat))
		}
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("schedule %v, want %v", got, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// The schedule is ordered by due time, whatever the order of staging, and
// each key round-trips every field.
func TestStageAndPending(t *testing.T) {
	f := newFixture(t)
	start := f.clock.Now()
	f.schedule(t, urgent.Item{ConversationID: f.group, Seq: 7, SenderID: "alice", Repeat: 1, MaxRepeats: 3, Interval: 30 * time.Minute})
	f.schedule(t, urgent.Item{ConversationID: f.direct, Seq: 9, SenderID: "bob", Repeat: 1, MaxRepeats: 2, Interval: 5 * time.Minute})
	items, err := f.sched.Pending(0)
	if err != nil {
		t.Fatal(err)
	}
	want := []urgent.Item{
		{ConversationID: f.direct, Seq: 9, SenderID: "bob", Repeat: 1, MaxRepeats: 2, Interval: 5 * time.Minute, Due: start.Add(5 * time.Minute)},
		{ConversationID: f.group, Seq: 7, SenderID: "alice", Repeat: 1, MaxRepeats: 3, Interval: 30 * time.Minute, Due: start.Add(30 * time.Minute)},
	}
	if !slices.Equal(items, want) {
		t.Fatalf("pending %+v\nwant %+v", items, want)
	}
	if one, _ := f.sched.Pending(1); len(one) != 1 || one[0] != want[0] {
		t.Fatalf("Pending(1) = %+v", one)
	}
}

// Stage refuses items outside the limits, and writes nothing for them.
func TestStageRefusesInvalidItems(t *testing.T) {
	f := newFixture(t)
	ok := urgent.Item{ConversationID: f.group, Seq: 2, SenderID: "alice", Repeat: 1, MaxRepeats: 1, Interval: urgent.MinInterval}
	for name, change := range map[string]func(*urgent.Item){
		"no conversation":    func(it *urgent.Item) { it.ConversationID = "" },
		"slash in id":        func(it *urgent.Item) { it.ConversationID = "g_a/b" },
		"seq 0":              func(it *urgent.Item) { it.Seq = 0 },
		"no sender":          func(it *urgent.Item) { it.SenderID = "" },
		"repeat 0":           func(it *urgent.Item) { it.Repeat = 0 },
		"repeat over max":    func(it *urgent.Item) { it.Repeat = 2 },
		"too many repeats":   func(it *urgent.Item) { it.MaxRepeats, it.Repeat = urgent.MaxRepeats+1, 1 },
		"interval too short": func(it *urgent.Item) { it.Interval = urgent.MinInterval - time.Second },
		"interval too long":  func(it *urgent.Item) { it.Interval = urgent.MaxInterval + time.Second },
	} {
		it := ok
		change(&it)
		err := f.db.Update(func(b *storage.Batch) error { return f.sched.Stage(b, it) })
		if !errors.Is(err, urgent.ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", name, err)
		}
	}
	if items, _ := f.sched.Pending(0); len(items) != 0 {
		t.Fatalf("refused items were stored: %+v", items)
	}
}

// Reminders go to the members who have not read the message, every
// interval, until max repeats, everyone has read it, or it is recalled.
func TestFiring(t *testing.T) {
	f := newFixture(t)
	// seq 2 in the group: bob reads it after the first reminder.
	f.schedule(t, urgent.Item{ConversationID: f.group, Seq: 2, SenderID: "alice", Repeat: 1, MaxRepeats: 3, Interval: time.Minute})
	// seq 3 in the group: recalled before it is due.
	f.schedule(t, urgent.Item{ConversationID: f.group, Seq: 3, SenderID: "alice", Repeat: 1, MaxRepeats: 3, Interval: time.Minute})
	f.notes.mu.Lock()
	f.notes.recalled[fmt.Sprintf("%s:3", f.group)] = true
	f.notes.mu.Unlock()

	f.clock.Advance(time.Minute)
	f.waitFor(t, "2:2")
	if _, _, err := f.convs.AdvanceRead(f.group, "bob", 2); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	f.waitFor(t, "2:3")
	if _, _, err := f.convs.AdvanceRead(f.group, "carol", 2); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Minute)
	f.waitFor(t)

	g := f.group
	want := []string{"bob:" + g + ":2:1/3", "carol:" + g + ":2:1/3", "carol:" + g + ":2:2/3"}
	if got := f.notes.list(); !slices.Equal(got, want) {
		t.Fatalf("reminders %v\nwant %v", got, want)
	}
}

// The last repeat fires and ends the schedule.
func TestFiringStopsAtMaxRepeats(t *testing.T) {
	f := newFixture(t)
	f.schedule(t, urgent.Item{ConversationID: f.direct, Seq: 2, SenderID: "alice", Repeat: 1, MaxRepeats: 2, Interval: time.Minute})
	f.clock.Advance(time.Minute)
	f.waitFor(t, "2:2")
	f.clock.Advance(time.Minute)
	f.waitFor(t)
	want := []string{"bob:" + f.direct + ":2:1/2", "bob:" + f.direct + ":2:2/2"}
	if got := f.notes.list(); !slices.Equal(got, want) {
		t.Fatalf("reminders %v, want %v", got, want)
	}
}

// A reminder for a conversation that does not exist is dropped.
func TestFiringDropsUnknownConversation(t *testing.T) {
	f := newFixture(t)
	f.schedule(t, urgent.Item{ConversationID: "g_gone", Seq: 2, SenderID: "alice", Repeat: 1, MaxRepeats: 2, Interval: time.Minute})
	f.clock.Advance(time.Minute)
	f.waitFor(t)
	if got := f.notes.list(); len(got) != 0 {
		t.Fatalf("reminders %v for a conversation that does not exist", got)
	}
}

// The schedule survives a restart, and what fell due while the node was
// down fires once when it starts.
func TestRestart(t *testing.T) {
	f := newFixture(t)
	f.schedule(t, urgent.Item{ConversationID: f.direct, Seq: 2, SenderID: "alice", Repeat: 1, MaxRepeats: 3, Interval: time.Minute})
	f.close()
	f.clock.Advance(time.Hour)
	f.open(t)
	f.waitFor(t, "2:2")
	if got, want := f.notes.list(), []string{"bob:" + f.direct + ":2:1/3"}; !slices.Equal(got, want) {
		t.Fatalf("reminders after restart %v, want %v", got, want)
	}
}

// Close works without Start and more than once.
func TestCloseWithoutStart(t *testing.T) {
	db, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s := urgent.New(db, conversation.New(db, conversation.Options{}), &notices{}, urgent.Options{Logger: quiet})
	s.Close()
	s.Close()
}
