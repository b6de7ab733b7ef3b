package mediatest

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
)

// H.265 NAL unit types (H.265 table 7-1): the random access (IRAP)
// pictures a decoder can start from, and the first non-VCL type.
const (
	hevcFirstIRAP   = 16
	hevcLastIRAP    = 21
	hevcFirstNonVCL = 32
)

// hevcFmtp is the H.265 format the test peers register: Main profile, as
// libx265 encodes 8-bit 4:2:0 and as Parley registers it.
const hevcFmtp = "profile-id=1;tier-flag=0;tx-mode=SRST"

// hevcPayloadType is the test peers' H.265 payload type, one Pion's
// default codecs leave free.
const hevcPayloadType = 49

// HEVCVideo encodes a test-pattern H.265 clip with ffmpeg's libx265 and
// splits it into access units. spec.MimeType is ignored. The encoder is
// set up as a WebRTC sender's: no B-frames, one slice per picture, and
// parameter sets before every keyframe.
func HEVCVideo(t testing.TB, spec VideoSpec) Clip {
	t.Helper()
	RequireFFmpeg(t)
	clip, err := EncodeHEVC(spec)
	if err != nil {
		t.Fatal(err)
	}
	return clip
}

// EncodeHEVC is HEVCVideo for callers without a testing.TB.
func EncodeHEVC(spec VideoSpec) (Clip, error) {
	spec.MimeType = webrtc.MimeTypeH265
	spec = spec.withDefaults()
	gop := max(1, int(spec.KeyframeInterval.Seconds()*float64(spec.FPS)))
	src := fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", spec.Width, spec.Height, spec.FPS)
	args := []string{"-f", "lavfi", "-i", src, "-t", seconds(spec.Duration), "-pix_fmt", "yuv420p",
		"-b:v", strconv.Itoa(spec.BitrateKbps) + "k",
		"-c:v", "libx265", "-preset", "ultrafast", "-tune", "zerolatency",
		"-x265-params", fmt.Sprintf("keyint=%d:min-keyint=%d:bframes=0:repeat-headers=1:pools=1:frame-threads=1:log-level=error", gop, gop),
		"-f", "hevc"}
	path, err := cached("h265", args)
	if err != nil {
		return Clip{}, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Clip{}, fmt.Errorf("mediatest: read %s: %w", path, err)
	}
	frames := splitHEVC(data, time.Second/time.Duration(spec.FPS))
	return Clip{MimeType: webrtc.MimeTypeH265, Width: spec.Width, Height: spec.Height, Frames: frames}, nil
}

// splitHEVC groups the NAL units of an Annex B stream into access units:
// parameter sets and SEI attach to the slice that follows them, and
// libx265 was told to write one slice per picture.
func splitHEVC(data []byte, frameDur time.Duration) []Frame {
	var frames []Frame
	var au []byte
	for _, nal := range SplitAnnexB(data) {
		if len(nal) < 2 {
			continue
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal...)
		if typ := hevcNALType(nal); typ < hevcFirstNonVCL {
			frames = append(frames, Frame{Data: au, Duration: frameDur, Keyframe: typ >= hevcFirstIRAP && typ <= hevcLastIRAP})
			au = nil
		}
	}
	return frames
}

func hevcNALType(nal []byte) byte { return nal[0] >> 1 & 0x3f }

// hevcHasIRAP reports whether an Annex B access unit holds a random
// access picture.
func hevcHasIRAP(data []byte) bool {
	for _, nal := range SplitAnnexB(data) {
		if len(nal) > 1 {
			if typ := hevcNALType(nal); typ >= hevcFirstIRAP && typ <= hevcLastIRAP {
				return true
			}
		}
	}
	return false
}
