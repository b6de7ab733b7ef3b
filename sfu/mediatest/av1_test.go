package mediatest

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

func TestAV1Clip(t *testing.T) {
	clip := AV1Video(t, VideoSpec{Width: 320, Height: 180, Duration: 2 * time.Second})
	if got := len(clip.Frames); got != 60 {
		t.Fatalf("frames = %d, want 60 (2 s at 30 fps)", got)
	}
	if got := clip.Keyframes(); got != 2 {
		t.Fatalf("keyframes = %d, want 2 (one a second)", got)
	}
	if !clip.Frames[0].Keyframe || clip.Frames[1].Keyframe {
		t.Fatal("want the first frame, and not the second, to be a keyframe")
	}
	// Through Pion's AV1 payloader and depacketizer, a keyframe keeps its
	// sequence header, which is how a receiver tells keyframes apart.
	p := rtp.NewPacketizer(1200, 45, 1, &codecs.AV1Payloader{}, rtp.NewRandomSequencer(), 90000)
	for i, f := range clip.Frames[:2] {
		pkts := p.Packetize(f.Data, 3000)
		if len(pkts) == 0 || !pkts[len(pkts)-1].Marker {
			t.Fatalf("frame %d: %d packets, last without the marker bit", i, len(pkts))
		}
		var dep codecs.AV1Depacketizer
		var out []byte
		for _, pkt := range pkts {
			b, err := dep.Unmarshal(pkt.Payload)
			if err != nil {
				t.Fatalf("frame %d: depacketize: %v", i, err)
			}
			out = append(out, b...)
		}
		if key, _, _ := describeFrame("video/av1", out); key != f.Keyframe {
			t.Fatalf("frame %d: depacketized keyframe = %v, want %v", i, key, f.Keyframe)
		}
	}
}

func TestAV1HasOBU(t *testing.T) {
	// A temporal delimiter (type 2, size 0), then a sequence header
	// (type 1) of 3 bytes.
	tu := []byte{0x12, 0x00, 0x0a, 0x03, 1, 2, 3}
	if !av1HasOBU(tu, obuSequenceHeader) || av1HasOBU(tu, 6) {
		t.Fatal("OBU types misread")
	}
	if av1HasOBU([]byte{0x12, 0x00, 0x0a, 0x09, 1}, obuSequenceHeader) != true {
		t.Fatal("the sequence header's type is in its header, before its cut-short payload")
	}
	for _, bad := range [][]byte{nil, {0x12}, {0x12, 0x80}, {0x32, 0x05, 1}} {
		if av1HasOBU(bad, obuSequenceHeader) {
			t.Fatalf("%x: found a sequence header in malformed data", bad)
		}
	}
}
