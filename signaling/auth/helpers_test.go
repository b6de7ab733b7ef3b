package auth

import (
	"sync"
	"testing"
	"time"

	"parley/storage"
)

// members stands in for the directory, which lives in another package.
type members struct {
	mu     sync.Mutex
	active map[string]bool // id -> may sign in; absent means unknown
	calls  int             // MemberActive calls so far
}

func newMembers(ids ...string) *members {
	m := &members{active: make(map[string]bool)}
	for _, id := range ids {
		m.active[id] = true
	}
	return m
}

func (m *members) MemberActive(id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	return m.active[id], nil
}

func (m *members) set(id string, active bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.active[id] = active
}

// clock is a settable time source for Config.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openDB(t *testing.T, dir string) *storage.DB {
	t.Helper()
	db, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// newService opens a fresh database in a temporary directory and returns a
// Service over it whose clock is clk.
func newService(t *testing.T, m Members, clk *clock, cfg Config) *Service {
	t.Helper()
	db := openDB(t, t.TempDir())
	t.Cleanup(func() { db.Close() })
	cfg.Now = clk.Now
	s, err := New(db, m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// countPrefix counts the stored keys under prefix.
func countPrefix(t *testing.T, s *Service, prefix []byte) int {
	t.Helper()
	n := 0
	if err := s.db.ScanPrefix(prefix, func(_, _ []byte) bool { n++; return true }); err != nil {
		t.Fatal(err)
	}
	return n
}

func (m *members) callCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}
