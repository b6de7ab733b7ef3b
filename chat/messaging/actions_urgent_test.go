package messaging_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"parley/chat/conversation"
	"parley/chat/messaging"
	"parley/chat/urgent"
	"parley/chat/urgent/urgenttest"
)

// urgentReq is a text message with the urgent flag.
func urgentReq(convID, text string, spec messaging.UrgentSpec) messaging.SendRequest {
	req := textReq(convID, text)
	req.Urgent = &spec
	return req
}

// reminders decodes the chat.urgent frames memberID got.
func (n *node) reminders(t *testing.T, memberID string) []urgent.Notice {
	t.Helper()
	var out []urgent.Notice
	for _, raw := range n.rec.frames(memberID, messaging.FrameUrgent) {
		var r urgent.Notice
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("decode chat.urgent for %s: %v", memberID, err)
		}
		out = append(out, r)
	}
	return out
}

// pending lists the scheduled reminders.
func (n *node) pending(t *testing.T) []urgent.Item {
	t.Helper()
	items, err := n.sched.Pending(0)
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// waitPending waits until the schedule is exactly want reminders, as
// (seq, repeat) pairs: the scheduler has finished a firing once its keys
// moved, and it sends reminders before it moves them.
func (n *node) waitPending(t *testing.T, want ...[2]uint64) {
	t.Helper()
	eventually(t, fmt.Sprintf("schedule %v", want), func() bool {
		items := n.pending(t)
		if len(items) != len(want) {
			return false
		}
		for i, it := range items {
			if it.Seq != want[i][0] || uint64(it.Repeat) != want[i][1] {
				return false
			}
		}
		return true
	})
}

// An urgent message stores its flag and its first reminder together; each
// interval the members who have not read it, and only they, get a
// reminder, up to max_repeats times.
func TestUrgentRemindsUnreaders(t *testing.T) {
	clock := urgenttest.NewManualClock()
	n := openNode(t, "", messaging.Limits{}, clock)
	n.online(t, "alice", "bob", "carol")
	g := n.group(t, "alice", "bob", "carol")

	ack, err := n.svc.Send(context.Background(), "alice", urgentReq(g.ID, "server down", messaging.UrgentSpec{IntervalMinutes: 10, MaxRepeats: 2}))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(n.get(t, g.ID, ack.Seq).Body), `{"text":"server down","urgent":{"interval_minutes":10,"max_repeats":2}}`; got != want {
		t.Fatalf("stored body %s, want %s", got, want)
	}
	items := n.pending(t)
	want := urgent.Item{ConversationID: g.ID, Seq: ack.Seq, SenderID: "alice", Repeat: 1, MaxRepeats: 2,
		Interval: 10 * time.Minute, Due: clock.Now().Add(10 * time.Minute)}
	if len(items) != 1 || items[0] != want {
		t.Fatalf("schedule %+v, want [%+v]", items, want)
	}
	if _, err := n.svc.MarkRead("bob", g.ID, ack.Seq); err != nil {
		t.Fatal(err)
	}

	clock.Advance(9 * time.Minute)
	n.settle(t, "", "alice", "bob", "carol")
	if got := n.reminders(t, "carol"); len(got) != 0 {
		t.Fatalf("carol got %d reminders before the interval passed", len(got))
	}

	clock.Advance(time.Minute)
	n.waitPending(t, [2]uint64{ack.Seq, 2})
	clock.Advance(10 * time.Minute)
	n.waitPending(t)
	clock.Advance(time.Hour) // nothing left to fire
	n.settle(t, "", "alice", "bob", "carol")

	got := n.reminders(t, "carol")
	if len(got) != 2 {
		t.Fatalf("carol got %d reminders, want 2", len(got))
	}
	for i, r := range got {
		if (r != urgent.Notice{ConversationID: g.ID, Seq: ack.Seq, SenderID: "alice", Repeat: i + 1, Of: 2}) {
			t.Fatalf("reminder %d is %+v", i+1, r)
		}
	}
	for _, m := range []string{"alice", "bob"} {
		if r := n.reminders(t, m); len(r) != 0 {
			t.Fatalf("%s (sender or reader) got reminders %+v", m, r)
		}
	}
}

// Reminders stop early once everyone has read the message, or when it is
// recalled.
func TestUrgentStopsWhenReadOrRecalled(t *testing.T) {
	clock := urgenttest.NewManualClock()
	n := openNode(t, "", messaging.Limits{}, clock)
	n.online(t, "alice", "bob", "carol")
	d, err := n.svc.CreateDirect(context.Background(), "alice", "bob")
	if err != nil {
		t.Fatal(err)
	}
	g := n.group(t, "carol", "bob")
	read, err := n.svc.Send(context.Background(), "alice", urgentReq(d.ID, "call me", messaging.UrgentSpec{})) // any member, in a direct conversation
	if err != nil {
		t.Fatal(err)
	}
	recalled, err := n.svc.Send(context.Background(), "carol", urgentReq(g.ID, "wrong group", messaging.UrgentSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	def := messaging.DefaultLimits()
	if it := n.pending(t); len(it) != 2 || it[0].MaxRepeats != def.UrgentMaxRepeats || it[0].Interval != def.UrgentInterval {
		t.Fatalf("schedule %+v, want two reminders with the default interval and repeats", it)
	}
	if _, err := n.svc.MarkRead("bob", d.ID, read.Seq); err != nil {
		t.Fatal(err)
	}
	n.recall(t, "carol", g.ID, recalled.Seq)

	clock.Advance(def.UrgentInterval)
	n.waitPending(t)
	n.settle(t, "", "alice", "bob", "carol")
	for _, m := range []string{"alice", "bob", "carol"} {
		if r := n.reminders(t, m); len(r) != 0 {
			t.Fatalf("%s got reminders %+v for a read and a recalled message", m, r)
		}
	}
}

// The schedule is in Pebble: a reminder due while the node was down fires
// after it restarts.
func TestUrgentSurvivesRestart(t *testing.T) {
	clock := urgenttest.NewManualClock()
	n := openNode(t, "", messaging.Limits{}, clock)
	g := n.group(t, "alice", "bob", "carol")
	ack, err := n.svc.Send(context.Background(), "alice", urgentReq(g.ID, "sign the form", messaging.UrgentSpec{IntervalMinutes: 1, MaxRepeats: 3}))
	if err != nil {
		t.Fatal(err)
	}
	n.close()

	clock.Advance(time.Hour) // down for an hour
	n2 := openNode(t, n.dir, messaging.Limits{}, clock, "bob", "carol")
	n2.waitPending(t, [2]uint64{ack.Seq, 2})
	n2.settle(t, "", "bob", "carol")
	for _, m := range []string{"bob", "carol"} {
		got := n2.reminders(t, m)
		if len(got) != 1 || got[0].Seq != ack.Seq || got[0].Repeat != 1 || got[0].Of != 3 {
			t.Fatalf("%s got reminders %+v after the restart, want the first of 3 once", m, got)
		}
	}
	if it := n2.pending(t); !it[0].Due.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("next reminder due %s, want one interval after the restart's firing (%s)", it[0].Due, clock.Now().Add(time.Minute))
	}
}

// In a group only the owner and admins may send urgent messages; the
// options are bounded; a server without a scheduler refuses them. Refused
// sends store nothing and schedule nothing.
func TestUrgentRefusals(t *testing.T) {
	n := openNode(t, "", messaging.Limits{}, urgenttest.NewManualClock())
	g := n.group(t, "alice", "bob", "carol")
	if err := n.svc.SetRole(context.Background(), "alice", g.ID, "carol", conversation.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	last := n.lastSeq(t, g.ID)
	for _, c := range []struct {
		what   string
		sender string
		spec   messaging.UrgentSpec
		want   error
	}{
		{"plain member of a group", "bob", messaging.UrgentSpec{}, conversation.ErrForbidden},
		{"negative interval", "alice", messaging.UrgentSpec{IntervalMinutes: -1}, messaging.ErrInvalid},
		{"interval over a day", "alice", messaging.UrgentSpec{IntervalMinutes: 24*60 + 1}, messaging.ErrInvalid},
		{"too many repeats", "alice", messaging.UrgentSpec{MaxRepeats: urgent.MaxRepeats + 1}, messaging.ErrInvalid},
	} {
		_, err := n.svc.Send(context.Background(), c.sender, urgentReq(g.ID, "now!", c.spec))
		wantErr(t, c.what, err, c.want)
	}
	if got := n.lastSeq(t, g.ID); got != last {
		t.Fatalf("refused urgent sends stored entries: last seq %d, want %d", got, last)
	}
	if it := n.pending(t); len(it) != 0 {
		t.Fatalf("refused urgent sends scheduled %+v", it)
	}
	if _, err := n.svc.Send(context.Background(), "carol", urgentReq(g.ID, "admin says", messaging.UrgentSpec{})); err != nil {
		t.Fatalf("an admin's urgent message: %v", err)
	}

	h := newHarness(t, messaging.Limits{}, nil)
	hg := h.group(t, "alice", "bob")
	_, err := h.svc.Send(context.Background(), "alice", urgentReq(hg.ID, "now!", messaging.UrgentSpec{}))
	wantErr(t, "urgent without a scheduler", err, messaging.ErrInvalid)
}

// A forward carries an urgent message's body without its flag.
func TestForwardStripsUrgentFlag(t *testing.T) {
	n := openNode(t, "", messaging.Limits{}, urgenttest.NewManualClock())
	src := n.group(t, "alice", "bob")
	dst := n.group(t, "alice", "carol")
	ack, err := n.svc.Send(context.Background(), "alice", urgentReq(src.ID, "all hands", messaging.UrgentSpec{}))
	if err != nil {
		t.Fatal(err)
	}
	fw, err := n.svc.Forward(context.Background(), "alice", src.ID, []uint64{ack.Seq}, dst.ID, "fw-urgent")
	if err != nil {
		t.Fatal(err)
	}
	var body messaging.ForwardBody
	if err := json.Unmarshal(n.get(t, dst.ID, fw.Seq).Body, &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Items) != 1 || string(body.Items[0].Body) != `{"text":"all hands"}` {
		t.Fatalf("forwarded items %+v, want the text without its urgent flag", body.Items)
	}
}
