package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestGuestTokenIsRestricted(t *testing.T) {
	s, _, clk := newAliceService(t, Config{})
	meeting := TokenScope{Kind: ScopeKindMeeting, ID: "M1"}
	g, err := s.IssueGuest(meeting, "  Visitor Li ")
	if err != nil {
		t.Fatal(err)
	}
	if g.TokenType != "Bearer" || g.RefreshToken != "" || g.ExpiresIn != int(GuestTokenTTL/time.Second) ||
		!strings.HasPrefix(g.GuestID, GuestSubjectPrefix) || g.Name != "Visitor Li" {
		t.Fatalf("guest token %+v", g)
	}

	// The claims say what the brief promises: a scope claim naming the
	// meeting, and the name.
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(g.AccessToken, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(payload, &raw); err != nil {
		t.Fatal(err)
	}
	if sc, _ := raw["scope"].(map[string]any); sc["meeting"] != "M1" || raw["name"] != "Visitor Li" || raw["sub"] != g.GuestID {
		t.Fatalf("payload %s", payload)
	}

	// Every member-only check refuses it, with a recognizable error.
	_, err = s.VerifyAccess(g.AccessToken)
	if !errors.Is(err, ErrTokenInvalid) || !errors.Is(err, ErrRestrictedToken) {
		t.Fatalf("VerifyAccess: got %v, want ErrTokenInvalid and ErrRestrictedToken", err)
	}

	c, err := s.VerifyFor(g.AccessToken, meeting)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Restricted() || c.Scope != meeting || c.Name != "Visitor Li" || c.MemberID != g.GuestID || !c.ExpiresAt.Equal(clk.Now().Add(GuestTokenTTL)) {
		t.Fatalf("claims %+v", c)
	}
	for _, other := range []TokenScope{{Kind: ScopeKindMeeting, ID: "M2"}, {Kind: ScopeKindLive, ID: "M1"}, {}} {
		if _, err := s.VerifyFor(g.AccessToken, other); !errors.Is(err, ErrRestrictedToken) {
			t.Errorf("VerifyFor(%+v): got %v", other, err)
		}
	}

	// A member's token passes VerifyFor with no scope.
	member, err := s.IssueAccess("alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.VerifyFor(member.AccessToken, meeting); err != nil || c.Restricted() || c.MemberID != "alice" {
		t.Fatalf("member token: %+v %v", c, err)
	}

	// Two guests never share an id; a live scope works the same way.
	g2, err := s.IssueGuest(TokenScope{Kind: ScopeKindLive, ID: "L1"}, "Viewer")
	if err != nil || g2.GuestID == g.GuestID {
		t.Fatalf("second guest %+v %v", g2, err)
	}
	if c, err := s.VerifyFor(g2.AccessToken, TokenScope{Kind: ScopeKindLive, ID: "L1"}); err != nil || c.Scope.Kind != ScopeKindLive {
		t.Fatalf("live guest: %+v %v", c, err)
	}

	clk.Advance(GuestTokenTTL + time.Second)
	if _, err := s.VerifyFor(g.AccessToken, meeting); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestIssueGuestValidation(t *testing.T) {
	s, _, _ := newAliceService(t, Config{})
	for _, c := range []struct {
		scope TokenScope
		name  string
	}{
		{TokenScope{Kind: "room", ID: "x"}, "n"},
		{TokenScope{Kind: ScopeKindMeeting}, "n"},
		{TokenScope{Kind: ScopeKindMeeting, ID: "a/b"}, "n"},
		{TokenScope{Kind: ScopeKindMeeting, ID: "x"}, "   "},
		{TokenScope{Kind: ScopeKindMeeting, ID: "x"}, strings.Repeat("名", MaxGuestNameRunes+1)},
		{TokenScope{Kind: ScopeKindMeeting, ID: "x"}, "bell\a"},
	} {
		if _, err := s.IssueGuest(c.scope, c.name); !errors.Is(err, ErrInvalid) {
			t.Errorf("IssueGuest(%+v, %q): got %v, want ErrInvalid", c.scope, c.name, err)
		}
	}
}

// TestForgedRestrictedClaims: only whole, consistent restricted tokens
// verify; half of one is refused rather than taken for a member's.
func TestForgedRestrictedClaims(t *testing.T) {
	s, _, clk := newAliceService(t, Config{})
	now := clk.Now()
	base := func(sub string) accessClaims {
		return accessClaims{
			RegisteredClaims: jwt.RegisteredClaims{
				Issuer: TokenIssuer, Subject: sub, ID: "x",
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
			},
			IssuedAtMillis: now.UnixMilli(),
		}
	}
	sign := func(c accessClaims) string {
		str, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.secret)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}
	good := base("guest:G")
	good.Scope, good.Name = &scopeClaim{Meeting: "M"}, "Guest"
	if _, err := s.VerifyFor(sign(good), TokenScope{Kind: ScopeKindMeeting, ID: "M"}); err != nil {
		t.Fatalf("control token: %v", err)
	}
	memberWithScope := base("alice")
	memberWithScope.Scope, memberWithScope.Name = &scopeClaim{Meeting: "M"}, "Alice"
	guestNoScope := base("guest:G")
	guestNoScope.Name = "Guest"
	both := good
	both.Scope = &scopeClaim{Meeting: "M", Live: "L"}
	empty := good
	empty.Scope = &scopeClaim{}
	noName := good
	noName.Name = ""
	for name, c := range map[string]accessClaims{
		"member subject with a scope": memberWithScope,
		"guest subject without scope": guestNoScope,
		"two scopes":                  both,
		"empty scope":                 empty,
		"no name":                     noName,
	} {
		tok := sign(c)
		if _, err := s.VerifyFor(tok, TokenScope{Kind: ScopeKindMeeting, ID: "M"}); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: VerifyFor got %v", name, err)
		}
		if _, err := s.VerifyAccess(tok); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: VerifyAccess got %v", name, err)
		}
	}
}

