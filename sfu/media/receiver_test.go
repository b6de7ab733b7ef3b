package media

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

func newTestReceiver(t testing.TB, codec webrtc.RTPCodecParameters, cfg ReceiverConfig) *Receiver {
	kind := webrtc.RTPCodecTypeVideo
	if codec.MimeType == webrtc.MimeTypeOpus {
		kind = webrtc.RTPCodecTypeAudio
	}
	cfg.Logger = testLogger()
	r := newReceiver("track", "stream", kind, codec, nil, cfg)
	t.Cleanup(r.Close)
	return r
}

// Layers are ordered by picture size when known, whatever their rids.
func TestLayersOrderedBySize(t *testing.T) {
	r := newTestReceiver(t, vp8Params, ReceiverConfig{})
	sizes := map[string][2]int{"0": {1280, 720}, "1": {640, 360}, "2": {320, 180}}
	for sn, rid := range []string{"0", "1", "2"} {
		f := newFeed(t, r, rid)
		s := sizes[rid]
		f.send(t, &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: uint32(10 + sn), SequenceNumber: 1},
			Payload: vp8Payload(true, s[0], s[1])})
	}
	r.mu.Lock()
	r.reorderLocked()
	r.mu.Unlock()
	var rids []string
	for _, l := range r.Layers() {
		rids = append(rids, l.RID)
		if !l.Active {
			t.Errorf("layer %q not active", l.RID)
		}
	}
	if !slices.Equal(rids, []string{"2", "1", "0"}) {
		t.Fatalf("layers low to high = %v, want [2 1 0]", rids)
	}
	if l := r.Layers()[2]; l.Width != 1280 || l.Height != 720 {
		t.Fatalf("top layer size %dx%d", l.Width, l.Height)
	}
	if _, _, err := r.addLayer("3", nil); !errors.Is(err, ErrTooManyLayers) {
		t.Fatalf("a fourth layer: %v, want ErrTooManyLayers", err)
	}
}

// Without sizes, layers are ordered by measured bitrate, then by rid.
func TestLayersOrderedByBitrateThenRID(t *testing.T) {
	r := newTestReceiver(t, vp8Params, ReceiverConfig{})
	feeds := map[string]*feed{}
	for _, rid := range []string{"f", "q", "h"} {
		feeds[rid] = newFeed(t, r, rid)
	}
	if got := ridsOf(r.Layers()); !slices.Equal(got, []string{"q", "h", "f"}) {
		t.Fatalf("by rid: %v", got)
	}
	// The "q" layer is in fact the biggest.
	for i, rid := range []string{"q", "h", "f"} {
		for range 3 - i {
			feeds[rid].l.bytes.Add(10000)
		}
	}
	r.measure(1)
	if got := ridsOf(r.Layers()); !slices.Equal(got, []string{"f", "h", "q"}) {
		t.Fatalf("by bitrate: %v", got)
	}
}

func ridsOf(ls []LayerInfo) []string {
	var out []string
	for _, l := range ls {
		out = append(out, l.RID)
	}
	return out
}

// Layers that take a track over its bitrate cap for refuseAfter
// measurements are refused, from the top, until the rate comes back
// under; the cap is sent as REMB.
func TestBitrateCapRefusesLayers(t *testing.T) {
	var mu sync.Mutex
	var rembs []float32
	r := newTestReceiver(t, vp8Params, ReceiverConfig{MaxBitrate: 500_000, WriteRTCP: func(pkts []rtcp.Packet) error {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range pkts {
			if remb, ok := p.(*rtcp.ReceiverEstimatedMaximumBitrate); ok {
				rembs = append(rembs, remb.Bitrate)
			}
		}
		return nil
	}})
	var feeds []*feed
	for i, rid := range []string{"q", "h", "f"} {
		f := newFeed(t, r, rid)
		f.send(t, &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: uint32(i + 1), SequenceNumber: 1}, Payload: vp8Payload(true, 160<<i, 90<<i)})
		feeds = append(feeds, f)
	}
	active := func() []bool {
		var out []bool
		for _, l := range r.Layers() {
			out = append(out, l.Active)
		}
		return out
	}
	// 100 + 300 + 900 kbit/s: the top layer takes the track over 500k.
	second := func(kbytes ...uint64) {
		for i, f := range feeds {
			f.l.bytes.Add(kbytes[i] * 1000)
			f.l.lastPacket.Store(time.Now().UnixNano())
		}
		r.measure(1)
	}
	for i := range refuseAfter {
		if got := active(); !slices.Equal(got, []bool{true, true, true}) {
			t.Fatalf("after %d measurements over the cap: active %v", i, got)
		}
		second(12, 37, 112)
	}
	if got := active(); !slices.Equal(got, []bool{true, true, false}) {
		t.Fatalf("over the cap: active %v, want the top layer refused", got)
	}
	// The publisher heeds the REMB and lowers its top layer.
	for range 4 {
		if got := active(); got[2] {
			break
		}
		second(12, 37, 12)
	}
	if got := active(); !slices.Equal(got, []bool{true, true, true}) {
		t.Fatalf("back under the cap: active %v (layers %+v)", got, r.Layers())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(rembs) == 0 || rembs[0] != 500_000 {
		t.Fatalf("REMBs sent: %v", rembs)
	}
}

