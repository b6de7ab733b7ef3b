package livews

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"parley/chat/directory"
	"parley/chat/liveroom"
	"parley/sfu/live"
	"parley/signaling/ratelimit"
	"parley/signaling/ws"
)

// Config sets the limits this package enforces.
type Config struct {
	// CommentsPerMinute and CommentBurst limit how fast one viewer
	// comments and asks in one live, over all their sessions on a node.
	CommentsPerMinute int
	CommentBurst      int
}

// DefaultConfig is the configuration of a stock server.
func DefaultConfig() Config {
	return Config{CommentsPerMinute: 20, CommentBurst: 5}
}

// Limits that are not configuration.
const (
	// MaxLimiterEntries bounds each rate-limit table; see ratelimit.
	MaxLimiterEntries = 1 << 20
	// MaxLivesPerSession caps the live rooms one session is in at once.
	MaxLivesPerSession = 8
	// MaxHistoryLimit caps one live.history or live.pull page.
	MaxHistoryLimit = 200
)

// likeLimit lets one viewer send about ten like requests a second in one
// live, each of up to liveroom.MaxLikesPerRequest likes.
var likeLimit = ratelimit.Limit{Every: 100 * time.Millisecond, Burst: 20}

// Error codes of live requests, sent in "error" messages.
const (
	CodeNotFound     = "not_found"  // no such live, entry, poll or draw
	CodeForbidden    = "forbidden"  // the session may not do this in this live
	CodeNotJoined    = "not_joined" // live.join first
	CodeInvalid      = "invalid_argument"
	CodeTooLarge     = "too_large"
	CodeRateLimited  = "rate_limited"
	CodeMuted        = "muted"
	CodeAlreadyVoted = "already_voted"
	CodePollClosed   = "poll_closed"
	CodeLimit        = "limit_reached"
	CodeNoneEligible = "none_eligible"
	CodeEnded        = "live_ended" // viewers' interactions after the live ended
	CodeInternal     = "internal"
)

// Roles a session has in a live it joined.
const (
	RoleHost   = "host"
	RoleGuest  = "guest"
	RoleViewer = "viewer"
)

// Identity is who a session speaks for.
type Identity struct {
	// ViewerID tells viewers apart: the member id, or the guest id of a
	// viewer token.
	ViewerID string
	// MemberID is empty for a viewer token.
	MemberID string
	// Name is the display name recorded in the viewer statistics.
	Name string
	// LiveID is the one live a viewer token admits; empty for members.
	LiveID string
}

// Members gives members' display names: the host's in live.joined and
// the sender_name of what members post, which viewer tokens cannot look
// up. *directory.Directory satisfies it.
type Members interface {
	GetMember(id string) (directory.Member, error)
}

// Deps are what the handlers stand on. All are required.
type Deps struct {
	Rooms   *liveroom.Service
	Lives   *live.Store
	Members Members
	// Identify says who a session speaks for; ok false refuses every live
	// request of the session (a token scoped to something else, such as
	// a meeting).
	Identify func(s *ws.Session) (id Identity, ok bool)
	// InScope decides whether a member may watch an internal live that
	// they neither host nor present: the REST API's decision
	// (api.InLiveScope), so the socket and the routes agree.
	InScope func(l live.Live, memberID string) (bool, error)
	Config  Config
	Logger  *slog.Logger
	// Now is the clock of viewer records; nil is time.Now.
	Now func() time.Time
}

// Handlers serve the live.* requests of the hubs they were registered
// on.
type Handlers struct {
	Deps
	comments *ratelimit.Keyed
	likes    *ratelimit.Keyed

	mu       sync.Mutex
	sessions map[*ws.Session]*sessionState
	cleanups sync.WaitGroup // sessions whose leave has not run yet
}

// sessionState is what one session joined.
type sessionState struct {
	id    Identity
	lives map[string]*joined
}

// joined is one live room a session is in. Its role is not kept: host
// actions re-read the live, so a change of guests applies at once.
type joined struct {
	recordID string // sfu/live viewer record; empty when none was made
}

