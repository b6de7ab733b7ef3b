package live

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/storage"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

var t0 = time.Date(2030, 5, 6, 9, 0, 0, 0, time.UTC)

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func openDB(t *testing.T, dir string) *storage.DB {
	t.Helper()
	db, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newStore opens a store without the background writer; tests flush.
func newStore(t *testing.T) (*Store, *clock) {
	t.Helper()
	db := openDB(t, t.TempDir())
	clk := &clock{t: t0}
	s := New(db, Options{Now: clk.Now, FlushInterval: -1})
	t.Cleanup(func() {
		s.Close()
		db.Close()
	})
	return s, clk
}

func mustCreate(t *testing.T, s *Store, n NewLive) (Live, string) {
	t.Helper()
	if n.Title == "" {
		n.Title = "All hands"
	}
	if n.HostID == "" {
		n.HostID = "alice"
	}
	if n.Scope.Kind == "" {
		n.Scope = Scope{Kind: ScopeInternal, AllMembers: true}
	}
	l, key, err := s.Create(n)
	if err != nil {
		t.Fatal(err)
	}
	return l, key
}

func ptr[T any](v T) *T { return &v }

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func countKeys(t *testing.T, s *Store, prefix string) int {
	t.Helper()
	n := 0
	if err := s.db.ScanPrefix([]byte(prefix), func(_, _ []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestCreateAndGet(t *testing.T) {
	s, _ := newStore(t)
	l, key := mustCreate(t, s, NewLive{Title: " Launch ", Description: "Line one\nline two", Guests: []string{"bob", "alice", "bob"},
		ScheduledStart: t0.Add(time.Hour), Scope: Scope{Kind: ScopeInternal, Departments: []string{"3", "3"}, Tags: []string{"7"}}})
	if l.Title != "Launch" || l.Status != StatusScheduled || !l.Record || !slices.Equal(l.Guests, []string{"bob"}) ||
		!slices.Equal(l.Scope.Departments, []string{"3"}) || !l.CreatedAt.Equal(t0) || len(l.LinkToken) != 22 || l.Sessions == nil {
		t.Fatalf("created %+v", l)
	}
	if !strings.HasPrefix(key, StreamKeyPrefix) || len(key) != len(StreamKeyPrefix)+32 {
		t.Fatalf("stream key %q", key)
	}
	got, err := s.Get(l.ID)
	if err != nil || got.Title != l.Title || got.Description != "Line one\nline two" || !got.ScheduledStart.Equal(t0.Add(time.Hour)) {
		t.Fatalf("get %+v %v", got, err)
	}
	if !got.Presents("alice") || !got.Presents("bob") || got.Presents("carol") || got.Presents("") {
		t.Fatal("Presents")
	}
	noRecord, _ := mustCreate(t, s, NewLive{Record: ptr(false)})
	if noRecord.Record {
		t.Fatal("Record false was ignored")
	}
	for _, id := range []string{"", "missing", "a/b"} {
		_, err := s.Get(id)
		wantErr(t, err, ErrNotFound)
	}
}

func TestCreateValidation(t *testing.T) {
	s, _ := newStore(t)
	many := make([]string, MaxGuests+1)
	for i := range many {
		many[i] = "g" + time.Duration(i).String()
	}
	hash := "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
	cases := []struct {
		name string
		n    NewLive
		want error
	}{
		{"no title", NewLive{Title: " ", HostID: "alice", Scope: Scope{Kind: ScopeInternal}}, ErrInvalid},
		{"control in description", NewLive{Title: "x", Description: "a\x00b", HostID: "alice", Scope: Scope{Kind: ScopeInternal}}, ErrInvalid},
		{"long description", NewLive{Title: "x", Description: strings.Repeat("d", MaxDescriptionRunes+1), HostID: "alice", Scope: Scope{Kind: ScopeInternal}}, ErrInvalid},
		{"no host", NewLive{Title: "x", Scope: Scope{Kind: ScopeInternal}}, ErrInvalid},
		{"no scope kind", NewLive{Title: "x", HostID: "alice"}, ErrInvalid},
		{"unknown scope kind", NewLive{Title: "x", HostID: "alice", Scope: Scope{Kind: "public"}}, ErrInvalid},
		{"internal with password", NewLive{Title: "x", HostID: "alice", Scope: Scope{Kind: ScopeInternal, PasswordHash: hash}}, ErrInvalid},
		{"external with departments", NewLive{Title: "x", HostID: "alice", Scope: Scope{Kind: ScopeExternal, Departments: []string{"1"}}}, ErrInvalid},
		{"external with all members", NewLive{Title: "x", HostID: "alice", Scope: Scope{Kind: ScopeExternal, AllMembers: true}}, ErrInvalid},
		{"plain password", NewLive{Title: "x", HostID: "alice", Scope: Scope{Kind: ScopeExternal, PasswordHash: "hunter22"}}, ErrInvalid},
		{"bad department", NewLive{Title: "x", HostID: "alice", Scope: Scope{Kind: ScopeInternal, Departments: []string{"a/b"}}}, ErrInvalid},
		{"too many guests", NewLive{Title: "x", HostID: "alice", Guests: many, Scope: Scope{Kind: ScopeInternal}}, ErrLimit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := s.Create(c.n)
			wantErr(t, err, c.want)
		})
	}
	ext, _ := mustCreate(t, s, NewLive{Scope: Scope{Kind: ScopeExternal, PasswordHash: hash}})
	if ext.Scope.PasswordHash != hash || ext.Scope.Departments == nil {
		t.Fatalf("external scope %+v", ext.Scope)
	}
}

func TestStreamKeyRotation(t *testing.T) {
	s, _ := newStore(t)
	l, key := mustCreate(t, s, NewLive{})
	other, otherKey := mustCreate(t, s, NewLive{})
	got, err := s.LiveByStreamKey(key)
	if err != nil || got.ID != l.ID {
		t.Fatalf("lookup: %+v %v", got, err)
	}
	for _, bad := range []string{"", "sk_", key[:len(key)-1], "xx" + key[2:], key + "A", strings.Replace(key, key[5:6], "!", 1)} {
		_, err := s.LiveByStreamKey(bad)
		wantErr(t, err, ErrNotFound)
	}
	newKey, err := s.RotateStreamKey(l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if newKey == key || !strings.HasPrefix(newKey, StreamKeyPrefix) {
		t.Fatalf("rotated key %q", newKey)
	}
	_, err = s.LiveByStreamKey(key)
	wantErr(t, err, ErrNotFound) // the old key stopped working at once
	if got, err := s.LiveByStreamKey(newKey); err != nil || got.ID != l.ID {
		t.Fatalf("new key: %v", err)
	}
	if got, err := s.LiveByStreamKey(otherKey); err != nil || got.ID != other.ID {
		t.Fatalf("another live's key broke: %v", err)
	}
	if n := countKeys(t, s, storage.PrefixLiveStreamKey); n != 2 {
		t.Fatalf("%d stream key index entries, want 2: the old one must go", n)
	}
	_, err = s.RotateStreamKey("missing")
	wantErr(t, err, ErrNotFound)
}

func TestUpdate(t *testing.T) {
	s, _ := newStore(t)
	l, _ := mustCreate(t, s, NewLive{Guests: []string{"bob"}})
	got, err := s.Update(l.ID, Patch{Title: ptr("New"), Description: ptr("About"), Guests: &[]string{"carol"},
		Scope: &Scope{Kind: ScopeExternal}, Record: ptr(false), ScheduledStart: ptr(t0.Add(time.Hour))})
	if err != nil {
		t.Fatal(err)
	}
	if got.Title != "New" || got.Description != "About" || !slices.Equal(got.Guests, []string{"carol"}) || got.Scope.Kind != ScopeExternal ||
		got.Record || !got.ScheduledStart.Equal(t0.Add(time.Hour)) {
		t.Fatalf("updated %+v", got)
	}
	if stored, _ := s.Get(l.ID); stored.Title != "New" || stored.Scope.Kind != ScopeExternal {
		t.Fatalf("not stored: %+v", stored)
	}
	_, err = s.Update(l.ID, Patch{Scope: &Scope{Kind: ScopeExternal, Tags: []string{"1"}}})
	wantErr(t, err, ErrInvalid)
	_, err = s.Update(l.ID, Patch{Title: ptr("")})
	wantErr(t, err, ErrInvalid)
	_, err = s.Update("missing", Patch{})
	wantErr(t, err, ErrNotFound)
}

func TestScanNewestAndDelete(t *testing.T) {
	s, clk := newStore(t)
	var want []string
	for i := range 5 {
		clk.Set(t0.Add(time.Duration(i) * time.Minute))
		l, _ := mustCreate(t, s, NewLive{})
		want = append(want, l.ID)
	}
	slices.Reverse(want)
	collect := func(after string, n int) []string {
		var got []string
		err := s.ScanNewest(after, func(l Live) bool {
			got = append(got, l.ID)
			return len(got) < n
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := collect("", 10); !slices.Equal(got, want) {
		t.Fatalf("newest first: %v, want %v", got, want)
	}
	if got := collect(want[1], 2); !slices.Equal(got, want[2:4]) {
		t.Fatalf("after %s: %v", want[1], got)
	}
	wantErr(t, s.ScanNewest("missing", func(Live) bool { return true }), ErrInvalid)

	victim := want[2]
	vl, _ := s.Get(victim)
	key, _ := s.RotateStreamKey(victim)
	if _, err := s.MarkLive(victim, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordViewerJoin(victim, Viewer{ID: "bob", Name: "Bob"}, t0); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.Delete(victim), ErrState) // on air
	if _, err := s.MarkEnded(victim, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.CountInteraction(victim, "like"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(victim); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil { // must not resurrect the counters
		t.Fatal(err)
	}
	_, err := s.Get(victim)
	wantErr(t, err, ErrNotFound)
	_, err = s.LiveByStreamKey(key)
	wantErr(t, err, ErrNotFound)
	if got := collect("", 10); slices.Contains(got, victim) || len(got) != 4 {
		t.Fatalf("after delete: %v", got)
	}
	for _, p := range []string{storage.PrefixLiveViewer, storage.PrefixLiveCounters, storage.PrefixLiveKeyOf} {
		if n := countKeys(t, s, string(storage.Key(p, vl.ID))); n != 0 {
			t.Errorf("%d keys left under %s%s", n, p, vl.ID)
		}
	}
	wantErr(t, s.Delete(victim), ErrNotFound)
}

func TestLinkToken(t *testing.T) {
	s, _ := newStore(t)
	l, _ := mustCreate(t, s, NewLive{Scope: Scope{Kind: ScopeExternal}})
	if got, err := s.CheckLinkToken(l.ID, l.LinkToken); err != nil || got.ID != l.ID {
		t.Fatalf("right token: %v", err)
	}
	_, err := s.CheckLinkToken(l.ID, l.LinkToken+"x")
	wantErr(t, err, ErrNotFound)
	_, err = s.CheckLinkToken("missing", l.LinkToken)
	wantErr(t, err, ErrNotFound)
	rotated, err := s.RotateLinkToken(l.ID)
	if err != nil || rotated.LinkToken == l.LinkToken {
		t.Fatalf("rotate: %v", err)
	}
	_, err = s.CheckLinkToken(l.ID, l.LinkToken)
	wantErr(t, err, ErrNotFound)
}

func TestStatusAndSessions(t *testing.T) {
	s, _ := newStore(t)
	l, _ := mustCreate(t, s, NewLive{})
	_, err := s.MarkEnded(l.ID, t0)
	wantErr(t, err, ErrState) // never on air
	got, err := s.MarkLive(l.ID, t0)
	if err != nil || got.Status != StatusLive || !got.StartedAt.Equal(t0) || len(got.Sessions) != 1 {
		t.Fatalf("live: %+v %v", got, err)
	}
	if again, _ := s.MarkLive(l.ID, t0.Add(time.Minute)); len(again.Sessions) != 1 {
		t.Fatal("going live while live added a session")
	}
	got, err = s.MarkEnded(l.ID, t0.Add(10*time.Minute))
	if err != nil || got.Status != StatusEnded || !got.EndedAt.Equal(t0.Add(10*time.Minute)) || !got.Sessions[0].End.Equal(got.EndedAt) {
		t.Fatalf("ended: %+v %v", got, err)
	}
	if again, err := s.MarkEnded(l.ID, t0.Add(time.Hour)); err != nil || !again.EndedAt.Equal(got.EndedAt) {
		t.Fatalf("second end: %+v %v", again, err)
	}
	// OBS reconnects: back on air, a second session; StartedAt stays.
	got, err = s.MarkLive(l.ID, t0.Add(12*time.Minute))
	if err != nil || got.Status != StatusLive || !got.StartedAt.Equal(t0) || !got.EndedAt.IsZero() || len(got.Sessions) != 2 ||
		!got.Sessions[1].Start.Equal(t0.Add(12*time.Minute)) || !got.Sessions[1].End.IsZero() {
		t.Fatalf("back on air: %+v %v", got, err)
	}
	// An end before the session began (clock skew) is its start.
	got, _ = s.MarkEnded(l.ID, t0)
	if !got.Sessions[1].End.Equal(got.Sessions[1].Start) {
		t.Fatalf("session %+v", got.Sessions[1])
	}
	_, err = s.MarkLive("missing", t0)
	wantErr(t, err, ErrNotFound)
}

func TestSessionLimit(t *testing.T) {
	s, _ := newStore(t)
	l, _ := mustCreate(t, s, NewLive{})
	b := s.db.NewBatch()
	l.Status = StatusEnded
	l.Sessions = make([]Session, MaxSessions)
	for i := range l.Sessions {
		l.Sessions[i] = Session{Start: t0, End: t0}
	}
	if err := b.SetJSON(liveKey(l.ID), l); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Commit(b); err != nil {
		t.Fatal(err)
	}
	_, err := s.MarkLive(l.ID, t0.Add(time.Hour))
	wantErr(t, err, ErrLimit)
}
