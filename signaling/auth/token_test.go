package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"parley/storage"
)

const alicePW = "alice-password"

// newAliceService is a service with one active member, alice, whose
// password is alicePW.
func newAliceService(t *testing.T, cfg Config) (*Service, *members, *clock) {
	t.Helper()
	m := newMembers("alice")
	clk := newClock()
	s := newService(t, m, clk, cfg)
	if err := s.SetPassword("alice", alicePW); err != nil {
		t.Fatal(err)
	}
	return s, m, clk
}

func TestLoginAndVerifyAccess(t *testing.T) {
	s, _, clk := newAliceService(t, Config{})
	tok, err := s.Login("alice", alicePW, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.AccessToken == "" || tok.RefreshToken == "" {
		t.Fatalf("Login returned %+v", tok)
	}
	c, err := s.VerifyAccess(tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if c.MemberID != "alice" || c.TokenID == "" {
		t.Fatalf("claims %+v", c)
	}
	if !c.IssuedAt.Equal(clk.Now()) || !c.ExpiresAt.Equal(clk.Now().Add(15*time.Minute)) {
		t.Fatalf("claims times %v .. %v, clock %v", c.IssuedAt, c.ExpiresAt, clk.Now())
	}

	clk.Advance(15*time.Minute + time.Second)
	if _, err := s.VerifyAccess(tok.AccessToken); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("after expiry: got %v, want ErrTokenExpired", err)
	}
}

func TestLoginWrongPasswordAndUnknownMember(t *testing.T) {
	s, _, _ := newAliceService(t, Config{})
	if _, err := s.Login("alice", "not-the-password", "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password: got %v", err)
	}
	if _, err := s.Login("nobody", alicePW, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("unknown member: got %v", err)
	}
	if _, err := s.Login("bad/id", alicePW, "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("malformed id: got %v", err)
	}
	if n := countPrefix(t, s, []byte(storage.PrefixRefresh)); n != 0 {
		t.Fatalf("%d refresh tokens stored after failed logins", n)
	}
}

func TestVerifyAccessRejectsForgedTokens(t *testing.T) {
	s, _, clk := newAliceService(t, Config{})
	tok, err := s.IssueAccess("alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	now := clk.Now()
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    TokenIssuer,
			Subject:   "alice",
			ID:        "forged",
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour)),
		},
		IssuedAtMillis: now.UnixMilli(),
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.Claims) string {
		t.Helper()
		str, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return str
	}
	// The same claims, signed properly, verify: the cases below fail for the
	// reason they name, not for something else.
	if _, err := s.VerifyAccess(sign(jwt.SigningMethodHS256, s.secret, claims)); err != nil {
		t.Fatalf("control token: %v", err)
	}

	parts := strings.Split(tok.AccessToken, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	tamperedPayload := strings.Replace(string(payload), `"sub":"alice"`, `"sub":"admin"`, 1)
	if tamperedPayload == string(payload) {
		t.Fatalf("payload %s has no sub to tamper with", payload)
	}
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(tamperedPayload)) + "." + parts[2]

	wrongIssuer := claims
	wrongIssuer.Issuer = "someone-else"
	noMillis := claims
	noMillis.IssuedAtMillis = 0
	noExpiry := claims
	noExpiry.ExpiresAt = nil

	cases := map[string]string{
		"tampered payload": tampered,
		"none alg":         sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims),
		"HS512 same key":   sign(jwt.SigningMethodHS512, s.secret, claims),
		"other key":        sign(jwt.SigningMethodHS256, []byte(strings.Repeat("k", 32)), claims),
		"wrong issuer":     sign(jwt.SigningMethodHS256, s.secret, wrongIssuer),
		"no iat_ms":        sign(jwt.SigningMethodHS256, s.secret, noMillis),
		"no expiry":        sign(jwt.SigningMethodHS256, s.secret, noExpiry),
		"garbage":          "not.a.jwt",
		"empty":            "",
	}
	for name, token := range cases {
		if _, err := s.VerifyAccess(token); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s: got %v, want ErrTokenInvalid", name, err)
		}
	}
}

func TestRefreshRotates(t *testing.T) {
	s, _, clk := newAliceService(t, Config{})
	first, err := s.Login("alice", alicePW, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	second, err := s.Refresh(first.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
		t.Fatalf("refresh did not issue a new refresh token: %+v", second)
	}
	if c, err := s.VerifyAccess(second.AccessToken); err != nil || c.MemberID != "alice" {
		t.Fatalf("refreshed access token: %+v, %v", c, err)
	}
	if _, err := s.Refresh(first.RefreshToken); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("reusing the old refresh token: got %v, want ErrTokenInvalid", err)
	}
	if _, err := s.Refresh(second.RefreshToken); err != nil {
		t.Fatalf("the new refresh token: %v", err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 43), strings.Repeat("!", 43)} {
		if _, err := s.Refresh(bad); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("Refresh(%q) = %v, want ErrTokenInvalid", bad, err)
		}
	}
	// Rotation keeps one record (and one index entry) per session.
	if n := countPrefix(t, s, []byte(storage.PrefixRefresh)); n != 1 {
		t.Fatalf("%d refresh records, want 1", n)
	}
	if n := countPrefix(t, s, []byte(storage.PrefixMemberRefresh)); n != 1 {
		t.Fatalf("%d refresh index entries, want 1", n)
	}
}

