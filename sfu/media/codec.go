package media

import (
	"strings"

	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v3"
)

// codecKind is what the forwarder needs to know of a codec: where its
// keyframes start and how big its pictures are. Everything else passes
// through untouched.
type codecKind uint8

const (
	codecOther codecKind = iota
	codecOpus
	codecVP8
	codecVP9
	codecH264
	codecH265
	codecAV1
)

func codecOf(mime string) codecKind {
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeOpus):
		return codecOpus
	case strings.ToLower(webrtc.MimeTypeVP8):
		return codecVP8
	case strings.ToLower(webrtc.MimeTypeVP9):
		return codecVP9
	case strings.ToLower(webrtc.MimeTypeH264):
		return codecH264
	case strings.ToLower(webrtc.MimeTypeH265):
		return codecH265
	case strings.ToLower(webrtc.MimeTypeAV1):
		return codecAV1
	}
	return codecOther
}

// H.264 NAL unit types (RFC 6184).
const (
	naluIDR   = 5
	naluSPS   = 7
	naluSTAPA = 24
	naluFUA   = 28
)

// H.265 NAL unit types (RFC 7798 and H.265 table 7-1).
const (
	h265BLAWLP = 16 // first IRAP (random access) type
	h265CRA    = 21 // last IRAP type in use
	h265VPS    = 32
	h265SPS    = 33
	h265AP     = 48 // aggregation packet
	h265FU     = 49 // fragmentation unit
)

// AV1 RTP aggregation header bits and OBU type (AV1 RTP payload format
// 4.4, AV1 spec 6.2.2).
const (
	av1Z                 = 0x80 // the first OBU element continues one from the previous packet
	av1N                 = 0x08 // the first packet of a coded video sequence
	av1WShift            = 4
	av1OBUSequenceHeader = 1
)

// isKeyframeStart reports whether an RTP payload is the first packet a
// decoder can start from. Audio packets always are. For H.264 and H.265
// the parameter sets count, since they come before the random access
// picture they belong to and a switch must not skip them.
func isKeyframeStart(kind codecKind, payload []byte) bool {
	switch kind {
	case codecVP8:
		body, ok := vp8Body(payload)
		return ok && len(body) > 0 && body[0]&0x01 == 0
	case codecVP9:
		// Not inter-predicted (P=0) and the beginning of a frame (B=1).
		return len(payload) > 0 && payload[0]&0x40 == 0 && payload[0]&0x08 != 0
	case codecH264:
		return h264KeyframeStart(payload)
	case codecH265:
		return h265KeyframeStart(payload)
	case codecAV1:
		return av1KeyframeStart(payload)
	case codecOpus, codecOther:
		return true
	}
	return false
}

// vp8Body skips the VP8 payload descriptor (RFC 7741 4.2) and returns the
// VP8 payload, if this packet starts the frame's first partition.
func vp8Body(p []byte) ([]byte, bool) {
	if len(p) < 1 {
		return nil, false
	}
	start := p[0]&0x10 != 0 && p[0]&0x07 == 0
	i := 1
	if p[0]&0x80 != 0 { // X: extension byte follows
		if len(p) < 2 {
			return nil, false
		}
		x := p[1]
		i = 2
		if x&0x80 != 0 { // I: picture ID, 7 or 15 bits
			if len(p) <= i {
				return nil, false
			}
			if p[i]&0x80 != 0 {
				i++
			}
			i++
		}
		if x&0x40 != 0 { // L: TL0PICIDX
			i++
		}
		if x&0x30 != 0 { // T or K: TID/KEYIDX byte
			i++
		}
	}
	if !start || len(p) < i {
		return nil, false
	}
	return p[i:], true
}

func h264KeyframeStart(p []byte) bool {
	if len(p) < 1 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case naluSTAPA:
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			i += 2
			if size == 0 || i+size > len(p) {
				return false
			}
			if nt := p[i] & 0x1f; nt == naluSPS || nt == naluIDR {
				return true
			}
			i += size
		}
		return false
	case naluFUA:
		return len(p) > 1 && p[1]&0x80 != 0 && (p[1]&0x1f == naluIDR || p[1]&0x1f == naluSPS)
	default:
		return t == naluSPS || t == naluIDR
	}
}

// h265KeyframeStart finds a parameter set or the start of a random access
// picture, alone, in an aggregation packet or opening a fragmented unit.
// Streams with decoding order numbers (sprop-max-don-diff > 0), which
// WebRTC senders do not use, are not parsed.
func h265KeyframeStart(p []byte) bool {
	if len(p) < 3 {
		return false
	}
	starts := func(t byte) bool { return t == h265VPS || t == h265SPS || (t >= h265BLAWLP && t <= h265CRA) }
	switch t := p[0] >> 1 & 0x3f; t {
	case h265AP:
		for i := 2; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			i += 2
			if size < 2 || i+size > len(p) {
				return false
			}
			if starts(p[i] >> 1 & 0x3f) {
				return true
			}
			i += size
		}
		return false
	case h265FU:
		return p[2]&0x80 != 0 && starts(p[2]&0x3f)
	default:
		return starts(t)
	}
}

// av1KeyframeStart reports the first packet of a coded video sequence:
// the aggregation header's N bit, which senders set on the packet that
// carries a key frame's sequence header, or, failing that, a packet whose
// first OBU is a sequence header.
func av1KeyframeStart(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	if p[0]&av1N != 0 {
		return true
	}
	if p[0]&av1Z != 0 {
		return false
	}
	i := 1
	if p[0]>>av1WShift&0x03 != 1 {
		// The first element has a LEB128 length unless it is the only one.
		for i < len(p) && p[i]&0x80 != 0 {
			i++
		}
		i++
	}
	return i < len(p) && p[i]>>3&0x0f == av1OBUSequenceHeader
}

// pictureSize reads the picture size from a keyframe's first packet,
// where the codec carries it: the VP8 key frame header, the VP9
// scalability structure, or the H.264 sequence parameter set.
func pictureSize(kind codecKind, payload []byte) (w, h int, ok bool) {
	switch kind {
	case codecVP8:
		b, ok := vp8Body(payload)
		// Frame tag (3 bytes), start code 9d 01 2a, then 14-bit sizes.
		if !ok || len(b) < 10 || b[3] != 0x9d || b[4] != 0x01 || b[5] != 0x2a {
			return 0, 0, false
		}
		return int(b[6]) | int(b[7]&0x3f)<<8, int(b[8]) | int(b[9]&0x3f)<<8, true
	case codecVP9:
		var vp9 codecs.VP9Packet
		if _, err := vp9.Unmarshal(payload); err != nil || !vp9.V || len(vp9.Width) == 0 {
			return 0, 0, false
		}
		last := len(vp9.Width) - 1
		return int(vp9.Width[last]), int(vp9.Height[last]), true
	case codecH264:
		sps := h264SPS(payload)
		if sps == nil {
			return 0, 0, false
		}
		return spsSize(sps)
	}
	return 0, 0, false
}

// h264SPS finds a sequence parameter set NAL unit in a packet.
func h264SPS(p []byte) []byte {
	if len(p) < 1 {
		return nil
	}
	switch p[0] & 0x1f {
	case naluSPS:
		return p
	case naluSTAPA:
		for i := 1; i+2 < len(p); {
			size := int(p[i])<<8 | int(p[i+1])
			i += 2
			if size == 0 || i+size > len(p) {
				return nil
			}
			if p[i]&0x1f == naluSPS {
				return p[i : i+size]
			}
			i += size
		}
	}
	return nil
}
