package meetingws

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"

	"parley/chat/audit"
	"parley/sfu/rtc"
	"parley/signaling/ws"
)

// Error codes of meeting requests, sent in "error" messages.
const (
	CodeInvalid       = "invalid_argument" // malformed data or SDP; the message says which field
	CodeNotFound      = "not_found"        // no such meeting, participant or track
	CodeForbidden     = "forbidden"        // the role, the token or the meeting's settings do not allow it
	CodeBanned        = "banned"           // banned from this meeting
	CodeLocked        = "locked"           // the meeting is locked
	CodeEnded         = "meeting_ended"    // the meeting has ended or was cancelled
	CodeLimit         = "limit_reached"    // a named limit would be passed
	CodeNotJoined     = "not_joined"       // the session is in no meeting: join first
	CodeAlreadyJoined = "already_joined"   // the session is in a meeting already: leave first
	CodeBadState      = "bad_state"        // not in this state, e.g. publishing from the waiting room
	CodeResumeFailed  = "resume_failed"    // wrong token or grace period over: join again
	CodeInternal      = "internal"
)

// Identity is who a session speaks for in meetings.
type Identity struct {
	// UserID is the member id, or a guest's guest id.
	UserID string
	// Name is the display name others see.
	Name  string
	Guest bool
	// MeetingID is the one meeting a guest's token admits to; empty for
	// members.
	MeetingID string
}

// Deps is what the meeting handlers need.
type Deps struct {
	Rooms *rtc.Manager
	Audit *audit.Log
	// Identify says who a session speaks for; ok false refuses every
	// meeting request of the session (a token scoped to a live, say).
	Identify func(s *ws.Session) (id Identity, ok bool)
	Logger   *slog.Logger
}

type handlers struct {
	Deps

	mu       sync.Mutex
	sessions map[*ws.Session]*binding
}

// binding is a session's place in a meeting.
type binding struct {
	p    *rtc.Participant
	sink *sink
}

// Register adds the meeting request handlers to each hub: the member hub
// and the guest endpoint's.
func Register(d Deps, hubs ...*ws.Hub) error {
	if d.Rooms == nil || d.Audit == nil || d.Identify == nil || d.Logger == nil {
		return errors.New("meetingws: Rooms, Audit, Identify and Logger are required")
	}
	hs := &handlers{Deps: d, sessions: map[*ws.Session]*binding{}}
	for typ, fn := range map[string]ws.Handler{
		"meeting.join":              hs.join,
		"meeting.resume":            hs.resume,
		"meeting.leave":             hs.leave,
		"meeting.publish":           hs.publish,
		"meeting.offer":             hs.offer,
		"meeting.unpublish":         hs.unpublish,
		"meeting.subscriber_answer": hs.subscriberAnswer,
		"meeting.candidate":         hs.candidate,
		"meeting.subscribe":         hs.subscribe,
		"meeting.unsubscribe":       hs.unsubscribe,
		"meeting.mute":              hs.mute,
		"meeting.host.mute":         hs.hostMute,
		"meeting.host.mute_all":     hs.hostMuteAll,
		"meeting.host.remove":       hs.hostRemove,
		"meeting.host.lock":         hs.hostLock,
		"meeting.host.waiting_room": hs.hostWaitingRoom,
		"meeting.host.screen_share": hs.hostScreenShare,
		"meeting.host.admit":        hs.hostAdmit,
		"meeting.host.deny":         hs.hostDeny,
		"meeting.host.cohost":       hs.hostCoHost,
		"meeting.host.transfer":     hs.hostTransfer,
		"meeting.host.end":          hs.hostEnd,
		"meeting.host.record":       hs.hostRecord,
	} {
		for _, h := range hubs {
			h.Handle(typ, fn)
		}
	}
	return nil
}

// sink turns a participant's events into frames on its session. It never
// blocks: the session's own bounded queue takes them, and a session too
// slow for that is closed (4008), which leaves the participant
// reconnecting until the client resumes.
type sink struct {
	s   *ws.Session
	log *slog.Logger
}

