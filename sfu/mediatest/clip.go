package mediatest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
	"github.com/pion/webrtc/v3/pkg/media/h264reader"
	"github.com/pion/webrtc/v3/pkg/media/ivfreader"
	"github.com/pion/webrtc/v3/pkg/media/oggreader"
)

// RequireEnv names the environment variable that turns a missing ffmpeg
// from a skipped test into a failed one. The test command sets it, so CI
// never passes by skipping the media tests.
const RequireEnv = "PARLEY_REQUIRE_MEDIA"

// Frame is one encoded video frame (an access unit) or one audio packet.
type Frame struct {
	// Data is the encoded payload: an Annex B access unit for H.264, a
	// whole frame for VP8 and VP9, one Opus packet for audio.
	Data []byte
	// Duration is how long the frame plays, used to pace sending.
	Duration time.Duration
	// Keyframe is set on frames a decoder can start from.
	Keyframe bool
}

// Clip is one encoded stream, split into frames.
type Clip struct {
	// MimeType is the codec, as webrtc.MimeTypeVP8 and friends name it.
	MimeType string
	// Width and Height are the picture size; zero for audio.
	Width, Height int
	Frames        []Frame
}

// Duration is the clip's total play time.
func (c Clip) Duration() time.Duration {
	var d time.Duration
	for _, f := range c.Frames {
		d += f.Duration
	}
	return d
}

// Keyframes counts the frames a decoder can start from.
func (c Clip) Keyframes() int {
	n := 0
	for _, f := range c.Frames {
		if f.Keyframe {
			n++
		}
	}
	return n
}

// VideoSpec says what video clip to encode.
type VideoSpec struct {
	// MimeType is webrtc.MimeTypeVP8, MimeTypeVP9 or MimeTypeH264 for
	// Video; AV1Video and HEVCVideo set their own.
	MimeType string
	Width    int
	Height   int
	// FPS defaults to 30.
	FPS int
	// Duration defaults to 3 s.
	Duration time.Duration
	// BitrateKbps defaults to a rate that suits the size.
	BitrateKbps int
	// KeyframeInterval defaults to 1 s.
	KeyframeInterval time.Duration
}

func (s VideoSpec) withDefaults() VideoSpec {
	if s.FPS == 0 {
		s.FPS = 30
	}
	if s.Duration == 0 {
		s.Duration = 3 * time.Second
	}
	if s.BitrateKbps == 0 {
		s.BitrateKbps = max(100, s.Width*s.Height/1000)
	}
	if s.KeyframeInterval == 0 {
		s.KeyframeInterval = time.Second
	}
	return s
}

// RequireFFmpeg skips the test when ffmpeg is not installed, or fails it
// when RequireEnv is set.
func RequireFFmpeg(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		if os.Getenv(RequireEnv) != "" {
			t.Fatalf("ffmpeg is required (%s is set) but not installed: %v", RequireEnv, err)
		}
		t.Skip("ffmpeg not installed")
	}
}

// Video encodes a test-pattern clip with ffmpeg and splits it into frames.
func Video(t testing.TB, spec VideoSpec) Clip {
	t.Helper()
	RequireFFmpeg(t)
	clip, err := EncodeVideo(spec)
	if err != nil {
		t.Fatal(err)
	}
	return clip
}

// Audio encodes a clip of Opus (48 kHz, 20 ms packets, a steady tone) with
// ffmpeg and splits it into packets.
func Audio(t testing.TB, d time.Duration) Clip {
	t.Helper()
	RequireFFmpeg(t)
	clip, err := EncodeAudio(d)
	if err != nil {
		t.Fatal(err)
	}
	return clip
}