func TestRefreshConcurrentUseRotatesOnce(t *testing.T) {
	s, _, _ := newAliceService(t, Config{})
	tok, err := s.Login("alice", alicePW, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.Refresh(tok.RefreshToken)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrTokenInvalid):
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d concurrent refreshes of one token succeeded, want 1", ok)
	}
}

func TestRefreshExpires(t *testing.T) {
	s, _, clk := newAliceService(t, Config{RefreshTTL: time.Hour})
	tok, err := s.Login("alice", alicePW, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	if _, err := s.Refresh(tok.RefreshToken); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired refresh token: got %v, want ErrTokenExpired", err)
	}
	// The expired record is gone, so a second try is simply unknown.
	if _, err := s.Refresh(tok.RefreshToken); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("second try: got %v, want ErrTokenInvalid", err)
	}
}

func TestLogout(t *testing.T) {
	s, _, _ := newAliceService(t, Config{})
	tok, err := s.Login("alice", alicePW, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(tok.RefreshToken); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Refresh(tok.RefreshToken); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("refresh after logout: got %v, want ErrTokenInvalid", err)
	}
	if n := countPrefix(t, s, []byte("auth/")); n != 2 { // the password and the jwt secret
		t.Fatalf("%d auth keys left after logout, want 2", n)
	}
	if err := s.Logout(tok.RefreshToken); err != nil {
		t.Fatalf("second logout: %v", err)
	}
	if err := s.Logout("garbage"); err != nil {
		t.Fatalf("logout of garbage: %v", err)
	}
}

func TestRevokeMember(t *testing.T) {
	s, _, clk := newAliceService(t, Config{})
	one, err := s.Login("alice", alicePW, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	two, err := s.Login("alice", alicePW, "192.0.2.2")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Millisecond)
	justBefore, err := s.IssueAccess("alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Millisecond)
	if err := s.RevokeMember("alice"); err != nil {
		t.Fatal(err)
	}
	// Issued in the same millisecond as the revoke, after it: valid.
	rightAfter, err := s.IssueAccess("alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]Tokens{"first login": one, "second login": two, "1ms before": justBefore} {
		if _, err := s.VerifyAccess(tok.AccessToken); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s access token after revoke: got %v, want ErrTokenInvalid", name, err)
		}
	}
	for name, tok := range map[string]Tokens{"first login": one, "second login": two} {
		if _, err := s.Refresh(tok.RefreshToken); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("%s refresh token after revoke: got %v, want ErrTokenInvalid", name, err)
		}
	}
	if _, err := s.VerifyAccess(rightAfter.AccessToken); err != nil {
		t.Fatalf("token issued right after the revoke: %v", err)
	}
	clk.Advance(time.Second)
	after, err := s.Login("alice", alicePW, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyAccess(after.AccessToken); err != nil {
		t.Fatalf("login after revoke: %v", err)
	}
	if _, err := s.Refresh(after.RefreshToken); err != nil {
		t.Fatalf("refresh after revoke: %v", err)
	}

	// A clock that steps back does not move not-before back.
	clk.Advance(-time.Hour)
	if err := s.RevokeMember("alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.VerifyAccess(justBefore.AccessToken); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("after a revoke with an earlier clock: got %v, want ErrTokenInvalid", err)
	}
}