func TestHashSecret(t *testing.T) {
	phc, err := HashSecret("1234")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$") {
		t.Fatalf("hash %q", phc)
	}
	if err := CheckSecret(phc, "1234"); err != nil {
		t.Fatalf("right secret: %v", err)
	}
	for _, wrong := range []string{"", "12345", "123", strings.Repeat("1", MaxPasswordLength+1)} {
		if err := CheckSecret(phc, wrong); !errors.Is(err, ErrInvalidCredentials) {
			t.Errorf("CheckSecret(%q): %v", wrong, err)
		}
	}
	if err := CheckSecret("not a hash", "1234"); err == nil || errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("corrupt hash: %v", err)
	}
	for _, bad := range []string{"", strings.Repeat("x", MaxPasswordLength+1)} {
		if _, err := HashSecret(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("HashSecret(%d bytes): %v", len(bad), err)
		}
	}
}

func TestThrottleGuest(t *testing.T) {
	s, _, _ := newAliceService(t, Config{LoginPerIP: Limit{Every: time.Hour, Burst: 2}})
	for range 2 {
		if err := s.ThrottleGuest("192.0.2.9"); err != nil {
			t.Fatal(err)
		}
	}
	var rl *RateLimitError
	if err := s.ThrottleGuest("192.0.2.9"); !errors.As(err, &rl) {
		t.Fatalf("third attempt: %v", err)
	}
	if err := s.ThrottleGuest("192.0.2.10"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

// A guest token still valid is re-issued under the same guest id, scope
// and name, with a fresh lifetime; an expired one, a member's one, or a
// forged one is not.
func TestRefreshGuest(t *testing.T) {
	s, _, clk := newAliceService(t, Config{})
	meeting := TokenScope{Kind: ScopeKindMeeting, ID: "M1"}
	g, err := s.IssueGuest(meeting, "Visitor Li")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(GuestTokenTTL - time.Minute)
	r, err := s.RefreshGuest(g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if r.GuestID != g.GuestID || r.Name != g.Name || r.AccessToken == g.AccessToken || r.RefreshToken != "" {
		t.Fatalf("refreshed %+v from %+v", r, g)
	}
	c, err := s.VerifyFor(r.AccessToken, meeting)
	if err != nil {
		t.Fatal(err)
	}
	old, err := s.VerifyFor(g.AccessToken, meeting)
	if err != nil {
		t.Fatal(err)
	}
	if c.MemberID != g.GuestID || c.Scope != meeting || c.Name != "Visitor Li" || c.TokenID == old.TokenID ||
		!c.ExpiresAt.Equal(clk.Now().Add(GuestTokenTTL)) {
		t.Fatalf("refreshed claims %+v", c)
	}

	// The old token, expired now, cannot be refreshed; the new one can.
	clk.Advance(2 * time.Minute)
	if _, err := s.RefreshGuest(g.AccessToken); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("refresh of an expired token: %v", err)
	}
	if _, err := s.RefreshGuest(r.AccessToken); err != nil {
		t.Fatalf("refresh of the refreshed token: %v", err)
	}

	member, err := s.IssueAccess("alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RefreshGuest(member.AccessToken); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("refresh of a member's token: %v", err)
	}
	for _, bad := range []string{"", "x.y.z", r.AccessToken[:len(r.AccessToken)-2] + "xx"} {
		if _, err := s.RefreshGuest(bad); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("refresh of %q: %v", bad, err)
		}
	}
}
