package meetingws

import (
	"context"

	"parley/chat/audit"
	"parley/sfu/rtc"
	"parley/signaling/ws"
)

// Audit actions of host controls. Each entry's target is the meeting
// (target_type "meeting", target_id its id); After holds the details:
// the participant acted on (participant_id, user_id, name) and the
// action's arguments.
const (
	ActionMute        = "meeting.mute"
	ActionMuteAll     = "meeting.mute_all"
	ActionRemove      = "meeting.remove"
	ActionLock        = "meeting.lock"
	ActionWaitingRoom = "meeting.waiting_room"
	ActionScreenShare = "meeting.screen_share"
	ActionAdmit       = "meeting.admit"
	ActionDeny        = "meeting.deny"
	ActionCoHost      = "meeting.cohost"
	ActionTransfer    = "meeting.transfer_host"
	ActionEnd         = "meeting.end"
	ActionRecord      = "meeting.record"
)

// record writes a host control to the audit log. The action has taken
// effect already, so a failed write is logged rather than answered.
func (hs *handlers) record(actor *rtc.Participant, action string, details map[string]any) {
	e := audit.Entry{
		Actor:      actor.UserID(),
		Action:     action,
		TargetType: "meeting",
		TargetID:   actor.Room().ID(),
		After:      audit.JSON(details),
	}
	if _, err := hs.Audit.Record(e); err != nil {
		hs.Logger.Error("meetingws: audit host control", "action", action, "meeting", e.TargetID, "err", err)
	}
}

// target describes the participant a host control acted on, for the
// audit entry.
func target(info rtc.ParticipantInfo) map[string]any {
	return map[string]any{"participant_id": info.ID, "user_id": info.UserID, "name": info.Name}
}

type hostMuteRequest struct {
	ParticipantID string     `json:"participant_id"`
	Source        rtc.Source `json:"source"`
	// AllowUnmute defaults to true.
	AllowUnmute *bool `json:"allow_unmute"`
}

