package conversation

import (
	"fmt"
	"sync"
	"testing"

	"parley/storage"
)

func TestCursorEncodingRoundTrip(t *testing.T) {
	for _, c := range []Cursors{{}, {Read: 1, Delivered: 2, JoinedSeq: 3}, {Read: 1 << 63, Delivered: ^uint64(0), JoinedSeq: 1 << 40}} {
		got, err := decodeCursors(encodeCursors(c))
		mustNil(t, err)
		if got != c {
			t.Fatalf("round trip %+v -> %+v", c, got)
		}
	}
	if _, err := decodeCursors([]byte{0x80}); err == nil {
		t.Fatal("truncated record decoded")
	}
	if n := len(encodeCursors(Cursors{Read: 100000, Delivered: 100000, JoinedSeq: 100})); n > 8 {
		t.Fatalf("cursor record is %d bytes", n)
	}
}

func TestAdvanceCursors(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	mustGroup(t, s, db, id, "olga", []string{"bob"}, 10)

	cur, err := s.Cursors(id, "bob")
	mustNil(t, err)
	if cur != (Cursors{Read: 9, Delivered: 9, JoinedSeq: 10}) {
		t.Fatalf("initial %+v", cur)
	}
	if n := cur.Unread(15); n != 6 {
		t.Fatalf("unread at 15 = %d, want 6", n)
	}

	cur, changed, err := s.AdvanceDelivered(id, "bob", 14)
	mustNil(t, err)
	if !changed || cur.Delivered != 14 || cur.Read != 9 {
		t.Fatalf("after delivery %+v %v", cur, changed)
	}
	cur, changed, err = s.AdvanceRead(id, "bob", 12)
	mustNil(t, err)
	if !changed || cur.Read != 12 || cur.Delivered != 14 {
		t.Fatalf("after read 12 %+v %v", cur, changed)
	}
	// Backwards moves are ignored, not errors.
	cur, changed, err = s.AdvanceRead(id, "bob", 11)
	mustNil(t, err)
	if changed || cur.Read != 12 {
		t.Fatalf("after read 11 %+v %v", cur, changed)
	}
	_, changed, err = s.AdvanceDelivered(id, "bob", 13)
	mustNil(t, err)
	if changed {
		t.Fatal("delivery moved backwards")
	}
	// Reading implies delivery.
	cur, _, err = s.AdvanceRead(id, "bob", 20)
	mustNil(t, err)
	if cur.Delivered != 20 || cur.Unread(20) != 0 || cur.Unread(25) != 5 {
		t.Fatalf("after read 20 %+v", cur)
	}
	stored, err := s.Cursors(id, "bob")
	mustNil(t, err)
	if stored != cur {
		t.Fatalf("stored %+v, returned %+v", stored, cur)
	}

	_, _, err = s.AdvanceRead(id, "zed", 5)
	wantErr(t, err, ErrNotMember)
	_, _, err = s.AdvanceRead("g_missing", "bob", 5)
	wantErr(t, err, ErrNotFound)
	_, _, err = s.AdvanceDelivered(id, "bo/b", 5)
	wantErr(t, err, ErrInvalid)
}

func TestUnreadBoundedByJoin(t *testing.T) {
	c := Cursors{Read: 0, JoinedSeq: 50}
	if n := c.Unread(52); n != 3 {
		t.Fatalf("unread = %d, want 3 (seqs 50..52)", n)
	}
	if n := c.Unread(40); n != 0 {
		t.Fatalf("unread before join = %d", n)
	}
	if n := (Cursors{}).Unread(4); n != 4 {
		t.Fatalf("unread with no join bound = %d", n)
	}
	if c.Seen() != 49 || (Cursors{Read: 60, JoinedSeq: 50}).Seen() != 60 || (Cursors{}).Seen() != 0 {
		t.Fatalf("Seen: %d, %d, %d; want 49, 60, 0", c.Seen(), (Cursors{Read: 60, JoinedSeq: 50}).Seen(), (Cursors{}).Seen())
	}
}

