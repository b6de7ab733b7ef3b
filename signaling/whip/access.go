package whip

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"parley/chat/directory"
	"parley/sfu/live"
	"parley/signaling/auth"
)

// Tokens verifies access tokens. *auth.Service satisfies it.
type Tokens interface {
	VerifyAccess(token string) (auth.Claims, error)
	VerifyFor(token string, scope auth.TokenScope) (auth.Claims, error)
}

// Members reads the directory. *directory.Directory satisfies it.
type Members interface {
	GetMember(id string) (directory.Member, error)
}

// Errors of an access decision. The handlers map them to 401, 403 and
// 404.
var (
	// ErrUnauthenticated is a missing, malformed, expired or unknown
	// token or stream key.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden is an authenticated member who may see the live but
	// not do this (publish without being its host).
	ErrForbidden = errors.New("forbidden")
	// ErrNoLive is a live that does not exist or that the caller may not
	// see; the two are not told apart.
	ErrNoLive = errors.New("no such live, or you may not watch it")
)

// anonymousName is the viewer name of someone watching an external live
// by its link alone.
const anonymousName = "Guest"

// Access decides who may publish to and watch a live. A member may watch
// a live they host or present, any live as a super admin, and an
// internal live whose scope covers them; an external live is watched
// with a viewer token issued for it, or, when it has no password, with
// its viewer link's token.
type Access struct {
	Lives   *live.Store
	Tokens  Tokens
	Members Members
	// InScope decides whether an internal live's scope covers a member;
	// the API's InLiveScope.
	InScope func(l live.Live, memberID string) (bool, error)
}

// activeMember loads an active member.
func (a *Access) activeMember(id string) (directory.Member, error) {
	m, err := a.Members.GetMember(id)
	if errors.Is(err, directory.ErrNotFound) {
		return directory.Member{}, fmt.Errorf("%w: the token's member no longer exists", ErrUnauthenticated)
	}
	if err != nil {
		return directory.Member{}, fmt.Errorf("load member %s: %w", id, err)
	}
	if m.Status != directory.StatusActive {
		return directory.Member{}, fmt.Errorf("%w: this account is disabled", ErrUnauthenticated)
	}
	return m, nil
}

// MemberViewer decides whether a member may watch l, and returns them as
// its viewer. One who may not is ErrNoLive.
func (a *Access) MemberViewer(l live.Live, memberID string) (live.Viewer, error) {
	m, err := a.activeMember(memberID)
	if err != nil {
		return live.Viewer{}, err
	}
	v := live.Viewer{ID: m.ID, MemberID: m.ID, Name: m.Name}
	if l.Presents(m.ID) || m.Role == directory.RoleSuperAdmin {
		return v, nil
	}
	ok, err := a.InScope(l, m.ID)
	if err != nil {
		return live.Viewer{}, fmt.Errorf("scope of live %s: %w", l.ID, err)
	}
	if !ok {
		return live.Viewer{}, ErrNoLive
	}
	return v, nil
}

// Viewer authenticates a request to watch l: its bearer token (or, for
// players that cannot set headers, the access_token query parameter),
// or an external live's link token as the bearer or the t parameter.
func (a *Access) Viewer(r *http.Request, l live.Live) (live.Viewer, error) {
	token := bearer(r)
	if token == "" {
		token = r.URL.Query().Get("access_token")
	}
	if token == "" {
		token = r.URL.Query().Get("t")
	}
	if token == "" {
		return live.Viewer{}, fmt.Errorf("%w: send a member token, a viewer token or the viewer link's token as the bearer", ErrUnauthenticated)
	}
	if l.Scope.Kind == live.ScopeExternal && !strings.Contains(token, ".") {
		// Not a JWT: the viewer link's token.
		if _, err := a.Lives.CheckLinkToken(l.ID, token); err != nil {
			return live.Viewer{}, fmt.Errorf("%w: not this live's link token", ErrUnauthenticated)
		}
		if l.Scope.PasswordHash != "" {
			return live.Viewer{}, fmt.Errorf("%w: this live has a password; trade it for a viewer token at POST /api/v1/lives/%s/viewer-token", ErrUnauthenticated, l.ID)
		}
		return live.Viewer{ID: "anon:" + rand.Text(), Name: anonymousName}, nil
	}
	claims, err := a.Tokens.VerifyFor(token, auth.TokenScope{Kind: auth.ScopeKindLive, ID: l.ID})
	if err != nil {
		return live.Viewer{}, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	if claims.Restricted() {
		if l.Scope.Kind != live.ScopeExternal {
			return live.Viewer{}, ErrNoLive
		}
		return live.Viewer{ID: claims.MemberID, Name: claims.Name}, nil
	}
	return a.MemberViewer(l, claims.MemberID)
}

// Publisher authenticates a WHIP request: a stream key, which names its
// live, or the host's member token with the live named by ?live=.
func (a *Access) Publisher(r *http.Request) (live.Live, error) {
	token := bearer(r)
	if token == "" {
		return live.Live{}, fmt.Errorf("%w: send the stream key as the bearer token", ErrUnauthenticated)
	}
	if strings.HasPrefix(token, live.StreamKeyPrefix) {
		l, err := a.Lives.LiveByStreamKey(token)
		if errors.Is(err, live.ErrNotFound) {
			return live.Live{}, fmt.Errorf("%w: unknown stream key", ErrUnauthenticated)
		}
		return l, err
	}
	claims, err := a.Tokens.VerifyAccess(token)
	if err != nil {
		return live.Live{}, fmt.Errorf("%w: neither a stream key nor a valid member token: %v", ErrUnauthenticated, err)
	}
	if _, err := a.activeMember(claims.MemberID); err != nil {
		return live.Live{}, err
	}
	id := r.URL.Query().Get("live")
	if id == "" {
		return live.Live{}, fmt.Errorf("%w: with a member token, name the live: POST /whip?live=<live id>", ErrBadRequest)
	}
	l, err := a.Lives.Get(id)
	if errors.Is(err, live.ErrNotFound) {
		return live.Live{}, ErrNoLive
	}
	if err != nil {
		return live.Live{}, err
	}
	if l.HostID != claims.MemberID {
		if _, err := a.MemberViewer(l, claims.MemberID); err != nil {
			return live.Live{}, err // may not even see it: 404
		}
		return live.Live{}, fmt.Errorf("%w: only the live's host may publish it", ErrForbidden)
	}
	return l, nil
}

// PublisherOf checks that a request to change or end a publisher session
// of l carries the same kind of credential Publisher accepts for l.
func (a *Access) PublisherOf(r *http.Request, l live.Live) error {
	token := bearer(r)
	if token == "" {
		return fmt.Errorf("%w: send the stream key as the bearer token", ErrUnauthenticated)
	}
	if strings.HasPrefix(token, live.StreamKeyPrefix) {
		got, err := a.Lives.LiveByStreamKey(token)
		if errors.Is(err, live.ErrNotFound) || err == nil && got.ID != l.ID {
			return fmt.Errorf("%w: not this live's stream key", ErrUnauthenticated)
		}
		return err
	}
	claims, err := a.Tokens.VerifyAccess(token)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	if claims.MemberID != l.HostID {
		return fmt.Errorf("%w: only the live's host may change its publisher session", ErrUnauthenticated)
	}
	return nil
}

// bearer is the Authorization header's bearer token; the scheme is
// matched without regard to case, as RFC 9110 asks.
func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}
