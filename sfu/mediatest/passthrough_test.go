package mediatest

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// The pass-through codecs' clips have the frames and keyframes asked
// for, and through Pion's payloader and depacketizer a keyframe still
// reads as one (a sequence header in AV1, a random access picture in
// H.265), which is how a receiver tells keyframes apart.
func TestPassThroughClips(t *testing.T) {
	for _, c := range []struct {
		name      string
		encode    func(testing.TB, VideoSpec) Clip
		payloader rtp.Payloader
		dep       func() rtp.Depacketizer
	}{
		{"video/av1", AV1Video, &codecs.AV1Payloader{}, func() rtp.Depacketizer { return &codecs.AV1Depacketizer{} }},
		{"video/h265", HEVCVideo, &codecs.H265Payloader{}, func() rtp.Depacketizer { return &codecs.H265Depacketizer{} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			clip := c.encode(t, VideoSpec{Width: 320, Height: 180, Duration: 2 * time.Second})
			if got := len(clip.Frames); got != 60 {
				t.Fatalf("frames = %d, want 60 (2 s at 30 fps)", got)
			}
			if got := clip.Keyframes(); got != 2 {
				t.Fatalf("keyframes = %d, want 2 (one a second)", got)
			}
			if !clip.Frames[0].Keyframe || clip.Frames[1].Keyframe {
				t.Fatal("want the first frame, and not the second, to be a keyframe")
			}
			p := rtp.NewPacketizer(1200, 45, 1, c.payloader, rtp.NewRandomSequencer(), 90000)
			dep := c.dep()
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
				if key, _, _ := describeFrame(c.name, out); key != f.Keyframe {
					t.Fatalf("frame %d: depacketized keyframe = %v, want %v", i, key, f.Keyframe)
				}
			}
		})
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
