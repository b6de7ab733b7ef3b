package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Restricted tokens.
//
// A guest who opens a meeting link, or an outside viewer of an external
// live, has no account. They get a restricted token: an access token like
// a member's, signed with the same key, whose "scope" claim names the one
// meeting or live it admits to ({"meeting":"<id>"} or {"live":"<id>"}),
// whose "name" claim is the display name they gave, and whose subject is
// a fresh guest id, GuestSubjectPrefix and random text, which cannot be a
// member id (member ids have no ':'). There is no refresh token:
// RefreshGuest re-issues a restricted token that is still valid, under
// the same guest id, scope and name, so a guest in a long meeting keeps
// its identity and its socket; once the token has expired, the guest
// still has the link and asks again.
//
// VerifyAccess, which every existing route and the chat WebSocket use,
// refuses restricted tokens, so a guest can do nothing but what the
// meeting or live signaling, which verifies with VerifyFor, lets them.
// Restricted tokens are not subject to RevokeMember (a guest id has no
// member to revoke); they expire after GuestTokenTTL.

// Restricted token parameters.
const (
	// GuestSubjectPrefix starts the subject of every restricted token.
	GuestSubjectPrefix = "guest:"
	// GuestTokenTTL is a restricted token's lifetime, that of a member's
	// access token: long enough to join, short enough that a token
	// copied out of a browser soon stops working.
	GuestTokenTTL = DefaultAccessTTL
	// MaxGuestNameRunes bounds a guest's display name.
	MaxGuestNameRunes = 64
)

// Scope kinds of a restricted token.
const (
	ScopeKindMeeting = "meeting"
	ScopeKindLive    = "live"
)

// ErrRestrictedToken is a restricted token used where only a member's
// token will do, or for another meeting or live than its own. It comes
// wrapped together with ErrTokenInvalid.
var ErrRestrictedToken = errors.New("restricted token: it admits only to its own meeting or live")

// TokenScope is what a restricted token admits to: Kind is
// ScopeKindMeeting or ScopeKindLive, ID the meeting's or live's id.
type TokenScope struct {
	Kind string
	ID   string
}

// IsZero reports whether the scope is empty, as on a member's token.
func (s TokenScope) IsZero() bool { return s == TokenScope{} }

// scopeClaim is the JWT form of a TokenScope: exactly one field is set.
type scopeClaim struct {
	Meeting string `json:"meeting,omitempty"`
	Live    string `json:"live,omitempty"`
}

// Restricted reports whether the claims are a restricted token's.
func (c Claims) Restricted() bool { return !c.Scope.IsZero() }

// GuestToken is what IssueGuest returns, shaped like Tokens (without a
// refresh token) plus the guest's id and name.
type GuestToken struct {
	Tokens
	GuestID string `json:"guest_id"`
	Name    string `json:"name"`
}

// IssueGuest mints a restricted token admitting a new guest, called name,
// to the meeting or live scope names. Whether the guest may have one (the
// link, the password, the meeting's settings) is the caller's decision.
func (s *Service) IssueGuest(scope TokenScope, name string) (GuestToken, error) {
	claim, err := toScopeClaim(scope)
	if err != nil {
		return GuestToken{}, fmt.Errorf("issue guest token: %w", err)
	}
	name, err = CheckGuestName(name)
	if err != nil {
		return GuestToken{}, fmt.Errorf("issue guest token: %w", err)
	}
	return s.issueGuest(GuestSubjectPrefix+rand.Text(), claim, name)
}

// RefreshGuest re-issues a restricted token while it is still valid: the
// same guest id, scope and name, a new token id, and a lifetime of
// GuestTokenTTL from now. The old token stays valid until it expires. An
// expired token is ErrTokenExpired, anything else that is not a valid
// restricted token ErrTokenInvalid. Whether the guest may still be there
// (the meeting has not ended, say) is the caller's decision.
func (s *Service) RefreshGuest(token string) (GuestToken, error) {
	c, err := s.verifyToken(token)
	if err != nil {
		return GuestToken{}, fmt.Errorf("refresh guest token: %w", err)
	}
	if !c.Restricted() {
		return GuestToken{}, fmt.Errorf("refresh guest token: %w: a member's token; members refresh with their refresh token", ErrTokenInvalid)
	}
	claim, err := toScopeClaim(c.Scope)
	if err != nil {
		return GuestToken{}, fmt.Errorf("refresh guest token: %w", err)
	}
	return s.issueGuest(c.MemberID, claim, c.Name)
}

// issueGuest signs a restricted token for guestID.
func (s *Service) issueGuest(guestID string, claim scopeClaim, name string) (GuestToken, error) {
	now := s.now()
	claims := accessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    TokenIssuer,
			Subject:   guestID,
			ID:        rand.Text(),
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(GuestTokenTTL)),
		},
		IssuedAtMillis: now.UnixMilli(),
		Scope:          &claim,
		Name:           name,
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.secret)
	if err != nil {
		return GuestToken{}, fmt.Errorf("sign guest token: %w", err)
	}
	return GuestToken{
		Tokens:  Tokens{AccessToken: signed, TokenType: "Bearer", ExpiresIn: int(GuestTokenTTL / time.Second)},
		GuestID: guestID,
		Name:    name,
	}, nil
}

