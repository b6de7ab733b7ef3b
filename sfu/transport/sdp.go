package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/pion/ice/v2"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"
)

// MaxSDPSize bounds an SDP the server will parse. A browser's offer with
// a dozen tracks is under 20 KB.
const MaxSDPSize = 64 << 10

// MaxMediaSections bounds the m= sections of an offer from a client:
// more tracks than a meeting participant or a live encoder sends.
const MaxMediaSections = 32

// MaxAnswerSections bounds the m= sections of a client's answer to a
// server offer. The sections are the server's own, one per track a
// subscriber receives, and a meeting participant receives up to 48.
const MaxAnswerSections = 48

// Errors for SDP the server refuses. Each is wrapped with the detail.
var (
	ErrMalformedSDP     = errors.New("malformed SDP")
	ErrSDPTooLarge      = errors.New("SDP too large")
	ErrUnsupportedCodec = errors.New("no supported codec")
	// ErrDataChannel refuses m=application sections: Parley carries no
	// data over DTLS (Pion v3's DTLS has an unfixed AES-GCM nonce flaw),
	// and chat goes over the WebSocket.
	ErrDataChannel = errors.New("data channels are not supported")
)

// CheckSDP parses an offer from a client and checks that Parley can use
// it. See checkSDP for what it refuses; the section limit is
// MaxMediaSections.
func CheckSDP(raw string) (*sdp.SessionDescription, error) {
	return checkSDP(raw, MaxMediaSections)
}

// checkSDP parses an SDP from a client and refuses, before Pion sees it,
// what Pion would refuse only after changing the connection's signaling
// state (which leaves the connection unable to negotiate again), and what
// Parley cannot use:
//
//   - more than MaxSDPSize bytes or maxSections media sections;
//   - a data channel (m=application) or another media type;
//   - a media section without a=mid;
//   - an ICE username fragment, ICE password or DTLS fingerprint missing
//     from a section that is not rejected, or two sections that disagree
//     on one; a fingerprint that is not "<hash> <value>";
//   - a candidate line that does not parse;
//   - an audio or video section, not rejected, that offers no codec of
//     Codecs.
//
// The errors wrap the Err values above and say which section.
func checkSDP(raw string, maxSections int) (*sdp.SessionDescription, error) {
	if len(raw) > MaxSDPSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrSDPTooLarge, len(raw), MaxSDPSize)
	}
	var desc sdp.SessionDescription
	if err := desc.UnmarshalString(raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedSDP, err)
	}
	if len(desc.MediaDescriptions) == 0 {
		return nil, fmt.Errorf("%w: no media sections", ErrMalformedSDP)
	}
	if len(desc.MediaDescriptions) > maxSections {
		return nil, fmt.Errorf("%w: %d media sections, limit %d", ErrSDPTooLarge, len(desc.MediaDescriptions), maxSections)
	}
	if err := checkTransportAttributes(&desc); err != nil {
		return nil, err
	}
	for i, m := range desc.MediaDescriptions {
		kind := m.MediaName.Media
		mid, hasMid := m.Attribute(sdp.AttrKeyMID)
		switch kind {
		case "application":
			return nil, fmt.Errorf("%w (section %d, mid %q)", ErrDataChannel, i, mid)
		case "audio", "video":
		default:
			return nil, fmt.Errorf("%w: section %d has media type %q", ErrMalformedSDP, i, kind)
		}
		if !hasMid || mid == "" {
			return nil, fmt.Errorf("%w: %s section %d has no a=mid", ErrMalformedSDP, kind, i)
		}
		for _, a := range m.Attributes {
			if !a.IsICECandidate() {
				continue
			}
			if _, err := ice.UnmarshalCandidate(a.Value); err != nil &&
				!errors.Is(err, ice.ErrUnknownCandidateTyp) && !errors.Is(err, ice.ErrDetermineNetworkType) {
				return nil, fmt.Errorf("%w: %s section %d (mid %q): candidate %q: %v", ErrMalformedSDP, kind, i, mid, a.Value, err)
			}
		}
		if m.MediaName.Port.Value == 0 {
			continue // rejected or stopped section
		}
		for _, key := range []string{"ice-ufrag", "ice-pwd", "fingerprint"} {
			if !hasAttribute(&desc, m, key) {
				return nil, fmt.Errorf("%w: %s section %d (mid %q) has no a=%s", ErrMalformedSDP, kind, i, mid, key)
			}
		}
		offered := offeredCodecs(m)
		if len(offered) == 0 {
			return nil, fmt.Errorf("%w: %s section %d (mid %q) lists no rtpmap", ErrMalformedSDP, kind, i, mid)
		}
		if !anySupported(offered) {
			return nil, fmt.Errorf("%w for %s section %d (mid %q): offered %s", ErrUnsupportedCodec, kind, i, mid,
				strings.Join(offered, ", "))
		}
	}
	return &desc, nil
}

