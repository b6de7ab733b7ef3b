package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"parley/chat/directory"
	"parley/sfu/meeting"
	"parley/signaling/auth"
)

// Meetings. The routes are signed (the guest token public); who may do
// what is the meeting's business, decided here: the host and co-hosts
// manage a meeting, invitees and administrators may read it, and anyone
// else gets the same 404 as for a meeting that does not exist, so ids
// cannot be probed. The link token is shown only inside the join link,
// and only to the host and co-hosts.

// MeetingRooms are the meetings in progress on this node. *rtc.Manager
// satisfies it.
type MeetingRooms interface {
	// Refresh applies a meeting's stored record to its running room, if
	// there is one: new settings and roles are announced, banned
	// participants removed.
	Refresh(meetingID string) error
}

// refreshRoom makes a running room see a change just stored. The change
// is durable already, so a failure is logged, not answered: the room
// catches up when its next participant joins.
func (a *API) refreshRoom(meetingID string) {
	if a.rooms == nil {
		return
	}
	if err := a.rooms.Refresh(meetingID); err != nil {
		a.log.Error("api: refresh meeting room", "meeting", meetingID, "err", err)
	}
}

// meetingError maps the meeting store's errors; others pass through.
func meetingError(err error) error {
	switch {
	case errors.Is(err, meeting.ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotFound, "no such meeting, or you are not invited to it")
	case errors.Is(err, meeting.ErrInvalid):
		return errorf(http.StatusBadRequest, CodeInvalidArgument, err.Error())
	case errors.Is(err, meeting.ErrState):
		return errorf(http.StatusConflict, CodeConflict, err.Error())
	case errors.Is(err, meeting.ErrLimit):
		return errorf(http.StatusConflict, CodeLimitReached, err.Error())
	case errors.Is(err, meeting.ErrBanned):
		return errorf(http.StatusForbidden, CodeForbidden, err.Error())
	}
	return err
}

// meetingView is a meeting as one caller sees it.
type meetingView struct {
	meeting.Meeting
	// Role is the caller's: host, cohost, invitee, or absent.
	Role meeting.Role `json:"role,omitempty"`
	// JoinLink is "/m/{id}?t=<link token>", for the host and co-hosts.
	JoinLink string `json:"join_link,omitempty"`
}

func viewMeeting(m meeting.Meeting, memberID string) meetingView {
	v := meetingView{Meeting: m, Role: m.RoleOf(memberID)}
	if m.IsHost(memberID) {
		v.JoinLink = "/m/" + m.ID + "?t=" + m.LinkToken
	} else {
		v.Banned = []string{}
	}
	v.LinkToken = ""
	return v
}

// isAdministrator: super admins and department admins may read any
// meeting.
func isAdministrator(p *Principal) bool { return p.Member.Role != directory.RoleMember }

// meetingFor loads the path's meeting and checks that p may act on it
// with want: "read" (host, co-host, invitee or administrator), "manage"
// (host or co-host), "host" (the host only) or "report" (host, co-host or
// super admin). Someone who may not even read it gets 404.
func (a *API) meetingFor(r *http.Request, p *Principal, want string) (meeting.Meeting, error) {
	m, err := a.meetings.Get(r.PathValue("id"))
	if err != nil {
		return meeting.Meeting{}, meetingError(err)
	}
	role := m.RoleOf(p.Member.ID)
	if role == meeting.RoleNone && !isAdministrator(p) {
		return meeting.Meeting{}, meetingError(meeting.ErrNotFound)
	}
	super := p.Member.Role == directory.RoleSuperAdmin
	switch want {
	case "read":
		return m, nil
	case "manage":
		if m.IsHost(p.Member.ID) {
			return m, nil
		}
		return meeting.Meeting{}, errorf(http.StatusForbidden, CodeForbidden, "only the meeting's host and co-hosts may do this")
	case "host":
		if role == meeting.RoleHost {
			return m, nil
		}
		return meeting.Meeting{}, errorf(http.StatusForbidden, CodeForbidden, "only the meeting's host may do this")
	case "report":
		if m.IsHost(p.Member.ID) || super {
			return m, nil
		}
		return meeting.Meeting{}, errorf(http.StatusForbidden, CodeForbidden, "only the meeting's host and co-hosts, or a super admin, may see its attendance")
	}
	return meeting.Meeting{}, fmt.Errorf("meetingFor: unknown access %q", want)
}