type blockingSink struct {
	once    sync.Once
	started chan struct{}
	release chan struct{}
}

func (s *blockingSink) WriteRTP(*rtp.Packet) {
	s.once.Do(func() { close(s.started) })
	<-s.release
}
func (s *blockingSink) WriteSenderReport(*rtcp.SenderReport) {}

type recordingSink struct {
	mu  sync.Mutex
	sns []uint16
	srs []uint32
}

func (s *recordingSink) WriteRTP(p *rtp.Packet) {
	s.mu.Lock()
	s.sns = append(s.sns, p.SequenceNumber)
	s.mu.Unlock()
}

func (s *recordingSink) WriteSenderReport(sr *rtcp.SenderReport) {
	s.mu.Lock()
	s.srs = append(s.srs, sr.RTPTime)
	s.mu.Unlock()
}

func (s *recordingSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sns)
}

// A sink gets the publisher's own packets and sender reports, and a sink
// that stops reading stalls neither the downtracks nor other sinks.
func TestSinksGetOriginalPacketsAndCannotStall(t *testing.T) {
	r := newTestReceiver(t, vp8Params, ReceiverConfig{})
	f := newFeed(t, r, "")
	stuck := &blockingSink{started: make(chan struct{}), release: make(chan struct{})}
	defer close(stuck.release)
	r.AddSink(stuck, HighestLayer)
	rec := &recordingSink{}
	remove := r.AddSink(rec, 0)

	d := NewDownTrack(r, DownTrackConfig{})
	ctx := newFakeContext(vp8Params, true)
	if _, err := d.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	defer d.Close()

	const n = 3000 // more than the sink queue holds
	for i := range n {
		f.send(t, &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 7, SequenceNumber: uint16(1000 + i), Timestamp: uint32(i * 3000), Marker: true},
			Payload: vp8Payload(i%100 == 0, 64, 64)})
		if i%100 == 99 {
			// Let the live consumers keep up (their queues are smaller
			// than n); the stuck sink's queue fills and overflows.
			waitUntil(t, 5*time.Second, "consumers to keep up", func() bool {
				return ctx.w.count.Load() == uint64(i+1) && rec.count() == i+1
			})
		}
	}
	for _, s := range *f.l.sinks.Load() {
		s.q.push(entry{layer: f.l, sr: &rtcp.SenderReport{SSRC: 7, RTPTime: 123}})
	}
	waitUntil(t, 5*time.Second, "downtrack and sink to get every packet", func() bool {
		return ctx.w.count.Load() == n && rec.count() == n
	})
	<-stuck.started
	if dropped := (*f.l.sinks.Load())[0].q.droppedCount(); dropped == 0 {
		t.Error("the stuck sink's queue never overflowed")
	}
	rec.mu.Lock()
	if rec.sns[0] != 1000 || rec.sns[n-1] != uint16(1000+n-1) {
		t.Errorf("sink got %d..%d, want the publisher's numbers 1000..%d", rec.sns[0], rec.sns[n-1], 1000+n-1)
	}
	waitSR := len(rec.srs)
	rec.mu.Unlock()
	if waitSR == 0 {
		waitUntil(t, time.Second, "sender report", func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.srs) == 1 })
	}
	remove()
	f.send(t, &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 7, SequenceNumber: uint16(1000 + n)}, Payload: vp8Payload(false, 0, 0)})
	time.Sleep(20 * time.Millisecond)
	if rec.count() != n {
		t.Error("a removed sink still got packets")
	}
}

