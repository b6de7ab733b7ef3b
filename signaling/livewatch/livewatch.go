package livewatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/pion/webrtc/v3"

	"parley/sfu/live"
	"parley/sfu/transport"
	"parley/signaling/whip"
	"parley/signaling/ws"
)

// MaxWatchesPerSession bounds the lives one socket watches at once.
const MaxWatchesPerSession = 4

// MaxCandidateBytes bounds one trickled candidate.
const MaxCandidateBytes = 1024

// Error codes of watch requests, sent in "error" messages.
const (
	CodeInvalid   = "invalid_argument"
	CodeNotFound  = "not_found"    // no such live, or the member may not watch it
	CodeNotOnAir  = "not_on_air"   // the live has no media here now; try again later
	CodeNotWatch  = "not_watching" // live.watch first
	CodeCodec     = "unsupported_codec"
	CodeCapacity  = "capacity" // this server has no room for another viewer
	CodeLimit     = "limit_reached"
	CodeInternal  = "internal"
	CodeBadAnswer = "bad_sdp"
)

// Deps are what the handlers stand on. All are required.
type Deps struct {
	Broadcasts *live.Broadcasts
	Access     *whip.Access
	Logger     *slog.Logger
}

type handlers struct {
	Deps
	mu       sync.Mutex
	sessions map[*ws.Session]map[string]*live.Playback // by live id
}

// Register adds the watch requests to the member hub.
func Register(h *ws.Hub, d Deps) error {
	if d.Broadcasts == nil || d.Access == nil || d.Logger == nil {
		return errors.New("livewatch: Broadcasts, Access and Logger are required")
	}
	hs := &handlers{Deps: d, sessions: map[*ws.Session]map[string]*live.Playback{}}
	h.Handle("live.watch", hs.watch)
	h.Handle("live.watch.answer", hs.answer)
	h.Handle("live.watch.candidate", hs.candidate)
	h.Handle("live.unwatch", hs.unwatch)
	return nil
}

// watchRequest is live.watch's data.
type watchRequest struct {
	LiveID string `json:"live_id"`
	// MaxWidth and MaxHeight are the size the client shows the picture
	// at; the server sends no larger simulcast layer. Zero: no cap.
	MaxWidth  int `json:"max_width"`
	MaxHeight int `json:"max_height"`
}

// sdpMessage carries a description: the server's offer
// (live.watch.offer) or the client's answer (live.watch.answer).
type sdpMessage struct {
	LiveID string `json:"live_id"`
	SDP    string `json:"sdp"`
}

type candidateRequest struct {
	LiveID    string                  `json:"live_id"`
	Candidate webrtc.ICECandidateInit `json:"candidate"`
}

type liveRef struct {
	LiveID string `json:"live_id"`
}

// endedMessage is live.watch.ended's data.
type endedMessage struct {
	LiveID string `json:"live_id"`
	Reason string `json:"reason"`
}

func decode(s *ws.Session, m ws.Message, v any) bool {
	if len(m.Data) == 0 || json.Unmarshal(m.Data, v) != nil {
		s.ReplyError(m, CodeInvalid, m.Type+": data is missing or malformed")
		return false
	}
	return true
}

func (hs *handlers) watch(ctx context.Context, s *ws.Session, m ws.Message) {
	var req watchRequest
	if !decode(s, m, &req) {
		return
	}
	if req.LiveID == "" {
		s.ReplyError(m, CodeInvalid, "live_id is required")
		return
	}
	l, err := hs.Access.Lives.Get(req.LiveID)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	v, err := hs.Access.MemberViewer(l, s.MemberID())
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	hs.mu.Lock()
	mine := hs.sessions[s]
	old := mine[l.ID]
	if old == nil && len(mine) >= MaxWatchesPerSession {
		hs.mu.Unlock()
		s.ReplyError(m, CodeLimit, fmt.Sprintf("a socket watches at most %d lives at once", MaxWatchesPerSession))
		return
	}
	delete(mine, l.ID)
	hs.mu.Unlock()
	if old != nil {
		old.Close() // watching again replaces the old session, quietly
	}
	p, offer, err := hs.Broadcasts.Watch(ctx, l.ID, v, live.WatchOptions{MaxWidth: req.MaxWidth, MaxHeight: req.MaxHeight})
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	hs.mu.Lock()
	if hs.sessions[s] == nil {
		hs.sessions[s] = map[string]*live.Playback{}
	}
	hs.sessions[s][l.ID] = p
	hs.mu.Unlock()
	go hs.follow(s, l.ID, p)
	s.Reply(m, "live.watch.offer", sdpMessage{LiveID: l.ID, SDP: offer})
}

