package msglog

import (
	"encoding/binary"
	"errors"
	"testing"

	"parley/storage"
)

// TestCountedBatchRebuild: one batch carries several counted drafts of one
// sender, an uncounted one, a resend of an earlier draft of the batch and
// a draft whose OnCommit fails, which makes the committer rebuild the
// batch with new seqs. The totals are those of what was stored, and a
// second batch continues from them.
func TestCountedBatchRebuild(t *testing.T) {
	_, l := openInternal(t, Options{Shards: 1})
	counted := func(d Draft) Draft { d.Counted = true; return d }
	bad := counted(draft("room", "bob", "bad"))
	bad.OnCommit = func(*storage.Batch, Entry) error { return errors.New("no") }
	system := draft("room", "alice", "sys") // uncounted
	reqs := commitBatch(t, l,
		counted(draft("room", "alice", "a1")), // 1
		bad,                                   // fails: not stored
		counted(draft("room", "alice", "a2")), // 2
		system,                                // 3
		counted(draft("room", "alice", "a1")), // resend of the first: nothing
		counted(draft("room", "bob", "b1")),   // 4
	)
	if reqs[1].err == nil || reqs[4].e.Seq != 1 || !reqs[4].dup || reqs[5].e.Seq != 4 {
		t.Fatalf("batch answered %+v / %+v / %+v", reqs[1], reqs[4], reqs[5])
	}
	want := []struct{ total, alice, bob uint64 }{{0, 0, 0}, {1, 1, 0}, {2, 2, 0}, {2, 2, 0}, {3, 2, 1}}
	check := func(want []struct{ total, alice, bob uint64 }) {
		t.Helper()
		for seq, w := range want {
			total, alice, err := l.Counted("room", "alice", uint64(seq))
			if err != nil {
				t.Fatal(err)
			}
			_, bob, _ := l.Counted("room", "bob", uint64(seq))
			if total != w.total || alice != w.alice || bob != w.bob {
				t.Fatalf("seq %d: total %d alice %d bob %d, want %+v", seq, total, alice, bob, w)
			}
		}
	}
	check(want)

	commitBatch(t, l, counted(draft("room", "bob", "b2")), counted(draft("room", "alice", "a3")))
	check(append(want, struct{ total, alice, bob uint64 }{4, 2, 2}, struct{ total, alice, bob uint64 }{5, 3, 2}))
}

// TestCountedStopsAtWatermark writes a total past the watermark straight
// to Pebble, as a commit looks to readers while its WAL sync is still
// running; Counted does not see it.
func TestCountedStopsAtWatermark(t *testing.T) {
	db, l := openInternal(t, Options{Shards: 1})
	d := draft("room", "u", "a")
	d.Counted = true
	commitBatch(t, l, d)
	err := db.Update(func(b *storage.Batch) error {
		b.Set(storage.AppendUint64(countPrefix("room"), 2), binary.AppendUvarint(nil, 2))
		b.Set(storage.AppendUint64(senderCountPrefix("room", "u"), 2), binary.AppendUvarint(nil, 2))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total, mine, err := l.Counted("room", "u", 2); err != nil || total != 1 || mine != 1 {
		t.Fatalf("counted past the watermark: %d %d %v, want 1 1", total, mine, err)
	}
}
