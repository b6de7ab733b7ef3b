package messaging_test

import (
	"context"
	"slices"
	"testing"

	"parley/chat/conversation"
	"parley/chat/messaging"
	"parley/chat/msglog"
)

// syncLimits are small sync limits, so a few entries exercise paging.
func syncLimits(pageSize, maxEntries, newDevice int) messaging.Limits {
	l := testLimits()
	l.SyncPageSize, l.SyncMaxEntries, l.NewDeviceEntries = pageSize, maxEntries, newDevice
	return l
}

// syncAll runs Sync and returns the summaries by conversation and the
// emitted seqs per conversation, checking that each page is non-empty,
// within the page size, in ascending seq order and of one conversation.
func syncAll(t *testing.T, h *harness, member string, cursors map[string]uint64, pageSize int) (map[string]messaging.Summary, map[string][]uint64) {
	t.Helper()
	got := map[string][]uint64{}
	sums, err := h.svc.Sync(member, cursors, func(p messaging.SyncPage) error {
		if len(p.Entries) == 0 || len(p.Entries) > pageSize {
			t.Errorf("page of %s has %d entries, want 1..%d", p.ConversationID, len(p.Entries), pageSize)
		}
		for _, e := range p.Entries {
			if e.ConversationID != p.ConversationID {
				t.Errorf("page of %s carries an entry of %s", p.ConversationID, e.ConversationID)
			}
		}
		got[p.ConversationID] = append(got[p.ConversationID], seqs(p.Entries)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	byConv := map[string]messaging.Summary{}
	for _, s := range sums {
		byConv[s.Conversation.ID] = s
	}
	return byConv, got
}

// fill sends n messages from sender into convID.
func fill(t *testing.T, h *harness, sender, convID string, n int) {
	t.Helper()
	for range n {
		h.send(t, sender, convID, "filler")
	}
}

// A device with cursors gets exactly what it lacks, in order, in pages,
// never from before the member joined.
func TestSyncFromCursors(t *testing.T) {
	const page = 3
	h := newHarness(t, syncLimits(page, 1000, 5), nil)
	ctx := context.Background()
	g1 := h.group(t, "alice", "bob")
	fill(t, h, "alice", g1.ID, 7) // last 8
	g2 := h.group(t, "carol", "bob", "alice")
	fill(t, h, "carol", g2.ID, 5) // last 6
	d, err := h.svc.CreateDirect(ctx, "alice", "bob")
	if err != nil {
		t.Fatal(err)
	}
	fill(t, h, "bob", d.ID, 4) // last 5
	g3 := h.group(t, "alice", "carol")
	fill(t, h, "alice", g3.ID, 3)
	if _, err := h.svc.AddMembers(ctx, "alice", g3.ID, []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	joined := h.lastSeq(t, g3.ID) // 5
	fill(t, h, "alice", g3.ID, 2) // last 7

	cursors := map[string]uint64{g1.ID: 3, g2.ID: 0, d.ID: 5, g3.ID: 1}
	sums, got := syncAll(t, h, "bob", cursors, page)
	want := map[string][]uint64{
		g1.ID: seqRange(4, 8),
		g2.ID: seqRange(1, 6),
		g3.ID: seqRange(joined, 7), // the cursor is from before bob joined
	}
	for conv, w := range want {
		wantSeqs(t, "sync of "+conv, got[conv], w)
	}
	if len(got[d.ID]) != 0 {
		t.Errorf("up-to-date direct conversation sent %v", got[d.ID])
	}
	if len(sums) != 4 {
		t.Fatalf("%d summaries, want 4", len(sums))
	}
	for conv, s := range sums {
		if s.HasMore || s.NextSeq != 0 {
			t.Errorf("%s: HasMore %v NextSeq %d with the budget not reached", conv, s.HasMore, s.NextSeq)
		}
		if s.LastSeq != h.lastSeq(t, conv) {
			t.Errorf("%s: summary last seq %d, want %d", conv, s.LastSeq, h.lastSeq(t, conv))
		}
	}
}

// Past SyncMaxEntries, the rest is marked HasMore, and pulling from NextSeq
// completes every conversation without a gap or a duplicate.
func TestSyncBudgetThenPull(t *testing.T) {
	const page, budget = 3, 7
	h := newHarness(t, syncLimits(page, budget, 50), nil)
	var convs []string
	for i, n := range []int{8, 5, 4} {
		g := h.group(t, "alice", "bob")
		fill(t, h, []string{"alice", "bob"}[i%2], g.ID, n)
		convs = append(convs, g.ID)
	}
	cursors := map[string]uint64{}
	for _, c := range convs {
		cursors[c] = 0
	}
	sums, got := syncAll(t, h, "bob", cursors, page)
	total, more := 0, 0
	for _, c := range convs {
		total += len(got[c])
		s := sums[c]
		have := got[c]
		if s.HasMore {
			more++
			if want := uint64(len(have)) + 1; s.NextSeq != want {
				t.Fatalf("%s: NextSeq %d after %d entries, want %d", c, s.NextSeq, len(have), want)
			}
			for from := s.NextSeq; from <= s.LastSeq; {
				es, err := h.svc.Pull("bob", c, from, page)
				if err != nil {
					t.Fatal(err)
				}
				if len(es) == 0 {
					t.Fatalf("%s: pull from %d returned nothing below last %d", c, from, s.LastSeq)
				}
				have = append(have, seqs(es)...)
				from = es[len(es)-1].Seq + 1
			}
		}
		wantSeqs(t, "sync and pull of "+c, have, seqRange(1, h.lastSeq(t, c)))
	}
	if total != budget {
		t.Errorf("sync sent %d entries, want the budget of %d", total, budget)
	}
	if more == 0 {
		t.Error("no conversation marked HasMore past the budget")
	}
}

// SyncPageBytes cuts pages short, never below one entry, without losing
// any.
func TestSyncPageBytes(t *testing.T) {
	l := syncLimits(10, 1000, 50)
	l.SyncPageBytes = 1 // every page carries one entry
	h := newHarness(t, l, nil)
	g := h.group(t, "alice", "bob")
	fill(t, h, "alice", g.ID, 4)
	_, got := syncAll(t, h, "bob", map[string]uint64{g.ID: 0}, 1)
	wantSeqs(t, "one-entry pages", got[g.ID], seqRange(1, 5))
}

// A conversation the device does not mention gets its newest
// NewDeviceEntries entries only, and none from before the member joined.
func TestSyncNewDevice(t *testing.T) {
	const page, recent = 3, 5
	h := newHarness(t, syncLimits(page, 1000, recent), nil)
	ctx := context.Background()
	long := h.group(t, "alice", "bob")
	fill(t, h, "alice", long.ID, 11) // last 12
	short := h.group(t, "alice", "bob")
	fill(t, h, "alice", short.ID, 2) // last 3
	late := h.group(t, "alice", "carol")
	fill(t, h, "alice", late.ID, 8)
	if _, err := h.svc.AddMembers(ctx, "alice", late.ID, []string{"bob"}); err != nil {
		t.Fatal(err)
	}
	joined := h.lastSeq(t, late.ID) // 10
	fill(t, h, "alice", late.ID, 2) // last 12

	_, got := syncAll(t, h, "bob", nil, page)
	wantSeqs(t, "new device, long conversation", got[long.ID], seqRange(12-recent+1, 12))
	wantSeqs(t, "new device, short conversation", got[short.ID], seqRange(1, 3))
	wantSeqs(t, "new device, joined late", got[late.ID], seqRange(joined, 12))

	// One conversation known, the others new.
	_, got = syncAll(t, h, "bob", map[string]uint64{long.ID: 2}, page)
	wantSeqs(t, "known long conversation", got[long.ID], seqRange(3, 12))
	wantSeqs(t, "short conversation, unknown", got[short.ID], seqRange(1, 3))
}

// Unread counts the messages that follow the read cursor, never what came
// before the member joined, nor system entries (see unread_test.go for
// own messages, recalls and restarts).
func TestSummaryUnread(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	g := h.group(t, "alice", "bob")
	fill(t, h, "alice", g.ID, 3) // last 4
	if _, err := h.svc.AddMembers(ctx, "alice", g.ID, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	fill(t, h, "alice", g.ID, 2) // last 7
	unread := func(m string) messaging.Summary {
		t.Helper()
		s, err := h.svc.Summary(g.ID, m)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := unread("bob"); s.Unread != 5 || s.LastSeq != 7 || s.ReadSeq != 0 || s.JoinedSeq != 1 {
		t.Fatalf("bob's summary %+v, want 5 unread: 7 entries, 2 of them system", s)
	}
	if s := unread("carol"); s.Unread != 2 || s.JoinedSeq != 5 || s.ReadSeq != 4 {
		t.Fatalf("carol's summary %+v, want 2 unread (joined at 5 of 7)", s)
	}
	if _, err := h.svc.MarkRead("bob", g.ID, 3); err != nil {
		t.Fatal(err)
	}
	if s := unread("bob"); s.Unread != 3 || s.ReadSeq != 3 || s.DeliveredSeq != 3 {
		t.Fatalf("bob's summary after reading 3: %+v, want 3 unread (4, 6, 7)", s)
	}
	if _, err := h.svc.MarkRead("carol", g.ID, 2); err != nil {
		t.Fatal(err)
	}
	if s := unread("carol"); s.Unread != 2 {
		t.Fatalf("carol marking an entry from before she joined: %+v, want still 2 unread", s)
	}
	if _, err := h.svc.MarkRead("carol", g.ID, 7); err != nil {
		t.Fatal(err)
	}
	if s := unread("carol"); s.Unread != 0 {
		t.Fatalf("carol read everything: %+v, want 0 unread", s)
	}
	if _, err := h.svc.MarkDelivered("bob", g.ID, 6); err != nil {
		t.Fatal(err)
	}
	if s := unread("bob"); s.Unread != 3 || s.DeliveredSeq != 6 {
		t.Fatalf("bob after delivery to 6: %+v, want delivered 6 and still 3 unread", s)
	}

	sums, err := h.svc.Summaries("carol")
	if err != nil || len(sums) != 1 || sums[0].Conversation.ID != g.ID {
		t.Fatalf("carol's summaries %+v, %v", sums, err)
	}
	sums, err = h.svc.Summaries("frank")
	if err != nil || len(sums) != 0 {
		t.Fatalf("frank's summaries %+v, %v; want none", sums, err)
	}
}

// Pull pages in order and never past the last entry.
func TestPullPages(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	g := h.group(t, "alice", "bob")
	fill(t, h, "bob", g.ID, 6) // last 7
	var have []msglog.Entry
	for from := uint64(1); ; {
		es, err := h.svc.Pull("alice", g.ID, from, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) == 0 {
			break
		}
		if len(es) > 3 {
			t.Fatalf("pull of 3 returned %d", len(es))
		}
		have = append(have, es...)
		from = es[len(es)-1].Seq + 1
	}
	wantSeqs(t, "paged pull", seqs(have), seqRange(1, 7))
	if !slices.IsSortedFunc(have, func(a, b msglog.Entry) int { return int(a.Seq) - int(b.Seq) }) {
		t.Fatal("pull out of order")
	}
	_, err := h.svc.Pull("carol", g.ID, 1, 3)
	wantErr(t, "a non-member pulls", err, conversation.ErrNotMember)
}
