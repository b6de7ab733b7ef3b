package auth

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MaxLimiterEntries bounds each login rate-limit table (one per account, one
// per client address), so a flood of random usernames or addresses cannot
// grow memory without bound. An entry costs at most about 400 bytes (a key
// of up to MaxMemberIDLength bytes, a limiter, map overhead), so a full
// table stays under about 40 MB.
const MaxLimiterEntries = 100_000

// limiterSweepInterval is how often, at most, a table is swept of idle
// entries. Sweeping walks the whole table, so doing it on every insert into
// a full table would let a flood cost O(table) per attempt.
const limiterSweepInterval = time.Minute

// maxLimiterKeyLength bounds the bytes of one key, so the table's memory
// bound holds whatever client address the caller passes. Account keys are
// member ids, already at most MaxMemberIDLength.
const maxLimiterKeyLength = MaxMemberIDLength

// limiterSet is a table of token buckets of one scope, keyed by account or
// client address. Time comes from the caller, so tests drive it with
// Config.Now.
type limiterSet struct {
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

func newLimiterSet(scope string, l Limit, max int) *limiterSet {
	return &limiterSet{
		scope:   scope,
		limit:   l,
		max:     max,
		entries: make(map[string]*limiterEntry),
	}
}

// refill is how long an untouched bucket takes to fill up again. An entry
// idle that long is indistinguishable from a new one and can be dropped.
func (ls *limiterSet) refill() time.Duration {
	if ls.limit.Every > math.MaxInt64/time.Duration(ls.limit.Burst) {
		return math.MaxInt64
	}
	return ls.limit.Every * time.Duration(ls.limit.Burst)
}

// take spends one token from key's bucket at time now. When the bucket is
// empty it spends nothing and returns a *RateLimitError saying how long to
// wait. When the table is full of buckets that are still refilling, a new
// key is refused too: failing closed keeps the per-account limit from being
// bypassed by flushing the table.
func (ls *limiterSet) take(key string, now time.Time) error {
	if len(key) > maxLimiterKeyLength {
		key = key[:maxLimiterKeyLength]
	}
	ls.mu.Lock()
	defer ls.mu.Unlock()

	if now.Sub(ls.lastSweep) >= limiterSweepInterval {
		ls.sweep(now)
	}
	e, ok := ls.entries[key]
	if !ok {
		if len(ls.entries) >= ls.max {
			return &RateLimitError{RetryAfter: limiterSweepInterval, Scope: ls.scope}
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
	return &RateLimitError{RetryAfter: wait, Scope: ls.scope}
}

// sweep drops entries idle long enough to have refilled. The caller holds mu.
func (ls *limiterSet) sweep(now time.Time) {
	idle := ls.refill()
	for k, e := range ls.entries {
		if now.Sub(e.lastSeen) >= idle {
			delete(ls.entries, k)
		}
	}
	ls.lastSweep = now
}

// len is the number of buckets in the table, for tests.
func (ls *limiterSet) len() int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return len(ls.entries)
}
