package meetingws

import (
	"context"

	"github.com/pion/webrtc/v3"

	"parley/sfu/rtc"
	"parley/signaling/ws"
)

type publishRequest struct {
	SDP    string             `json:"sdp"`
	Tracks []rtc.PublishTrack `json:"tracks"`
}

type publishedReply struct {
	SDP    string          `json:"sdp"`
	Tracks []rtc.TrackInfo `json:"tracks"`
}

// publish applies a publisher offer that adds tracks, answering with
// meeting.published: the server's answer and the declared tracks' ids.
func (hs *handlers) publish(ctx context.Context, s *ws.Session, m ws.Message) {
	var req publishRequest
	if !decode(s, m, &req, false) {
		return
	}
	if req.SDP == "" || len(req.Tracks) == 0 {
		s.ReplyError(m, CodeInvalid, "meeting.publish needs data.sdp and data.tracks; renegotiate without new tracks with meeting.offer")
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	answer, tracks, err := p.Publish(req.SDP, req.Tracks)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	s.Reply(m, "meeting.published", publishedReply{SDP: answer, Tracks: tracks})
}

type sdpMessage struct {
	SDP string `json:"sdp"`
}

// offer applies a publisher offer that adds no track: a renegotiation
// after unpublishing, or an ICE restart. The reply is meeting.answer.
func (hs *handlers) offer(ctx context.Context, s *ws.Session, m ws.Message) {
	var req sdpMessage
	if !decode(s, m, &req, false) {
		return
	}
	if req.SDP == "" {
		s.ReplyError(m, CodeInvalid, "meeting.offer needs data.sdp")
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	answer, _, err := p.Publish(req.SDP, nil)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	s.Reply(m, "meeting.answer", sdpMessage{SDP: answer})
}

type trackRequest struct {
	TrackID string `json:"track_id"`
}

// unpublish stops one of the session's tracks.
func (hs *handlers) unpublish(ctx context.Context, s *ws.Session, m ws.Message) {
	var req trackRequest
	if !decode(s, m, &req, false) {
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	if err := p.Unpublish(req.TrackID); err != nil {
		hs.fail(s, m, err)
		return
	}
	ok(s, m)
}

// subscriberAnswer applies the client's answer to the server's latest
// meeting.subscriber_offer.
func (hs *handlers) subscriberAnswer(ctx context.Context, s *ws.Session, m ws.Message) {
	var req sdpMessage
	if !decode(s, m, &req, false) {
		return
	}
	if req.SDP == "" {
		s.ReplyError(m, CodeInvalid, "meeting.subscriber_answer needs data.sdp")
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	if err := p.AnswerSubscriber(req.SDP); err != nil {
		hs.fail(s, m, err)
		return
	}
	ok(s, m)
}

type candidateRequest struct {
	Target    string                  `json:"target"`
	Candidate webrtc.ICECandidateInit `json:"candidate"`
}

// candidate adds one of the client's trickled ICE candidates. It has no
// reply unless it fails.
func (hs *handlers) candidate(ctx context.Context, s *ws.Session, m ws.Message) {
	var req candidateRequest
	if !decode(s, m, &req, false) {
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	if err := p.AddCandidate(req.Target, req.Candidate); err != nil {
		hs.fail(s, m, err)
	}
}

type subscribeRequest struct {
	TrackID string `json:"track_id"`
	rtc.Preferences
}

// subscribe starts receiving a track, or changes the layer or size
// wanted of one already received.
func (hs *handlers) subscribe(ctx context.Context, s *ws.Session, m ws.Message) {
	var req subscribeRequest
	if !decode(s, m, &req, false) {
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	if err := p.Subscribe(req.TrackID, req.Preferences); err != nil {
		hs.fail(s, m, err)
		return
	}
	ok(s, m)
}

// unsubscribe stops receiving a track.
func (hs *handlers) unsubscribe(ctx context.Context, s *ws.Session, m ws.Message) {
	var req trackRequest
	if !decode(s, m, &req, false) {
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	if err := p.Unsubscribe(req.TrackID); err != nil {
		hs.fail(s, m, err)
		return
	}
	ok(s, m)
}

type muteRequest struct {
	Source rtc.Source `json:"source"`
	Muted  bool       `json:"muted"`
}

// mute mutes or unmutes one of the session's own sources.
func (hs *handlers) mute(ctx context.Context, s *ws.Session, m ws.Message) {
	var req muteRequest
	if !decode(s, m, &req, false) {
		return
	}
	p := hs.participant(s, m)
	if p == nil {
		return
	}
	if err := p.SetMuted(req.Source, req.Muted); err != nil {
		hs.fail(s, m, err)
		return
	}
	ok(s, m)
}
