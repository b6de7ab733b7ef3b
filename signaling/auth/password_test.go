package auth

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"

	"parley/storage"
)

func TestPasswordSetAndCheck(t *testing.T) {
	s := newService(t, newMembers("alice", "bob"), newClock(), Config{})

	if ok, err := s.HasPassword("alice"); err != nil || ok {
		t.Fatalf("HasPassword before set = %v, %v; want false", ok, err)
	}
	if err := s.CheckPassword("alice", "anything-at-all"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("check without password: got %v, want ErrInvalidCredentials", err)
	}
	if err := s.SetPassword("alice", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.HasPassword("alice"); err != nil || !ok {
		t.Fatalf("HasPassword after set = %v, %v; want true", ok, err)
	}
	if err := s.CheckPassword("alice", "correct horse"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if err := s.CheckPassword("alice", "correct horsE"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password: got %v, want ErrInvalidCredentials", err)
	}
	if err := s.CheckPassword("bob", "correct horse"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("other member: got %v, want ErrInvalidCredentials", err)
	}

	if err := s.DeletePassword("alice"); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckPassword("alice", "correct horse"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("after DeletePassword: got %v, want ErrInvalidCredentials", err)
	}
}

func TestWeakPasswordRejected(t *testing.T) {
	s := newService(t, newMembers("alice"), newClock(), Config{})
	for _, pw := range []string{"", "1234567", "密码密码密码密", strings.Repeat("x", MaxPasswordLength+1)} {
		if err := s.SetPassword("alice", pw); !errors.Is(err, ErrWeakPassword) {
			t.Errorf("SetPassword(%d bytes) = %v, want ErrWeakPassword", len(pw), err)
		}
	}
	if ok, _ := s.HasPassword("alice"); ok {
		t.Fatal("a rejected password was stored")
	}
	// Eight characters pass even when they are multi-byte, and so does
	// exactly the maximum.
	for _, pw := range []string{"密码密码密码密码", strings.Repeat("x", MaxPasswordLength)} {
		if err := s.SetPassword("alice", pw); err != nil {
			t.Errorf("SetPassword(%d bytes) = %v, want nil", len(pw), err)
		}
	}
	// An overlong guess is refused, not truncated into a match.
	long := strings.Repeat("x", MaxPasswordLength)
	if err := s.CheckPassword("alice", long+"y"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("overlong guess: got %v, want ErrInvalidCredentials", err)
	}
}

func TestPasswordHashIsSaltedPHC(t *testing.T) {
	s := newService(t, newMembers("alice", "bob"), newClock(), Config{})
	for _, id := range []string{"alice", "bob"} {
		if err := s.SetPassword(id, "same password"); err != nil {
			t.Fatal(err)
		}
	}
	a, err := s.db.Get(storage.Key(storage.PrefixPassword, "alice"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.db.Get(storage.Key(storage.PrefixPassword, "bob"))
	if err != nil {
		t.Fatal(err)
	}
	const wantPrefix = "$argon2id$v=19$m=19456,t=2,p=1$"
	if !strings.HasPrefix(string(a), wantPrefix) {
		t.Fatalf("hash %q does not start with %q", a, wantPrefix)
	}
	if string(a) == string(b) {
		t.Fatal("same password hashed twice gave the same string: no salt")
	}
	if strings.Contains(string(a), "same password") {
		t.Fatal("hash contains the password")
	}
}

// A hash made with other parameters still verifies: the parameters are read
// from the stored string, not taken from the constants.
func TestPasswordVerifyUsesStoredParameters(t *testing.T) {
	s := newService(t, newMembers("alice"), newClock(), Config{})
	salt := []byte("0123456789abcdef")
	key := argon2.IDKey([]byte("old params pw"), salt, 1, 8*1024, 2, 32)
	phc := "$argon2id$v=19$m=8192,t=1,p=2$" + b64(salt) + "$" + b64(key)
	b := s.db.NewBatch()
	b.Set(storage.Key(storage.PrefixPassword, "alice"), []byte(phc))
	if err := s.db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckPassword("alice", "old params pw"); err != nil {
		t.Fatalf("hash with older parameters: %v", err)
	}
	if err := s.CheckPassword("alice", "old params pX"); !errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("wrong password against older parameters: got %v", err)
	}
}

func TestParsePHCRejectsBadStrings(t *testing.T) {
	good := hashPassword("whatever-pass")
	if _, _, _, err := parsePHC(good); err != nil {
		t.Fatalf("own hash does not parse: %v", err)
	}
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	for _, phc := range []string{
		"",
		"plain text",
		"$argon2i$v=19$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=19456,t=2,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=99999999,t=2,p=1$" + salt + "$" + key, // memory bomb
		"$argon2id$v=19$m=19456,t=1000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1,x=3$" + salt + "$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$!!!$" + key,
		"$argon2id$v=19$m=19456,t=2,p=1$" + salt + "$",
	} {
		if _, _, _, err := parsePHC(phc); err == nil {
			t.Errorf("parsePHC(%q) accepted a bad string", phc)
		}
	}
}

func TestCorruptStoredHashIsAnError(t *testing.T) {
	s := newService(t, newMembers("alice"), newClock(), Config{})
	b := s.db.NewBatch()
	b.Set(storage.Key(storage.PrefixPassword, "alice"), []byte("$argon2id$garbage"))
	if err := s.db.Commit(b); err != nil {
		t.Fatal(err)
	}
	err := s.CheckPassword("alice", "whatever-pass")
	if err == nil || errors.Is(err, ErrInvalidCredentials) {
		t.Fatalf("corrupt hash: got %v, want an internal error", err)
	}
}

func b64(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }
