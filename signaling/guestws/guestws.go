package guestws

import (
	"context"
	"encoding/json"
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

// MaxGuests bounds the guests one Endpoint remembers at once: one entry
// per guest id, until its token expires.
const MaxGuests = 1 << 20

// sweepInterval is how often expired entries are dropped.
const sweepInterval = time.Minute

// Error codes of auth.renew beyond the hub's own.
const (
	CodeForbidden = "forbidden" // MayRenew refused: the guest may no longer be there
	CodeInternal  = "internal"
)

// Tokens verifies and re-issues restricted tokens. *auth.Service
// satisfies it.
type Tokens interface {
	VerifyFor(token string, scope auth.TokenScope) (auth.Claims, error)
	RefreshGuest(token string) (auth.GuestToken, error)
}

// Guest is what a guest's token says.
type Guest struct {
	// ID is the guest id: the session's subject.
	ID   string
	Name string
	// ScopeID is the meeting or live the token admits to.
	ScopeID   string
	ExpiresAt time.Time
}

// Config describes an Endpoint.
type Config struct {
	// WS sets the hub's socket limits; use the member hub's.
	WS ws.Config
	// Kind is the scope kind admitted: auth.ScopeKindMeeting or
	// auth.ScopeKindLive.
	Kind string
	// Path is where the Endpoint is served, for error messages.
	Path string
	// Describe names the tokens admitted, for error messages ("meeting
	// guest tokens").
	Describe string
	// MayRenew, if set, decides whether a guest may have a fresh token
	// (auth.renew): the meeting still admits them, say. Its error is
	// sent to the client.
	MayRenew func(g Guest) error
}

// Endpoint is one guests' WebSocket: a hub that admits only restricted
// tokens of Config.Kind, and the registry of their guests.
type Endpoint struct {
	cfg    Config
	tokens Tokens
	hub    *ws.Hub
	log    *slog.Logger
	now    func() time.Time

	mu        sync.Mutex
	byID      map[string]Guest
	lastSweep time.Time
}

// New creates an Endpoint. Register the package's requests on Hub before
// serving.
func New(cfg Config, tokens Tokens, logger *slog.Logger) (*Endpoint, error) {
	if cfg.Kind != auth.ScopeKindMeeting && cfg.Kind != auth.ScopeKindLive {
		return nil, fmt.Errorf("guestws: scope kind %q is not %q or %q", cfg.Kind, auth.ScopeKindMeeting, auth.ScopeKindLive)
	}
	if tokens == nil || logger == nil {
		return nil, errors.New("guestws: tokens and logger are required")
	}
	e := &Endpoint{cfg: cfg, tokens: tokens, log: logger, now: time.Now, byID: map[string]Guest{}}
	e.hub = ws.NewHub(cfg.WS, (*verifier)(e), guestsOnly{}, logger)
	e.hub.Handle("auth.renew", e.renew)
	return e, nil
}

// Hub is the Endpoint's hub: the package's requests are registered on
// it, and the server shuts it down with the member hub.
func (e *Endpoint) Hub() *ws.Hub { return e.hub }

// ServeHTTP upgrades a guest's request, as the member hub does.
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) { e.hub.ServeHTTP(w, r) }

// Guest returns what the token of guest id said, while it is valid.
func (e *Endpoint) Guest(id string) (Guest, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, ok := e.byID[id]
	if !ok || !e.now().Before(g.ExpiresAt) {
		return Guest{}, false
	}
	return g, true
}

// verifier is the Endpoint as its hub's ws.Verifier: it admits a
// restricted token of the Endpoint's kind, and nothing else (member
// tokens belong on /ws).
type verifier Endpoint

func (v *verifier) VerifyAccess(token string) (auth.Claims, error) {
	e := (*Endpoint)(v)
	c, err := e.verify(token)
	if err != nil {
		return auth.Claims{}, err
	}
	if err := e.remember(c); err != nil {
		return auth.Claims{}, err
	}
	return c, nil
}

// unverifiedScope reads the scope claim before verification, only to
// know which scope to verify the token for; VerifyFor then checks the
// signature, the expiry and that the scope is exactly this one.
type unverifiedScope struct {
	jwt.RegisteredClaims
	Scope *struct {
		Meeting string `json:"meeting"`
		Live    string `json:"live"`
	} `json:"scope"`
}

func (e *Endpoint) verify(token string) (auth.Claims, error) {
	var peek unverifiedScope
	if _, _, err := jwt.NewParser().ParseUnverified(token, &peek); err != nil {
		return auth.Claims{}, fmt.Errorf("%w: %v", auth.ErrTokenInvalid, err)
	}
	id := ""
	if peek.Scope != nil {
		id = peek.Scope.Meeting
		if e.cfg.Kind == auth.ScopeKindLive {
			id = peek.Scope.Live
		}
	}
	if id == "" {
		return auth.Claims{}, fmt.Errorf("%w: %s admits only %s; members connect to /ws", auth.ErrTokenInvalid, e.cfg.Path, e.cfg.Describe)
	}
	c, err := e.tokens.VerifyFor(token, auth.TokenScope{Kind: e.cfg.Kind, ID: id})
	if err != nil {
		return auth.Claims{}, err
	}
	if !c.Restricted() || c.Scope.Kind != e.cfg.Kind {
		return auth.Claims{}, fmt.Errorf("%w: not one of the %s", auth.ErrTokenInvalid, e.cfg.Describe)
	}
	return c, nil
}

// remember keeps a verified token's scope and name under its guest id.
func (e *Endpoint) remember(c auth.Claims) error {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if now.Sub(e.lastSweep) >= sweepInterval {
		for id, g := range e.byID {
			if !now.Before(g.ExpiresAt) {
				delete(e.byID, id)
			}
		}
		e.lastSweep = now
	}
	old, known := e.byID[c.MemberID]
	if !known && len(e.byID) >= MaxGuests {
		return fmt.Errorf("too many guests on this node (%d)", MaxGuests)
	}
	g := Guest{ID: c.MemberID, Name: c.Name, ScopeID: c.Scope.ID, ExpiresAt: c.ExpiresAt}
	if known && old.ExpiresAt.After(g.ExpiresAt) {
		g.ExpiresAt = old.ExpiresAt // an older token of the same guest shortens nothing
	}
	e.byID[c.MemberID] = g
	return nil
}

type renewRequest struct {
	AccessToken string `json:"access_token"`
}

// renew answers auth.renew: the session's guest, showing its current
// token, gets a new one for the same guest id, scope and name. The
// session itself lasts as long as before until the client sends
// auth.refresh with the new token.
func (e *Endpoint) renew(ctx context.Context, s *ws.Session, m ws.Message) {
	var req renewRequest
	if err := json.Unmarshal(m.Data, &req); err != nil || req.AccessToken == "" {
		s.ReplyError(m, ws.ErrCodeBadMessage, "auth.renew needs data.access_token: the guest token this socket uses")
		return
	}
	c, err := e.verify(req.AccessToken)
	if err != nil {
		s.ReplyError(m, ws.ErrCodeUnauth, "invalid guest token: "+err.Error())
		return
	}
	if c.MemberID != s.MemberID() {
		s.ReplyError(m, ws.ErrCodeUnauth, "the token belongs to another guest")
		return
	}
	if e.cfg.MayRenew != nil {
		if err := e.cfg.MayRenew(Guest{ID: c.MemberID, Name: c.Name, ScopeID: c.Scope.ID, ExpiresAt: c.ExpiresAt}); err != nil {
			s.ReplyError(m, CodeForbidden, err.Error())
			return
		}
	}
	tok, err := e.tokens.RefreshGuest(req.AccessToken)
	if err != nil {
		e.log.Error("guestws: renew guest token", "guest", c.MemberID, "err", err)
		s.ReplyError(m, CodeInternal, "internal error")
		return
	}
	s.Reply(m, "auth.renewed", tok)
}

// guestsOnly is the Endpoint's answer to "may this subject hold a
// session?": guests may, for as long as their token is valid; member ids
// never get this far.
type guestsOnly struct{}

func (guestsOnly) MemberActive(id string) (bool, error) {
	return strings.HasPrefix(id, auth.GuestSubjectPrefix), nil
}