// checkTransportAttributes refuses ICE credentials and DTLS fingerprints
// that disagree between the session level and the sections, and
// fingerprints that are not "<hash> <value>". Parley bundles every
// section on one transport, so one set of credentials must do for all;
// Pion finds a disagreement only halfway through applying the
// description.
func checkTransportAttributes(desc *sdp.SessionDescription) error {
	for _, key := range []string{"ice-ufrag", "ice-pwd", "fingerprint"} {
		first, where := "", ""
		check := func(v, at string) error {
			if key == "fingerprint" && len(strings.Fields(v)) != 2 {
				return fmt.Errorf("%w: %s: a=fingerprint is not \"<hash> <value>\"", ErrMalformedSDP, at)
			}
			switch {
			case where == "":
				first, where = v, at
			case v != first:
				return fmt.Errorf("%w: a=%s differs between %s and %s", ErrMalformedSDP, key, where, at)
			}
			return nil
		}
		if v, ok := desc.Attribute(key); ok {
			if err := check(v, "the session"); err != nil {
				return err
			}
		}
		for i, m := range desc.MediaDescriptions {
			if v, ok := m.Attribute(key); ok && m.MediaName.Port.Value != 0 {
				if err := check(v, fmt.Sprintf("section %d", i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// hasAttribute looks for an attribute in a section or, failing that, at
// session level, where ICE and DTLS attributes may also sit.
func hasAttribute(desc *sdp.SessionDescription, m *sdp.MediaDescription, key string) bool {
	if _, ok := m.Attribute(key); ok {
		return true
	}
	_, ok := desc.Attribute(key)
	return ok
}

// offeredCodecs lists a section's codecs as "video/H265" mime types.
func offeredCodecs(m *sdp.MediaDescription) []string {
	var out []string
	for _, a := range m.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		// a=rtpmap:<pt> <name>/<clock>[/<channels>]
		_, rest, ok := strings.Cut(a.Value, " ")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, "/")
		out = append(out, m.MediaName.Media+"/"+name)
	}
	return out
}

func anySupported(offered []string) bool {
	for _, o := range offered {
		for _, c := range Codecs() {
			if strings.EqualFold(o, c.MimeType) {
				return true
			}
		}
	}
	return false
}

// Answer applies a client's offer to a publisher connection and returns
// the answer with every local candidate in it, so clients that do not
// trickle (OBS) can connect at once. Bad offers are refused with a
// CheckSDP error before Pion sees them, leaving the connection as it
// was. An error from Pion itself ("apply offer") may leave it half
// negotiated: close it.
func Answer(ctx context.Context, pc *webrtc.PeerConnection, offer string) (string, error) {
	if _, err := CheckSDP(offer); err != nil {
		return "", fmt.Errorf("offer: %w", err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("apply offer: %w", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("create answer: %w", err)
	}
	return setLocal(ctx, pc, answer)
}

// OfferOption changes the offer Offer makes.
type OfferOption func(*webrtc.OfferOptions)

// WithICERestart makes the offer restart ICE when restart is set: new
// credentials, so the client's connection moves to whatever network path
// works now (after a resume, say).
func WithICERestart(restart bool) OfferOption {
	return func(o *webrtc.OfferOptions) { o.ICERestart = restart }
}

// Offer creates the server's offer on a subscriber connection, with every
// local candidate in it.
func Offer(ctx context.Context, pc *webrtc.PeerConnection, opts ...OfferOption) (string, error) {
	var o webrtc.OfferOptions
	for _, opt := range opts {
		opt(&o)
	}
	offer, err := pc.CreateOffer(&o)
	if err != nil {
		return "", fmt.Errorf("create offer: %w", err)
	}
	return setLocal(ctx, pc, offer)
}

// AcceptAnswer applies a client's answer to the server's offer. The
// answer passes the checks of CheckSDP, with up to MaxAnswerSections
// media sections, before Pion sees it; a refused answer leaves the offer
// outstanding, so the client may answer again.
func AcceptAnswer(pc *webrtc.PeerConnection, answer string) error {
	if _, err := checkSDP(answer, MaxAnswerSections); err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("apply answer: %w", err)
	}
	return nil
}

func setLocal(ctx context.Context, pc *webrtc.PeerConnection, desc webrtc.SessionDescription) (string, error) {
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return "", fmt.Errorf("set local %s: %w", desc.Type, err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", fmt.Errorf("gather candidates: %w", ctx.Err())
	}
	return pc.LocalDescription().SDP, nil
}