func TestDisabledMember(t *testing.T) {
	s, m, _ := newAliceService(t, Config{})
	tok, err := s.Login("alice", alicePW, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	m.set("alice", false)
	if _, err := s.Login("alice", alicePW, "192.0.2.1"); !errors.Is(err, ErrMemberDisabled) {
		t.Fatalf("login of disabled member: got %v, want ErrMemberDisabled", err)
	}
	if _, err := s.Login("alice", "wrong-password", "192.0.2.1"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password of disabled member: got %v, want ErrInvalidCredentials", err)
	}
	if _, err := s.Refresh(tok.RefreshToken); !errors.Is(err, ErrMemberDisabled) {
		t.Fatalf("refresh of disabled member: got %v, want ErrMemberDisabled", err)
	}
	if _, err := s.IssueAccess("alice", 0); !errors.Is(err, ErrMemberDisabled) {
		t.Fatalf("IssueAccess for disabled member: got %v, want ErrMemberDisabled", err)
	}
}

func TestIssueAccessTTL(t *testing.T) {
	s, _, clk := newAliceService(t, Config{AccessTTL: 5 * time.Minute})
	for _, tc := range []struct {
		ttl  time.Duration
		want time.Duration
	}{
		{0, 5 * time.Minute},
		{time.Hour, time.Hour},
		{48 * time.Hour, MaxIssuedTTL},
	} {
		tok, err := s.IssueAccess("alice", tc.ttl)
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken != "" || tok.ExpiresIn != int(tc.want/time.Second) {
			t.Errorf("IssueAccess(%v) = %+v, want no refresh token and expires_in %d", tc.ttl, tok, int(tc.want/time.Second))
		}
		c, err := s.VerifyAccess(tok.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.ExpiresAt.Sub(clk.Now()); got != tc.want {
			t.Errorf("IssueAccess(%v) expires in %v, want %v", tc.ttl, got, tc.want)
		}
	}
	if _, err := s.IssueAccess("alice", -time.Second); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative ttl: got %v, want ErrInvalid", err)
	}
	if _, err := s.IssueAccess("nobody", 0); !errors.Is(err, ErrMemberDisabled) {
		t.Fatalf("unknown member: got %v, want ErrMemberDisabled", err)
	}
}

func TestSecretPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	m := newMembers("alice")
	clk := newClock()
	db := openDB(t, dir)
	s, err := New(db, m, Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.IssueAccess("alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.secret) != SecretLength {
		t.Fatalf("generated secret has %d bytes", len(s.secret))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir)
	defer db.Close()
	s, err = New(db, m, Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if c, err := s.VerifyAccess(tok.AccessToken); err != nil || c.MemberID != "alice" {
		t.Fatalf("token from before reopen: %+v, %v", c, err)
	}

	// A configured secret replaces the stored one.
	other, err := New(db, m, Config{Now: clk.Now, Secret: []byte(strings.Repeat("s", 32))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.VerifyAccess(tok.AccessToken); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("token under another secret: got %v, want ErrTokenInvalid", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	db := openDB(t, t.TempDir())
	defer db.Close()
	m := newMembers()
	for name, cfg := range map[string]Config{
		"short secret":    {Secret: []byte("change-me")},
		"negative ttl":    {AccessTTL: -time.Second},
		"half a limit":    {LoginPerIP: Limit{Every: time.Second}},
		"negative limit":  {LoginPerAccount: Limit{Every: -time.Second, Burst: 1}},
		"negative expiry": {RefreshTTL: -time.Hour},
	} {
		if _, err := New(db, m, cfg); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	if _, err := New(db, nil, Config{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil members: got %v, want ErrInvalid", err)
	}
}

func TestSessionsPerMemberBounded(t *testing.T) {
	s, _, clk := newAliceService(t, Config{RefreshTTL: time.Hour})
	// Fill alice's sessions directly; a real login per session would cost a
	// password hash each.
	b := s.db.NewBatch()
	for range MaxRefreshTokensPerMember {
		if _, err := s.addRefresh(b, "alice", clk.Now()); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Millisecond)
	}
	if err := s.db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login("alice", alicePW, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if n := countPrefix(t, s, []byte(storage.PrefixRefresh)); n != MaxRefreshTokensPerMember {
		t.Fatalf("%d sessions after a login at the limit, want %d", n, MaxRefreshTokensPerMember)
	}
	if n := countPrefix(t, s, []byte(storage.PrefixMemberRefresh)); n != MaxRefreshTokensPerMember {
		t.Fatalf("%d index entries, want %d", n, MaxRefreshTokensPerMember)
	}
	// Once they have all expired, the next login clears them.
	clk.Advance(2 * time.Hour)
	if _, err := s.Login("alice", alicePW, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	if n := countPrefix(t, s, []byte(storage.PrefixRefresh)); n != 1 {
		t.Fatalf("%d sessions after expiry and a login, want 1", n)
	}
}

func TestPruneExpiredRefreshTokens(t *testing.T) {
	s, _, clk := newAliceService(t, Config{RefreshTTL: time.Hour})
	b := s.db.NewBatch()
	// Sessions of a member who never logs in again (alice's own would be
	// pruned by her login), more than one prune batch of them.
	for range pruneBatchSize + 5 {
		if _, err := s.addRefresh(b, "bob", clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.db.Commit(b); err != nil {
		t.Fatal(err)
	}
	clk.Advance(30 * time.Minute)
	live, err := s.Login("alice", alicePW, "192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(45 * time.Minute) // the first batch expired, the login's token did not
	n, err := s.PruneExpiredRefreshTokens()
	if err != nil {
		t.Fatal(err)
	}
	if n != pruneBatchSize+5 {
		t.Fatalf("pruned %d, want %d", n, pruneBatchSize+5)
	}
	if got := countPrefix(t, s, []byte(storage.PrefixMemberRefresh)); got != 1 {
		t.Fatalf("%d index entries left, want 1", got)
	}
	if _, err := s.Refresh(live.RefreshToken); err != nil {
		t.Fatalf("live token after prune: %v", err)
	}
}
