package meetingws

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"parley/chat/directory"
	"parley/signaling/auth"
	"parley/signaling/ws"
)

// GuestPath is where meeting guests open their WebSocket, with the guest
// token from the meeting's join link. Members use the ordinary /ws.
const GuestPath = "/ws/meeting"

// MaxGuestSessions bounds the guest tokens one node remembers at once
// (one entry per guest id, until its token expires).
const MaxGuestSessions = 1 << 20

// Tokens verifies restricted tokens. *auth.Service satisfies it.
type Tokens interface {
	VerifyFor(token string, scope auth.TokenScope) (auth.Claims, error)
}

// GuestEndpoint is the WebSocket of meeting guests: a hub of its own that
// admits only guest tokens scoped to a meeting, and on which only the
// meeting.* requests are registered. A guest can therefore send nothing
// but meeting requests, and meeting.join admits it to its own meeting
// only. The member hub (/ws) refuses guest tokens, as every member route
// does.
type GuestEndpoint struct {
	hub    *ws.Hub
	guests *guestRegistry
}

// NewGuestEndpoint creates the endpoint with the member hub's socket
// limits.
func NewGuestEndpoint(cfg ws.Config, tokens Tokens, logger *slog.Logger) *GuestEndpoint {
	g := &guestRegistry{tokens: tokens, byID: map[string]guestEntry{}, now: time.Now}
	return &GuestEndpoint{hub: ws.NewHub(cfg, g, guestsOnly{}, logger), guests: g}
}

// Hub is the endpoint's hub: Register adds the meeting handlers to it,
// and the server shuts it down with the member hub.
func (e *GuestEndpoint) Hub() *ws.Hub { return e.hub }

// ServeHTTP upgrades a guest's request, as the member hub does.
func (e *GuestEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.hub.ServeHTTP(w, r) }

// guestRegistry verifies guest tokens for the endpoint's hub and keeps,
// per guest id, what the token said (its meeting and name) for as long as
// the token is valid: a session knows only its subject.
type guestRegistry struct {
	tokens Tokens
	now    func() time.Time

	mu        sync.Mutex
	byID      map[string]guestEntry
	lastSweep time.Time
}

type guestEntry struct {
	meetingID, name string
	expires         time.Time
}

// unverifiedScope reads the scope claim before verification, only to
// know which scope to verify the token for; VerifyFor then checks the
// signature, the expiry and that the scope is exactly this one.
type unverifiedScope struct {
	jwt.RegisteredClaims
	Scope *struct {
		Meeting string `json:"meeting"`
	} `json:"scope"`
}

// VerifyAccess admits a guest token scoped to a meeting, and nothing
// else: member tokens belong on /ws.
func (g *guestRegistry) VerifyAccess(token string) (auth.Claims, error) {
	var peek unverifiedScope
	if _, _, err := jwt.NewParser().ParseUnverified(token, &peek); err != nil {
		return auth.Claims{}, fmt.Errorf("%w: %v", auth.ErrTokenInvalid, err)
	}
	if peek.Scope == nil || peek.Scope.Meeting == "" {
		return auth.Claims{}, fmt.Errorf("%w: %s admits only meeting guest tokens; members connect to /ws", auth.ErrTokenInvalid, GuestPath)
	}
	c, err := g.tokens.VerifyFor(token, auth.TokenScope{Kind: auth.ScopeKindMeeting, ID: peek.Scope.Meeting})
	if err != nil {
		return auth.Claims{}, err
	}
	if !c.Restricted() || c.Scope.Kind != auth.ScopeKindMeeting {
		return auth.Claims{}, fmt.Errorf("%w: not a meeting guest token", auth.ErrTokenInvalid)
	}
	if err := g.remember(c); err != nil {
		return auth.Claims{}, err
	}
	return c, nil
}

// remember keeps a verified token's meeting and name under its guest id.
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
		return errors.New("too many guest sessions on this node")
	}
	g.byID[c.MemberID] = guestEntry{meetingID: c.Scope.ID, name: c.Name, expires: c.ExpiresAt}
	return nil
}

func (g *guestRegistry) identity(guestID string) (Identity, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.byID[guestID]
	if !ok || !g.now().Before(e.expires) {
		return Identity{}, false
	}
	return Identity{UserID: guestID, Name: e.name, Guest: true, MeetingID: e.meetingID}, true
}

// guestsOnly is the guest hub's answer to "may this subject hold a
// session?": guests may, for as long as their token is valid; member ids
// never get this far.
type guestsOnly struct{}

func (guestsOnly) MemberActive(id string) (bool, error) {
	return strings.HasPrefix(id, auth.GuestSubjectPrefix), nil
}

// Identifier says who a session speaks for: a member on /ws, by the
// directory, or a guest on the guest endpoint, by its token.
type Identifier struct {
	Directory *directory.Directory
	Guests    *GuestEndpoint
}

// Identify returns who s speaks for; ok is false for a guest whose token
// this node no longer knows, or a member the directory does not.
func (i Identifier) Identify(s *ws.Session) (Identity, bool) {
	id := s.MemberID()
	if strings.HasPrefix(id, auth.GuestSubjectPrefix) {
		if i.Guests == nil {
			return Identity{}, false
		}
		return i.Guests.guests.identity(id)
	}
	m, err := i.Directory.GetMember(id)
	if err != nil {
		return Identity{}, false
	}
	name := m.Name
	if name == "" {
		name = id
	}
	return Identity{UserID: id, Name: name}, true
}