// VerifyFor accepts a member's access token, or a restricted token whose
// scope is exactly scope, for the signaling of one meeting or live. A
// restricted token for anything else is ErrTokenInvalid wrapping
// ErrRestrictedToken. Claims.Restricted tells the two apart; what a
// member may do there is still the caller's question.
func (s *Service) VerifyFor(token string, scope TokenScope) (Claims, error) {
	c, err := s.verifyToken(token)
	if err != nil {
		return Claims{}, err
	}
	if c.Restricted() && c.Scope != scope {
		return Claims{}, fmt.Errorf("%w: %w", ErrTokenInvalid, ErrRestrictedToken)
	}
	return c, nil
}

// ThrottleGuest spends one attempt of the client address's sign-in
// budget (the per-IP login limit), for routes that hand out restricted
// tokens against a secret someone might guess, such as a live's
// password. A throttled address gets *RateLimitError.
func (s *Service) ThrottleGuest(ip string) error {
	return s.perIP.Take(ip, s.now())
}

// CheckGuestName validates a guest's display name and returns it
// trimmed: 1 to MaxGuestNameRunes characters, no control characters.
func CheckGuestName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: name is not valid UTF-8", ErrInvalid)
	}
	if n := utf8.RuneCountInString(name); n == 0 || n > MaxGuestNameRunes {
		return "", fmt.Errorf("%w: name must have 1 to %d characters", ErrInvalid, MaxGuestNameRunes)
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "", fmt.Errorf("%w: name contains a control character", ErrInvalid)
	}
	return name, nil
}

// HashSecret hashes a shared secret that guards guest access, such as an
// external live's password, with the argon2id parameters of member
// passwords, and returns its PHC string. Empty and over-long secrets
// (more than MaxPasswordLength bytes) are ErrInvalid.
func HashSecret(secret string) (string, error) {
	if secret == "" || len(secret) > MaxPasswordLength {
		return "", fmt.Errorf("%w: a secret must have 1 to %d bytes", ErrInvalid, MaxPasswordLength)
	}
	return hashPassword(secret), nil
}

// CheckSecret returns nil when secret matches the PHC string made by
// HashSecret, and ErrInvalidCredentials when it does not. It costs one
// hash either way.
func CheckSecret(phc, secret string) error {
	known := true
	if len(secret) > MaxPasswordLength {
		secret, known = secret[:MaxPasswordLength], false
	}
	ok, err := verifyPassword(phc, secret)
	if err != nil {
		return fmt.Errorf("check secret: stored hash is corrupt: %w", err)
	}
	if !ok || !known {
		return ErrInvalidCredentials
	}
	return nil
}

func isGuestSubject(sub string) bool { return strings.HasPrefix(sub, GuestSubjectPrefix) }

func toScopeClaim(scope TokenScope) (scopeClaim, error) {
	if err := checkID("scope id", scope.ID); err != nil {
		return scopeClaim{}, err
	}
	switch scope.Kind {
	case ScopeKindMeeting:
		return scopeClaim{Meeting: scope.ID}, nil
	case ScopeKindLive:
		return scopeClaim{Live: scope.ID}, nil
	}
	return scopeClaim{}, fmt.Errorf("%w: scope kind must be %q or %q", ErrInvalid, ScopeKindMeeting, ScopeKindLive)
}

// restrictedClaims checks the restricted parts of a verified token: a
// guest subject, exactly one scope, a name. A token with only some of
// them is forged or broken, and refused.
func restrictedClaims(c accessClaims) (Claims, error) {
	if c.Scope == nil || !isGuestSubject(c.Subject) {
		return Claims{}, fmt.Errorf("%w: a guest subject and a scope go together", ErrTokenInvalid)
	}
	var scope TokenScope
	switch {
	case c.Scope.Meeting != "" && c.Scope.Live == "":
		scope = TokenScope{Kind: ScopeKindMeeting, ID: c.Scope.Meeting}
	case c.Scope.Live != "" && c.Scope.Meeting == "":
		scope = TokenScope{Kind: ScopeKindLive, ID: c.Scope.Live}
	default:
		return Claims{}, fmt.Errorf("%w: the scope must name one meeting or one live", ErrTokenInvalid)
	}
	if checkID("scope id", scope.ID) != nil {
		return Claims{}, fmt.Errorf("%w: malformed scope id", ErrTokenInvalid)
	}
	if _, err := CheckGuestName(c.Name); err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrTokenInvalid, err)
	}
	return Claims{
		MemberID:  c.Subject,
		TokenID:   c.ID,
		IssuedAt:  time.UnixMilli(c.IssuedAtMillis),
		ExpiresAt: c.ExpiresAt.Time,
		Scope:     scope,
		Name:      c.Name,
	}, nil
}