// requireMembers refuses ids that name no member of the directory.
func (a *API) requireMembers(field string, ids []string) error {
	if len(ids) > meeting.MaxInvitees {
		return errorf(http.StatusConflict, CodeLimitReached, fmt.Sprintf("%s: at most %d", field, meeting.MaxInvitees))
	}
	for _, id := range ids {
		if _, err := a.dir.GetMember(id); errors.Is(err, directory.ErrNotFound) {
			return errorf(http.StatusBadRequest, CodeInvalidArgument, fmt.Sprintf("%s: no member %q", field, id))
		} else if err != nil {
			return err
		}
	}
	return nil
}

func (a *API) createMeeting(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req meeting.NewMeeting
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if err := a.requireMembers("invitees", req.Invitees); err != nil {
		return err
	}
	req.HostID = p.Member.ID
	m, err := a.meetings.Create(req)
	if err != nil {
		return meetingError(err)
	}
	writeJSON(w, http.StatusCreated, viewMeeting(m, p.Member.ID))
	return nil
}

func (a *API) listMeetings(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	q := r.URL.Query()
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return errorf(http.StatusBadRequest, CodeInvalidArgument, "limit must be a positive whole number")
		}
		limit = n
	}
	ms, next, err := a.meetings.ListForMember(p.Member.ID, q.Get("after"), limit)
	if err != nil {
		return meetingError(err)
	}
	views := make([]meetingView, 0, len(ms))
	for _, m := range ms {
		views = append(views, viewMeeting(m, p.Member.ID))
	}
	writeJSON(w, http.StatusOK, map[string]any{"meetings": views, "next": next})
	return nil
}

func (a *API) getMeeting(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	m, err := a.meetingFor(r, p, "read")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewMeeting(m, p.Member.ID))
	return nil
}

func (a *API) updateMeeting(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	m, err := a.meetingFor(r, p, "manage")
	if err != nil {
		return err
	}
	var req meeting.Patch
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if req.Invitees != nil {
		if err := a.requireMembers("invitees", *req.Invitees); err != nil {
			return err
		}
	}
	m, err = a.meetings.Update(m.ID, req)
	if err != nil {
		return meetingError(err)
	}
	a.refreshRoom(m.ID)
	writeJSON(w, http.StatusOK, viewMeeting(m, p.Member.ID))
	return nil
}

func (a *API) cancelMeeting(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	m, err := a.meetingFor(r, p, "host")
	if err != nil {
		return err
	}
	if _, err := a.meetings.Cancel(m.ID); err != nil {
		return meetingError(err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) rotateMeetingLink(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	m, err := a.meetingFor(r, p, "manage")
	if err != nil {
		return err
	}
	m, err = a.meetings.RotateLinkToken(m.ID)
	if err != nil {
		return meetingError(err)
	}
	writeJSON(w, http.StatusOK, viewMeeting(m, p.Member.ID))
	return nil
}

type coHostsRequest struct {
	CoHosts []string `json:"cohosts"`
}

func (a *API) setMeetingCoHosts(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	m, err := a.meetingFor(r, p, "host")
	if err != nil {
		return err
	}
	var req coHostsRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if err := a.requireMembers("cohosts", req.CoHosts); err != nil {
		return err
	}
	m, err = a.meetings.SetCoHosts(m.ID, req.CoHosts)
	if err != nil {
		return meetingError(err)
	}
	a.refreshRoom(m.ID)
	writeJSON(w, http.StatusOK, viewMeeting(m, p.Member.ID))
	return nil
}

type transferHostRequest struct {
	MemberID string `json:"member_id"`
}

func (a *API) transferMeetingHost(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	m, err := a.meetingFor(r, p, "host")
	if err != nil {
		return err
	}
	var req transferHostRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	to, err := a.dir.GetMember(req.MemberID)
	if errors.Is(err, directory.ErrNotFound) || (err == nil && to.Status != directory.StatusActive) {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, fmt.Sprintf("member_id: no active member %q", req.MemberID))
	}
	if err != nil {
		return err
	}
	m, err = a.meetings.TransferHost(m.ID, to.ID)
	if err != nil {
		return meetingError(err)
	}
	a.refreshRoom(m.ID)
	writeJSON(w, http.StatusOK, viewMeeting(m, p.Member.ID))
	return nil
}

type banRequest struct {
	// UserID is a member id, or a guest id ("guest:…").
	UserID string `json:"user_id"`
}

// banFromMeeting bans a member or guest from a meeting: they are removed
// from it if they are in it now, and may not join again. The host and
// co-hosts may ban; a co-host may not ban another co-host.
func (a *API) banFromMeeting(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	m, err := a.meetingFor(r, p, "manage")
	if err != nil {
		return err
	}
	var req banRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if req.UserID == "" {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, "user_id is required")
	}
	if m.HostID != p.Member.ID && m.RoleOf(req.UserID) == meeting.RoleCoHost {
		return errorf(http.StatusForbidden, CodeForbidden, "a co-host cannot ban another co-host")
	}
	m, err = a.meetings.Ban(m.ID, req.UserID)
	if err != nil {
		return meetingError(err)
	}
	a.refreshRoom(m.ID)
	writeJSON(w, http.StatusOK, viewMeeting(m, p.Member.ID))
	return nil
}