// Acks from several devices race; the cursors must end at the maximum and
// never be seen moving back.
func TestCursorsMonotonicUnderConcurrency(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	mustGroup(t, s, db, id, "olga", []string{"bob"}, 1)

	const workers, steps = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var lastRead, lastDelivered uint64
			for i := 0; i < steps; i++ {
				// Each worker walks its own interleaved, non-sorted sequence.
				seq := uint64((i*workers+w)*7%(workers*steps) + 1)
				var cur Cursors
				var err error
				if (i+w)%2 == 0 {
					cur, _, err = s.AdvanceRead(id, "bob", seq)
				} else {
					cur, _, err = s.AdvanceDelivered(id, "bob", seq)
				}
				if err != nil {
					errs <- err
					return
				}
				if cur.Read < lastRead || cur.Delivered < lastDelivered || cur.Delivered < cur.Read {
					errs <- fmt.Errorf("worker %d saw %+v after read %d delivered %d", w, cur, lastRead, lastDelivered)
					return
				}
				lastRead, lastDelivered = cur.Read, cur.Delivered
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The largest read seq any worker sent.
	var maxRead, maxAny uint64
	for w := 0; w < workers; w++ {
		for i := 0; i < steps; i++ {
			seq := uint64((i*workers+w)*7%(workers*steps) + 1)
			maxAny = max(maxAny, seq)
			if (i+w)%2 == 0 {
				maxRead = max(maxRead, seq)
			}
		}
	}
	cur, err := s.Cursors(id, "bob")
	mustNil(t, err)
	if cur.Read != maxRead || cur.Delivered != maxAny {
		t.Fatalf("final %+v, want read %d delivered %d", cur, maxRead, maxAny)
	}
}

func TestReaders(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	mustGroup(t, s, db, id, "olga", []string{"amy", "bob", "cat", "dan"}, 1)
	commit(t, db, func(b *storage.Batch) error { return s.StageAddMembers(b, id, []string{"eve"}, 10, t0) })
	commit(t, db, func(b *storage.Batch) error { return s.StageRemoveMember(b, id, "dan", t0) })

	for who, seq := range map[string]uint64{"olga": 12, "amy": 5, "bob": 4, "eve": 12} {
		_, _, err := s.AdvanceRead(id, who, seq)
		mustNil(t, err)
	}
	// cat never read; dan left; eve joined at 10.
	read, unread, err := s.Readers(id, 5, "amy")
	mustNil(t, err)
	wantIDs(t, "read 5", read, []string{"olga"})
	wantIDs(t, "unread 5", unread, []string{"bob", "cat"})

	// The sender is never listed, even with a cursor past the entry.
	read, unread, err = s.Readers(id, 4, "olga")
	mustNil(t, err)
	wantIDs(t, "read 4", read, []string{"amy", "bob"})
	wantIDs(t, "unread 4", unread, []string{"cat"})

	// eve counts from the entry that added her.
	read, unread, err = s.Readers(id, 10, "olga")
	mustNil(t, err)
	wantIDs(t, "read 10", read, []string{"eve"})
	wantIDs(t, "unread 10", unread, []string{"amy", "bob", "cat"})
	read, unread, err = s.Readers(id, 13, "")
	mustNil(t, err)
	wantIDs(t, "read 13", read, nil)
	wantIDs(t, "unread 13", unread, []string{"amy", "bob", "cat", "eve", "olga"})

	_, _, err = s.Readers("g_missing", 1, "olga")
	wantErr(t, err, ErrNotFound)
}

// BenchmarkReaders10k answers one read receipt in a 10,000-member group in
// which half the members read the entry and a tenth joined after it.
func BenchmarkReaders10k(b *testing.B) {
	const members = 10000
	s, db := newStore(b, Options{MaxGroupMembers: members})
	id := NewGroupID()
	ids := make([]string, 0, members-1)
	for i := 1; i < members; i++ {
		ids = append(ids, fmt.Sprintf("member-%05d", i))
	}
	mustGroup(b, s, db, id, "member-00000", ids, 1)
	commit(b, db, func(batch *storage.Batch) error {
		for i, m := range ids {
			c := Cursors{Read: uint64(i % 100), Delivered: 100, JoinedSeq: 1}
			if i%10 == 0 {
				c = Cursors{Read: 200, Delivered: 200, JoinedSeq: 150}
			}
			batch.Set(cursorKey(id, m), encodeCursors(c))
		}
		return nil
	})
	read, unread, err := s.Readers(id, 50, "member-00000")
	if err != nil {
		b.Fatal(err)
	}
	if len(read)+len(unread) != 8999 {
		b.Fatalf("read %d + unread %d, want 8999 eligible", len(read), len(unread))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.Readers(id, 50, "member-00000"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMemberIDs10k lists the fan-out of one message in a
// 10,000-member group.
func BenchmarkMemberIDs10k(b *testing.B) {
	const members = 10000
	s, db := newStore(b, Options{MaxGroupMembers: members})
	id := NewGroupID()
	ids := make([]string, 0, members-1)
	for i := 1; i < members; i++ {
		ids = append(ids, fmt.Sprintf("member-%05d", i))
	}
	mustGroup(b, s, db, id, "member-00000", ids, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		got, err := s.MemberIDs(id)
		if err != nil || len(got) != members {
			b.Fatal(len(got), err)
		}
	}
}

func TestReceiptCounts(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	mustGroup(t, s, db, id, "olga", []string{"amy", "bob", "cat"}, 1)
	commit(t, db, func(b *storage.Batch) error { return s.StageAddMembers(b, id, []string{"eve"}, 10, t0) })
	for who, seq := range map[string]uint64{"amy": 5, "bob": 3, "eve": 11} {
		_, _, err := s.AdvanceRead(id, who, seq)
		mustNil(t, err)
	}
	_, _, err := s.AdvanceDelivered(id, "cat", 12)
	mustNil(t, err)

	got, err := s.ReceiptCounts(id, []MessageRef{{5, "olga"}, {4, "amy"}, {11, "olga"}})
	mustNil(t, err)
	want := []ReceiptCount{
		// seq 5 by olga: amy read it (so received it), cat received it;
		// eve joined at 10, too late to count.
		{Seq: 5, Read: 1, Delivered: 2, Eligible: 3},
		// seq 4 by amy: bob's cursors stop at 3; only cat received it.
		{Seq: 4, Read: 0, Delivered: 1, Eligible: 3},
		// seq 11 by olga: eve read it, cat received it.
		{Seq: 11, Read: 1, Delivered: 2, Eligible: 4},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	// The counts agree with Readers.
	read, unread, err := s.Readers(id, 5, "olga")
	mustNil(t, err)
	if len(read) != got[0].Read || len(read)+len(unread) != got[0].Eligible {
		t.Fatalf("Readers says %d of %d", len(read), len(read)+len(unread))
	}
	_, err = s.ReceiptCounts("g_missing", nil)
	wantErr(t, err, ErrNotFound)
}
