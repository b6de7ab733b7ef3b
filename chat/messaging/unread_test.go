package messaging_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"parley/chat/conversation"
	"parley/chat/messaging"
	"parley/chat/msglog"
	"parley/chat/urgent/urgenttest"
)

// recountUnread is the unread count of sum by brute force: read the log
// up to sum.LastSeq and count the entries after the member's seen seq
// that are messages from someone else, not recalled by a recall entry at
// or below sum.LastSeq. Entries up to LastSeq never change, so this is
// the exact answer for the summary's cursors, even while others send.
func recountUnread(t *testing.T, h *harness, convID, member string, sum messaging.Summary) uint64 {
	t.Helper()
	seen := max(sum.ReadSeq, sum.JoinedSeq-1)
	var es []msglog.Entry
	for from := uint64(1); from <= sum.LastSeq; {
		page, err := h.log.Read(convID, from, msglog.MaxReadLimit)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			t.Fatalf("%s: no entries from %d, last %d", convID, from, sum.LastSeq)
		}
		es = append(es, page...)
		from = page[len(page)-1].Seq + 1
	}
	recalled := map[uint64]bool{}
	for _, e := range es {
		if e.Seq <= sum.LastSeq && e.Type == messaging.TypeRecall {
			var b messaging.RecallBody
			if err := json.Unmarshal(e.Body, &b); err != nil {
				t.Fatal(err)
			}
			recalled[b.Seq] = true
		}
	}
	var n uint64
	for _, e := range es {
		if e.Seq > seen && e.Seq <= sum.LastSeq && e.Type != msglog.TypeSystem && e.Type != messaging.TypeRecall &&
			e.SenderID != member && !recalled[e.Seq] {
			n++
		}
	}
	return n
}

// summaryOf is convID as member sees it.
func summaryOf(t *testing.T, h *harness, convID, member string) messaging.Summary {
	t.Helper()
	s, err := h.svc.Summary(convID, member)
	if err != nil {
		t.Fatalf("summary of %s for %s: %v", convID, member, err)
	}
	return s
}

