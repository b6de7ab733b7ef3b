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
		sized     bool
	}{
		{webrtc.MimeTypeVP8, &codecs.VP8Payloader{EnablePictureID: true}, true},
		{webrtc.MimeTypeVP9, &codecs.VP9Payloader{}, true},
		{webrtc.MimeTypeH264, &codecs.H264Payloader{}, true},
	} {
		t.Run(c.mime, func(t *testing.T) {
			clip := mediatest.Video(t, mediatest.VideoSpec{MimeType: c.mime, Width: 320, Height: 180, Duration: time.Second,
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
						continue // (for H.264 the IDR slice after the parameter sets counts too)
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
