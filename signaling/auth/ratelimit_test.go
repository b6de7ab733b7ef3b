package auth

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// rateLimited returns the *RateLimitError in err, failing the test if
// there is none or its scope is not scope.
func rateLimited(t *testing.T, err error, scope string) *RateLimitError {
	t.Helper()
	var rl *RateLimitError
	if !errors.As(err, &rl) {
		t.Fatalf("got %v, want a RateLimitError", err)
	}
	if rl.Scope != scope || rl.RetryAfter <= 0 {
		t.Fatalf("got %+v, want scope %q and RetryAfter > 0", rl, scope)
	}
	return rl
}

func TestLoginRateLimitPerAccount(t *testing.T) {
	s, m, clk := newAliceService(t, Config{})
	// Five wrong guesses from five addresses use up alice's bucket.
	for i := range DefaultLoginPerAccount.Burst {
		ip := fmt.Sprintf("192.0.2.%d", i+1)
		if _, err := s.Login("alice", "wrong-password", ip); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("attempt %d: got %v, want ErrInvalidCredentials", i+1, err)
		}
	}
	calls := m.callCount()
	// The sixth is refused even with the right password, from a fresh
	// address, without the directory or the password being looked at.
	_, err := s.Login("alice", alicePW, "198.51.100.7")
	rl := rateLimited(t, err, ScopeAccount)
	if rl.RetryAfter > DefaultLoginPerAccount.Every {
		t.Fatalf("RetryAfter %v, want at most %v", rl.RetryAfter, DefaultLoginPerAccount.Every)
	}
	if m.callCount() != calls {
		t.Fatal("a throttled login consulted the directory")
	}
	// Other accounts are not affected.
	if _, err := s.Login("bob", "wrong-password", "198.51.100.7"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("other account: got %v, want ErrInvalidCredentials", err)
	}

	clk.Advance(rl.RetryAfter / 2)
	_, err = s.Login("alice", alicePW, "198.51.100.7")
	rateLimited(t, err, ScopeAccount)

	clk.Advance(rl.RetryAfter / 2)
	if _, err := s.Login("alice", alicePW, "198.51.100.7"); err != nil {
		t.Fatalf("after RetryAfter: %v", err)
	}
}

func TestLoginRateLimitPerIP(t *testing.T) {
	perIP := Limit{Every: 20 * time.Second, Burst: 3} // small, to keep the test to a few hashes
	s, _, clk := newAliceService(t, Config{LoginPerIP: perIP})
	const ip = "203.0.113.9"
	for i := range perIP.Burst {
		user := fmt.Sprintf("guess%d", i)
		if _, err := s.Login(user, "wrong-password", ip); !errors.Is(err, ErrInvalidCredentials) {
			t.Fatalf("attempt %d: got %v, want ErrInvalidCredentials", i+1, err)
		}
	}
	_, err := s.Login("alice", alicePW, ip)
	rl := rateLimited(t, err, ScopeIP)
	if rl.RetryAfter != perIP.Every {
		t.Fatalf("RetryAfter %v, want %v", rl.RetryAfter, perIP.Every)
	}
	// The throttled attempt did not spend alice's account tokens, and
	// another address is not throttled.
	if _, err := s.Login("alice", alicePW, "203.0.113.10"); err != nil {
		t.Fatalf("from another address: %v", err)
	}
	clk.Advance(rl.RetryAfter)
	if _, err := s.Login("alice", alicePW, ip); err != nil {
		t.Fatalf("after RetryAfter: %v", err)
	}
	_, err = s.Login("alice", alicePW, ip)
	rateLimited(t, err, ScopeIP)
}
