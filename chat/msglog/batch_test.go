package msglog

// White-box tests of one batch: they hand requests to a shard's commit
// directly, so that what shares a batch does not depend on scheduling.

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"parley/storage"
)

func openInternal(t *testing.T, opts Options) (*storage.DB, *Log) {
	t.Helper()
	db, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatalf("open storage: %v", err)
	}
	l, err := Open(db, opts)
	if err != nil {
		t.Fatalf("open log: %v", err)
	}
	t.Cleanup(func() {
		l.Close()
		db.Close()
	})
	return db, l
}

func draft(conv, sender, clientID string) Draft {
	return Draft{ConversationID: conv, SenderID: sender, ClientMsgID: clientID, Type: "text", Body: json.RawMessage(`{"text":"x"}`)}
}

// commitBatch runs one batch of drafts through the shard of their
// conversation, as the committer goroutine would, and returns the answered
// requests. No Append is running, so the committer goroutine is idle.
func commitBatch(t *testing.T, l *Log, ds ...Draft) []*request {
	t.Helper()
	reqs := make([]*request, len(ds))
	for i, d := range ds {
		d, err := prepare(d, l.opts.MaxBodyBytes)
		if err != nil {
			t.Fatalf("prepare: %v", err)
		}
		reqs[i] = &request{d: d, done: make(chan struct{})}
	}
	l.shardFor(ds[0].ConversationID).commit(reqs)
	for i, r := range reqs {
		select {
		case <-r.done:
		default:
			t.Fatalf("request %d was not answered", i)
		}
	}
	return reqs
}

func TestBatchDuplicateOfEarlierDraft(t *testing.T) {
	_, l := openInternal(t, Options{Shards: 1})
	calls := 0
	first := draft("room", "alice", "c1")
	first.OnCommit = func(*storage.Batch, Entry) error { calls++; return nil }
	second := first
	reqs := commitBatch(t, l, first, draft("room", "bob", "c1"), second)
	if reqs[0].err != nil || reqs[0].dup || reqs[0].e.Seq != 1 {
		t.Fatalf("first: %+v", reqs[0])
	}
	if reqs[1].err != nil || reqs[1].dup || reqs[1].e.Seq != 2 {
		t.Fatalf("other sender, same client id: %+v", reqs[1])
	}
	if reqs[2].err != nil || !reqs[2].dup || reqs[2].e.Seq != 1 {
		t.Fatalf("duplicate in the same batch: %+v", reqs[2])
	}
	if calls != 1 {
		t.Fatalf("OnCommit ran %d times, want once", calls)
	}
	if last, _ := l.LastSeq("room"); last != 2 {
		t.Fatalf("last seq %d, want 2", last)
	}
}

func TestBatchRebuiltWithoutFailedDraft(t *testing.T) {
	db, l := openInternal(t, Options{Shards: 1})
	errNo := errors.New("no")
	seen := map[string][]uint64{} // client id -> seqs OnCommit saw
	record := func(fail bool) func(*storage.Batch, Entry) error {
		return func(b *storage.Batch, e Entry) error {
			seen[e.ClientMsgID] = append(seen[e.ClientMsgID], e.Seq)
			if fail {
				b.Set([]byte("test/msglog-marker/failed"), []byte{byte(e.Seq)})
				return errNo
			}
			b.Set([]byte("test/msglog-marker/"+e.ClientMsgID), []byte{byte(e.Seq)})
			return nil
		}
	}
	a, bad, resend, c := draft("room", "u", "a"), draft("room", "u", "bad"), draft("room", "u", "bad"), draft("room", "u", "c")
	a.OnCommit, bad.OnCommit, resend.OnCommit, c.OnCommit = record(false), record(true), record(false), record(false)

	reqs := commitBatch(t, l, a, bad, resend, c)
	if !errors.Is(reqs[1].err, errNo) {
		t.Fatalf("failing draft: %+v", reqs[1])
	}
	// The resend of the failed draft is no longer a duplicate: it is
	// stored in the failed draft's place.
	for i, want := range map[int]uint64{0: 1, 2: 2, 3: 3} {
		if r := reqs[i]; r.err != nil || r.dup || r.e.Seq != want {
			t.Fatalf("request %d: seq %d dup %v err %v, want seq %d", i, r.e.Seq, r.dup, r.err, want)
		}
	}
	if got := seen["c"]; len(got) < 1 || got[len(got)-1] != 3 {
		t.Fatalf("OnCommit of c saw seqs %v, last must be 3", got)
	}
	for id, seq := range map[string]byte{"a": 1, "bad": 2, "c": 3} {
		v, err := db.Get([]byte("test/msglog-marker/" + id))
		if err != nil || len(v) != 1 || v[0] != seq {
			t.Fatalf("marker %s: %v %v, want seq %d from the last build only", id, v, err, seq)
		}
	}
	if _, err := db.Get([]byte("test/msglog-marker/failed")); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("the failed draft's OnCommit write was committed: %v", err)
	}
	if last, _ := l.LastSeq("room"); last != 3 {
		t.Fatalf("last seq %d, want 3", last)
	}
}

