package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v3"

	"parley/sfu/mediatest"
)

// Keyframe starts and picture sizes are read from real encoder output,
// packetized as Pion sends it.
func TestKeyframesAndSizesFromRealClips(t *testing.T) {
	for _, c := range []struct {
		mime      string
		payloader rtp.Payloader
		sized     bool // the size is read (not for the pass-through codecs)
		encode    func(testing.TB, mediatest.VideoSpec) mediatest.Clip
	}{
		{webrtc.MimeTypeVP8, &codecs.VP8Payloader{EnablePictureID: true}, true, mediatest.Video},
		{webrtc.MimeTypeVP9, &codecs.VP9Payloader{}, true, mediatest.Video},
		{webrtc.MimeTypeH264, &codecs.H264Payloader{}, true, mediatest.Video},
		{webrtc.MimeTypeH265, &codecs.H265Payloader{}, false, mediatest.HEVCVideo},
		{webrtc.MimeTypeAV1, &codecs.AV1Payloader{}, false, mediatest.AV1Video},
	} {
		t.Run(c.mime, func(t *testing.T) {
			clip := c.encode(t, mediatest.VideoSpec{MimeType: c.mime, Width: 320, Height: 180, Duration: time.Second,
				KeyframeInterval: 500 * time.Millisecond})
			kind := codecOf(c.mime)
			p := rtp.NewPacketizer(1200, 96, 1, c.payloader, rtp.NewRandomSequencer(), 90000)
			starts := 0
			for i, f := range clip.Frames {
				pkts := p.Packetize(f.Data, 3000)
				for j, pkt := range pkts {
					key := isKeyframeStart(kind, pkt.Payload)
					if key && !f.Keyframe {
						t.Fatalf("frame %d packet %d: a delta frame taken for a keyframe start", i, j)
					}
					if j == 0 && f.Keyframe && !key {
						t.Fatalf("frame %d: a keyframe's first packet not taken for its start", i)
					}
					if !key || j != 0 {
						continue // (for H.264 and H.265 the picture after the parameter sets counts too)
					}
					starts++
					w, h, ok := pictureSize(kind, pkt.Payload)
					if c.sized && (!ok || w != 320 || h != 180) {
						t.Fatalf("frame %d: size %dx%d (%v), want 320x180", i, w, h, ok)
					}
				}
			}
			if starts != clip.Keyframes() {
				t.Fatalf("found %d keyframe starts, the clip has %d keyframes", starts, clip.Keyframes())
			}
		})
	}
}

// The H.264 size comes from the SPS, cropped to the real picture: 180
// lines are coded as 192.
func TestSPSSizes(t *testing.T) {
	for _, size := range [][2]int{{1280, 720}, {320, 180}, {160, 90}} {
		clip := mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeH264, Width: size[0], Height: size[1],
			Duration: 100 * time.Millisecond})
		var sps []byte
		for _, nal := range mediatest.SplitAnnexB(clip.Frames[0].Data) {
			if nal[0]&0x1f == naluSPS {
				sps = nal
			}
		}
		if w, h, ok := spsSize(sps); !ok || w != size[0] || h != size[1] {
			t.Errorf("spsSize = %dx%d %v, want %dx%d", w, h, ok, size[0], size[1])
		}
	}
	for _, bad := range [][]byte{nil, {0x67}, {0x67, 0x42, 0, 0x1f, 0, 0, 0}} {
		if _, _, ok := spsSize(bad); ok {
			t.Errorf("spsSize(%x) claims a size", bad)
		}
	}
}

// The payload parsers read publisher bytes as they come: nothing may
// make them panic.
func FuzzCodecParsers(f *testing.F) {
	f.Add(uint8(codecVP8), vp8Payload(true, 640, 360))
	f.Add(uint8(codecVP8), []byte{0x90, 0xe0, 0x80})
	f.Add(uint8(codecH264), []byte{naluSTAPA, 0, 4, 0x67, 0x42, 0xc0, 0x1f, 0, 2, 0x68, 0xce})
	f.Add(uint8(codecH264), []byte{naluFUA, 0x85, 0x88})
	f.Add(uint8(codecVP9), []byte{0x8a, 0x80, 0x01, 0x18, 0x01, 0x40, 0x00, 0xb4})
	f.Fuzz(func(t *testing.T, kind uint8, payload []byte) {
		k := codecKind(kind % 5)
		isKeyframeStart(k, payload)
		pictureSize(k, payload)
		spsSize(payload)
	})
}

// Hand-made H.265 and AV1 payloads: each way a keyframe can start, and
// cut-short or malformed ones, which must be refused without a panic.
func TestPassThroughKeyframeStarts(t *testing.T) {
	for _, c := range []struct {
		name    string
		kind    codecKind
		payload []byte
		want    bool
	}{
		{"H.265 VPS", codecH265, []byte{32 << 1, 1, 0xc}, true},
		{"H.265 IDR_W_RADL", codecH265, []byte{19 << 1, 1, 0xaf}, true},
		{"H.265 CRA", codecH265, []byte{21 << 1, 1, 0xaf}, true},
		{"H.265 trailing picture", codecH265, []byte{1 << 1, 1, 0xd0}, false},
		{"H.265 PPS alone", codecH265, []byte{34 << 1, 1, 0xc1}, false},
		{"H.265 aggregation with an SPS", codecH265, []byte{48 << 1, 1, 0, 3, 34 << 1, 1, 0xc1, 0, 3, 33 << 1, 1, 0x01}, true},
		{"H.265 aggregation, size past the end", codecH265, []byte{48 << 1, 1, 0, 9, 33 << 1, 1}, false},
		{"H.265 FU start of an IDR", codecH265, []byte{49 << 1, 1, 0x80 | 19, 0xaf}, true},
		{"H.265 FU middle of an IDR", codecH265, []byte{49 << 1, 1, 19, 0xaf}, false},
		{"H.265 too short", codecH265, []byte{32 << 1}, false},
		{"AV1 N bit", codecAV1, []byte{0x18, 0x0a}, true},
		{"AV1 sequence header first, W=1", codecAV1, []byte{0x10, 0x0a, 0x0b}, true},
		{"AV1 sequence header after a length", codecAV1, []byte{0x00, 0x02, 0x0a, 0x0b}, true},
		{"AV1 frame OBU", codecAV1, []byte{0x10, 0x32, 0x00}, false},
		{"AV1 continuation", codecAV1, []byte{0x90, 0x0a, 0x0b}, false},
		{"AV1 length runs off the end", codecAV1, []byte{0x00, 0x80, 0x80}, false},
		{"AV1 too short", codecAV1, []byte{0x10}, false},
	} {
		if got := isKeyframeStart(c.kind, c.payload); got != c.want {
			t.Errorf("%s: keyframe start = %v, want %v", c.name, got, c.want)
		}
	}
}