func (a *API) meetingAttendance(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	m, err := a.meetingFor(r, p, "report")
	if err != nil {
		return err
	}
	recs, err := a.meetings.Attendance(m.ID)
	if err != nil {
		return meetingError(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"records": recs})
	return nil
}

// meetingStatsBody is meeting.Stats in JSON, durations in milliseconds.
type meetingStatsBody struct {
	MeetingID       string             `json:"meeting_id"`
	UniqueAttendees int                `json:"unique_attendees"`
	TotalMS         int64              `json:"total_duration_ms"`
	AverageMS       int64              `json:"average_duration_ms"`
	PeakConcurrent  int                `json:"peak_concurrent"`
	PeakAt          time.Time          `json:"peak_at,omitzero"`
	OpenRecords     int                `json:"open_records"`
	Attendees       []attendeeStatBody `json:"attendees"`
}

type attendeeStatBody struct {
	meeting.Attendee
	Joins      int       `json:"joins"`
	DurationMS int64     `json:"duration_ms"`
	FirstJoin  time.Time `json:"first_join"`
	LastLeave  time.Time `json:"last_leave,omitzero"`
	Open       bool      `json:"open"`
}

func (a *API) meetingStats(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	m, err := a.meetingFor(r, p, "report")
	if err != nil {
		return err
	}
	st, err := a.meetings.Stats(m.ID)
	if err != nil {
		return meetingError(err)
	}
	out := meetingStatsBody{
		MeetingID: st.MeetingID, UniqueAttendees: st.UniqueAttendees, TotalMS: st.TotalDuration.Milliseconds(),
		AverageMS: st.AverageDuration.Milliseconds(), PeakConcurrent: st.PeakConcurrent, PeakAt: st.PeakAt,
		OpenRecords: st.OpenRecords, Attendees: make([]attendeeStatBody, 0, len(st.Attendees)),
	}
	for _, at := range st.Attendees {
		out.Attendees = append(out.Attendees, attendeeStatBody{Attendee: at.Attendee, Joins: at.Joins,
			DurationMS: at.Duration.Milliseconds(), FirstJoin: at.FirstJoin, LastLeave: at.LastLeave, Open: at.Open})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type guestTokenRequest struct {
	LinkToken string `json:"link_token"`
	Name      string `json:"name"`
}

// meetingGuestToken trades a meeting's link token for a guest token good
// for that meeting only. A wrong meeting and a wrong link token are the
// same 404.
func (a *API) meetingGuestToken(w http.ResponseWriter, r *http.Request, _ *Principal, body []byte) error {
	var req guestTokenRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	m, err := a.meetings.CheckLinkToken(r.PathValue("id"), req.LinkToken)
	if errors.Is(err, meeting.ErrNotFound) {
		return errorf(http.StatusNotFound, CodeNotFound, "no meeting has this id and link token")
	}
	if err != nil {
		return err
	}
	switch {
	case m.Finished():
		return errorf(http.StatusConflict, CodeConflict, "the meeting is "+string(m.Status))
	case !m.Settings.AllowGuests:
		return errorf(http.StatusForbidden, CodeForbidden, "this meeting does not admit guests; ask the host to allow them")
	}
	tok, err := a.auth.IssueGuest(auth.TokenScope{Kind: auth.ScopeKindMeeting, ID: m.ID}, req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		auth.GuestToken
		MeetingID string `json:"meeting_id"`
	}{tok, m.ID})
	return nil
}