func (k *sink) Send(e rtc.Event) bool {
	frame, err := ws.Encode("meeting."+string(e.Type), "", e.Data)
	if err != nil {
		k.log.Error("meetingws: encode event", "type", e.Type, "err", err)
		return true
	}
	return k.s.Send(frame)
}

// Lost closes the session as too slow, as the hub does when its own queue
// overflows: the client reconnects and resumes.
func (k *sink) Lost() {
	k.s.Close(ws.CloseTooSlow, "meeting events overflow; reconnect and resume")
}

// participant is the session's participant, or nil after answering the
// request with not_joined.
func (hs *handlers) participant(s *ws.Session, m ws.Message) *rtc.Participant {
	hs.mu.Lock()
	b := hs.sessions[s]
	hs.mu.Unlock()
	if b == nil {
		s.ReplyError(m, CodeNotJoined, "this session is in no meeting; send meeting.join first")
		return nil
	}
	select {
	case <-b.p.Left():
		s.ReplyError(m, CodeNotJoined, "you are no longer in the meeting; join again")
		return nil
	default:
	}
	return b.p
}

// bind makes p the session's participant and starts delivering its
// events. The reply holding the snapshot must be queued first.
func (hs *handlers) bind(s *ws.Session, p *rtc.Participant) {
	k := &sink{s: s, log: hs.Logger}
	b := &binding{p: p, sink: k}
	hs.mu.Lock()
	hs.sessions[s] = b
	hs.mu.Unlock()
	p.Attach(k)
	go hs.watch(s, b)
}

// watch ends a binding with its session (the participant reconnects) or
// with its participant (it left, was removed, or resumed elsewhere).
func (hs *handlers) watch(s *ws.Session, b *binding) {
	select {
	case <-s.Context().Done():
		b.p.Disconnect(b.sink)
	case <-b.p.Left():
	}
	hs.mu.Lock()
	if hs.sessions[s] == b {
		delete(hs.sessions, s)
	}
	hs.mu.Unlock()
}

// claim reserves the session for a join or resume: it must be in no
// meeting. The caller binds or calls release.
func (hs *handlers) claim(s *ws.Session, m ws.Message) bool {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if b := hs.sessions[s]; b != nil {
		select {
		case <-b.p.Left():
		default:
			s.ReplyError(m, CodeAlreadyJoined, "this session is in a meeting already; send meeting.leave first")
			return false
		}
	}
	hs.sessions[s] = nil // reserved; a concurrent join cannot take it
	return true
}

func (hs *handlers) release(s *ws.Session) {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.sessions[s] == nil {
		delete(hs.sessions, s)
	}
}

// decode reads a request's data; on failure it answers the request and
// reports false. Requests whose fields are all optional pass allowEmpty.
func decode(s *ws.Session, m ws.Message, v any, allowEmpty bool) bool {
	if len(m.Data) == 0 && allowEmpty {
		return true
	}
	if err := json.Unmarshal(m.Data, v); err != nil || len(m.Data) == 0 {
		s.ReplyError(m, CodeInvalid, m.Type+": data is missing or malformed")
		return false
	}
	return true
}

// fail answers a request with the error code its cause maps to.
func (hs *handlers) fail(s *ws.Session, m ws.Message, err error) {
	code := CodeInternal
	switch {
	case errors.Is(err, rtc.ErrInvalid):
		code = CodeInvalid
	case errors.Is(err, rtc.ErrNotFound):
		code = CodeNotFound
	case errors.Is(err, rtc.ErrForbidden):
		code = CodeForbidden
	case errors.Is(err, rtc.ErrBanned):
		code = CodeBanned
	case errors.Is(err, rtc.ErrLocked):
		code = CodeLocked
	case errors.Is(err, rtc.ErrEnded):
		code = CodeEnded
	case errors.Is(err, rtc.ErrLimit):
		code = CodeLimit
	case errors.Is(err, rtc.ErrState):
		code = CodeBadState
	case errors.Is(err, rtc.ErrResume):
		code = CodeResumeFailed
	}
	if code == CodeInternal {
		hs.Logger.Error("meeting request failed", "type", m.Type, "member", s.MemberID(), "err", err)
		s.ReplyError(m, code, "internal error")
		return
	}
	s.ReplyError(m, code, err.Error())
}

