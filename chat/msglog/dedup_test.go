package msglog_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"parley/chat/msglog"
	"parley/storage"
)

func TestResendReturnsOriginal(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	l, err := msglog.Open(db, msglog.Options{})
	if err != nil {
		t.Fatalf("open log: %v", err)
	}
	orig, dup := mustAppend(t, l, text("room", "alice", "c1", "hello"))
	if dup || orig.Seq != 1 {
		t.Fatalf("first send: seq %d dup %v", orig.Seq, dup)
	}
	mustAppend(t, l, text("room", "bob", "c1", "same client id, other sender"))

	calls := 0
	resend := text("room", "alice", "c1", "edited before resending")
	resend.OnCommit = func(*storage.Batch, msglog.Entry) error { calls++; return nil }
	again, dup := mustAppend(t, l, resend)
	if !dup || again.Seq != 1 || string(again.Body) != string(orig.Body) || !again.CreatedAt.Equal(orig.CreatedAt) {
		t.Fatalf("resend: %+v dup %v, want the original %+v", again, dup, orig)
	}
	if calls != 0 {
		t.Fatalf("OnCommit ran %d times for a resend", calls)
	}
	// The same client id in another conversation is another message.
	if other, dup := mustAppend(t, l, text("elsewhere", "alice", "c1", "hello")); dup || other.Seq != 1 {
		t.Fatalf("same client id in another conversation: seq %d dup %v", other.Seq, dup)
	}
	if all := readAll(t, l, "room"); len(all) != 2 {
		t.Fatalf("room holds %d entries, want 2", len(all))
	}

	// After a restart the dedup record is still there, and new entries
	// continue the sequence.
	closeAll(t, db, l)
	_, l = openLog(t, dir, msglog.Options{})
	again, dup = mustAppend(t, l, text("room", "alice", "c1", "hello"))
	if !dup || again.Seq != 1 || !again.CreatedAt.Equal(orig.CreatedAt) {
		t.Fatalf("resend after restart: %+v dup %v", again, dup)
	}
	if next, dup := mustAppend(t, l, text("room", "alice", "c2", "next")); dup || next.Seq != 3 {
		t.Fatalf("new send after restart: seq %d dup %v, want 3", next.Seq, dup)
	}
	if all := readAll(t, l, "room"); len(all) != 3 {
		t.Fatalf("room holds %d entries, want 3", len(all))
	}
}

func TestConcurrentIdenticalDraftsStoreOnce(t *testing.T) {
	_, l := openLog(t, t.TempDir(), msglog.Options{Shards: 2})
	const (
		rounds  = 20
		senders = 16
	)
	for round := range rounds {
		var (
			wg      sync.WaitGroup
			results [senders]msglog.Entry
			dups    [senders]bool
		)
		for i := range senders {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				results[i], dups[i], err = l.Append(context.Background(), text("room", "alice", fmt.Sprintf("c%d", round), "x"))
				if err != nil {
					t.Errorf("append: %v", err)
				}
			}()
		}
		wg.Wait()
		fresh := 0
		for i := range senders {
			if !dups[i] {
				fresh++
			}
			if results[i].Seq != uint64(round+1) || !results[i].CreatedAt.Equal(results[0].CreatedAt) {
				t.Fatalf("round %d sender %d got %+v, others %+v", round, i, results[i], results[0])
			}
		}
		if fresh != 1 {
			t.Fatalf("round %d: %d senders were told their draft was new, want 1", round, fresh)
		}
	}
	if all := readAll(t, l, "room"); len(all) != rounds {
		t.Fatalf("stored %d entries, want %d", len(all), rounds)
	}
}

// marker is a test-only key OnCommit writes next to an entry.
func marker(e msglog.Entry) []byte {
	return fmt.Appendf(nil, "test/msglog-marker/%s/%d", e.ConversationID, e.Seq)
}

