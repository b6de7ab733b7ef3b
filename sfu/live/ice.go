package live

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"

	"parley/sfu/transport"
)

// MaxTrickleCandidates bounds the candidates one trickle or ICE restart
// may carry. A client has a handful of interfaces; more is abuse.
const MaxTrickleCandidates = 64

// ICEParams are one side's ICE credentials and candidates, as a WHIP or
// WHEP PATCH (an SDP fragment) carries them.
type ICEParams struct {
	Ufrag, Pwd string
	// Media and MID name the first media section ("audio", "0"), with
	// which a fragment bundles its candidates. Only RestartICE fills them.
	Media, MID string
	// Candidates are candidate attribute values without "a=", such as
	// "candidate:1 1 udp 2130706431 192.0.2.1 50000 typ host".
	Candidates []string
}

// iceSession is the part of a WHIP or WHEP resource that PATCH works
// on: the client's trickled candidates and its ICE restarts, on a
// connection where the client made the offer. The entity tag names the
// server's current ICE credentials; a restart makes a new one.
type iceSession struct {
	mu      sync.Mutex // held across every negotiation step on pc
	pc      *webrtc.PeerConnection
	etag    string
	offerer bool // the server made the offer: no PATCH restart
}

func newETag() string { return `"` + rand.Text() + `"` }

// ETag is the resource's entity tag, quoted, as the ETag header carries
// it. It changes with every ICE restart.
func (s *iceSession) ETag() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.etag
}

// answer applies the client's first offer and returns the answer with
// every server candidate in it.
func (s *iceSession) answer(ctx context.Context, offer string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	answer, err := transport.Answer(ctx, s.pc, offer)
	if err != nil {
		return "", err
	}
	s.etag = newETag()
	return answer, nil
}

// Trickle adds candidates the client gathered after its offer. ufrag,
// when set, must be the client's current one: a fragment for an older
// ICE session is ErrICE.
func (s *iceSession) Trickle(p ICEParams) error {
	if len(p.Candidates) > MaxTrickleCandidates {
		return fmt.Errorf("%w: %d candidates, limit %d", ErrICE, len(p.Candidates), MaxTrickleCandidates)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	remote := s.pc.RemoteDescription()
	if remote == nil {
		return fmt.Errorf("%w: the session has no offer yet", ErrICE)
	}
	if p.Ufrag != "" {
		have, _, err := iceOf(remote.SDP)
		if err != nil {
			return err
		}
		if p.Ufrag != have.Ufrag {
			return fmt.Errorf("%w: ice-ufrag %q is not the session's", ErrICE, p.Ufrag)
		}
	}
	return s.addCandidates(p.Candidates)
}

func (s *iceSession) addCandidates(cands []string) error {
	for _, c := range cands {
		if err := s.pc.AddICECandidate(webrtc.ICECandidateInit{Candidate: c}); err != nil {
			return fmt.Errorf("%w: candidate %q: %v", ErrICE, c, err)
		}
	}
	return nil
}

// RestartICE restarts ICE with the client's new credentials and
// candidates, and returns the server's new credentials and candidates
// and the new entity tag. The client's offer is applied again with the
// new credentials, which makes the connection gather afresh under new
// ones of its own; media keeps flowing on the old path until the new one
// is chosen.
func (s *iceSession) RestartICE(ctx context.Context, p ICEParams) (ICEParams, string, error) {
	if p.Ufrag == "" || p.Pwd == "" {
		return ICEParams{}, "", fmt.Errorf("%w: an ICE restart needs ice-ufrag and ice-pwd", ErrICE)
	}
	if len(p.Candidates) > MaxTrickleCandidates {
		return ICEParams{}, "", fmt.Errorf("%w: %d candidates, limit %d", ErrICE, len(p.Candidates), MaxTrickleCandidates)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.offerer {
		return ICEParams{}, "", fmt.Errorf("%w: the server made this session's offer; it restarts ICE itself", ErrICE)
	}
	remote := s.pc.RemoteDescription()
	if remote == nil {
		return ICEParams{}, "", fmt.Errorf("%w: the session has no offer yet", ErrICE)
	}
	offer, err := withICE(remote.SDP, p.Ufrag, p.Pwd)
	if err != nil {
		return ICEParams{}, "", err
	}
	answer, err := transport.Answer(ctx, s.pc, offer)
	if err != nil {
		return ICEParams{}, "", fmt.Errorf("restart ICE: %w", err)
	}
	if err := s.addCandidates(p.Candidates); err != nil {
		return ICEParams{}, "", err
	}
	local, cands, err := iceOf(answer)
	if err != nil {
		return ICEParams{}, "", err
	}
	local.Candidates = cands
	s.etag = newETag()
	return local, s.etag, nil
}

// iceOf reads the ICE credentials (session level, else the first media
// section's) and the distinct candidates of an SDP.
func iceOf(raw string) (ICEParams, []string, error) {
	var desc sdp.SessionDescription
	if err := desc.UnmarshalString(raw); err != nil {
		return ICEParams{}, nil, fmt.Errorf("%w: %v", transport.ErrMalformedSDP, err)
	}
	var p ICEParams
	p.Ufrag, _ = desc.Attribute("ice-ufrag")
	p.Pwd, _ = desc.Attribute("ice-pwd")
	var cands []string
	for n, m := range desc.MediaDescriptions {
		if n == 0 {
			p.Media = m.MediaName.Media
			p.MID, _ = m.Attribute("mid")
		}
		if p.Ufrag == "" {
			p.Ufrag, _ = m.Attribute("ice-ufrag")
		}
		if p.Pwd == "" {
			p.Pwd, _ = m.Attribute("ice-pwd")
		}
		for _, a := range m.Attributes {
			if a.IsICECandidate() {
				if c := "candidate:" + a.Value; !slices.Contains(cands, c) {
					cands = append(cands, c)
				}
			}
		}
	}
	return p, cands, nil
}

// withICE rewrites an offer with new ICE credentials and without its
// candidates, wherever it had them: at session level (as OBS sends them)
// or per media section (as browsers do).
func withICE(raw, ufrag, pwd string) (string, error) {
	if strings.ContainsAny(ufrag+pwd, " \r\n") {
		return "", fmt.Errorf("%w: malformed ICE credentials", ErrICE)
	}
	var desc sdp.SessionDescription
	if err := desc.UnmarshalString(raw); err != nil {
		return "", fmt.Errorf("%w: %v", transport.ErrMalformedSDP, err)
	}
	rewrite := func(attrs []sdp.Attribute) []sdp.Attribute {
		out := attrs[:0]
		for _, a := range attrs {
			switch {
			case a.Key == "ice-ufrag":
				a.Value = ufrag
			case a.Key == "ice-pwd":
				a.Value = pwd
			case a.IsICECandidate(), a.Key == "end-of-candidates":
				continue
			}
			out = append(out, a)
		}
		return out
	}
	desc.Attributes = rewrite(desc.Attributes)
	for _, m := range desc.MediaDescriptions {
		m.Attributes = rewrite(m.Attributes)
	}
	b, err := desc.Marshal()
	if err != nil {
		return "", fmt.Errorf("%w: %v", transport.ErrMalformedSDP, err)
	}
	return string(b), nil
}
