package msglog_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"parley/chat/msglog"
)

// wantCounts checks Counted at every seq of conv, for every sender in
// senders, against a recount of the stored entries, where counted says
// which entries were appended as counted. It returns the totals at the
// last seq.
func wantCounts(t *testing.T, l *msglog.Log, conv string, senders []string, counted func(msglog.Entry) bool) (total uint64, by map[string]uint64) {
	t.Helper()
	by = map[string]uint64{}
	check := func(seq uint64) {
		t.Helper()
		for _, s := range senders {
			gotTotal, gotBy, err := l.Counted(conv, s, seq)
			if err != nil {
				t.Fatal(err)
			}
			if gotTotal != total || gotBy != by[s] {
				t.Fatalf("%s up to seq %d as %s: counted %d, by sender %d; want %d, %d", conv, seq, s, gotTotal, gotBy, total, by[s])
			}
		}
	}
	check(0)
	for _, e := range readAll(t, l, conv) {
		if counted(e) {
			total++
			by[e.SenderID]++
		}
		check(e.Seq)
	}
	return total, by
}

// TestCountedTotals: counted and uncounted entries from several senders,
// resends among them; the totals are exact at every seq, past the last
// seq they are the last's, and they survive a restart and keep counting
// after it.
func TestCountedTotals(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	l, err := msglog.Open(db, msglog.Options{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	counted := map[string]bool{} // by client id
	isCounted := func(e msglog.Entry) bool { return counted[e.ClientMsgID] }
	appendN := func(l *msglog.Log, from, to int) {
		for i := from; i < to; i++ {
			sender := []string{"alice", "bob", "carol"}[i%3]
			d := text("room", sender, fmt.Sprintf("m%d", i), "hi")
			d.Counted = i%4 != 0 // every fourth stands for a system entry
			counted[d.ClientMsgID] = d.Counted
			mustAppend(t, l, d)
			if i%5 == 0 { // a resend stores nothing and counts nothing
				if _, dup := mustAppend(t, l, d); !dup {
					t.Fatalf("resend of %s was not a duplicate", d.ClientMsgID)
				}
			}
		}
	}
	appendN(l, 0, 30)
	senders := []string{"alice", "bob", "carol", "dave", ""}
	total, by := wantCounts(t, l, "room", senders, isCounted)
	if total != 22 || by["alice"]+by["bob"]+by["carol"] != total || by["dave"] != 0 {
		t.Fatalf("totals %d %v, want 22 split over three senders", total, by)
	}
	if got, gotBy, err := l.Counted("room", "bob", 1000); err != nil || got != total || gotBy != by["bob"] {
		t.Fatalf("past the last seq: %d %d %v, want %d %d", got, gotBy, err, total, by["bob"])
	}
	if got, _, err := l.Counted("empty", "bob", 10); err != nil || got != 0 {
		t.Fatalf("empty conversation: %d %v", got, err)
	}
	if _, _, err := l.Counted("room", "a/b", 10); err == nil {
		t.Fatal("a sender id with '/' was accepted")
	}
	closeAll(t, db, l)

	db, l = openLog(t, dir, msglog.Options{Shards: 3})
	wantCounts(t, l, "room", senders, isCounted)
	appendN(l, 30, 45) // the committer picks the totals up from disk
	total, _ = wantCounts(t, l, "room", senders, isCounted)
	if total != 33 {
		t.Fatalf("total after the restart %d, want 33", total)
	}
}

// TestCountedConcurrent: many senders append counted and uncounted
// entries to two conversations at once, so batches carry several drafts
// of one sender; the totals match a recount at every seq.
func TestCountedConcurrent(t *testing.T) {
	_, l := openLog(t, t.TempDir(), msglog.Options{Shards: 1, MaxBatch: 64})
	var mu sync.Mutex
	counted := map[string]bool{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sender := fmt.Sprintf("u%d", w%4)
			for i := range 40 {
				d := text(fmt.Sprintf("c%d", i%2), sender, fmt.Sprintf("w%d-%d", w, i), "x")
				d.Counted = (w+i)%3 != 0
				mu.Lock()
				counted[sender+"/"+d.ClientMsgID] = d.Counted
				mu.Unlock()
				if _, _, err := l.Append(context.Background(), d); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	senders := []string{"u0", "u1", "u2", "u3"}
	var sum uint64
	for _, conv := range []string{"c0", "c1"} {
		total, _ := wantCounts(t, l, conv, senders, func(e msglog.Entry) bool { return counted[clientKey(e)] })
		sum += total
	}
	want := uint64(0)
	for _, c := range counted {
		if c {
			want++
		}
	}
	if sum != want {
		t.Fatalf("counted %d entries in all, appended %d counted", sum, want)
	}
}

// TestCountedManySenders: more senders in one conversation than the
// committer keeps totals for, taking turns over many batches, with a
// conversation cache so small that states are evicted and reloaded. The
// cached totals must never drift from the stored ones.
func TestCountedManySenders(t *testing.T) {
	db := openDB(t, t.TempDir())
	l, err := msglog.Open(db, msglog.Options{Shards: 1, CacheConversations: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	senders := make([]string, 100) // past maxCachedSenders
	for i := range senders {
		senders[i] = fmt.Sprintf("member-%03d", i)
	}
	for i := range 600 {
		conv := "big" // first one conversation, its state cached throughout
		if i >= 400 {
			conv = []string{"big", "other"}[i%2] // then two, sharing the one-state cache
		}
		n := 20 // first a few senders, whose totals stay cached
		if i >= 200 {
			n = len(senders) // then more than the cache holds
		}
		d := text(conv, senders[(i*7)%n], fmt.Sprintf("m%d", i), "hi")
		d.Counted = true
		if _, _, err := l.Append(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	all := func(msglog.Entry) bool { return true }
	for conv, want := range map[string]uint64{"big": 500, "other": 100} {
		if total, _ := wantCounts(t, l, conv, senders, all); total != want {
			t.Fatalf("%s: %d counted, want %d", conv, total, want)
		}
	}
}
