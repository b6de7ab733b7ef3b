package ratelimit

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limit is a token bucket: one token every Every, holding up to Burst.
type Limit struct {
	Every time.Duration
	Burst int
}

// Error is returned by Take when a bucket is empty. RetryAfter is the wait
// before the next attempt in the same bucket can succeed, for a
// Retry-After header.
type Error struct {
	RetryAfter time.Duration
	Scope      string
}

func (e *Error) Error() string {
	return fmt.Sprintf("rate limited (%s); retry after %s", e.Scope, e.RetryAfter)
}

// SweepInterval is how often, at most, a table is swept of idle
// entries. Sweeping walks the whole table, so doing it on every insert into
// a full table would let a flood cost O(table) per attempt.
const SweepInterval = time.Minute

// MaxKeyBytes bounds the bytes of one key, so a table's memory bound holds
// whatever key the caller passes; longer keys are cut.
const MaxKeyBytes = 256

// Keyed is a table of token buckets of one scope, one bucket per key (an
// account, a client address, a member). Time comes from the caller, so
// tests drive it with their own clock.
type Keyed struct {
	scope string
	limit Limit
	max   int

	mu        sync.Mutex
	entries   map[string]*limiterEntry
	lastSweep time.Time
}

type limiterEntry struct {
	lim      *rate.Limiter
	lastSeen time.Time
}

// New creates a table whose buckets follow l. It holds at most max keys;
// Error.Scope is scope.
func New(scope string, l Limit, max int) *Keyed {
	return &Keyed{
		scope:   scope,
		limit:   l,
		max:     max,
		entries: make(map[string]*limiterEntry),
	}
}

// refill is how long an untouched bucket takes to fill up again. An entry
// idle that long is indistinguishable from a new one and can be dropped.
func (ls *Keyed) refill() time.Duration {
	if ls.limit.Every > math.MaxInt64/time.Duration(ls.limit.Burst) {
		return math.MaxInt64
	}
	return ls.limit.Every * time.Duration(ls.limit.Burst)
}

// Take spends one token from key's bucket at time now. When the bucket is
// empty it spends nothing and returns a *Error saying how long to
// wait. When the table is full of buckets that are still refilling, a new
// key is refused too: failing closed keeps the per-account limit from being
// bypassed by flushing the table.
func (ls *Keyed) Take(key string, now time.Time) error {
	if len(key) > MaxKeyBytes {
		key = key[:MaxKeyBytes]
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()

	if now.Sub(ls.lastSweep) >= SweepInterval {
		ls.sweep(now)
	}
	e, ok := ls.entries[key]
	if !ok {
		if len(ls.entries) >= ls.max {
			return &Error{RetryAfter: SweepInterval, Scope: ls.scope}
		}
		// A new limiter starts full.
		e = &limiterEntry{lim: rate.NewLimiter(rate.Every(ls.limit.Every), ls.limit.Burst)}
		ls.entries[key] = e
	}
	e.lastSeen = now
	if e.lim.AllowN(now, 1) { // a refused AllowN spends nothing
		return nil
	}
	// Round the wait up to a whole millisecond: it absorbs the limiter's
	// floating-point error, so waiting exactly RetryAfter always succeeds.
	missing := 1 - e.lim.TokensAt(now)
	wait := time.Duration(math.Ceil(missing*float64(ls.limit.Every)/float64(time.Millisecond))) * time.Millisecond
	if wait <= 0 {
		wait = time.Millisecond
	}
	return &Error{RetryAfter: wait, Scope: ls.scope}
}

// sweep drops entries idle long enough to have refilled. The caller holds mu.
func (ls *Keyed) sweep(now time.Time) {
	idle := ls.refill()
	for k, e := range ls.entries {
		if now.Sub(e.lastSeen) >= idle {
			delete(ls.entries, k)
		}
	}
	ls.lastSweep = now
}

// Len is the number of buckets in the table.
func (ls *Keyed) Len() int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return len(ls.entries)
}
