package messaging_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"parley/chat/bus"
	"parley/chat/conversation"
	"parley/chat/fanout"
	"parley/chat/messaging"
	"parley/chat/msglog"
	"parley/chat/urgent"
	"parley/chat/urgent/urgenttest"
	"parley/storage"
)

// node is a harness whose service has recall storage and an urgent
// scheduler on a fake clock, opened on a data directory that can be
// reopened after close.
type node struct {
	*harness
	sched *urgent.Scheduler
	clock *urgenttest.ManualClock
}

// openNode starts a node on dir (a fresh one when empty), as newHarness
// does, plus the recall storage and the urgent scheduler. The members in
// online get a session before the scheduler starts, so they hear
// reminders that are due at once.
func openNode(t *testing.T, dir string, limits messaging.Limits, clock *urgenttest.ManualClock, online ...string) *node {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if limits == (messaging.Limits{}) {
		limits = testLimits()
	}
	h := &harness{dir: dir, rec: &recorder{}, people: directory{}}
	for _, p := range people {
		h.people[p] = true
	}
	var err error
	if h.db, err = storage.Open(dir, storage.Options{}); err != nil {
		t.Fatal(err)
	}
	if h.log, err = msglog.Open(h.db, msglog.Options{Shards: 2}); err != nil {
		h.db.Close()
		t.Fatal(err)
	}
	h.convs = conversation.New(h.db, conversation.Options{})
	if h.bus, err = bus.Start(bus.Config{}, quiet); err != nil {
		h.log.Close()
		h.db.Close()
		t.Fatal(err)
	}
	h.fan = fanout.New(h.bus.Conn(), h.rec, h.convs, quiet)
	h.svc = messaging.New(messaging.Deps{
		DB: h.db, Log: h.log, Conversations: h.convs, Fanout: h.fan, Members: h.people,
		Events: localEvents{h.fan}, Limits: limits, Logger: quiet,
	})
	n := &node{harness: h, clock: clock}
	n.sched = urgent.New(h.db, h.convs, h.svc, urgent.Options{Clock: clock, Logger: quiet})
	h.svc.SetUrgent(n.sched)
	t.Cleanup(n.close)
	n.online(t, online...)
	n.sched.Start()
	return n
}

// close stops the scheduler, then the node; safe to call twice.
func (n *node) close() {
	n.sched.Close()
	n.stop()
}

// recall recalls seq as actor and fails the test on error.
func (n *node) recall(t *testing.T, actor, convID string, seq uint64) messaging.Ack {
	t.Helper()
	ack, err := n.svc.Recall(context.Background(), actor, convID, seq)
	if err != nil {
		t.Fatalf("%s recalls %s seq %d: %v", actor, convID, seq, err)
	}
	return ack
}

