package mediatest

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
)

func TestVideoClips(t *testing.T) {
	for _, mime := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeVP9, webrtc.MimeTypeH264} {
		t.Run(mime, func(t *testing.T) {
			clip := Video(t, VideoSpec{MimeType: mime, Width: 320, Height: 180, Duration: 2 * time.Second})
			if got := len(clip.Frames); got != 60 {
				t.Fatalf("frames = %d, want 60 (2 s at 30 fps)", got)
			}
			if got := clip.Keyframes(); got != 2 {
				t.Fatalf("keyframes = %d, want 2 (one a second)", got)
			}
			if !clip.Frames[0].Keyframe {
				t.Fatal("first frame is not a keyframe")
			}
			if d := clip.Duration(); d < 1990*time.Millisecond || d > 2010*time.Millisecond {
				t.Fatalf("duration = %v, want 2 s", d)
			}
		})
	}
}

func TestH264AccessUnitsCarryParameterSets(t *testing.T) {
	clip := Video(t, VideoSpec{MimeType: webrtc.MimeTypeH264, Width: 320, Height: 180, Duration: time.Second})
	first := clip.Frames[0].Data
	// Annex B start code, then an SPS (NAL type 7) before the IDR slice.
	if len(first) < 5 || first[4]&0x1f != 7 {
		t.Fatalf("first access unit starts with NAL type %d, want SPS (7)", first[4]&0x1f)
	}
}

func TestAudioClip(t *testing.T) {
	clip := Audio(t, time.Second)
	if got := len(clip.Frames); got < 50 || got > 51 {
		t.Fatalf("packets = %d, want 50 or 51 (1 s of 20 ms, plus the encoder's pre-skip)", got)
	}
	if d := clip.Duration(); d < time.Second || d > time.Second+20*time.Millisecond {
		t.Fatalf("duration = %v, want 1 s plus at most one packet", d)
	}
	// Every packet but the last (which ends on the trimmed tail) is 20 ms.
	for i, f := range clip.Frames[:len(clip.Frames)-1] {
		if f.Duration != 20*time.Millisecond {
			t.Fatalf("packet %d lasts %v, want 20ms", i, f.Duration)
		}
	}
}

type countingWriter struct{ n int }

func (w *countingWriter) WriteSample(media.Sample) error { w.n++; return nil }

func TestPlayWritesEveryFrame(t *testing.T) {
	clip := Clip{Frames: []Frame{{Data: []byte{1}, Duration: time.Millisecond}, {Data: []byte{2}, Duration: time.Millisecond}}}
	var w countingWriter
	if err := Play(context.Background(), &w, clip, false); err != nil {
		t.Fatal(err)
	}
	if w.n != 2 {
		t.Fatalf("wrote %d samples, want 2", w.n)
	}
}
