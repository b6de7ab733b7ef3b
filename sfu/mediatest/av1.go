package mediatest

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
)

// obuSequenceHeader is the AV1 OBU type of a sequence header (AV1
// spec 6.2.2).
const obuSequenceHeader = 1

// AV1Video encodes a test-pattern AV1 clip with ffmpeg's libaom-av1 in
// its real-time mode and splits it into temporal units, one Frame each.
// spec.MimeType is ignored. It is kept apart from Video because libaom is
// slow and only the AV1 pass-through tests need it.
func AV1Video(t testing.TB, spec VideoSpec) Clip {
	t.Helper()
	RequireFFmpeg(t)
	clip, err := EncodeAV1(spec)
	if err != nil {
		t.Fatal(err)
	}
	return clip
}

// EncodeAV1 is AV1Video for callers without a testing.TB.
func EncodeAV1(spec VideoSpec) (Clip, error) {
	spec.MimeType = webrtc.MimeTypeAV1
	spec = spec.withDefaults()
	gop := max(1, int(spec.KeyframeInterval.Seconds()*float64(spec.FPS)))
	src := fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", spec.Width, spec.Height, spec.FPS)
	// Real-time usage with no lookahead: no hidden or reordered frames,
	// each temporal unit one shown frame, as a WebRTC encoder sends.
	args := []string{"-f", "lavfi", "-i", src, "-t", seconds(spec.Duration), "-pix_fmt", "yuv420p",
		"-b:v", strconv.Itoa(spec.BitrateKbps) + "k", "-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop),
		"-c:v", "libaom-av1", "-usage", "realtime", "-cpu-used", "8", "-lag-in-frames", "0", "-threads", "1"}
	path, err := cached("ivf", args)
	if err != nil {
		return Clip{}, err
	}
	frames, err := readIVF(path, webrtc.MimeTypeAV1, time.Second/time.Duration(spec.FPS))
	if err != nil {
		return Clip{}, fmt.Errorf("mediatest: read %s: %w", path, err)
	}
	for i := range frames {
		frames[i].Keyframe = av1HasOBU(frames[i].Data, obuSequenceHeader)
	}
	return Clip{MimeType: webrtc.MimeTypeAV1, Width: spec.Width, Height: spec.Height, Frames: frames}, nil
}

// av1HasOBU reports whether a temporal unit (OBUs in the low-overhead
// format, each with its size field, as IVF holds them) has an OBU of
// type typ. libaom writes a sequence header with every key frame, so
// that marks the units a decoder can start from.
func av1HasOBU(tu []byte, typ byte) bool {
	for len(tu) > 0 {
		h := tu[0]
		n := 1
		if h&0x04 != 0 { // obu_extension_flag
			n++
		}
		if h&0x02 == 0 || len(tu) < n { // no obu_has_size_field: the OBU runs to the end
			return (h>>3)&0x0f == typ
		}
		size, used := leb128(tu[n:])
		if used == 0 {
			return false
		}
		if (h>>3)&0x0f == typ {
			return true
		}
		n += used
		if uint64(len(tu)-n) < size {
			return false
		}
		tu = tu[n+int(size):]
	}
	return false
}

// leb128 decodes an unsigned LEB128 number of at most 8 bytes and
// returns it with the bytes it took, or 0 bytes when it is cut short.
func leb128(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < len(b) && i < 8; i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