// TestReadsStopAtWatermark writes an entry past the watermark straight to
// Pebble, as a commit looks to readers while its WAL sync is still
// running, and checks that no read path returns it.
func TestReadsStopAtWatermark(t *testing.T) {
	db, l := openInternal(t, Options{Shards: 1})
	for _, id := range []string{"a", "b"} {
		if _, _, err := l.Append(context.Background(), draft("room", "u", id)); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	raw, _ := json.Marshal(Entry{ConversationID: "room", Seq: 3, SenderID: "u", ClientMsgID: "c", Type: "text", Body: json.RawMessage(`1`)})
	if err := db.Update(func(b *storage.Batch) error { b.Set(msgKey("room", 3), raw); return nil }); err != nil {
		t.Fatalf("write unacked entry: %v", err)
	}
	if last, _ := l.LastSeq("room"); last != 2 {
		t.Fatalf("last seq %d, want 2", last)
	}
	if es, _ := l.Read("room", 1, 10); len(es) != 2 {
		t.Fatalf("read %d entries, want 2", len(es))
	}
	if es, _ := l.Read("room", 3, 10); len(es) != 0 {
		t.Fatalf("read past the watermark: %+v", es)
	}
	if es, _ := l.ReadBefore("room", 0, 10); len(es) != 2 || es[0].Seq != 2 {
		t.Fatalf("history: %+v", es)
	}
	if _, err := l.Get("room", 3); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get past the watermark: %v", err)
	}
}

func TestCacheEviction(t *testing.T) {
	_, l := openInternal(t, Options{Shards: 1, CacheConversations: 2})
	s := l.shards[0]
	convs := []string{"a", "b", "c", "d"}
	for round := 1; round <= 3; round++ {
		for _, conv := range convs {
			e, _, err := l.Append(context.Background(), draft(conv, "u", string(rune('0'+round))))
			if err != nil || e.Seq != uint64(round) {
				t.Fatalf("round %d conv %s: seq %d, %v", round, conv, e.Seq, err)
			}
			s.mu.Lock()
			n := len(s.convs)
			s.mu.Unlock()
			if n > 2 {
				t.Fatalf("cache holds %d conversations, capacity 2", n)
			}
		}
	}
	for _, conv := range convs {
		if last, err := l.LastSeq(conv); err != nil || last != 3 {
			t.Fatalf("conv %s: last %d, %v", conv, last, err)
		}
	}
}

func TestReadLimit(t *testing.T) {
	for limit, want := range map[int]int{-1: DefaultReadLimit, 0: DefaultReadLimit, 1: 1, MaxReadLimit: MaxReadLimit, MaxReadLimit + 1: MaxReadLimit} {
		if got := readLimit(limit); got != want {
			t.Errorf("readLimit(%d) = %d, want %d", limit, got, want)
		}
	}
}
