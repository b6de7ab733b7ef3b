package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"parley/storage"
)

const (
	// refreshTokenBytes is the entropy of a refresh token.
	refreshTokenBytes = 32
	// MaxRefreshTokensPerMember bounds one member's live sessions. A login
	// beyond it ends the member's oldest session, so repeated logins cannot
	// grow storage without bound.
	MaxRefreshTokensPerMember = 100
	// pruneBatchSize is how many expired refresh tokens
	// PruneExpiredRefreshTokens deletes per commit.
	pruneBatchSize = 1000
)

// Tokens is what a successful login, refresh or IssueAccess returns, shaped
// like an OAuth 2 token response.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type"` // "Bearer"
	ExpiresIn    int    `json:"expires_in"` // seconds until the access token expires
}

// Claims is what a verified access token says.
type Claims struct {
	// MemberID is the subject: a member id, or for a restricted token a
	// guest id (GuestSubjectPrefix + random), which no member id can be.
	MemberID  string
	TokenID   string
	IssuedAt  time.Time // millisecond precision
	ExpiresAt time.Time
	// Scope is zero for a member's token. A restricted token (guest.go)
	// admits its holder to one meeting or live only.
	Scope TokenScope
	// Name is a restricted token's display name; empty for members.
	Name string
}

// accessClaims is the JWT payload. iat_ms carries the issue time in
// milliseconds: the standard iat has whole seconds, too coarse to tell a
// token issued just before RevokeMember from one issued just after. It is a
// claim of our own rather than jwt.TimePrecision, which is a package global
// that would change every other JWT user in the binary.
type accessClaims struct {
	jwt.RegisteredClaims
	IssuedAtMillis int64 `json:"iat_ms"`
	// Scope and Name are set on restricted tokens only (guest.go).
	Scope *scopeClaim `json:"scope,omitempty"`
	Name  string      `json:"name,omitempty"`
}

