package media

import (
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"

	"parley/sfu/mediatest"
)

// wireLog records the sequence numbers of one stream as they come off
// the wire, before a test network drops any: everything the server sent.
type wireLog struct {
	mu   sync.Mutex
	mime string
	sns  map[uint16]bool
}

func (w *wireLog) rule(info *interceptor.StreamInfo, h *rtp.Header, _ int) bool {
	if info.MimeType == w.mime {
		w.mu.Lock()
		w.sns[h.SequenceNumber] = true
		w.mu.Unlock()
	}
	return false
}

// gaps counts sequence numbers missing between the lowest and highest
// seen (the run is short enough not to wrap twice; the start is found as
// the number after the largest hole).
func (w *wireLog) gaps() (missing, total int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var first uint16
	for sn := range w.sns {
		if !w.sns[sn-1] {
			// A run starts here; the true start is the run after the
			// longest absence, which for a short capture is unique.
			if !w.sns[sn-2] && !w.sns[sn-3] {
				first = sn
			}
		}
	}
	for sn, n := first, 0; n < len(w.sns); sn++ {
		if w.sns[sn] {
			n++
		} else {
			missing++
		}
		total++
	}
	return missing, total
}

// TestSimulcastSwitchesDownUnderBandwidthCap publishes three VP8 layers.
// A subscriber starts on the top one; then its link is capped well below
// that layer's rate. Google congestion control sees the loss, the
// allocator moves the subscriber to a lower layer on a keyframe, and the
// stream stays one: no sequence number the server sent is missing, and
// every frame that arrives is a whole frame of one of the clips, with
// timestamps rising across the switch.
func TestSimulcastSwitchesDownUnderBandwidthCap(t *testing.T) {
	srv := newTestServer(t)
	spec := func(w, h, kbps int) mediatest.VideoSpec {
		return mediatest.VideoSpec{MimeType: webrtc.MimeTypeVP8, Width: w, Height: h, BitrateKbps: kbps,
			Duration: 2 * time.Second, KeyframeInterval: 500 * time.Millisecond}
	}
	clips := map[string]mediatest.Clip{
		"q": mediatest.Video(t, spec(80, 45, 60)),
		"h": mediatest.Video(t, spec(160, 90, 200)),
		"f": mediatest.Video(t, spec(320, 180, 600)),
	}
	pub := mediatest.NewPeer(t, mediatest.ClientConfig{})
	vp8 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}
	var layers []*mediatest.Track
	for _, rid := range []string{"f", "h", "q"} {
		layers = append(layers, mediatest.NewTrack(vp8, "cam", "pub", rid))
	}
	pub.Publish(layers...)
	waitReceivers := srv.publish(pub, ReceiverConfig{})
	pub.WaitConnected(10 * time.Second)
	for _, l := range layers {
		t.Cleanup(mediatest.PlayUntil(l, clips[l.RID()]))
	}
	r := waitReceivers(1)[0]
	waitUntil(t, 10*time.Second, "three sized layers", func() bool {
		ls := r.Layers()
		return len(ls) == 3 && ls[0].Width == 80 && ls[1].Width == 160 && ls[2].Width == 320 && ls[0].Bitrate > 0
	})

	limit := &mediatest.RateLimit{}
	wire := &wireLog{mime: webrtc.MimeTypeVP8, sns: map[uint16]bool{}}
	drop := &mediatest.Dropper{In: func(info *interceptor.StreamInfo, h *rtp.Header, size int) bool {
		wire.rule(info, h, size)
		return limit.Rule(info, h, size)
	}}
	sub := srv.subscribe(mediatest.ClientConfig{Interceptors: []interceptor.Factory{drop}}, r)
	rec := sub.tracks["cam"]
	dt := sub.downTracks[0]
	if !rec.WaitFor(10*time.Second, func(frames []mediatest.ReceivedFrame) bool {
		return len(frames) > 0 && frames[len(frames)-1].Width == 320
	}) {
		t.Fatalf("never received the top layer (layers %+v, current %d)", r.Layers(), dt.CurrentLayer())
	}

	limit.SetRate(300_000)
	cappedAt := time.Now()

	capped := len(rec.Frames())
	if !rec.WaitFor(20*time.Second, func(frames []mediatest.ReceivedFrame) bool {
		for _, f := range frames[capped:] {
			if f.Keyframe && f.Width < 320 {
				return true
			}
		}
		return false
	}) {
		t.Fatalf("no switch down under a 300 kbit/s cap (current layer %d, layers %+v)", dt.CurrentLayer(), r.Layers())
	}
	t.Logf("switched to layer %d %v after the cap", dt.CurrentLayer(), time.Since(cappedAt).Round(time.Millisecond))
	limit.SetRate(0)
	time.Sleep(300 * time.Millisecond) // let NACKed packets come back

	if missing, total := wire.gaps(); missing != 0 {
		t.Errorf("%d of %d sequence numbers never left the server", missing, total)
	}
	known := map[string]bool{}
	for _, c := range clips {
		for _, f := range c.Frames {
			known[string(f.Data)] = true
		}
	}
	frames := rec.Frames()
	for i, f := range frames {
		if !known[string(f.Data)] {
			t.Fatalf("frame %d (%d bytes) is not a whole frame of any layer", i, len(f.Data))
		}
		if i > 0 && int32(f.Timestamp-frames[i-1].Timestamp) <= 0 {
			t.Fatalf("frame %d: timestamp %d does not rise from %d", i, f.Timestamp, frames[i-1].Timestamp)
		}
	}
}

// waitUntil polls cond every 20 ms until it holds or the timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
