package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
	"unicode/utf8"

	"parley/chat/directory"
	"parley/sfu/live"
	"parley/signaling/auth"
)

// Lives. Like meetings, the routes are signed (the viewer token public)
// and the live decides: its host manages it; the host, its guests and
// super admins see its statistics; members in an internal live's scope
// may read it; anyone else gets the same 404 as for no live at all. The
// stream key is shown only when made (create, rotate); the viewer link
// token only inside the viewer link, to the host and guests.

// Live list and password limits.
const (
	// DefaultLiveListLimit is GET /lives' page size without limit, and
	// MaxLiveListLimit the largest.
	DefaultLiveListLimit = 50
	MaxLiveListLimit     = 200
	// MaxLiveListScan bounds the lives one GET /lives looks at. Lives the
	// caller may not see are skipped; past this many, the page ends early
	// with a cursor to go on from.
	MaxLiveListScan = 5000
	// MinLivePasswordRunes is the shortest external live password. It
	// guards a link that is already secret, so a short code will do; the
	// viewer-token route throttles guesses per address.
	MinLivePasswordRunes = 4
)

// liveError maps the live store's errors; others pass through.
func liveError(err error) error {
	switch {
	case errors.Is(err, live.ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotFound, "no such live, or you may not see it")
	case errors.Is(err, live.ErrInvalid):
		return errorf(http.StatusBadRequest, CodeInvalidArgument, err.Error())
	case errors.Is(err, live.ErrState):
		return errorf(http.StatusConflict, CodeConflict, err.Error())
	case errors.Is(err, live.ErrLimit):
		return errorf(http.StatusConflict, CodeLimitReached, err.Error())
	}
	return err
}