// ok answers a request that returns nothing more.
func ok(s *ws.Session, m ws.Message) { s.Reply(m, "meeting.ok", struct{}{}) }

type joinRequest struct {
	MeetingID string `json:"meeting_id"`
	// AutoSubscribe defaults to true.
	AutoSubscribe *bool `json:"auto_subscribe"`
}

// identify returns the session's identity for meetingID, or answers the
// request with forbidden.
func (hs *handlers) identify(s *ws.Session, m ws.Message, meetingID string) (Identity, bool) {
	id, ok := hs.Identify(s)
	switch {
	case !ok:
		s.ReplyError(m, CodeForbidden, "this token does not admit you to meetings")
		return Identity{}, false
	case id.Guest && id.MeetingID != meetingID:
		s.ReplyError(m, CodeForbidden, "this guest token admits you to another meeting")
		return Identity{}, false
	}
	return id, true
}

// join admits the session to a meeting, answering with meeting.joined and
// a snapshot: joined, or waiting for a host to admit it.
func (hs *handlers) join(ctx context.Context, s *ws.Session, m ws.Message) {
	var req joinRequest
	if !decode(s, m, &req, false) {
		return
	}
	if req.MeetingID == "" {
		s.ReplyError(m, CodeInvalid, "meeting.join needs data.meeting_id")
		return
	}
	id, ok := hs.identify(s, m, req.MeetingID)
	if !ok || !hs.claim(s, m) {
		return
	}
	auto := req.AutoSubscribe == nil || *req.AutoSubscribe
	p, snap, err := hs.Rooms.Join(req.MeetingID, rtc.Identity{ID: id.UserID, Name: id.Name, Guest: id.Guest},
		rtc.JoinOptions{AutoSubscribe: auto})
	if err != nil {
		hs.release(s)
		hs.fail(s, m, err)
		return
	}
	s.Reply(m, "meeting.joined", snap)
	hs.bind(s, p)
}

type resumeRequest struct {
	MeetingID     string `json:"meeting_id"`
	ParticipantID string `json:"participant_id"`
	ResumeToken   string `json:"resume_token"`
}

// resume gives the session a participant whose connection dropped,
// answering with meeting.resumed and a fresh snapshot. The server then
// offers the subscriber connection with an ICE restart; the client
// restarts ICE on its publisher connection with meeting.offer.
func (hs *handlers) resume(ctx context.Context, s *ws.Session, m ws.Message) {
	var req resumeRequest
	if !decode(s, m, &req, false) {
		return
	}
	if req.MeetingID == "" || req.ParticipantID == "" || req.ResumeToken == "" {
		s.ReplyError(m, CodeInvalid, "meeting.resume needs data.meeting_id, participant_id and resume_token")
		return
	}
	id, ok := hs.identify(s, m, req.MeetingID)
	if !ok || !hs.claim(s, m) {
		return
	}
	p, snap, err := hs.Rooms.Resume(req.MeetingID, req.ParticipantID, req.ResumeToken,
		rtc.Identity{ID: id.UserID, Name: id.Name, Guest: id.Guest})
	if err != nil {
		hs.release(s)
		hs.fail(s, m, err)
		return
	}
	s.Reply(m, "meeting.resumed", snap)
	hs.bind(s, p)
}

// leave takes the session's participant out of its meeting.
func (hs *handlers) leave(ctx context.Context, s *ws.Session, m ws.Message) {
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	p.Leave()
	hs.mu.Lock()
	if b := hs.sessions[s]; b != nil && b.p == p {
		delete(hs.sessions, s)
	}
	hs.mu.Unlock()
	ok(s, m)
}