// Register adds the live.* request handlers to each hub: the member hub
// and the viewer endpoint's.
func Register(d Deps, hubs ...*ws.Hub) (*Handlers, error) {
	if d.Rooms == nil || d.Lives == nil || d.Members == nil || d.Identify == nil || d.InScope == nil || d.Logger == nil {
		return nil, errors.New("livews: Rooms, Lives, Members, Identify, InScope and Logger are required")
	}
	if d.Config.CommentsPerMinute < 1 || d.Config.CommentBurst < 1 {
		return nil, fmt.Errorf("livews: comments_per_minute and comment_burst must be at least 1")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	hs := &Handlers{
		Deps: d,
		comments: ratelimit.New("live comment", ratelimit.Limit{
			Every: time.Minute / time.Duration(d.Config.CommentsPerMinute), Burst: d.Config.CommentBurst,
		}, MaxLimiterEntries),
		likes:    ratelimit.New("live like", likeLimit, MaxLimiterEntries),
		sessions: map[*ws.Session]*sessionState{},
	}
	for typ, fn := range map[string]ws.Handler{
		"live.join":         hs.join,
		"live.leave":        hs.leave,
		"live.history":      hs.history,
		"live.pull":         hs.pull,
		"live.comment":      hs.comment,
		"live.ask":          hs.ask,
		"live.like":         hs.like,
		"live.vote":         hs.vote,
		"live.answer":       hs.answer,
		"live.announce":     hs.announce,
		"live.delete":       hs.deleteEntry,
		"live.mute":         hs.mute,
		"live.poll.open":    hs.openPoll,
		"live.poll.close":   hs.closePoll,
		"live.lottery.draw": hs.draw,
		"live.lottery.list": hs.draws,
	} {
		for _, h := range hubs {
			h.Handle(typ, fn)
		}
	}
	return hs, nil
}

// Wait returns once every session that joined a live room has left it
// (its viewer records closed), or when ctx ends. A session leaves when
// its socket ends, on a goroutine of its own: the server shuts its hubs
// down, then waits here before it closes the stores the leave writes to.
func (hs *Handlers) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		hs.cleanups.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("live sessions still leaving: %w", ctx.Err())
	}
}

// decode reads a request's data; on failure it answers the request and
// reports false.
func decode(s *ws.Session, m ws.Message, v any) bool {
	if err := json.Unmarshal(m.Data, v); err != nil || len(m.Data) == 0 {
		s.ReplyError(m, CodeInvalid, m.Type+": data is missing or malformed")
		return false
	}
	return true
}

// requestError is an error with the code to answer it with.
type requestError struct {
	code, msg string
}

func (e *requestError) Error() string { return e.msg }

func reqErr(code, format string, args ...any) error {
	return &requestError{code: code, msg: fmt.Sprintf(format, args...)}
}

// fail answers a request with the error code its cause maps to.
func (hs *Handlers) fail(s *ws.Session, m ws.Message, err error) {
	code := CodeInternal
	var re *requestError
	var rl *ratelimit.Error
	switch {
	case errors.As(err, &re):
		code = re.code
	case errors.As(err, &rl):
		code = CodeRateLimited
	case errors.Is(err, live.ErrNotFound), errors.Is(err, liveroom.ErrNotFound):
		code = CodeNotFound
	case errors.Is(err, liveroom.ErrMuted):
		code = CodeMuted
	case errors.Is(err, liveroom.ErrAlreadyVoted):
		code = CodeAlreadyVoted
	case errors.Is(err, liveroom.ErrPollClosed):
		code = CodePollClosed
	case errors.Is(err, liveroom.ErrLimit):
		code = CodeLimit
	case errors.Is(err, liveroom.ErrNoneEligible):
		code = CodeNoneEligible
	case errors.Is(err, liveroom.ErrTooLarge):
		code = CodeTooLarge
	case errors.Is(err, liveroom.ErrInvalid), errors.Is(err, live.ErrInvalid):
		code = CodeInvalid
	}
	if code == CodeInternal {
		hs.Logger.Error("live request failed", "type", m.Type, "member", s.MemberID(), "err", err)
		s.ReplyError(m, code, "internal error")
		return
	}
	s.ReplyError(m, code, err.Error())
}

// role decides what id may be in l: host, guest, viewer, or nothing.
func (hs *Handlers) role(l live.Live, id Identity) (string, error) {
	if id.MemberID == "" {
		// A viewer token admits its holder to its own external live only.
		if id.LiveID == l.ID && l.Scope.Kind == live.ScopeExternal {
			return RoleViewer, nil
		}
		return "", reqErr(CodeForbidden, "this token does not admit you to live %s", l.ID)
	}
	switch {
	case id.MemberID == l.HostID:
		return RoleHost, nil
	case l.Presents(id.MemberID):
		return RoleGuest, nil
	case l.Scope.Kind == live.ScopeExternal:
		return "", reqErr(CodeForbidden, "live %s is external: watch it with its viewer link", l.ID)
	}
	ok, err := hs.InScope(l, id.MemberID)
	if err != nil {
		return "", fmt.Errorf("check scope of live %s for %s: %w", l.ID, id.MemberID, err)
	}
	if !ok {
		return "", reqErr(CodeForbidden, "live %s is not open to you", l.ID)
	}
	return RoleViewer, nil
}