// get reads one entry.
func (n *node) get(t *testing.T, convID string, seq uint64) msglog.Entry {
	t.Helper()
	e, err := n.log.Get(convID, seq)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// A sender recalls within the window: one "recall" entry naming the
// message, published like any entry; the original stays in the log as it
// was; Recalled finds it; asking again, by anyone allowed, returns the
// same recall entry.
func TestRecallBySender(t *testing.T) {
	n := openNode(t, "", messaging.Limits{}, urgenttest.NewManualClock())
	n.online(t, "alice", "bob", "carol")
	g := n.group(t, "alice", "bob", "carol")
	sent := n.send(t, "bob", g.ID, "oops")
	before := n.get(t, g.ID, sent.Seq)

	ack := n.recall(t, "bob", g.ID, sent.Seq)
	if ack.Duplicate || ack.Seq != sent.Seq+1 || ack.ClientMsgID != fmt.Sprintf("recall:%d", sent.Seq) {
		t.Fatalf("recall ack %+v", ack)
	}
	e := n.get(t, g.ID, ack.Seq)
	if e.Type != messaging.TypeRecall || e.SenderID != "bob" || string(e.Body) != fmt.Sprintf(`{"seq":%d,"by":"bob"}`, sent.Seq) {
		t.Fatalf("recall entry %+v body %s", e, e.Body)
	}
	if after := n.get(t, g.ID, sent.Seq); string(after.Body) != string(before.Body) || after.Type != before.Type {
		t.Fatalf("the recalled entry changed: %+v, was %+v", after, before)
	}
	if rs, ok, err := n.svc.Recalled(g.ID, sent.Seq); err != nil || !ok || rs != ack.Seq {
		t.Fatalf("Recalled = %d, %v, %v; want %d, true", rs, ok, err, ack.Seq)
	}
	if _, ok, err := n.svc.Recalled(g.ID, 1); err != nil || ok {
		t.Fatalf("Recalled of a live entry = %v, %v", ok, err)
	}
	n.settle(t, g.ID, "alice", "bob", "carol")
	for _, m := range []string{"alice", "bob", "carol"} {
		got := n.messages(t, m, g.ID)
		if len(got) != 2 || got[1].Seq != ack.Seq || got[1].Type != messaging.TypeRecall {
			t.Fatalf("%s got %v, want the message and then the recall entry", m, seqs(got))
		}
	}

	for _, who := range []string{"bob", "alice"} {
		again, err := n.svc.Recall(context.Background(), who, g.ID, sent.Seq)
		if err != nil || !again.Duplicate || again.Seq != ack.Seq {
			t.Fatalf("%s recalls again: %+v, %v; want the first recall as a duplicate", who, again, err)
		}
	}
	if last := n.lastSeq(t, g.ID); last != ack.Seq {
		t.Fatalf("last seq %d after repeated recalls, want %d", last, ack.Seq)
	}
}

// After the window the sender may no longer recall; the owner and admins
// still may, other members never.
func TestRecallWindowAndRoles(t *testing.T) {
	limits := testLimits()
	limits.RecallWindow = time.Millisecond
	n := openNode(t, "", limits, urgenttest.NewManualClock())
	g := n.group(t, "alice", "bob", "carol", "dave")
	if err := n.svc.SetRole(context.Background(), "alice", g.ID, "carol", conversation.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	first := n.send(t, "bob", g.ID, "one")
	second := n.send(t, "bob", g.ID, "two")
	time.Sleep(5 * time.Millisecond) // past the 1 ms window; created_at is rounded down

	_, err := n.svc.Recall(context.Background(), "bob", g.ID, first.Seq)
	wantErr(t, "sender after the window", err, conversation.ErrForbidden)
	_, err = n.svc.Recall(context.Background(), "dave", g.ID, first.Seq)
	wantErr(t, "another plain member", err, conversation.ErrForbidden)

	byOwner := n.recall(t, "alice", g.ID, first.Seq)
	byAdmin := n.recall(t, "carol", g.ID, second.Seq)
	for _, c := range []struct {
		ack messaging.Ack
		seq uint64
		by  string
	}{{byOwner, first.Seq, "alice"}, {byAdmin, second.Seq, "carol"}} {
		e := n.get(t, g.ID, c.ack.Seq)
		want := fmt.Sprintf(`{"seq":%d,"by":%q}`, c.seq, c.by)
		if e.SenderID != c.by || string(e.Body) != want {
			t.Fatalf("recall by %s: entry %+v body %s, want %s", c.by, e, e.Body, want)
		}
	}
	// The sender asking after the recall gets it, window or not.
	again, err := n.svc.Recall(context.Background(), "bob", g.ID, first.Seq)
	if err != nil || !again.Duplicate || again.Seq != byOwner.Seq {
		t.Fatalf("sender asks again: %+v, %v", again, err)
	}
}

// What cannot be recalled, and by whom; refusals store nothing.
func TestRecallRefusals(t *testing.T) {
	n := openNode(t, "", messaging.Limits{}, urgenttest.NewManualClock())
	g := n.group(t, "alice", "bob")
	sent := n.send(t, "bob", g.ID, "hi")
	rec := n.recall(t, "bob", g.ID, sent.Seq)
	d, err := n.svc.CreateDirect(context.Background(), "alice", "carol")
	if err != nil {
		t.Fatal(err)
	}
	direct := n.send(t, "alice", d.ID, "psst")
	last := n.lastSeq(t, g.ID)

	for _, c := range []struct {
		what        string
		actor, conv string
		seq         uint64
		want        error
	}{
		{"system entry", "alice", g.ID, 1, messaging.ErrInvalid},
		{"recall entry", "alice", g.ID, rec.Seq, messaging.ErrInvalid},
		{"not in the log", "alice", g.ID, last + 5, msglog.ErrNotFound},
		{"not a member", "dave", g.ID, sent.Seq, conversation.ErrNotMember},
		{"no such conversation", "alice", "g_nosuchgroupxxxxxxxx", 1, conversation.ErrNotFound},
		{"the other side of a direct conversation", "carol", d.ID, direct.Seq, conversation.ErrForbidden},
	} {
		_, err := n.svc.Recall(context.Background(), c.actor, c.conv, c.seq)
		wantErr(t, c.what, err, c.want)
	}
	if got := n.lastSeq(t, g.ID); got != last {
		t.Fatalf("refused recalls stored entries: last seq %d, want %d", got, last)
	}

	// A member added later cannot reach back before they joined, admin
	// or not.
	if _, err := n.svc.AddMembers(context.Background(), "alice", g.ID, []string{"erin"}); err != nil {
		t.Fatal(err)
	}
	if err := n.svc.SetRole(context.Background(), "alice", g.ID, "erin", conversation.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	_, err = n.svc.Recall(context.Background(), "erin", g.ID, sent.Seq)
	wantErr(t, "before the admin joined", err, messaging.ErrInvalid)

	// A dissolved group takes no more entries, recalls included.
	later := n.send(t, "bob", g.ID, "late")
	if err := n.svc.Dissolve(context.Background(), "alice", g.ID); err != nil {
		t.Fatal(err)
	}
	_, err = n.svc.Recall(context.Background(), "alice", g.ID, later.Seq)
	wantErr(t, "dissolved group", err, conversation.ErrDissolved)
}

// Without Deps.DB the service refuses recalls.
func TestRecallNeedsStorage(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	g := h.group(t, "alice", "bob")
	sent := h.send(t, "bob", g.ID, "hi")
	_, err := h.svc.Recall(context.Background(), "bob", g.ID, sent.Seq)
	wantErr(t, "recall without storage", err, messaging.ErrInvalid)
}

// A reply may not quote a recalled message, and members may not take the
// client ids recalls use.
func TestReplyToRecalledAndReservedIDs(t *testing.T) {
	n := openNode(t, "", messaging.Limits{}, urgenttest.NewManualClock())
	g := n.group(t, "alice", "bob")
	live := n.send(t, "bob", g.ID, "keep")
	gone := n.send(t, "bob", g.ID, "drop")
	n.recall(t, "bob", g.ID, gone.Seq)

	if _, err := n.svc.Send(context.Background(), "alice", bodyReq(g.ID, messaging.TypeText, messaging.TextBody{Text: "re", ReplyTo: live.Seq})); err != nil {
		t.Fatalf("reply to a live message: %v", err)
	}
	last := n.lastSeq(t, g.ID)
	_, err := n.svc.Send(context.Background(), "alice", bodyReq(g.ID, messaging.TypeText, messaging.TextBody{Text: "re", ReplyTo: gone.Seq}))
	wantErr(t, "reply to a recalled message", err, messaging.ErrInvalid)

	reserved := textReq(g.ID, "sneaky")
	reserved.ClientMsgID = fmt.Sprintf("recall:%d", gone.Seq) // the id of bob's recall entry
	_, err = n.svc.Send(context.Background(), "bob", reserved)
	wantErr(t, "reserved client_msg_id", err, messaging.ErrInvalid)
	_, err = n.svc.Forward(context.Background(), "bob", g.ID, []uint64{live.Seq}, g.ID, "recall:x")
	wantErr(t, "reserved client_msg_id on a forward", err, messaging.ErrInvalid)
	if got := n.lastSeq(t, g.ID); got != last {
		t.Fatalf("refused sends stored entries: last seq %d, want %d", got, last)
	}
}

// A confidential send stores the flag at the top level of its body, after
// the body's own fields.
func TestConfidentialFlagIsStored(t *testing.T) {
	n := openNode(t, "", messaging.Limits{}, urgenttest.NewManualClock())
	g := n.group(t, "alice", "bob")
	req := bodyReq(g.ID, messaging.TypeText, messaging.TextBody{Text: "secret plan", Mentions: []string{"bob"}})
	req.Confidential = true
	ack, err := n.svc.Send(context.Background(), "alice", req)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"text":"secret plan","mentions":["bob"],"confidential":true}`
	if got := string(n.get(t, g.ID, ack.Seq).Body); got != want {
		t.Fatalf("stored body %s, want %s", got, want)
	}
}

// Forward copies the messages into one entry of the target with a
// canonical body, fans it out there, and is idempotent by client id.
func TestForward(t *testing.T) {
	n := openNode(t, "", messaging.Limits{}, urgenttest.NewManualClock())
	n.online(t, "alice", "carol")
	src := n.group(t, "alice", "bob")
	dst := n.group(t, "alice", "carol")
	one := n.send(t, "bob", src.ID, "one")
	two, err := n.svc.Send(context.Background(), "alice", bodyReq(src.ID, messaging.TypeLink, messaging.LinkBody{URL: "https://example.com/x", Title: "X"}))
	if err != nil {
		t.Fatal(err)
	}

	ack, err := n.svc.Forward(context.Background(), "alice", src.ID, []uint64{two.Seq, one.Seq, two.Seq}, dst.ID, "fw-1")
	if err != nil {
		t.Fatal(err)
	}
	if ack.Duplicate || ack.ConversationID != dst.ID || ack.Seq != 2 || ack.ClientMsgID != "fw-1" {
		t.Fatalf("forward ack %+v", ack)
	}
	e := n.get(t, dst.ID, ack.Seq)
	stamp := func(a messaging.Ack) string { return a.CreatedAt.Format(time.RFC3339Nano) }
	want := fmt.Sprintf(`{"from_conversation_id":%q,"items":[`+
		`{"seq":%d,"sender_id":"alice","type":"link","body":{"url":"https://example.com/x","title":"X"},"created_at":%q},`+
		`{"seq":%d,"sender_id":"bob","type":"text","body":{"text":"one"},"created_at":%q}]}`,
		src.ID, two.Seq, stamp(two), one.Seq, stamp(one))
	if e.Type != messaging.TypeForward || e.SenderID != "alice" || string(e.Body) != want {
		t.Fatalf("forward entry %+v\nbody %s\nwant %s", e, e.Body, want)
	}

	again, err := n.svc.Forward(context.Background(), "alice", src.ID, []uint64{one.Seq}, dst.ID, "fw-1")
	if err != nil || !again.Duplicate || again.Seq != ack.Seq {
		t.Fatalf("resend of a forward: %+v, %v", again, err)
	}
	n.settle(t, dst.ID, "alice", "carol")
	for _, m := range []string{"alice", "carol"} {
		got := n.messages(t, m, dst.ID)
		if len(got) != 1 || got[0].Seq != ack.Seq || got[0].Type != messaging.TypeForward {
			t.Fatalf("%s got %v in the target, want the forward once", m, seqs(got))
		}
	}
}

// Refused forwards store nothing in the target.
func TestForwardRefusals(t *testing.T) {
	n := openNode(t, "", messaging.Limits{}, urgenttest.NewManualClock())
	src := n.group(t, "alice", "bob")
	dst := n.group(t, "alice", "bob", "carol")
	secret := bodyReq(src.ID, messaging.TypeText, messaging.TextBody{Text: "for your eyes only"})
	secret.Confidential = true
	sec, err := n.svc.Send(context.Background(), "bob", secret)
	if err != nil {
		t.Fatal(err)
	}
	plain := n.send(t, "bob", src.ID, "shareable")
	gone := n.send(t, "bob", src.ID, "regret")
	n.recall(t, "bob", src.ID, gone.Seq)
	if _, err := n.svc.AddMembers(context.Background(), "alice", src.ID, []string{"dave"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.AddMembers(context.Background(), "alice", dst.ID, []string{"dave"}); err != nil {
		t.Fatal(err)
	}
	if err := n.svc.SetMuted(context.Background(), "alice", dst.ID, "bob", true); err != nil {
		t.Fatal(err)
	}
	tooMany := make([]uint64, messaging.MaxForwardItems+1)
	for i := range tooMany {
		tooMany[i] = plain.Seq
	}
	last := n.lastSeq(t, dst.ID)

	for _, c := range []struct {
		what  string
		actor string
		seqs  []uint64
		want  error
	}{
		{"confidential", "alice", []uint64{plain.Seq, sec.Seq}, conversation.ErrForbidden},
		{"not a member of the source", "carol", []uint64{plain.Seq}, conversation.ErrNotMember},
		{"recalled", "alice", []uint64{gone.Seq}, messaging.ErrInvalid},
		{"system entry", "alice", []uint64{1}, messaging.ErrInvalid},
		{"not in the log", "alice", []uint64{99}, messaging.ErrInvalid},
		{"before joining the source", "dave", []uint64{plain.Seq}, messaging.ErrInvalid},
		{"muted in the target", "bob", []uint64{plain.Seq}, conversation.ErrForbidden},
		{"no seqs", "alice", nil, messaging.ErrInvalid},
		{"too many seqs", "alice", tooMany, messaging.ErrInvalid},
	} {
		_, err := n.svc.Forward(context.Background(), c.actor, src.ID, c.seqs, dst.ID, fmt.Sprintf("fw-%d", clientIDs.Add(1)))
		wantErr(t, c.what, err, c.want)
	}
	_, err = n.svc.Forward(context.Background(), "alice", src.ID, []uint64{plain.Seq}, "g_nosuchgroupxxxxxxxx", "fw-x")
	wantErr(t, "no such target", err, conversation.ErrNotFound)
	if got := n.lastSeq(t, dst.ID); got != last {
		t.Fatalf("refused forwards stored entries: last seq %d, want %d", got, last)
	}
}