func (hs *handlers) hostMute(ctx context.Context, s *ws.Session, m ws.Message) {
	var req hostMuteRequest
	if !decode(s, m, &req, false) {
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	if req.Source == "" {
		req.Source = rtc.SourceMicrophone
	}
	allow := req.AllowUnmute == nil || *req.AllowUnmute
	info, err := p.Room().Mute(p, req.ParticipantID, req.Source, allow)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	d := target(info)
	d["source"], d["allow_unmute"] = req.Source, allow
	hs.record(p, ActionMute, d)
	ok(s, m)
}

type muteAllRequest struct {
	AllowUnmute *bool `json:"allow_unmute"`
}

type mutedReply struct {
	Muted int `json:"muted"`
}

func (hs *handlers) hostMuteAll(ctx context.Context, s *ws.Session, m ws.Message) {
	var req muteAllRequest
	if !decode(s, m, &req, true) {
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	allow := req.AllowUnmute == nil || *req.AllowUnmute
	n, err := p.Room().MuteAll(p, allow)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	hs.record(p, ActionMuteAll, map[string]any{"allow_unmute": allow, "muted": n})
	s.Reply(m, "meeting.ok", mutedReply{Muted: n})
}

type removeRequest struct {
	ParticipantID string `json:"participant_id"`
	Ban           bool   `json:"ban"`
}

func (hs *handlers) hostRemove(ctx context.Context, s *ws.Session, m ws.Message) {
	var req removeRequest
	if !decode(s, m, &req, false) {
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	info, err := p.Room().Remove(p, req.ParticipantID, req.Ban)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	d := target(info)
	d["ban"] = req.Ban
	hs.record(p, ActionRemove, d)
	ok(s, m)
}

type switchRequest struct {
	Locked  *bool `json:"locked"`
	Enabled *bool `json:"enabled"`
	Allowed *bool `json:"allowed"`
}

// flag reads the one boolean a settings request must carry.
func flag(s *ws.Session, m ws.Message, v *bool, name string) (bool, bool) {
	if v == nil {
		s.ReplyError(m, CodeInvalid, m.Type+" needs data."+name)
		return false, false
	}
	return *v, true
}

func (hs *handlers) hostLock(ctx context.Context, s *ws.Session, m ws.Message) {
	var req switchRequest
	if !decode(s, m, &req, false) {
		return
	}
	locked, good := flag(s, m, req.Locked, "locked")
	if !good {
		return
	}
	hs.setting(s, m, ActionLock, map[string]any{"locked": locked}, func(p *rtc.Participant) error {
		_, err := p.Room().SetLocked(p, locked)
		return err
	})
}

func (hs *handlers) hostWaitingRoom(ctx context.Context, s *ws.Session, m ws.Message) {
	var req switchRequest
	if !decode(s, m, &req, false) {
		return
	}
	on, good := flag(s, m, req.Enabled, "enabled")
	if !good {
		return
	}
	hs.setting(s, m, ActionWaitingRoom, map[string]any{"enabled": on}, func(p *rtc.Participant) error {
		_, err := p.Room().SetWaitingRoom(p, on)
		return err
	})
}

func (hs *handlers) hostScreenShare(ctx context.Context, s *ws.Session, m ws.Message) {
	var req switchRequest
	if !decode(s, m, &req, false) {
		return
	}
	allowed, good := flag(s, m, req.Allowed, "allowed")
	if !good {
		return
	}
	hs.setting(s, m, ActionScreenShare, map[string]any{"allowed": allowed}, func(p *rtc.Participant) error {
		_, err := p.Room().SetScreenShare(p, allowed)
		return err
	})
}

// setting runs a settings change and audits it. Everyone hears the new
// settings as meeting.settings.
func (hs *handlers) setting(s *ws.Session, m ws.Message, action string, d map[string]any, change func(*rtc.Participant) error) {
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	if err := change(p); err != nil {
		hs.fail(s, m, err)
		return
	}
	hs.record(p, action, d)
	ok(s, m)
}

type participantRequest struct {
	ParticipantID string `json:"participant_id"`
}

func (hs *handlers) hostAdmit(ctx context.Context, s *ws.Session, m ws.Message) {
	hs.onParticipant(s, m, ActionAdmit, (*rtc.Room).Admit)
}

func (hs *handlers) hostDeny(ctx context.Context, s *ws.Session, m ws.Message) {
	hs.onParticipant(s, m, ActionDeny, (*rtc.Room).Deny)
}

func (hs *handlers) hostTransfer(ctx context.Context, s *ws.Session, m ws.Message) {
	hs.onParticipant(s, m, ActionTransfer, (*rtc.Room).TransferHost)
}

// onParticipant runs a host control that names one participant.
func (hs *handlers) onParticipant(s *ws.Session, m ws.Message, action string,
	do func(r *rtc.Room, actor *rtc.Participant, targetID string) (rtc.ParticipantInfo, error)) {
	var req participantRequest
	if !decode(s, m, &req, false) {
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	info, err := do(p.Room(), p, req.ParticipantID)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	hs.record(p, action, target(info))
	ok(s, m)
}

type cohostRequest struct {
	ParticipantID string `json:"participant_id"`
	CoHost        *bool  `json:"cohost"`
}

func (hs *handlers) hostCoHost(ctx context.Context, s *ws.Session, m ws.Message) {
	var req cohostRequest
	if !decode(s, m, &req, false) {
		return
	}
	cohost, good := flag(s, m, req.CoHost, "cohost")
	if !good {
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	info, err := p.Room().SetCoHost(p, req.ParticipantID, cohost)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	d := target(info)
	d["cohost"] = cohost
	hs.record(p, ActionCoHost, d)
	ok(s, m)
}

func (hs *handlers) hostEnd(ctx context.Context, s *ws.Session, m ws.Message) {
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	if err := p.Room().End(p); err != nil {
		hs.fail(s, m, err)
		return
	}
	hs.record(p, ActionEnd, map[string]any{})
	ok(s, m)
}

type recordRequest struct {
	Recording *bool `json:"recording"`
}

// hostRecord starts or stops the meeting's recording. The reply carries
// the recording's id and state: starting (everyone hears
// meeting.recording once media is on disk), or stopped (the files are
// finished).
func (hs *handlers) hostRecord(ctx context.Context, s *ws.Session, m ws.Message) {
	var req recordRequest
	if !decode(s, m, &req, false) {
		return
	}
	on, good := flag(s, m, req.Recording, "recording")
	if !good {
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	var info rtc.RecordingInfo
	var err error
	if on {
		info, err = p.Room().StartRecording(p)
	} else {
		info, err = p.Room().StopRecording(p)
	}
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	hs.record(p, ActionRecord, map[string]any{"recording": on, "recording_id": info.ID})
	s.Reply(m, "meeting.ok", info)
}
