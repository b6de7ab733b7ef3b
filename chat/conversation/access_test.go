package conversation

import (
	"sync"
	"testing"

	"parley/storage"
)

// TestAccessCacheSeesCommittedChanges checks that a cached permission
// record never outlives a committed change, with the change made the way
// the chat service makes it: under Lock, staged into a batch, committed.
func TestAccessCacheSeesCommittedChanges(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	mustGroup(t, s, db, id, "olga", []string{"bob", "amy"}, 1)
	mustNil(t, s.CanSend(id, "bob")) // cached now
	mustNil(t, s.CanSend(id, "bob")) // served from the cache

	locked := func(stage func(b *storage.Batch) error) {
		t.Helper()
		unlock := s.Lock(id)
		defer unlock()
		commit(t, db, stage)
	}
	locked(func(b *storage.Batch) error { return s.StageSetMuted(b, id, "bob", true, t0) })
	wantErr(t, s.CanSend(id, "bob"), ErrForbidden)

	locked(func(b *storage.Batch) error { return s.StageSetMuted(b, id, "bob", false, t0) })
	mustNil(t, s.CanSend(id, "bob"))
	m, err := s.Membership(id, "bob")
	mustNil(t, err)
	if m.Muted {
		t.Fatal("Membership still reports bob muted after the unmute committed")
	}

	locked(func(b *storage.Batch) error { return s.StageRemoveMember(b, id, "bob", t0) })
	wantErr(t, s.CanSend(id, "bob"), ErrNotMember)
	_, err = s.Membership(id, "bob")
	wantErr(t, err, ErrNotMember)

	// Committed without Lock, as these tests' helpers do: Stage* marks
	// the records stale too.
	mustNil(t, s.CanSend(id, "amy"))
	commit(t, db, func(b *storage.Batch) error {
		_, err := s.StageUpdate(b, id, Patch{MuteAll: ptr(true)}, t0)
		return err
	})
	wantErr(t, s.CanSend(id, "amy"), ErrForbidden)
	mustNil(t, s.CanSend(id, "olga")) // the owner still speaks

	commit(t, db, func(b *storage.Batch) error { return s.StageDissolve(b, id, t0) })
	wantErr(t, s.CanSend(id, "olga"), ErrDissolved)
}

// TestAccessCacheIgnoresAbandonedChanges checks that a change staged but
// never committed (its commit failed) leaves the committed state in force.
func TestAccessCacheIgnoresAbandonedChanges(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	mustGroup(t, s, db, id, "olga", []string{"bob"}, 1)
	mustNil(t, s.CanSend(id, "bob"))

	unlock := s.Lock(id)
	abandoned := db.NewBatch()
	mustNil(t, s.StageSetMuted(abandoned, id, "bob", true, t0))
	mustNil(t, s.CanSend(id, "bob")) // staged is not committed
	unlock()
	mustNil(t, s.CanSend(id, "bob"))
}

// TestAccessCacheConcurrentMute mutes a member while other goroutines keep
// checking: once the muting commit has returned, no check may pass.
func TestAccessCacheConcurrentMute(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	mustGroup(t, s, db, id, "olga", []string{"bob"}, 1)
	other := NewGroupID() // shares no records, maybe a stripe
	mustGroup(t, s, db, other, "olga", []string{"bob"}, 1)

	var muted sync.WaitGroup
	muted.Add(1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_ = s.CanSend(id, "bob")
				_ = s.CanSend(other, "bob")
			}
		}()
	}
	var checker sync.WaitGroup
	checker.Add(1)
	go func() {
		defer checker.Done()
		muted.Wait()
		// Every check that starts after the commit must refuse.
		for range 200 {
			if err := s.CanSend(id, "bob"); err == nil {
				errs <- err
				return
			}
		}
	}()
	unlock := s.Lock(id)
	commit(t, db, func(b *storage.Batch) error { return s.StageSetMuted(b, id, "bob", true, t0) })
	unlock()
	muted.Done()
	checker.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for range errs {
		t.Fatal("a muted member passed CanSend after the mute committed")
	}
	mustNil(t, s.CanSend(other, "bob"))
}
