package rtcpeer

import (
	"bytes"
	"hash/maphash"
	"strings"

	"github.com/pion/webrtc/v3"

	"parley/sfu/mediatest"
)

// Clip is an encoded clip the generator sends, with each frame's
// fingerprint, so a receiver can tell which frame it got and whether the
// frame arrived whole.
type Clip struct {
	mediatest.Clip
	// index maps a fingerprint to its frame's index, or to -1 when
	// several frames share it (a steady tone encodes to repeated Opus
	// packets): such frames are still whole, only not timed.
	index map[uint64]int
	// slices indexes H.264 frames by their last NAL unit alone, the
	// frame's slice: under loss the sample builder can start a frame at
	// the slice when the packet with its parameter sets was lost, which
	// leaves a frame that is short, not wrong.
	slices map[uint64]int
	// Bytes is the encoded size of the whole clip.
	Bytes int
}

// seed is the fingerprint hash's seed: one per process, since senders and
// receivers of a run share it.
var seed = maphash.MakeSeed()

// NewClip indexes a clip's frames by fingerprint.
func NewClip(c mediatest.Clip) *Clip {
	clip := &Clip{Clip: c, index: make(map[uint64]int, len(c.Frames))}
	if clip.isH264() {
		clip.slices = make(map[uint64]int, len(c.Frames))
	}
	for i, f := range c.Frames {
		fp, _ := clip.inspect(f.Data)
		addIndex(clip.index, fp, i)
		if clip.slices != nil {
			addIndex(clip.slices, maphash.Bytes(seed, lastNAL(f.Data)), i)
		}
		clip.Bytes += len(f.Data)
	}
	return clip
}

// addIndex maps fp to frame i, or to -1 when another frame has it too.
func addIndex(index map[uint64]int, fp uint64, i int) {
	if _, dup := index[fp]; dup {
		index[fp] = -1
	} else {
		index[fp] = i
	}
}

// identify finds a received frame among the clip's: known is false for a
// frame that is none of them, and index is -1 for one that several
// frames share. key reports a video keyframe, read from the frame.
func (c *Clip) identify(data []byte) (index int, known, key bool) {
	fp, key := c.inspect(data)
	index, known = c.index[fp]
	if !known && c.slices != nil {
		index, known = c.slices[maphash.Bytes(seed, lastNAL(data))]
	}
	return index, known, key
}

func (c *Clip) isH264() bool { return strings.EqualFold(c.MimeType, webrtc.MimeTypeH264) }

// IsVideo reports whether the clip is video.
func (c *Clip) IsVideo() bool { return strings.HasPrefix(c.MimeType, "video/") }

// BitrateBps is the clip's average encoded bitrate, in bits per second.
func (c *Clip) BitrateBps() float64 {
	d := c.Duration().Seconds()
	if d <= 0 {
		return 0
	}
	return float64(c.Bytes) * 8 / d
}

// H.264 NAL unit types that open a keyframe's access unit: the clip's
// encoder (x264, repeat-headers) writes SPS and PPS before every IDR
// slice, so a keyframe starts with its SPS, or with the IDR slice itself
// in streams that send parameter sets apart.
const (
	nalIDR = 5
	nalSPS = 7
)

// inspect fingerprints a frame's payload and reads whether it is a
// keyframe. What the depacketizers return is byte for byte what was
// sent (for H.264, the access unit in Annex B with 4-byte start codes,
// as the clip holds it), so a frame damaged or cut anywhere has a
// fingerprint the clip does not know.
func (c *Clip) inspect(data []byte) (fp uint64, key bool) {
	switch {
	case c.isH264():
		// A keyframe that lost its parameter sets cannot start a decoder,
		// so only the first NAL unit counts.
		if nal := firstNAL(data); len(nal) > 0 {
			t := nal[0] & 0x1f
			key = t == nalSPS || t == nalIDR
		}
	case strings.EqualFold(c.MimeType, webrtc.MimeTypeVP8):
		// The frame tag's bit 0 is clear on key frames (RFC 6386, 9.1).
		key = len(data) > 0 && data[0]&0x01 == 0
	case strings.EqualFold(c.MimeType, webrtc.MimeTypeVP9):
		// show_existing_frame and frame_type, both clear on a key frame.
		key = len(data) > 0 && data[0]&0x0c == 0
	}
	return maphash.Bytes(seed, data), key
}

// firstNAL returns the bytes after an Annex B stream's first start code
// (3 or 4 bytes), nil if it does not begin with one.
func firstNAL(data []byte) []byte {
	switch {
	case len(data) > 4 && data[0] == 0 && data[1] == 0 && data[2] == 0 && data[3] == 1:
		return data[4:]
	case len(data) > 3 && data[0] == 0 && data[1] == 0 && data[2] == 1:
		return data[3:]
	}
	return nil
}

// annexBStart is the three-byte start code; a four-byte one ends with it.
var annexBStart = []byte{0, 0, 1}

// lastNAL returns an Annex B access unit's last NAL unit (the whole of
// data if it has no start code). Emulation prevention keeps start codes
// out of a NAL unit, so the last one found starts it.
func lastNAL(data []byte) []byte {
	if i := bytes.LastIndex(data, annexBStart); i >= 0 {
		return data[i+len(annexBStart):]
	}
	return data
}
