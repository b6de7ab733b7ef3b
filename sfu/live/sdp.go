package live

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"

	"parley/sfu/media"
	"parley/sfu/transport"
)

// Errors of the media side. Each is wrapped with the detail; match them
// with errors.Is. SDP the transport refuses keeps its transport error
// (transport.ErrMalformedSDP and friends) in the chain as well.
var (
	// ErrNotOnAir is a viewer asking for a live that has no media on this
	// node.
	ErrNotOnAir = errors.New("live is not on air")
	// ErrCapacity refuses a publisher or viewer beyond this node's limits
	// (MediaConfig.MaxBroadcasts, MaxViewers).
	ErrCapacity = errors.New("media capacity reached")
	// ErrCodec is an offer with no codec this server can take or send,
	// or a player that takes none of the codecs the live is sent in.
	ErrCodec = errors.New("no usable codec")
	// ErrICE is a trickle or ICE restart the session cannot use: other
	// ICE credentials than the session's, or a malformed candidate.
	ErrICE = errors.New("unusable ICE fragment")
)

// Limits of a published offer.
const (
	// MaxPublishedAudio and MaxPublishedVideo bound the tracks one live
	// carries: players show one picture and play one sound, and the
	// recording keeps one of each.
	MaxPublishedAudio = 1
	MaxPublishedVideo = 1
)

// AcceptedCodecs lists the codecs a publisher may send, as "audio/opus"
// mime types, for error messages that say what would work.
func AcceptedCodecs() []string {
	var out []string
	for _, c := range transport.Codecs() {
		if !slices.Contains(out, c.MimeType) {
			out = append(out, c.MimeType)
		}
	}
	return out
}

// checkOffer parses an offer and refuses what the transport refuses,
// naming the accepted codecs when none offered is usable.
func checkOffer(offer string) (*sdp.SessionDescription, error) {
	desc, err := transport.CheckSDP(offer)
	if errors.Is(err, transport.ErrUnsupportedCodec) {
		return nil, fmt.Errorf("%w: %w; accepted codecs: %s", ErrCodec, err, strings.Join(AcceptedCodecs(), ", "))
	}
	return desc, err
}

// publishShape is what a publisher's offer sends.
type publishShape struct {
	kinds  []webrtc.RTPCodecType // one per sending section, in order
	tracks int                   // streams expected: a section's rids, or 1
}

// shapeOfPublish checks that an offer sends at most one audio and one
// video section, with at most media.MaxLayers simulcast layers, and
// counts the streams it will send.
func shapeOfPublish(desc *sdp.SessionDescription) (publishShape, error) {
	var shape publishShape
	audio, video := 0, 0
	for _, m := range desc.MediaDescriptions {
		if m.MediaName.Port.Value == 0 || !sends(m) {
			continue
		}
		kind := webrtc.NewRTPCodecType(m.MediaName.Media)
		switch kind {
		case webrtc.RTPCodecTypeAudio:
			audio++
		case webrtc.RTPCodecTypeVideo:
			video++
		default:
			continue
		}
		rids := 0
		for _, a := range m.Attributes {
			// a=rid:<id> send [restrictions]
			if f := strings.Fields(a.Value); a.Key == "rid" && len(f) >= 2 && f[1] == "send" {
				rids++
			}
		}
		if rids > media.MaxLayers {
			return publishShape{}, fmt.Errorf("%w: %d simulcast layers, limit %d", ErrInvalid, rids, media.MaxLayers)
		}
		shape.kinds = append(shape.kinds, kind)
		shape.tracks += max(rids, 1)
	}
	switch {
	case audio == 0 && video == 0:
		return publishShape{}, fmt.Errorf("%w: the offer sends no audio or video", ErrInvalid)
	case audio > MaxPublishedAudio || video > MaxPublishedVideo:
		return publishShape{}, fmt.Errorf("%w: a live carries at most %d audio and %d video track, the offer sends %d and %d",
			ErrInvalid, MaxPublishedAudio, MaxPublishedVideo, audio, video)
	}
	return shape, nil
}

// direction is a media section's direction attribute; sendrecv when it
// has none.
func direction(m *sdp.MediaDescription) string {
	for _, a := range m.Attributes {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return "sendrecv"
}

func sends(m *sdp.MediaDescription) bool {
	d := direction(m)
	return d == "sendonly" || d == "sendrecv"
}

func receives(m *sdp.MediaDescription) bool {
	d := direction(m)
	return d == "recvonly" || d == "sendrecv"
}

// playerTakes reports whether a player's offer has a receiving section
// of kind that takes codec: the same codec, and for H.264 the same
// packetization mode, which is what the downtrack needs to forward it
// untouched.
func playerTakes(desc *sdp.SessionDescription, kind webrtc.RTPCodecType, codec webrtc.RTPCodecParameters) bool {
	wantName := strings.TrimPrefix(strings.ToLower(codec.MimeType), strings.ToLower(kind.String())+"/")
	wantMode := fmtpValue(codec.SDPFmtpLine, "packetization-mode")
	h264 := strings.EqualFold(codec.MimeType, webrtc.MimeTypeH264)
	for _, m := range desc.MediaDescriptions {
		if m.MediaName.Port.Value == 0 || m.MediaName.Media != kind.String() || !receives(m) {
			continue
		}
		names := map[string]string{} // payload type -> codec name
		for _, a := range m.Attributes {
			if a.Key != "rtpmap" {
				continue
			}
			pt, rest, ok := strings.Cut(a.Value, " ")
			if !ok {
				continue
			}
			name, _, _ := strings.Cut(rest, "/")
			names[pt] = strings.ToLower(name)
		}
		for pt, name := range names {
			if name != wantName {
				continue
			}
			if !h264 {
				return true
			}
			if modeOf(m, pt) == orZero(wantMode) {
				return true
			}
		}
	}
	return false
}

// playerReceives reports whether a player's offer has a receiving
// section of kind at all, whatever its codecs.
func playerReceives(desc *sdp.SessionDescription, kind webrtc.RTPCodecType) bool {
	for _, m := range desc.MediaDescriptions {
		if m.MediaName.Port.Value != 0 && m.MediaName.Media == kind.String() && receives(m) {
			return true
		}
	}
	return false
}

// modeOf is the H.264 packetization mode of payload type pt in m.
func modeOf(m *sdp.MediaDescription, pt string) string {
	for _, a := range m.Attributes {
		if a.Key != "fmtp" {
			continue
		}
		p, params, ok := strings.Cut(a.Value, " ")
		if ok && p == pt {
			return orZero(fmtpValue(params, "packetization-mode"))
		}
	}
	return "0"
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func fmtpValue(line, key string) string {
	for _, kv := range strings.Split(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}

// sameCodec reports whether a new publisher stream can continue an
// existing receiver: the same codec, and for H.264 the same
// packetization mode, so every downtrack's negotiated codec still fits.
func sameCodec(a, b webrtc.RTPCodecParameters) bool {
	if !strings.EqualFold(a.MimeType, b.MimeType) {
		return false
	}
	if strings.EqualFold(a.MimeType, webrtc.MimeTypeH264) {
		return orZero(fmtpValue(a.SDPFmtpLine, "packetization-mode")) == orZero(fmtpValue(b.SDPFmtpLine, "packetization-mode"))
	}
	return true
}