// EncodeVideo is Video for callers without a testing.TB, such as the bench.
func EncodeVideo(spec VideoSpec) (Clip, error) {
	spec = spec.withDefaults()
	gop := int(spec.KeyframeInterval.Seconds() * float64(spec.FPS))
	if gop < 1 {
		gop = 1
	}
	src := fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", spec.Width, spec.Height, spec.FPS)
	args := []string{"-f", "lavfi", "-i", src, "-t", seconds(spec.Duration), "-pix_fmt", "yuv420p",
		"-b:v", strconv.Itoa(spec.BitrateKbps) + "k", "-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop)}
	var ext string
	switch spec.MimeType {
	case webrtc.MimeTypeVP8:
		ext = "ivf"
		args = append(args, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-auto-alt-ref", "0", "-threads", "1")
	case webrtc.MimeTypeVP9:
		ext = "ivf"
		args = append(args, "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-auto-alt-ref", "0", "-threads", "1")
	case webrtc.MimeTypeH264:
		// Constrained baseline with one slice per frame and no B-frames:
		// what browsers and OBS's WHIP output send. SPS and PPS repeat
		// before every keyframe so a late receiver can start.
		ext = "h264"
		args = append(args, "-c:v", "libx264", "-profile:v", "baseline", "-level", "3.1", "-preset", "ultrafast",
			"-tune", "zerolatency", "-bf", "0", "-threads", "1", "-x264-params", "repeat-headers=1:sliced-threads=0")
	default:
		return Clip{}, fmt.Errorf("mediatest: unsupported video codec %q", spec.MimeType)
	}
	path, err := cached(ext, args)
	if err != nil {
		return Clip{}, err
	}
	frameDur := time.Second / time.Duration(spec.FPS)
	var frames []Frame
	if spec.MimeType == webrtc.MimeTypeH264 {
		frames, err = readH264(path, frameDur)
	} else {
		frames, err = readIVF(path, spec.MimeType, frameDur)
	}
	if err != nil {
		return Clip{}, fmt.Errorf("mediatest: read %s: %w", path, err)
	}
	return Clip{MimeType: spec.MimeType, Width: spec.Width, Height: spec.Height, Frames: frames}, nil
}

// EncodeAudio is Audio for callers without a testing.TB.
func EncodeAudio(d time.Duration) (Clip, error) {
	// One packet per Ogg page (page_duration is in microseconds), so every
	// page the reader returns is exactly one Opus packet.
	args := []string{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", seconds(d),
		"-ac", "2", "-c:a", "libopus", "-b:a", "48k", "-frame_duration", "20", "-application", "voip",
		"-page_duration", "20000"}
	path, err := cached("ogg", args)
	if err != nil {
		return Clip{}, err
	}
	frames, err := readOgg(path)
	if err != nil {
		return Clip{}, fmt.Errorf("mediatest: read %s: %w", path, err)
	}
	return Clip{MimeType: webrtc.MimeTypeOpus, Frames: frames}, nil
}

func seconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// cached runs ffmpeg with args into a file named after them, unless that
// file already exists. Writing to a temporary name and renaming keeps
// concurrent test processes from reading a half-written clip.
func cached(ext string, args []string) (string, error) {
	dir := filepath.Join(os.TempDir(), "parley-mediatest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("mediatest: %w", err)
	}
	sum := sha256.Sum256(fmt.Append(nil, ext, args))
	path := filepath.Join(dir, hex.EncodeToString(sum[:8])+"."+ext)
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tmp, err := os.CreateTemp(dir, "encode-*."+ext)
	if err != nil {
		return "", fmt.Errorf("mediatest: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	full := append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)
	full = append(full, tmp.Name())
	cmd := exec.Command("ffmpeg", full...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("mediatest: ffmpeg %v: %w: %s", args, err, stderr.String())
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("mediatest: %w", err)
	}
	return path, nil
}

func readIVF(path, mime string, frameDur time.Duration) ([]Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		return nil, err
	}
	var frames []Frame
	for {
		data, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) {
			return frames, nil
		}
		if err != nil {
			return nil, err
		}
		frames = append(frames, Frame{Data: data, Duration: frameDur, Keyframe: isKeyframe(mime, data)})
	}
}

// isKeyframe reads the frame type from the first header byte: VP8 clears
// bit 0 on key frames (RFC 6386, 9.1); VP9's uncompressed header has
// frame_marker(2) profile(2) show_existing_frame(1) frame_type(1).
func isKeyframe(mime string, data []byte) bool {
	if len(data) == 0 {
		return false
	}
	if mime == webrtc.MimeTypeVP8 {
		return data[0]&0x01 == 0
	}
	return data[0]&0x08 == 0 && data[0]&0x04 == 0
}

// readH264 groups the NAL units of an Annex B stream into access units:
// parameter sets and SEI attach to the slice that follows them, and
// x264 was told to write one slice per frame.
func readH264(path string, frameDur time.Duration) ([]Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := h264reader.NewReader(f)
	if err != nil {
		return nil, err
	}
	var frames []Frame
	var au []byte
	key := false
	for {
		nal, err := r.NextNAL()
		if errors.Is(err, io.EOF) {
			return frames, nil
		}
		if err != nil {
			return nil, err
		}
		au = append(au, 0, 0, 0, 1)
		au = append(au, nal.Data...)
		switch nal.UnitType {
		case h264reader.NalUnitTypeCodedSliceIdr:
			key = true
			fallthrough
		case h264reader.NalUnitTypeCodedSliceNonIdr:
			frames = append(frames, Frame{Data: au, Duration: frameDur, Keyframe: key})
			au, key = nil, false
		}
	}
}

func readOgg(path string) ([]Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return nil, err
	}
	var frames []Frame
	var lastGranule uint64
	for {
		page, hdr, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			return frames, nil
		}
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(page, []byte("OpusTags")) {
			continue
		}
		samples := hdr.GranulePosition - lastGranule
		lastGranule = hdr.GranulePosition
		frames = append(frames, Frame{
			Data:     page,
			Duration: time.Duration(samples) * time.Second / 48000,
			Keyframe: true,
		})
	}
}

// SampleWriter is what Play sends into: a *webrtc.TrackLocalStaticSample.
type SampleWriter interface {
	WriteSample(media.Sample) error
}

// Play writes the clip's frames into w at real-time pace until the clip
// ends (or, with loop, until ctx is done). Pacing follows a fixed
// schedule from the start, so a slow write does not stretch the clip.
func Play(ctx context.Context, w SampleWriter, clip Clip, loop bool) error {
	if len(clip.Frames) == 0 {
		return errors.New("mediatest: empty clip")
	}
	start := time.Now()
	var at time.Duration
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		for _, f := range clip.Frames {
			timer.Reset(time.Until(start.Add(at)))
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
			if err := w.WriteSample(media.Sample{Data: f.Data, Duration: f.Duration}); err != nil {
				return fmt.Errorf("mediatest: write sample: %w", err)
			}
			at += f.Duration
		}
		if !loop {
			return nil
		}
	}
}