// requestBase is the scheme and host the client called, for the absolute
// WHIP and WHEP URLs. Parley trusts no forwarding headers (see clientIP),
// so behind a TLS-terminating proxy the proxy must pass the Host through
// and the URLs say http.
func requestBase(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// liveView is a live as one caller sees it.
type liveView struct {
	live.Live
	// PasswordProtected tells whether an external live asks for a
	// password; the hash itself is never shown.
	PasswordProtected bool `json:"password_protected"`
	// WHEPURL is where players pull the live.
	WHEPURL string `json:"whep_url"`
	// WHIPURL is where the host's encoder publishes, with the stream key
	// as its bearer token. For the host only.
	WHIPURL string `json:"whip_url,omitempty"`
	// ViewerLink is an external live's "/l/{id}?t=<link token>", for the
	// host and guests.
	ViewerLink string `json:"viewer_link,omitempty"`
}

func viewLive(r *http.Request, l live.Live, memberID string) liveView {
	v := liveView{Live: l, PasswordProtected: l.Scope.PasswordHash != "", WHEPURL: requestBase(r) + "/whep/" + l.ID}
	if memberID == l.HostID {
		v.WHIPURL = requestBase(r) + "/whip"
	}
	if l.Presents(memberID) && l.Scope.Kind == live.ScopeExternal {
		v.ViewerLink = "/l/" + l.ID + "?t=" + l.LinkToken
	}
	v.Scope.PasswordHash, v.LinkToken = "", ""
	return v
}

// audience is a member as live scopes see them: their departments with
// every ancestor (a scope naming a department covers its sub-departments),
// and their tags.
type audience struct {
	depts map[string]bool
	tags  map[string]bool
}

func (a *API) audienceOf(m directory.Member) (audience, error) {
	au := audience{depts: map[string]bool{}, tags: map[string]bool{}}
	for _, d := range m.Departments {
		anc, err := a.dir.Ancestors(d)
		if errors.Is(err, directory.ErrNotFound) {
			continue
		}
		if err != nil {
			return audience{}, fmt.Errorf("departments of %s: %w", m.ID, err)
		}
		for _, id := range anc {
			au.depts[id] = true
		}
	}
	tags, err := a.dir.MemberTags(m.ID)
	if err != nil {
		return audience{}, fmt.Errorf("tags of %s: %w", m.ID, err)
	}
	for _, t := range tags {
		au.tags[t] = true
	}
	return au, nil
}

// matches reports whether an internal scope covers the member.
func (au audience) matches(s live.Scope) bool {
	if s.Kind != live.ScopeInternal {
		return false
	}
	if s.AllMembers {
		return true
	}
	for _, d := range s.Departments {
		if au.depts[d] {
			return true
		}
	}
	for _, t := range s.Tags {
		if au.tags[t] {
			return true
		}
	}
	return false
}

// InLiveScope reports whether member may watch the internal live l
// because its scope covers them (host and guests aside), for the live
// signaling.
func (a *API) InLiveScope(l live.Live, memberID string) (bool, error) {
	if l.Scope.Kind != live.ScopeInternal {
		return false, nil
	}
	if l.Scope.AllMembers {
		return true, nil
	}
	m, err := a.dir.GetMember(memberID)
	if errors.Is(err, directory.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	au, err := a.audienceOf(m)
	if err != nil {
		return false, err
	}
	return au.matches(l.Scope), nil
}

// liveFor loads the path's live and checks that p may act on it with
// want: "read" (host, guest, super admin, or in an internal live's
// scope), "host" (the host only) or "report" (host, guests or super
// admin). Someone who may not even read it gets 404.
func (a *API) liveFor(r *http.Request, p *Principal, want string) (live.Live, error) {
	l, err := a.lives.Get(r.PathValue("id"))
	if err != nil {
		return live.Live{}, liveError(err)
	}
	me := p.Member.ID
	privileged := l.Presents(me) || p.Member.Role == directory.RoleSuperAdmin
	if !privileged {
		ok, err := a.InLiveScope(l, me)
		if err != nil {
			return live.Live{}, err
		}
		if !ok {
			return live.Live{}, liveError(live.ErrNotFound)
		}
	}
	switch want {
	case "read":
		return l, nil
	case "host":
		if me == l.HostID {
			return l, nil
		}
		return live.Live{}, errorf(http.StatusForbidden, CodeForbidden, "only the live's host may do this")
	case "report":
		if privileged {
			return l, nil
		}
		return live.Live{}, errorf(http.StatusForbidden, CodeForbidden, "only the live's host and guests, or a super admin, may see its statistics")
	}
	return live.Live{}, fmt.Errorf("liveFor: unknown access %q", want)
}

// liveScopeRequest is a scope as clients send it: the password in clear,
// to be hashed here.
type liveScopeRequest struct {
	Kind        live.ScopeKind `json:"kind"`
	AllMembers  bool           `json:"all_members"`
	Departments []string       `json:"departments"`
	Tags        []string       `json:"tags"`
	// Password: absent keeps an external live's password, "" removes it.
	Password *string `json:"password"`
}

// liveScope turns a requested scope into a stored one, checking that its
// departments and tags exist and hashing a new password. old is the scope
// it replaces (zero on create).
func (a *API) liveScope(req liveScopeRequest, old live.Scope) (live.Scope, error) {
	s := live.Scope{Kind: req.Kind, AllMembers: req.AllMembers, Departments: req.Departments, Tags: req.Tags}
	for _, d := range req.Departments {
		if _, err := a.dir.GetDepartment(d); errors.Is(err, directory.ErrNotFound) {
			return live.Scope{}, errorf(http.StatusBadRequest, CodeInvalidArgument, fmt.Sprintf("scope.departments: no department %q", d))
		} else if err != nil {
			return live.Scope{}, err
		}
	}
	for _, t := range req.Tags {
		if _, err := a.dir.GetTag(t); errors.Is(err, directory.ErrNotFound) {
			return live.Scope{}, errorf(http.StatusBadRequest, CodeInvalidArgument, fmt.Sprintf("scope.tags: no tag %q", t))
		} else if err != nil {
			return live.Scope{}, err
		}
	}
	switch {
	case req.Password == nil:
		if req.Kind == live.ScopeExternal && old.Kind == live.ScopeExternal {
			s.PasswordHash = old.PasswordHash
		}
	case *req.Password == "":
	case req.Kind != live.ScopeExternal:
		return live.Scope{}, errorf(http.StatusBadRequest, CodeInvalidArgument, "scope.password: only an external live may have a password")
	case utf8.RuneCountInString(*req.Password) < MinLivePasswordRunes:
		return live.Scope{}, errorf(http.StatusBadRequest, CodeInvalidArgument, fmt.Sprintf("scope.password: at least %d characters", MinLivePasswordRunes))
	default:
		hash, err := auth.HashSecret(*req.Password)
		if err != nil {
			return live.Scope{}, err
		}
		s.PasswordHash = hash
	}
	return s, nil
}

type createLiveRequest struct {
	Title          string            `json:"title"`
	Description    string            `json:"description"`
	ScheduledStart time.Time         `json:"scheduled_start"`
	Guests         []string          `json:"guests"`
	Scope          *liveScopeRequest `json:"scope"` // absent: every member
	Record         *bool             `json:"record"`
}

// liveCreated is the answer to a create or a key rotation: the only times
// the stream key is shown.
type liveCreated struct {
	liveView
	StreamKey string `json:"stream_key"`
}

func (a *API) createLive(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req createLiveRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if err := a.requireGuests(req.Guests); err != nil {
		return err
	}
	scopeReq := liveScopeRequest{Kind: live.ScopeInternal, AllMembers: true}
	if req.Scope != nil {
		scopeReq = *req.Scope
	}
	scope, err := a.liveScope(scopeReq, live.Scope{})
	if err != nil {
		return err
	}
	l, key, err := a.lives.Create(live.NewLive{
		Title: req.Title, Description: req.Description, ScheduledStart: req.ScheduledStart,
		HostID: p.Member.ID, Guests: req.Guests, Scope: scope, Record: req.Record,
	})
	if err != nil {
		return liveError(err)
	}
	writeJSON(w, http.StatusCreated, liveCreated{liveView: viewLive(r, l, p.Member.ID), StreamKey: key})
	return nil
}

func (a *API) requireGuests(ids []string) error {
	if len(ids) > live.MaxGuests {
		return errorf(http.StatusConflict, CodeLimitReached, fmt.Sprintf("guests: at most %d", live.MaxGuests))
	}
	return a.requireMembers("guests", ids)
}

func (a *API) listLives(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	q := r.URL.Query()
	limit := DefaultLiveListLimit
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLiveListLimit {
			return errorf(http.StatusBadRequest, CodeInvalidArgument, fmt.Sprintf("limit must be 1 to %d", MaxLiveListLimit))
		}
		limit = n
	}
	au, err := a.audienceOf(p.Member)
	if err != nil {
		return err
	}
	views := []liveView{}
	next, last, scanned := "", "", 0
	err = a.lives.ScanNewest(q.Get("after"), func(l live.Live) bool {
		if scanned == MaxLiveListScan {
			next = last // more to look at: go on after the last one seen
			return false
		}
		scanned++
		if l.Presents(p.Member.ID) || au.matches(l.Scope) {
			if len(views) == limit {
				next = views[limit-1].ID
				return false
			}
			views = append(views, viewLive(r, l, p.Member.ID))
		}
		last = l.ID
		return true
	})
	if err != nil {
		return liveError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"lives": views, "next": next})
	return nil
}