// follow ends the playback with the socket, and tells the client when
// the playback ends on its own.
func (hs *handlers) follow(s *ws.Session, liveID string, p *live.Playback) {
	select {
	case <-s.Context().Done():
		p.Close()
	case <-p.Done():
	}
	hs.mu.Lock()
	current := hs.sessions[s][liveID] == p
	if current {
		delete(hs.sessions[s], liveID)
		if len(hs.sessions[s]) == 0 {
			delete(hs.sessions, s)
		}
	}
	hs.mu.Unlock()
	if current && s.Context().Err() == nil {
		frame, err := ws.Encode("live.watch.ended", "", endedMessage{LiveID: liveID, Reason: "the live ended or the connection closed"})
		if err == nil {
			s.Send(frame)
		}
	}
}

// playback is the session's watch of a live, or nil.
func (hs *handlers) playback(s *ws.Session, liveID string) *live.Playback {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	return hs.sessions[s][liveID]
}

func (hs *handlers) answer(ctx context.Context, s *ws.Session, m ws.Message) {
	var req sdpMessage
	if !decode(s, m, &req) {
		return
	}
	p := hs.playback(s, req.LiveID)
	if p == nil {
		s.ReplyError(m, CodeNotWatch, "not watching this live: send live.watch first")
		return
	}
	if err := p.Answer(req.SDP); err != nil {
		hs.fail(s, m, err)
		return
	}
	s.Reply(m, "live.watch.ok", liveRef{LiveID: req.LiveID})
}

func (hs *handlers) candidate(ctx context.Context, s *ws.Session, m ws.Message) {
	var req candidateRequest
	if !decode(s, m, &req) {
		return
	}
	if len(req.Candidate.Candidate) > MaxCandidateBytes {
		s.ReplyError(m, CodeInvalid, fmt.Sprintf("candidate is over %d bytes", MaxCandidateBytes))
		return
	}
	p := hs.playback(s, req.LiveID)
	if p == nil {
		s.ReplyError(m, CodeNotWatch, "not watching this live: send live.watch first")
		return
	}
	if err := p.AddCandidate(req.Candidate); err != nil {
		hs.fail(s, m, err)
		return
	}
	s.Reply(m, "live.watch.ok", liveRef{LiveID: req.LiveID})
}

func (hs *handlers) unwatch(ctx context.Context, s *ws.Session, m ws.Message) {
	var req liveRef
	if !decode(s, m, &req) {
		return
	}
	hs.mu.Lock()
	p := hs.sessions[s][req.LiveID]
	if p != nil {
		delete(hs.sessions[s], req.LiveID) // no live.watch.ended for a watch the client ended
	}
	hs.mu.Unlock()
	if p == nil {
		s.ReplyError(m, CodeNotWatch, "not watching this live")
		return
	}
	p.Close()
	s.Reply(m, "live.unwatched", req)
}

// fail answers a request with the error code err maps to.
func (hs *handlers) fail(s *ws.Session, m ws.Message, err error) {
	switch {
	case errors.Is(err, live.ErrNotFound), errors.Is(err, whip.ErrNoLive), errors.Is(err, whip.ErrUnauthenticated):
		s.ReplyError(m, CodeNotFound, whip.ErrNoLive.Error())
	case errors.Is(err, live.ErrNotOnAir):
		s.ReplyError(m, CodeNotOnAir, "the live is not on air; watch again when it is")
	case errors.Is(err, live.ErrCapacity), errors.Is(err, context.DeadlineExceeded):
		s.ReplyError(m, CodeCapacity, err.Error())
	case errors.Is(err, live.ErrCodec):
		s.ReplyError(m, CodeCodec, err.Error())
	case errors.Is(err, transport.ErrMalformedSDP), errors.Is(err, transport.ErrSDPTooLarge),
		errors.Is(err, transport.ErrUnsupportedCodec), errors.Is(err, transport.ErrDataChannel):
		s.ReplyError(m, CodeBadAnswer, err.Error())
	case errors.Is(err, live.ErrInvalid), errors.Is(err, live.ErrICE), errors.Is(err, live.ErrState):
		s.ReplyError(m, CodeInvalid, err.Error())
	default:
		hs.Logger.Error("live watch request failed", "type", m.Type, "err", err)
		s.ReplyError(m, CodeInternal, "internal error")
	}
}