// The downtrack forwards with its own SSRC and payload type and only the
// header extensions it maps, and refuses a codec the subscriber lacks.
func TestDownTrackRewritesHeaders(t *testing.T) {
	r := newReceiver("mic", "s", webrtc.RTPCodecTypeAudio, opusParams,
		[]webrtc.RTPHeaderExtensionParameter{{URI: "urn:ietf:params:rtp-hdrext:ssrc-audio-level", ID: 1}, {URI: "urn:ietf:params:rtp-hdrext:sdes:mid", ID: 3}},
		ReceiverConfig{Logger: testLogger()})
	t.Cleanup(r.Close)
	f := newFeed(t, r, "")

	if _, err := NewDownTrack(r, DownTrackConfig{}).Bind(newFakeContext(vp8Params, false)); !errors.Is(err, webrtc.ErrUnsupportedCodec) {
		t.Fatalf("bind Opus to a VP8-only subscriber: %v", err)
	}
	ctx := newFakeContext(webrtc.RTPCodecParameters{RTPCodecCapability: opusParams.RTPCodecCapability, PayloadType: 109}, true)
	d := NewDownTrack(r, DownTrackConfig{})
	if _, err := d.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: 99, SequenceNumber: 500, Timestamp: 960}, Payload: []byte{1, 2, 3}}
	_ = p.Header.SetExtension(1, []byte{0x80 | 30})
	_ = p.Header.SetExtension(3, []byte("0"))
	f.send(t, p)
	waitUntil(t, time.Second, "the packet", func() bool { return ctx.w.count.Load() == 1 })
	got := ctx.w.sent()[0].header
	if got.SSRC != 4242 || got.PayloadType != 109 || got.SequenceNumber != 500 || got.Timestamp != 960 {
		t.Fatalf("header %+v", got)
	}
	if level := got.GetExtension(5); len(level) != 1 || level[0] != 0x80|30 {
		t.Fatalf("audio level extension = %v, want it under the subscriber's ID 5", level)
	}
	if len(got.Extensions) != 1 {
		t.Fatalf("forwarded %d extensions, want only the audio level", len(got.Extensions))
	}
}

// A track in a codec Parley does not register cannot be subscribed to.
func TestAddDownTrackRefusesUnknownCodec(t *testing.T) {
	unknown := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "video/H266", ClockRate: 90000}, PayloadType: 45}
	r := newTestReceiver(t, unknown, ReceiverConfig{})
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, err = AddDownTrack(pc, NewDownTrack(r, DownTrackConfig{}))
	if !errors.Is(err, webrtc.ErrUnsupportedCodec) || len(pc.GetTransceivers()) != 0 {
		t.Fatalf("AddDownTrack(H266) = %v, %d transceivers", err, len(pc.GetTransceivers()))
	}
}

// KeyframeInterval is the wall time between the last two keyframes; a
// keyframe that opens with two start packets of one picture counts once.
func TestKeyframeInterval(t *testing.T) {
	r := newTestReceiver(t, vp8Params, ReceiverConfig{})
	f := newFeed(t, r, "")
	key := func(sn uint16, ts uint32) {
		f.send(t, &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1, SequenceNumber: sn, Timestamp: ts}, Payload: vp8Payload(true, 320, 180)})
	}
	key(1, 3000)
	if got := r.Layers()[0].KeyframeInterval; got != 0 {
		t.Fatalf("after one keyframe: %v", got)
	}
	const gap = 60 * time.Millisecond
	time.Sleep(gap)
	key(2, 6000)
	key(3, 6000) // the same picture
	got := r.Layers()[0].KeyframeInterval
	if got < gap || got > 5*time.Second {
		t.Fatalf("keyframe interval %v, want about %v", got, gap)
	}
}
