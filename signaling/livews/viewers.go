package livews

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"parley/signaling/auth"
	"parley/signaling/ws"
)

// ViewerPath is where viewer tokens open their WebSocket. Members use the
// ordinary /ws.
const ViewerPath = "/ws/live"

// MaxGuestSessions bounds the viewer tokens one node remembers at once
// (one entry per guest id, until its token expires).
const MaxGuestSessions = 1 << 20

// Tokens verifies restricted tokens. *auth.Service satisfies it.
type Tokens interface {
	VerifyFor(token string, scope auth.TokenScope) (auth.Claims, error)
}

// ViewerEndpoint is the WebSocket of external viewers: a hub of its own
// that admits only restricted tokens scoped to a live, and on which only
// the live.* requests are registered. A viewer token can therefore send
// nothing but live requests, and live.join admits it to its own live
// only. The member's hub (/ws) refuses these tokens, as every member
// route does.
type ViewerEndpoint struct {
	hub    *ws.Hub
	guests *guestRegistry
}

// NewViewerEndpoint creates the endpoint with the same socket limits as
// the member hub.
func NewViewerEndpoint(cfg ws.Config, tokens Tokens, logger *slog.Logger) *ViewerEndpoint {
	g := &guestRegistry{tokens: tokens, byID: map[string]guestEntry{}, now: time.Now}
	return &ViewerEndpoint{hub: ws.NewHub(cfg, g, guestsOnly{}, logger), guests: g}
}

// Hub is the endpoint's hub: Register adds the live handlers to it, and
// the server shuts it down with the member hub.
func (e *ViewerEndpoint) Hub() *ws.Hub { return e.hub }

// ServeHTTP upgrades a viewer's request, as the member hub does.
func (e *ViewerEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.hub.ServeHTTP(w, r) }

// identify returns a guest session's identity from its verified token.
func (e *ViewerEndpoint) identify(s *ws.Session) (Identity, bool) {
	return e.guests.identity(s.MemberID())
}

// guestRegistry verifies viewer tokens for the endpoint's hub and keeps,
// per guest id, what the token said (its live and name) for as long as
// the token is valid: a session knows only its subject.
type guestRegistry struct {
	tokens Tokens
	now    func() time.Time

	mu        sync.Mutex
	byID      map[string]guestEntry
	lastSweep time.Time
}

type guestEntry struct {
	liveID, name string
	expires      time.Time
}

// unverifiedScope reads the scope claim before verification, only to
// know which scope to verify the token for; VerifyFor then checks the
// signature, the expiry and that the scope is exactly this one.
type unverifiedScope struct {
	jwt.RegisteredClaims
	Scope *struct {
		Live string `json:"live"`
	} `json:"scope"`
}

// VerifyAccess admits a restricted token scoped to a live, and nothing
// else: member tokens belong on /ws, meeting tokens elsewhere.
func (g *guestRegistry) VerifyAccess(token string) (auth.Claims, error) {
	var peek unverifiedScope
	if _, _, err := jwt.NewParser().ParseUnverified(token, &peek); err != nil {
		return auth.Claims{}, fmt.Errorf("%w: %v", auth.ErrTokenInvalid, err)
	}
	if peek.Scope == nil || peek.Scope.Live == "" {
		return auth.Claims{}, fmt.Errorf("%w: %s admits only viewer tokens of a live; members connect to /ws", auth.ErrTokenInvalid, ViewerPath)
	}
	c, err := g.tokens.VerifyFor(token, auth.TokenScope{Kind: auth.ScopeKindLive, ID: peek.Scope.Live})
	if err != nil {
		return auth.Claims{}, err
	}
	if !c.Restricted() || c.Scope.Kind != auth.ScopeKindLive {
		return auth.Claims{}, fmt.Errorf("%w: not a viewer token", auth.ErrTokenInvalid)
	}
	if err := g.remember(c); err != nil {
		return auth.Claims{}, err
	}
	return c, nil
}

// remember keeps a verified token's live and name under its guest id.
func (g *guestRegistry) remember(c auth.Claims) error {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.lastSweep) >= time.Minute {
		for id, e := range g.byID {
			if !now.Before(e.expires) {
				delete(g.byID, id)
			}
		}
		g.lastSweep = now
	}
	if _, ok := g.byID[c.MemberID]; !ok && len(g.byID) >= MaxGuestSessions {
		return errors.New("too many viewer sessions on this node")
	}
	g.byID[c.MemberID] = guestEntry{liveID: c.Scope.ID, name: c.Name, expires: c.ExpiresAt}
	return nil
}

func (g *guestRegistry) identity(guestID string) (Identity, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.byID[guestID]
	if !ok || !g.now().Before(e.expires) {
		return Identity{}, false
	}
	return Identity{ViewerID: guestID, Name: e.name, LiveID: e.liveID}, true
}

// guestsOnly is the viewer hub's answer to "may this subject hold a
// session?": guests may, for as long as their token is valid; member ids
// never get this far.
type guestsOnly struct{}

func (guestsOnly) MemberActive(id string) (bool, error) {
	return strings.HasPrefix(id, auth.GuestSubjectPrefix), nil
}
