package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"parley/storage"
)

// Password length rules. The minimum counts characters, so a short password
// in a multi-byte script is not let through; the maximum counts bytes, since
// it bounds the work of hashing.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 128
)

// Argon2id parameters for new hashes. RFC 9106's second recommendation
// (t=3, 64 MiB) costs 64 MiB per concurrent login, which on a small
// self-hosted box lets a burst of logins exhaust memory, and makes tests
// slow. We use OWASP's Password Storage Cheat Sheet setting instead:
// m=19 MiB, t=2, p=1, which OWASP rates equivalent in strength while using
// under a third of the memory. p=1 because the server parallelizes across
// requests, not within one. The parameters are written into every hash (PHC
// string), and verification reads them from there, so raising them later
// only affects new passwords.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024 // KiB
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Bounds on the parameters accepted from a stored hash, so a corrupt or
// hostile record cannot make one verification allocate gigabytes or spin
// for minutes.
const (
	maxArgonTime    = 16
	maxArgonMemory  = 256 * 1024 // KiB
	maxArgonThreads = 16
	maxArgonKeyLen  = 64
)

// dummyHash is compared against when a member has no password, so that an
// unknown username costs the same time as a wrong password. It is made on
// first use rather than at package init, which would slow every program
// that imports auth.
var dummyHash = sync.OnceValue(func() string { return hashPassword("parley-dummy-password") })

// argonParams are the cost parameters of one hash.
type argonParams struct {
	time, memory uint32
	threads      uint8
}

// hashPassword returns the PHC string of password under the current
// parameters and a fresh random salt:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
//
// with salt and hash in unpadded standard base64, as the PHC format says.
func hashPassword(password string) string {
	salt := make([]byte, argonSaltLen)
	rand.Read(salt) // never fails
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// verifyPassword reports whether password matches the PHC string phc, using
// the parameters stored in phc. The comparison is constant-time.
func verifyPassword(phc, password string) (bool, error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// parsePHC splits an argon2id PHC string into its parameters, salt and hash.
func parsePHC(phc string) (argonParams, []byte, []byte, error) {
	var p argonParams
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	for _, kv := range strings.Split(parts[3], ",") {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return p, nil, nil, fmt.Errorf("malformed argon2 parameter %q", kv)
		}
		n, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return p, nil, nil, fmt.Errorf("malformed argon2 parameter %q", kv)
		}
		switch name {
		case "m":
			p.memory = uint32(n)
		case "t":
			p.time = uint32(n)
		case "p":
			if n > maxArgonThreads {
				return p, nil, nil, fmt.Errorf("argon2 parameter %q out of range", kv)
			}
			p.threads = uint8(n)
		default:
			return p, nil, nil, fmt.Errorf("unknown argon2 parameter %q", kv)
		}
	}
	if p.time < 1 || p.time > maxArgonTime || p.threads < 1 ||
		p.memory < 8*uint32(p.threads) || p.memory > maxArgonMemory {
		return p, nil, nil, fmt.Errorf("argon2 parameters %q out of range", parts[3])
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("malformed argon2 salt")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > maxArgonKeyLen {
		return p, nil, nil, errors.New("malformed argon2 hash")
	}
	return p, salt, key, nil
}

// ValidatePassword returns ErrWeakPassword when password breaks the
// length rules. Callers use it to refuse a password before acting on it.
func ValidatePassword(password string) error {
	if len(password) > MaxPasswordLength {
		return fmt.Errorf("%w: longer than %d bytes", ErrWeakPassword, MaxPasswordLength)
	}
	if utf8.RuneCountInString(password) < MinPasswordLength {
		return fmt.Errorf("%w: shorter than %d characters", ErrWeakPassword, MinPasswordLength)
	}
	return nil
}

// SetPassword hashes password with argon2id and stores it for the member,
// replacing any earlier password. It does not end existing sessions; call
// RevokeMember for that.
func (s *Service) SetPassword(memberID, password string) error {
	if err := checkID("member id", memberID); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if err := ValidatePassword(password); err != nil {
		return fmt.Errorf("set password for %s: %w", memberID, err)
	}
	phc := hashPassword(password)
	b := s.db.NewBatch()
	b.Set(storage.Key(storage.PrefixPassword, memberID), []byte(phc))
	if err := s.db.Commit(b); err != nil {
		return fmt.Errorf("set password for %s: %w", memberID, err)
	}
	return nil
}

// DeletePassword removes the member's password, so the member can no longer
// sign in with one. For use when a member is deleted from the directory.
// Deleting a password that does not exist is not an error.
func (s *Service) DeletePassword(memberID string) error {
	if err := checkID("member id", memberID); err != nil {
		return fmt.Errorf("delete password: %w", err)
	}
	b := s.db.NewBatch()
	b.Delete(storage.Key(storage.PrefixPassword, memberID))
	if err := s.db.Commit(b); err != nil {
		return fmt.Errorf("delete password for %s: %w", memberID, err)
	}
	return nil
}

// HasPassword reports whether the member has a password set.
func (s *Service) HasPassword(memberID string) (bool, error) {
	if err := checkID("member id", memberID); err != nil {
		return false, fmt.Errorf("has password: %w", err)
	}
	ok, err := s.db.Has(storage.Key(storage.PrefixPassword, memberID))
	if err != nil {
		return false, fmt.Errorf("has password for %s: %w", memberID, err)
	}
	return ok, nil
}

// CheckPassword returns nil when password is the member's password, and
// ErrInvalidCredentials when it is not, when the member has no password or
// when the id is malformed. It always spends the time of one hash, so the
// answer's timing does not reveal which of those it was. It does not look at
// the directory or at rate limits; Login does.
func (s *Service) CheckPassword(memberID, password string) error {
	phc := dummyHash()
	known := false
	if checkID("member id", memberID) == nil {
		stored, err := s.db.Get(storage.Key(storage.PrefixPassword, memberID))
		switch {
		case err == nil:
			phc, known = string(stored), true
		case !errors.Is(err, storage.ErrNotFound):
			return fmt.Errorf("load password for %s: %w", memberID, err)
		}
	}
	if len(password) > MaxPasswordLength {
		// Still hash (a bounded input) so overlong guesses are not faster.
		password = password[:MaxPasswordLength]
		known = false
	}
	ok, err := verifyPassword(phc, password)
	if err != nil {
		return fmt.Errorf("check password for %s: stored hash is corrupt: %w", memberID, err)
	}
	if !ok || !known {
		return ErrInvalidCredentials
	}
	return nil
}