// wantUnread checks each member's unread count of convID against want
// and against the brute-force recount.
func wantUnread(t *testing.T, h *harness, convID string, want map[string]uint64) {
	t.Helper()
	for m, w := range want {
		s := summaryOf(t, h, convID, m)
		if s.Unread != w {
			t.Errorf("%s's unread in %s: %d, want %d (summary %+v)", m, convID, s.Unread, w, s)
		}
		if re := recountUnread(t, h, convID, m, s); re != s.Unread {
			t.Errorf("%s's unread in %s: %d, a recount of the log says %d", m, convID, s.Unread, re)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// Unread counts only other members' messages: not system entries of any
// kind, not recall entries, not one's own messages, and not messages
// recalled before they were read. Reading moves it; a recall of a message
// already read does not. It is the same after a restart, and keeps
// counting after it.
func TestUnreadCountsOthersMessages(t *testing.T) {
	ctx := context.Background()
	n := openNode(t, "", messaging.Limits{}, urgenttest.NewManualClock())
	g := n.group(t, "alice", "bob", "carol") // 1: created
	wantUnread(t, n.harness, g.ID, map[string]uint64{"alice": 0, "bob": 0, "carol": 0})

	a1 := n.send(t, "alice", g.ID, "one")                                     // 2
	b1 := n.send(t, "bob", g.ID, "two")                                       // 3
	if err := n.svc.SetMuted(ctx, "alice", g.ID, "carol", true); err != nil { // 4
		t.Fatal(err)
	}
	if err := n.svc.SetMuted(ctx, "alice", g.ID, "carol", false); err != nil { // 5
		t.Fatal(err)
	}
	if _, err := n.svc.UpdateGroup(ctx, "alice", g.ID, conversation.Patch{Announcement: ptr("Standup at 10")}); err != nil { // 6
		t.Fatal(err)
	}
	if _, err := n.svc.AddMembers(ctx, "alice", g.ID, []string{"dave"}); err != nil { // 7
		t.Fatal(err)
	}
	link, err := n.svc.Send(ctx, "carol", bodyReq(g.ID, messaging.TypeLink, messaging.LinkBody{URL: "https://example.com"})) // 8
	if err != nil {
		t.Fatal(err)
	}
	if err := n.svc.RemoveMember(ctx, "dave", g.ID, "dave"); err != nil { // 9: dave leaves
		t.Fatal(err)
	}
	wantUnread(t, n.harness, g.ID, map[string]uint64{"alice": 2, "bob": 2, "carol": 2})

	// A forward is a message like any other.
	other := n.group(t, "bob", "alice")
	src := n.send(t, "bob", other.ID, "to forward")
	if _, err := n.svc.Forward(ctx, "bob", other.ID, []uint64{src.Seq}, g.ID, "f-1"); err != nil { // 10
		t.Fatal(err)
	}
	wantUnread(t, n.harness, g.ID, map[string]uint64{"alice": 3, "bob": 2, "carol": 3})
	wantUnread(t, n.harness, other.ID, map[string]uint64{"alice": 1, "bob": 0})

	// Recalls: bob's own message (11), and carol's link by the owner (12).
	// The recall entries do not count; the recalled messages stop counting
	// for whoever had not read them, and one's own never counted.
	n.recall(t, "bob", g.ID, b1.Seq)
	if _, err := n.svc.MarkRead("carol", g.ID, link.Seq); err != nil {
		t.Fatal(err)
	}
	n.recall(t, "alice", g.ID, link.Seq)
	wantUnread(t, n.harness, g.ID, map[string]uint64{"alice": 1, "bob": 1, "carol": 1})

	// Reading moves the count: alice past bob's recalled message (no
	// change: the forward is still unread), bob past alice's message.
	if _, err := n.svc.MarkRead("alice", g.ID, b1.Seq); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.MarkRead("bob", g.ID, a1.Seq); err != nil {
		t.Fatal(err)
	}
	wantUnread(t, n.harness, g.ID, map[string]uint64{"alice": 1, "bob": 0, "carol": 1})

	// After a restart the counts are the same, and new messages count.
	dir := n.dir
	n.close()
	n = openNode(t, dir, messaging.Limits{}, urgenttest.NewManualClock())
	wantUnread(t, n.harness, g.ID, map[string]uint64{"alice": 1, "bob": 0, "carol": 1})
	n.send(t, "carol", g.ID, "back")
	n.send(t, "alice", g.ID, "welcome back")
	wantUnread(t, n.harness, g.ID, map[string]uint64{"alice": 2, "bob": 2, "carol": 2})
	wantUnread(t, n.harness, other.ID, map[string]uint64{"alice": 1, "bob": 0})
}

// A member who joins late counts only what came after they joined.
func TestUnreadFromJoin(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, messaging.Limits{}, nil)
	g := h.group(t, "alice", "bob")
	fill(t, h, "bob", g.ID, 4)
	if _, err := h.svc.AddMembers(ctx, "alice", g.ID, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	fill(t, h, "bob", g.ID, 2)
	h.send(t, "carol", g.ID, "hi all")
	wantUnread(t, h, g.ID, map[string]uint64{"alice": 7, "bob": 1, "carol": 2})
}

// Sends, recalls and read-cursor moves race; every summary taken meanwhile
// is exact for its own read and last seqs, and so is the final one.
func TestUnreadConcurrent(t *testing.T) {
	ctx := context.Background()
	n := openNode(t, "", messaging.Limits{}, urgenttest.NewManualClock())
	g := n.group(t, "alice", "bob", "carol")
	const perSender = 40
	var wg sync.WaitGroup
	acks := make(chan messaging.Ack, 2*perSender)
	for _, sender := range []string{"alice", "bob"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				ack, err := n.svc.Send(ctx, sender, textReq(g.ID, fmt.Sprintf("%s %d", sender, i)))
				if err != nil {
					t.Error(err)
					return
				}
				if sender == "alice" && i%3 == 0 {
					acks <- ack
				}
			}
		}()
	}
	recaller := make(chan struct{})
	go func() { // alice recalls every third of her messages as they come
		defer close(recaller)
		for ack := range acks {
			if _, err := n.svc.Recall(ctx, "alice", g.ID, ack.Seq); err != nil {
				t.Error(err)
			}
		}
	}()
	sent := make(chan struct{})
	go func() { wg.Wait(); close(acks); close(sent) }()
	// Meanwhile carol reads as she goes, and every summary is exact.
	for i, done := 0, false; !done; i++ {
		select {
		case <-sent:
			done = true
		default:
		}
		s := summaryOf(t, n.harness, g.ID, "carol")
		if re := recountUnread(t, n.harness, g.ID, "carol", s); re != s.Unread {
			t.Fatalf("carol's unread %d, a recount for read %d last %d says %d", s.Unread, s.ReadSeq, s.LastSeq, re)
		}
		if i%2 == 0 {
			if _, err := n.svc.MarkRead("carol", g.ID, s.LastSeq-s.LastSeq/4); err != nil {
				t.Fatal(err)
			}
		}
	}
	<-recaller
	for m := range map[string]bool{"alice": true, "bob": true, "carol": true} {
		s := summaryOf(t, n.harness, g.ID, m)
		if re := recountUnread(t, n.harness, g.ID, m, s); re != s.Unread {
			t.Fatalf("%s's final unread %d, a recount says %d", m, s.Unread, re)
		}
	}
	recalled := (perSender + 2) / 3
	if s := summaryOf(t, n.harness, g.ID, "bob"); s.Unread != uint64(perSender-recalled) {
		t.Fatalf("bob's unread %d: want alice's %d messages less the %d recalled", s.Unread, perSender, recalled)
	}
	if s := summaryOf(t, n.harness, g.ID, "alice"); s.Unread != perSender {
		t.Fatalf("alice's unread %d: want bob's %d messages", s.Unread, perSender)
	}
}

// A direct conversation's summary names the other member, wherever the
// summary is made (Summary, Summaries, Sync); a group's names nobody.
func TestSummaryPeer(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, messaging.Limits{}, nil)
	d, err := h.svc.CreateDirect(ctx, "alice", "bob")
	if err != nil {
		t.Fatal(err)
	}
	g := h.group(t, "alice", "bob")
	for viewer, peer := range map[string]string{"alice": "bob", "bob": "alice"} {
		if s := summaryOf(t, h, d.ID, viewer); s.PeerID != peer {
			t.Errorf("%s's summary names peer %q, want %q", viewer, s.PeerID, peer)
		}
		sums, err := h.svc.Summaries(viewer)
		if err != nil {
			t.Fatal(err)
		}
		synced, err := h.svc.Sync(viewer, nil, func(messaging.SyncPage) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		for _, list := range [][]messaging.Summary{sums, synced} {
			if len(list) != 2 {
				t.Fatalf("%s has %d summaries, want 2", viewer, len(list))
			}
			for _, s := range list {
				want := ""
				if s.Conversation.ID == d.ID {
					want = peer
				}
				if s.PeerID != want {
					t.Errorf("%s's summary of %s (%s) names peer %q, want %q", viewer, s.Conversation.ID, s.Conversation.Kind, s.PeerID, want)
				}
			}
		}
	}
	raw, err := json.Marshal(summaryOf(t, h, g.ID, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	json.Unmarshal(raw, &fields)
	if _, ok := fields["peer_id"]; ok {
		t.Fatalf("a group summary carries peer_id: %s", raw)
	}
}
