package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"parley/signaling/ratelimit"
	"parley/storage"
)

// Defaults and limits. Each is enforced where it is used, with one of the
// errors below.
const (
	// DefaultAccessTTL is how long an access token lives when Config.AccessTTL
	// is zero. Short, because an access token cannot be revoked one by one.
	DefaultAccessTTL = 15 * time.Minute
	// DefaultRefreshTTL is how long a refresh token lives when
	// Config.RefreshTTL is zero.
	DefaultRefreshTTL = 30 * 24 * time.Hour
	// MaxIssuedTTL caps the lifetime IssueAccess grants, so a leaked API key
	// cannot mint a token that outlives its revocation by more than a day.
	MaxIssuedTTL = 24 * time.Hour
	// SecretLength is the size of the generated signing secret, and
	// MinSecretLength the least a configured one may have: HS256 is only as
	// strong as its key, and RFC 7518 asks for at least the hash size.
	SecretLength    = 32
	MinSecretLength = 32
	// MaxMemberIDLength bounds the member ids auth accepts, so ids used in
	// storage keys and rate-limit buckets stay small.
	MaxMemberIDLength = 256
	// TokenIssuer is the "iss" claim of every access token. Tokens from
	// another system that happens to share the secret are refused.
	TokenIssuer = "parley"
)

// Default login rate limits.
var (
	// DefaultLoginPerAccount allows 5 attempts per account per minute.
	DefaultLoginPerAccount = Limit{Every: 12 * time.Second, Burst: 5}
	// DefaultLoginPerIP allows 30 attempts per client address per minute.
	DefaultLoginPerIP = Limit{Every: 2 * time.Second, Burst: 30}
)

// Errors returned by Service methods. Match them with errors.Is; the wrapped
// message says more where it is safe to.
var (
	// ErrInvalidCredentials is a wrong username or a wrong password: the
	// two are deliberately not told apart.
	ErrInvalidCredentials = errors.New("invalid username or password")
	// ErrMemberDisabled is the right password for a member who may not sign in.
	ErrMemberDisabled = errors.New("member is disabled")
	// ErrTokenExpired is an access or refresh token past its expiry.
	ErrTokenExpired = errors.New("token expired")
	// ErrTokenInvalid is a token with a bad signature, a malformed token, a
	// revoked token or an unknown refresh token.
	ErrTokenInvalid = errors.New("token invalid")
	// ErrWeakPassword is a password shorter than MinPasswordLength or longer
	// than MaxPasswordLength.
	ErrWeakPassword = errors.New("password does not meet the length rules")
	// ErrNotFound is an unknown API key.
	ErrNotFound = errors.New("not found")
	// ErrInvalid is a malformed argument: an empty or over-long id or name,
	// a negative duration.
	ErrInvalid = errors.New("invalid argument")
	// ErrLimit is a request that would exceed a named limit, such as
	// MaxAPIKeys.
	ErrLimit = errors.New("limit reached")
)

// Rate limit scopes, the values of RateLimitError.Scope.
const (
	ScopeAccount = "account"
	ScopeIP      = "ip"
)

// Members is what auth needs from the directory. It is defined here, where
// it is consumed, so auth does not import the directory package.
type Members interface {
	// MemberActive reports whether the member exists and is allowed to sign in.
	// ok=false, err=nil for unknown or disabled members.
	MemberActive(id string) (ok bool, err error)
}

// Config tunes the Service. The zero value of each field means its default.
type Config struct {
	AccessTTL  time.Duration // default DefaultAccessTTL (15m)
	RefreshTTL time.Duration // default DefaultRefreshTTL (30 days)
	// Secret signs access tokens (HS256). Empty: a random 32-byte secret is
	// created once and kept in storage (storage.KeyJWTSecret), so tokens
	// survive restarts. Nodes of one cluster must share a configured secret.
	// A configured secret must have at least MinSecretLength bytes.
	Secret          []byte
	LoginPerAccount Limit            // default DefaultLoginPerAccount (5 per minute, burst 5)
	LoginPerIP      Limit            // default DefaultLoginPerIP (30 per minute, burst 30)
	Now             func() time.Time // for tests; nil means time.Now
}

