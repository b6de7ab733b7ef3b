package mediatest

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

func TestHEVCClip(t *testing.T) {
	clip := HEVCVideo(t, VideoSpec{Width: 320, Height: 180, Duration: 2 * time.Second})
	if got := len(clip.Frames); got != 60 {
		t.Fatalf("frames = %d, want 60 (2 s at 30 fps)", got)
	}
	if got := clip.Keyframes(); got != 2 {
		t.Fatalf("keyframes = %d, want 2 (one a second)", got)
	}
	if !clip.Frames[0].Keyframe || clip.Frames[1].Keyframe {
		t.Fatal("want the first frame, and not the second, to be a keyframe")
	}
	// Through Pion's H.265 payloader and depacketizer, every frame comes
	// back whole and a keyframe still holds its random access picture.
	p := rtp.NewPacketizer(1200, hevcPayloadType, 1, &codecs.H265Payloader{}, rtp.NewRandomSequencer(), 90000)
	var dep codecs.H265Depacketizer
	for i, f := range clip.Frames[:31] {
		pkts := p.Packetize(f.Data, 3000)
		if len(pkts) == 0 || !pkts[len(pkts)-1].Marker {
			t.Fatalf("frame %d: %d packets, last without the marker bit", i, len(pkts))
		}
		var out []byte
		for _, pkt := range pkts {
			b, err := dep.Unmarshal(pkt.Payload)
			if err != nil {
				t.Fatalf("frame %d: depacketize: %v", i, err)
			}
			out = append(out, b...)
		}
		if key, _, _ := describeFrame("video/h265", out); key != f.Keyframe {
			t.Fatalf("frame %d: depacketized keyframe = %v, want %v", i, key, f.Keyframe)
		}
	}
}