func TestOnCommit(t *testing.T) {
	db, l := openLog(t, t.TempDir(), msglog.Options{Shards: 1})
	errRefused := errors.New("refused")
	const n = 60
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		acked  = map[uint64]string{}
		failed = 0
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := text("room", "alice", fmt.Sprint(i), "x")
			switch i % 3 {
			case 0:
				d.OnCommit = func(b *storage.Batch, e msglog.Entry) error {
					b.Set(marker(e), []byte(e.ClientMsgID))
					return nil
				}
			case 1:
				d.OnCommit = func(b *storage.Batch, e msglog.Entry) error {
					b.Set(marker(e), []byte("must not land"))
					if i%2 == 0 {
						panic("boom")
					}
					return errRefused
				}
			}
			e, _, err := l.Append(context.Background(), d)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case i%3 == 1 && err == nil:
				t.Errorf("draft %d with failing OnCommit was stored at %d", i, e.Seq)
			case i%3 == 1:
				if i%2 == 1 && !errors.Is(err, errRefused) {
					t.Errorf("draft %d: %v, want the OnCommit error", i, err)
				}
				failed++
			case err != nil:
				t.Errorf("draft %d: %v", i, err)
			default:
				acked[e.Seq] = e.ClientMsgID
			}
		}()
	}
	wg.Wait()
	if failed != n/3 {
		t.Fatalf("%d drafts failed, want %d", failed, n/3)
	}
	all := readAll(t, l, "room") // checks seqs 1..last without a gap
	if len(all) != n-n/3 {
		t.Fatalf("stored %d entries, want %d", len(all), n-n/3)
	}
	for _, e := range all {
		if acked[e.Seq] != e.ClientMsgID {
			t.Fatalf("seq %d holds %s, acked %q", e.Seq, e.ClientMsgID, acked[e.Seq])
		}
		var i int
		fmt.Sscan(e.ClientMsgID, &i)
		v, err := db.Get(marker(e))
		switch {
		case i%3 == 0 && (err != nil || string(v) != e.ClientMsgID):
			t.Fatalf("marker of seq %d: %q, %v; want %q", e.Seq, v, err, e.ClientMsgID)
		case i%3 == 2 && !errors.Is(err, storage.ErrNotFound):
			t.Fatalf("seq %d without OnCommit has marker %q (%v)", e.Seq, v, err)
		}
	}
}

// TestKnownIDsSaveLookupsAndKeepResends: once a conversation's set of
// known client ids is loaded, new ids need no disk lookup, and every
// resend is still found, before and after a restart.
func TestKnownIDsSaveLookupsAndKeepResends(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	l, err := msglog.Open(db, msglog.Options{Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	seqs := map[string]uint64{}
	send := func(l *msglog.Log, id string) {
		t.Helper()
		appendOnce(t, l, seqs, id, text("room", "alice", id, "hi "+id))
	}
	for i := range 200 {
		send(l, fmt.Sprintf("c%d", i))
	}
	if n := l.Stats().DedupLookups; n > 4 {
		t.Fatalf("200 new ids in one conversation took %d disk lookups; the known ids should spare nearly all", n)
	}
	for i := range 200 {
		send(l, fmt.Sprintf("c%d", i))
	}
	closeAll(t, db, l)

	// After a restart the set is loaded from disk again: old ids are
	// still resends once it is, and new ids are new.
	db, l = openLog(t, dir, msglog.Options{Shards: 1})
	for i := 200; i < 300; i++ {
		send(l, fmt.Sprintf("c%d", i))
		send(l, fmt.Sprintf("c%d", i-200))
	}
	if n := l.Stats().DedupLookups; n > 100+1+300/16+2 {
		t.Fatalf("after the restart: %d disk lookups for 100 resends and 100 new ids", n)
	}
	if all := readAll(t, l, "room"); len(all) != 300 {
		t.Fatalf("room holds %d entries, want 300", len(all))
	}
	_ = db
}

// TestKnownIDsUnderTightBounds: with a cache of two conversations and room
// for a few dozen ids, sets are dropped, evicted, refused and reloaded
// all the time; no resend may be taken for a new message, and no new
// message for a resend.
func TestKnownIDsUnderTightBounds(t *testing.T) {
	_, l := openLog(t, t.TempDir(), msglog.Options{Shards: 1, CacheConversations: 2, DedupIDs: 40})
	rng := rand.New(rand.NewPCG(7, 7))
	type key struct{ conv, sender, id string }
	seqs := map[key]uint64{}
	var sent []key
	for i := range 600 {
		k := key{fmt.Sprintf("conv%d", rng.IntN(5)), fmt.Sprintf("s%d", rng.IntN(3)), fmt.Sprintf("c%d", i)}
		if len(sent) > 0 && rng.IntN(3) == 0 {
			k = sent[rng.IntN(len(sent))]
		}
		if !appendOnce(t, l, seqs, k, text(k.conv, k.sender, k.id, "x")) {
			sent = append(sent, k)
		}
	}
	if n := l.Stats().DedupLookups; n >= 600 {
		t.Fatalf("%d disk lookups for 600 sends: the sets were never used", n)
	}
	perConv := map[string]int{}
	for k := range seqs {
		perConv[k.conv]++
	}
	for conv, n := range perConv {
		if all := readAll(t, l, conv); len(all) != n {
			t.Fatalf("%s holds %d entries, want %d", conv, len(all), n)
		}
	}
}