// Service checks passwords, issues and verifies tokens, and manages API keys.
// It is safe for concurrent use.
type Service struct {
	db         *storage.DB
	members    Members
	secret     []byte
	accessTTL  time.Duration
	refreshTTL time.Duration
	now        func() time.Time

	perAccount *ratelimit.Keyed
	perIP      *ratelimit.Keyed

	// mu serializes the read-then-write sequences on refresh tokens, the
	// per-member not-before and API keys, so that a refresh token is rotated
	// at most once and a revoke cannot be undone by a write racing it.
	// Nothing slow (no password hashing) runs under it.
	mu sync.Mutex
}

// New returns a Service over db. When cfg.Secret is empty it loads the
// signing secret from storage, creating and storing one on first use.
func New(db *storage.DB, members Members, cfg Config) (*Service, error) {
	if db == nil || members == nil {
		return nil, fmt.Errorf("auth: new service: %w: db and members are required", ErrInvalid)
	}
	s := &Service{
		db:         db,
		members:    members,
		accessTTL:  cfg.AccessTTL,
		refreshTTL: cfg.RefreshTTL,
		now:        cfg.Now,
	}
	if s.accessTTL < 0 || s.refreshTTL < 0 {
		return nil, fmt.Errorf("auth: new service: %w: negative token lifetime", ErrInvalid)
	}
	if s.accessTTL == 0 {
		s.accessTTL = DefaultAccessTTL
	}
	if s.refreshTTL == 0 {
		s.refreshTTL = DefaultRefreshTTL
	}
	if s.now == nil {
		s.now = time.Now
	}
	perAccount, err := limitOrDefault(cfg.LoginPerAccount, DefaultLoginPerAccount, "login per account")
	if err != nil {
		return nil, err
	}
	perIP, err := limitOrDefault(cfg.LoginPerIP, DefaultLoginPerIP, "login per ip")
	if err != nil {
		return nil, err
	}
	s.perAccount = ratelimit.New(ScopeAccount, perAccount, MaxLimiterEntries)
	s.perIP = ratelimit.New(ScopeIP, perIP, MaxLimiterEntries)

	if len(cfg.Secret) > 0 {
		if len(cfg.Secret) < MinSecretLength {
			return nil, fmt.Errorf("auth: new service: %w: secret has %d bytes, need at least %d",
				ErrInvalid, len(cfg.Secret), MinSecretLength)
		}
		s.secret = append([]byte(nil), cfg.Secret...)
		return s, nil
	}
	secret, err := loadOrCreateSecret(db)
	if err != nil {
		return nil, err
	}
	s.secret = secret
	return s, nil
}

func limitOrDefault(l, def Limit, name string) (Limit, error) {
	if l == (Limit{}) {
		return def, nil
	}
	if l.Every <= 0 || l.Burst <= 0 {
		return Limit{}, fmt.Errorf("auth: new service: %w: %s limit needs Every > 0 and Burst > 0", ErrInvalid, name)
	}
	return l, nil
}

// loadOrCreateSecret returns the stored signing secret, generating and
// storing one if there is none. Open holds the data directory lock, so no
// other process races the first write.
func loadOrCreateSecret(db *storage.DB) ([]byte, error) {
	secret, err := db.Get(storage.KeyJWTSecret)
	if err == nil {
		if len(secret) < MinSecretLength {
			return nil, fmt.Errorf("auth: stored signing secret has %d bytes, need at least %d", len(secret), MinSecretLength)
		}
		return secret, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("auth: load signing secret: %w", err)
	}
	secret = make([]byte, SecretLength)
	rand.Read(secret)
	b := db.NewBatch()
	b.Set(storage.KeyJWTSecret, secret)
	if err := db.Commit(b); err != nil {
		return nil, fmt.Errorf("auth: store signing secret: %w", err)
	}
	return secret, nil
}

// checkID validates a member id (or any id auth puts in a storage key): not
// empty, at most MaxMemberIDLength bytes, no '/' and no control bytes, the
// rules storage/keys.go relies on.
func checkID(what, id string) error {
	if id == "" || len(id) > MaxMemberIDLength {
		return fmt.Errorf("%w: %s must have 1 to %d bytes", ErrInvalid, what, MaxMemberIDLength)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == '/' || c < 0x20 || c == 0x7f {
			return fmt.Errorf("%w: %s contains '/' or a control byte", ErrInvalid, what)
		}
	}
	return nil
}