// member returns who the session is in liveID, which it must have
// joined, and the live as stored now.
func (hs *Handlers) member(s *ws.Session, liveID string) (Identity, live.Live, error) {
	hs.mu.Lock()
	st := hs.sessions[s]
	in := st != nil && st.lives[liveID] != nil
	var id Identity
	if in {
		id = st.id
	}
	hs.mu.Unlock()
	if !in {
		return Identity{}, live.Live{}, reqErr(CodeNotJoined, "join live %q first (live.join)", liveID)
	}
	l, err := hs.Lives.Get(liveID)
	if err != nil {
		return Identity{}, live.Live{}, err
	}
	return id, l, nil
}

// viewerAction admits a viewer interaction: the session joined the live
// and the live has not ended.
func (hs *Handlers) viewerAction(s *ws.Session, liveID string) (Identity, error) {
	id, l, err := hs.member(s, liveID)
	if err != nil {
		return Identity{}, err
	}
	if l.Status == live.StatusEnded {
		return Identity{}, reqErr(CodeEnded, "live %s has ended", liveID)
	}
	return id, nil
}

// moderator admits a host action: the session joined the live and its
// member hosts or presents it now.
func (hs *Handlers) moderator(s *ws.Session, liveID string) (Identity, live.Live, error) {
	id, l, err := hs.member(s, liveID)
	if err != nil {
		return Identity{}, live.Live{}, err
	}
	if id.MemberID == "" || !l.Presents(id.MemberID) {
		return Identity{}, live.Live{}, reqErr(CodeForbidden, "only the host and guests of live %s may do this", liveID)
	}
	return id, l, nil
}

// count adds n interactions of kind to the live's statistics. A failure
// is logged: the interaction itself was stored.
func (hs *Handlers) count(liveID, kind string, n int) {
	for range n {
		if err := hs.Lives.CountInteraction(liveID, kind); err != nil {
			hs.Logger.Warn("live: count interaction", "live", liveID, "kind", kind, "err", err)
			return
		}
	}
}

// senderName is the display name stored with what id posts now: a
// member's directory name, or the viewer token's name.
func (hs *Handlers) senderName(id Identity) string {
	if id.MemberID == "" {
		return displayName(id.Name, id.ViewerID)
	}
	return hs.memberName(id.MemberID)
}

// memberName is a member's directory name, or their id when the
// directory has none.
func (hs *Handlers) memberName(memberID string) string {
	m, err := hs.Members.GetMember(memberID)
	if err != nil {
		return displayName("", memberID)
	}
	return displayName(m.Name, memberID)
}

// displayName is name, or fallback when it is empty, cut to
// live.MaxNameRunes runes (which liveroom.MaxSenderNameBytes holds).
func displayName(name, fallback string) string {
	if name == "" {
		name = fallback
	}
	if r := []rune(name); len(r) > live.MaxNameRunes {
		name = string(r[:live.MaxNameRunes])
	}
	return name
}

// takeComment spends one token of the viewer's comment limit in liveID.
func (hs *Handlers) takeComment(id Identity, liveID string) error {
	return hs.comments.Take(liveID+"/"+id.ViewerID, hs.Now())
}

// closeSession leaves every room the session is in; it runs when the
// session's context ends. The rooms are taken under the lock, so a join
// still in flight sees it was closed and undoes itself.
func (hs *Handlers) closeSession(s *ws.Session) {
	hs.mu.Lock()
	st := hs.sessions[s]
	delete(hs.sessions, s)
	var lives map[string]*joined
	if st != nil {
		lives, st.lives = st.lives, map[string]*joined{}
	}
	hs.mu.Unlock()
	for liveID, j := range lives {
		hs.leaveRoom(s, liveID, j)
	}
}

// leaveRoom takes the session out of a room and closes its viewer record.
func (hs *Handlers) leaveRoom(s *ws.Session, liveID string, j *joined) {
	hs.Rooms.Leave(liveID, s)
	if j.recordID == "" {
		return
	}
	if err := hs.Lives.RecordViewerLeave(j.recordID, hs.Now()); err != nil && !errors.Is(err, live.ErrNotFound) {
		hs.Logger.Warn("live: record viewer leave", "live", liveID, "record", j.recordID, "err", err)
	}
}

// reply answers a request with typ and data, or with the error.
func (hs *Handlers) reply(s *ws.Session, m ws.Message, typ string, data any, err error) bool {
	if err != nil {
		hs.fail(s, m, err)
		return false
	}
	s.Reply(m, typ, data)
	return true
}