func (a *API) getLive(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	l, err := a.liveFor(r, p, "read")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewLive(r, l, p.Member.ID))
	return nil
}

type liveUpdateRequest struct {
	Title          *string           `json:"title"`
	Description    *string           `json:"description"`
	ScheduledStart *time.Time        `json:"scheduled_start"`
	Guests         *[]string         `json:"guests"`
	Scope          *liveScopeRequest `json:"scope"`
	Record         *bool             `json:"record"`
}

func (a *API) updateLive(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	l, err := a.liveFor(r, p, "host")
	if err != nil {
		return err
	}
	var req liveUpdateRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	patch := live.Patch{Title: req.Title, Description: req.Description, ScheduledStart: req.ScheduledStart, Guests: req.Guests, Record: req.Record}
	if req.Guests != nil {
		if err := a.requireGuests(*req.Guests); err != nil {
			return err
		}
	}
	if req.Scope != nil {
		scope, err := a.liveScope(*req.Scope, l.Scope)
		if err != nil {
			return err
		}
		patch.Scope = &scope
	}
	l, err = a.lives.Update(l.ID, patch)
	if err != nil {
		return liveError(err)
	}
	writeJSON(w, http.StatusOK, viewLive(r, l, p.Member.ID))
	return nil
}

func (a *API) deleteLive(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	l, err := a.liveFor(r, p, "host")
	if err != nil {
		return err
	}
	if err := a.lives.Delete(l.ID); err != nil {
		return liveError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) rotateStreamKey(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	l, err := a.liveFor(r, p, "host")
	if err != nil {
		return err
	}
	key, err := a.lives.RotateStreamKey(l.ID)
	if err != nil {
		return liveError(err)
	}
	writeJSON(w, http.StatusOK, liveCreated{liveView: viewLive(r, l, p.Member.ID), StreamKey: key})
	return nil
}

// liveStatsBody is live.Stats in JSON, durations in milliseconds.
type liveStatsBody struct {
	LiveID         string           `json:"live_id"`
	Concurrent     int              `json:"concurrent"`
	PeakConcurrent int              `json:"peak_concurrent"`
	PeakAt         time.Time        `json:"peak_at,omitzero"`
	UniqueViewers  int              `json:"unique_viewers"`
	TotalWatchMS   int64            `json:"total_watch_ms"`
	AverageWatchMS int64            `json:"average_watch_ms"`
	OpenRecords    int              `json:"open_records"`
	Viewers        []viewerStatBody `json:"viewers"`
	Interactions   map[string]int64 `json:"interactions"`
	ReplayViews    int64            `json:"replay_views"`
}

type viewerStatBody struct {
	live.Viewer
	Sessions []viewerSpanBody `json:"sessions"`
	WatchMS  int64            `json:"watch_ms"`
	Open     bool             `json:"open"`
}

type viewerSpanBody struct {
	Joined time.Time `json:"joined_at"`
	Left   time.Time `json:"left_at,omitzero"`
}

func (a *API) liveStats(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	l, err := a.liveFor(r, p, "report")
	if err != nil {
		return err
	}
	st, err := a.lives.Stats(l.ID)
	if err != nil {
		return liveError(err)
	}
	out := liveStatsBody{
		LiveID: st.LiveID, Concurrent: st.Concurrent, PeakConcurrent: st.PeakConcurrent, PeakAt: st.PeakAt,
		UniqueViewers: st.UniqueViewers, TotalWatchMS: st.TotalWatch.Milliseconds(), AverageWatchMS: st.AverageWatch.Milliseconds(),
		OpenRecords: st.OpenRecords, Viewers: make([]viewerStatBody, 0, len(st.Viewers)), Interactions: st.Interactions, ReplayViews: st.ReplayViews,
	}
	for _, v := range st.Viewers {
		vb := viewerStatBody{Viewer: v.Viewer, WatchMS: v.Watch.Milliseconds(), Open: v.Open}
		for _, s := range v.Spans {
			vb.Sessions = append(vb.Sessions, viewerSpanBody{Joined: s.Joined, Left: s.Left})
		}
		out.Viewers = append(out.Viewers, vb)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type viewerTokenRequest struct {
	LinkToken string `json:"link_token"`
	Password  string `json:"password"`
	Name      string `json:"name"`
}

// liveViewerToken trades an external live's link token (and password,
// when it has one) for a viewer token good for that live only. A wrong
// live and a wrong link token are the same 404; password guesses spend
// the address's sign-in budget before any hashing.
func (a *API) liveViewerToken(w http.ResponseWriter, r *http.Request, _ *Principal, body []byte) error {
	var req viewerTokenRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	l, err := a.lives.CheckLinkToken(r.PathValue("id"), req.LinkToken)
	if errors.Is(err, live.ErrNotFound) {
		return errorf(http.StatusNotFound, CodeNotFound, "no live has this id and link token")
	}
	if err != nil {
		return err
	}
	if l.Scope.Kind != live.ScopeExternal {
		return errorf(http.StatusForbidden, CodeForbidden, "an internal live is watched by signed-in members with their own token")
	}
	if l.Scope.PasswordHash != "" {
		if err := a.auth.ThrottleGuest(clientIP(r)); err != nil {
			return err
		}
		if err := auth.CheckSecret(l.Scope.PasswordHash, req.Password); errors.Is(err, auth.ErrInvalidCredentials) {
			return errorf(http.StatusForbidden, CodeForbidden, "wrong password for this live")
		} else if err != nil {
			return err
		}
	}
	tok, err := a.auth.IssueGuest(auth.TokenScope{Kind: auth.ScopeKindLive, ID: l.ID}, req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		auth.GuestToken
		LiveID  string `json:"live_id"`
		WHEPURL string `json:"whep_url"`
	}{tok, l.ID, requestBase(r) + "/whep/" + l.ID})
	return nil
}
