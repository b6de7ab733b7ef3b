package ratelimit

import (
	"errors"
	"testing"
	"time"
)

func TestLimiterTableIsBounded(t *testing.T) {
	l := Limit{Every: time.Second, Burst: 2}
	ls := New("ip", l, 3)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, k := range []string{"a", "b", "c"} {
		if err := ls.Take(k, t0); err != nil {
			t.Fatalf("take(%s): %v", k, err)
		}
	}
	// The table is full of buckets still refilling: a new key is refused,
	// known keys still work.
	if err := ls.Take("d", t0); !errors.As(err, new(*Error)) {
		t.Fatalf("new key in a full table: got %v, want *Error", err)
	}
	if err := ls.Take("a", t0); err != nil {
		t.Fatalf("known key in a full table: %v", err)
	}
	if ls.Len() != 3 {
		t.Fatalf("table has %d entries, want 3", ls.Len())
	}

	// After the sweep interval, idle entries are dropped and new keys fit.
	// "c" stays busy and keeps its (partly spent) bucket.
	t1 := t0.Add(SweepInterval - 100*time.Millisecond)
	if err := ls.Take("c", t1); err != nil {
		t.Fatal(err)
	}
	if err := ls.Take("c", t1); err != nil {
		t.Fatal(err)
	}
	t2 := t0.Add(SweepInterval)
	if err := ls.Take("d", t2); err != nil {
		t.Fatalf("new key after sweep: %v", err)
	}
	if ls.Len() != 2 {
		t.Fatalf("after sweep table has %d entries, want 2 (c and d)", ls.Len())
	}
	if err := ls.Take("c", t2); !errors.As(err, new(*Error)) {
		t.Fatalf("busy key lost its state in the sweep: got %v", err)
	}

	// Over-long keys are cut, so they cannot inflate memory.
	long := string(make([]byte, 10*MaxKeyBytes))
	if err := ls.Take(long, t2); err != nil {
		t.Fatal(err)
	}
	ls.mu.Lock()
	for k := range ls.entries {
		if len(k) > MaxKeyBytes {
			t.Errorf("stored key of %d bytes", len(k))
		}
	}
	ls.mu.Unlock()
}

func TestRetryAfterIsHonoured(t *testing.T) {
	ls := New("member", Limit{Every: 100 * time.Millisecond, Burst: 1}, 10)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := ls.Take("m", t0); err != nil {
		t.Fatal(err)
	}
	var rl *Error
	if err := ls.Take("m", t0); !errors.As(err, &rl) || rl.Scope != "member" || rl.RetryAfter <= 0 {
		t.Fatalf("second take: %v", err)
	}
	if err := ls.Take("m", t0.Add(rl.RetryAfter)); err != nil {
		t.Fatalf("after RetryAfter: %v", err)
	}
}
