package conversation

import (
	"errors"
	"slices"
	"testing"
	"time"

	"parley/storage"
)

// t0 is the fixed clock of the tests.
var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

// newStore opens a real Pebble in a temporary directory.
func newStore(tb testing.TB, opts Options) (*Store, *storage.DB) {
	tb.Helper()
	db, err := storage.Open(tb.TempDir(), storage.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return New(db, opts), db
}

// commit runs stage on a fresh batch and commits it, as msglog's OnCommit
// would.
func commit(tb testing.TB, db *storage.DB, stage func(b *storage.Batch) error) {
	tb.Helper()
	b := db.NewBatch()
	if err := stage(b); err != nil {
		tb.Fatal(err)
	}
	if err := db.Commit(b); err != nil {
		tb.Fatal(err)
	}
}

// mustGroup creates group id owned by owner with members, joined at seq.
func mustGroup(tb testing.TB, s *Store, db *storage.DB, id, owner string, members []string, seq uint64) Conversation {
	tb.Helper()
	var c Conversation
	commit(tb, db, func(b *storage.Batch) error {
		var err error
		c, err = s.StageCreateGroup(b, Conversation{ID: id, Name: "Team " + id}, owner, members, seq, t0)
		return err
	})
	return c
}

// wantErr fails unless err matches target.
func wantErr(tb testing.TB, err, target error) {
	tb.Helper()
	if !errors.Is(err, target) {
		tb.Fatalf("error = %v, want %v", err, target)
	}
}

// wantIDs fails unless got equals want.
func wantIDs(tb testing.TB, what string, got, want []string) {
	tb.Helper()
	if want == nil {
		want = []string{}
	}
	if got == nil {
		got = []string{}
	}
	if !slices.Equal(got, want) {
		tb.Fatalf("%s = %q, want %q", what, got, want)
	}
}

// mustNil fails on err.
func mustNil(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}