// refreshRecord is the stored form of a refresh token, under
// storage.PrefixRefresh + hex(sha256(token)). The token itself is never
// stored, so a copy of the database does not hold usable sessions.
type refreshRecord struct {
	MemberID  string    `json:"member_id"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Login checks username (the member id) and password and returns a new
// access and refresh token pair. ip is the client address, for the per-IP
// rate limit.
//
// A throttled attempt returns *RateLimitError without looking at the
// password. Every other attempt spends one token from the IP's bucket and
// one from the account's, then costs one password hash whether or not the
// member exists. A wrong password and an unknown member both give
// ErrInvalidCredentials; the right password of a disabled member gives
// ErrMemberDisabled.
func (s *Service) Login(username, password, ip string) (Tokens, error) {
	if err := s.CheckLogin(username, password, ip); err != nil {
		return Tokens{}, err
	}
	return s.StartSession(username)
}

// CheckLogin is Login without the tokens: the same rate limits, the same
// hashing and the same errors. Callers use it to confirm a password the
// way sign-in does, such as before a password change.
func (s *Service) CheckLogin(username, password, ip string) error {
	now := s.now()
	if err := s.perIP.Take(ip, now); err != nil {
		return err
	}
	// A malformed username matches no member: it counts against the IP but
	// gets no account bucket, and goes straight to the (dummy) hash.
	active := false
	if checkID("member id", username) == nil {
		if err := s.perAccount.Take(username, now); err != nil {
			return err
		}
		var err error
		active, err = s.members.MemberActive(username)
		if err != nil {
			return fmt.Errorf("login %s: check member: %w", username, err)
		}
	}
	if err := s.CheckPassword(username, password); err != nil {
		return err
	}
	if !active {
		return ErrMemberDisabled
	}
	return nil
}

// StartSession issues an access and refresh token pair for a member whose
// identity the caller has already established. It applies no rate limit
// and checks no password.
func (s *Service) StartSession(memberID string) (Tokens, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	var refresh string
	err := s.db.Update(func(b *storage.Batch) error {
		if err := s.pruneSessions(b, memberID, now); err != nil {
			return err
		}
		var err error
		refresh, err = s.addRefresh(b, memberID, now)
		return err
	})
	if err != nil {
		return Tokens{}, fmt.Errorf("start session for %s: store refresh token: %w", memberID, err)
	}
	return s.tokens(memberID, now, s.accessTTL, refresh)
}

// Refresh exchanges a refresh token for a new access and refresh token pair.
// The old refresh token is revoked, so each can be used once. The member
// must still be active (ErrMemberDisabled otherwise). An unknown, used or
// revoked token gives ErrTokenInvalid, an expired one ErrTokenExpired.
func (s *Service) Refresh(refreshToken string) (Tokens, error) {
	hash, ok := refreshHash(refreshToken)
	if !ok {
		return Tokens{}, fmt.Errorf("%w: malformed refresh token", ErrTokenInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.loadRefresh(hash)
	if err != nil {
		return Tokens{}, err
	}
	now := s.now()
	if !now.Before(rec.ExpiresAt) {
		b := s.db.NewBatch()
		deleteRefresh(b, rec.MemberID, hash)
		if err := s.db.Commit(b); err != nil {
			return Tokens{}, fmt.Errorf("refresh: delete expired token: %w", err)
		}
		return Tokens{}, ErrTokenExpired
	}
	notBefore, err := s.notBefore(rec.MemberID)
	if err != nil {
		return Tokens{}, fmt.Errorf("refresh for %s: %w", rec.MemberID, err)
	}
	if rec.IssuedAt.UnixMilli() < notBefore {
		// RevokeMember deletes these; one that survived is refused anyway.
		return Tokens{}, fmt.Errorf("%w: refresh token revoked", ErrTokenInvalid)
	}
	active, err := s.members.MemberActive(rec.MemberID)
	if err != nil {
		return Tokens{}, fmt.Errorf("refresh for %s: check member: %w", rec.MemberID, err)
	}
	if !active {
		return Tokens{}, ErrMemberDisabled
	}
	var refresh string
	err = s.db.Update(func(b *storage.Batch) error {
		deleteRefresh(b, rec.MemberID, hash)
		var err error
		refresh, err = s.addRefresh(b, rec.MemberID, now)
		return err
	})
	if err != nil {
		return Tokens{}, fmt.Errorf("refresh for %s: rotate token: %w", rec.MemberID, err)
	}
	return s.tokens(rec.MemberID, now, s.accessTTL, refresh)
}

// Logout revokes one refresh token. An unknown or malformed token is not an
// error: the session is gone either way. Access tokens already issued stay
// valid until they expire; RevokeMember ends those too.
func (s *Service) Logout(refreshToken string) error {
	hash, ok := refreshHash(refreshToken)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.loadRefresh(hash)
	if errors.Is(err, ErrTokenInvalid) {
		return nil
	}
	if err != nil {
		return err
	}
	b := s.db.NewBatch()
	deleteRefresh(b, rec.MemberID, hash)
	if err := s.db.Commit(b); err != nil {
		return fmt.Errorf("logout %s: %w", rec.MemberID, err)
	}
	return nil
}

// VerifyAccess checks an access token's signature (HS256 only), issuer and
// expiry, and that it was not issued before the member's last RevokeMember.
// It returns ErrTokenExpired for an expired token and ErrTokenInvalid for
// anything else wrong. It does not ask the directory whether the member is
// still active; disabling a member should call RevokeMember.
//
// It accepts members' tokens only: a restricted (guest or viewer) token
// is ErrTokenInvalid wrapping ErrRestrictedToken, so every route and
// socket that verifies with it refuses guests. VerifyFor admits them.
func (s *Service) VerifyAccess(token string) (Claims, error) {
	c, err := s.verifyToken(token)
	if err != nil {
		return Claims{}, err
	}
	if c.Restricted() {
		return Claims{}, fmt.Errorf("%w: %w", ErrTokenInvalid, ErrRestrictedToken)
	}
	return c, nil
}

// verifyToken checks any access token, a member's or a restricted one.
func (s *Service) verifyToken(token string) (Claims, error) {
	var c accessClaims
	_, err := jwt.ParseWithClaims(token, &c,
		func(*jwt.Token) (any, error) { return s.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithTimeFunc(s.now),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(TokenIssuer),
	)
	if errors.Is(err, jwt.ErrTokenExpired) {
		return Claims{}, ErrTokenExpired
	}
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	if checkID("subject", c.Subject) != nil || c.ID == "" || c.IssuedAtMillis <= 0 {
		return Claims{}, fmt.Errorf("%w: missing claims", ErrTokenInvalid)
	}
	if c.Scope != nil || isGuestSubject(c.Subject) {
		return restrictedClaims(c)
	}
	notBefore, err := s.notBefore(c.Subject)
	if err != nil {
		return Claims{}, fmt.Errorf("verify access for %s: %w", c.Subject, err)
	}
	if c.IssuedAtMillis < notBefore {
		return Claims{}, fmt.Errorf("%w: token revoked", ErrTokenInvalid)
	}
	return Claims{
		MemberID:  c.Subject,
		TokenID:   c.ID,
		IssuedAt:  time.UnixMilli(c.IssuedAtMillis),
		ExpiresAt: c.ExpiresAt.Time,
	}, nil
}

// IssueAccess mints an access token, without a refresh token, for an active
// member: for server-side integrations that authenticated with an API key.
// ttl 0 means Config.AccessTTL; a ttl above MaxIssuedTTL is capped to it.
func (s *Service) IssueAccess(memberID string, ttl time.Duration) (Tokens, error) {
	if err := checkID("member id", memberID); err != nil {
		return Tokens{}, fmt.Errorf("issue access: %w", err)
	}
	if ttl < 0 {
		return Tokens{}, fmt.Errorf("issue access for %s: %w: negative ttl", memberID, ErrInvalid)
	}
	if ttl == 0 {
		ttl = s.accessTTL
	}
	ttl = min(ttl, MaxIssuedTTL)
	active, err := s.members.MemberActive(memberID)
	if err != nil {
		return Tokens{}, fmt.Errorf("issue access for %s: check member: %w", memberID, err)
	}
	if !active {
		return Tokens{}, ErrMemberDisabled
	}
	return s.tokens(memberID, s.now(), ttl, "")
}

// RevokeMember ends every session of the member: it deletes all the
// member's refresh tokens and records the current time, to the millisecond,
// as the member's "not before", so that VerifyAccess refuses every access
// token issued earlier. Tokens issued afterwards are valid. Call it when a
// member is disabled or deleted, or changes password.
func (s *Service) RevokeMember(memberID string) error {
	if err := checkID("member id", memberID); err != nil {
		return fmt.Errorf("revoke member: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	hashes, err := s.memberRefreshHashes(memberID)
	if err != nil {
		return fmt.Errorf("revoke member %s: %w", memberID, err)
	}
	// Never move not-before back, even if the clock did.
	notBefore, err := s.notBefore(memberID)
	if err != nil {
		return fmt.Errorf("revoke member %s: %w", memberID, err)
	}
	notBefore = max(notBefore, s.now().UnixMilli())

	b := s.db.NewBatch()
	for _, h := range hashes {
		deleteRefresh(b, memberID, h)
	}
	b.Set(storage.Key(storage.PrefixNotBefore, memberID), binary.BigEndian.AppendUint64(nil, uint64(notBefore)))
	if err := s.db.Commit(b); err != nil {
		return fmt.Errorf("revoke member %s: %w", memberID, err)
	}
	return nil
}

// PruneExpiredRefreshTokens deletes every expired refresh token and returns
// how many it deleted. Expired tokens are refused anyway and a member's own
// are pruned at their next login; this reclaims the space of members who do
// not come back. Run it now and then, e.g. daily.
func (s *Service) PruneExpiredRefreshTokens() (int, error) {
	prefix := []byte(storage.PrefixRefresh)
	lower, upper := prefix, storage.PrefixEnd(prefix)
	deleted := 0
	for lower != nil {
		now := s.now()
		n := 0
		var next []byte
		err := s.db.Update(func(b *storage.Batch) error {
			return s.db.Scan(lower, upper, false, 0, func(key, value []byte) bool {
				if n >= pruneBatchSize {
					next = append([]byte(nil), key...)
					return false
				}
				var rec refreshRecord
				hash := string(key[len(prefix):])
				// An undecodable record is no usable session either.
				if err := json.Unmarshal(value, &rec); err != nil || !now.Before(rec.ExpiresAt) {
					deleteRefresh(b, rec.MemberID, hash)
					n++
				}
				return true
			})
		})
		if err != nil {
			return deleted, fmt.Errorf("prune refresh tokens: %w", err)
		}
		deleted += n
		lower = next
	}
	return deleted, nil
}

// tokens signs an access token for memberID and packs it with refresh.
func (s *Service) tokens(memberID string, now time.Time, ttl time.Duration, refresh string) (Tokens, error) {
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    TokenIssuer,
			Subject:   memberID,
			ID:        rand.Text(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
		},
		IssuedAtMillis: now.UnixMilli(),
	}
	access, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.secret)
	if err != nil {
		return Tokens{}, fmt.Errorf("sign access token for %s: %w", memberID, err)
	}
	return Tokens{
		AccessToken:  access,
		RefreshToken: refresh,
		TokenType:    "Bearer",
		ExpiresIn:    int(ttl / time.Second),
	}, nil
}

// addRefresh creates a refresh token for memberID and adds its record and
// index entry to b. The caller holds s.mu.
func (s *Service) addRefresh(b *storage.Batch, memberID string, now time.Time) (string, error) {
	raw := make([]byte, refreshTokenBytes)
	rand.Read(raw) // never fails
	token := base64.RawURLEncoding.EncodeToString(raw)
	hash := hashRefresh(raw)
	rec := refreshRecord{MemberID: memberID, IssuedAt: now, ExpiresAt: now.Add(s.refreshTTL)}
	if err := b.SetJSON(storage.Key(storage.PrefixRefresh, hash), rec); err != nil {
		return "", err
	}
	b.Set(storage.Key(storage.PrefixMemberRefresh, memberID, hash), nil)
	return token, nil
}

// deleteRefresh adds the deletion of one refresh token and its index entry
// to b. memberID may be empty for an undecodable record, which has no index
// entry to find.
func deleteRefresh(b *storage.Batch, memberID, hash string) {
	b.Delete(storage.Key(storage.PrefixRefresh, hash))
	if memberID != "" {
		b.Delete(storage.Key(storage.PrefixMemberRefresh, memberID, hash))
	}
}

// loadRefresh reads the record of a refresh token by its hash;
// ErrTokenInvalid if there is none.
func (s *Service) loadRefresh(hash string) (refreshRecord, error) {
	var rec refreshRecord
	err := s.db.GetJSON(storage.Key(storage.PrefixRefresh, hash), &rec)
	if errors.Is(err, storage.ErrNotFound) {
		return rec, fmt.Errorf("%w: unknown refresh token", ErrTokenInvalid)
	}
	if err != nil {
		return rec, fmt.Errorf("load refresh token: %w", err)
	}
	return rec, nil
}

// memberRefreshHashes lists the hashes of the member's refresh tokens from
// the index.
func (s *Service) memberRefreshHashes(memberID string) ([]string, error) {
	prefix := storage.KeyPrefix(storage.PrefixMemberRefresh, memberID)
	var hashes []string
	err := s.db.ScanPrefix(prefix, func(key, _ []byte) bool {
		hashes = append(hashes, string(key[len(prefix):]))
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list refresh tokens: %w", err)
	}
	return hashes, nil
}

// pruneSessions adds to b the deletion of the member's expired refresh
// tokens, of index entries whose record is gone, and of the oldest live
// tokens beyond MaxRefreshTokensPerMember-1, making room for one more. The
// caller holds s.mu.
func (s *Service) pruneSessions(b *storage.Batch, memberID string, now time.Time) error {
	hashes, err := s.memberRefreshHashes(memberID)
	if err != nil {
		return err
	}
	type session struct {
		hash     string
		issuedAt time.Time
	}
	var live []session
	for _, h := range hashes {
		rec, err := s.loadRefresh(h)
		if errors.Is(err, ErrTokenInvalid) {
			deleteRefresh(b, memberID, h)
			continue
		}
		if err != nil {
			return err
		}
		if !now.Before(rec.ExpiresAt) {
			deleteRefresh(b, memberID, h)
			continue
		}
		live = append(live, session{h, rec.IssuedAt})
	}
	if extra := len(live) - (MaxRefreshTokensPerMember - 1); extra > 0 {
		slices.SortFunc(live, func(a, b session) int { return a.issuedAt.Compare(b.issuedAt) })
		for _, old := range live[:extra] {
			deleteRefresh(b, memberID, old.hash)
		}
	}
	return nil
}

// notBefore returns the member's revocation time in unix milliseconds, or
// 0 if the member was never revoked.
func (s *Service) notBefore(memberID string) (int64, error) {
	v, err := s.db.Get(storage.Key(storage.PrefixNotBefore, memberID))
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load not-before: %w", err)
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("load not-before: corrupt value of %d bytes", len(v))
	}
	return int64(binary.BigEndian.Uint64(v)), nil
}

// refreshHash decodes a refresh token and returns the hex SHA-256 that
// names its record; ok is false for anything that is not 32 base64url bytes.
func refreshHash(token string) (hash string, ok bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(refreshTokenBytes) {
		return "", false
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) != refreshTokenBytes {
		return "", false
	}
	return hashRefresh(raw), true
}

// hashRefresh is the storage name of a refresh token. A fast hash is enough:
// the token has 256 random bits, so there is nothing to brute-force.
func hashRefresh(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}
