package media

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"

	"parley/sfu/transport"
)

// Limits and intervals of a receiver.
const (
	// MaxLayers is the most simulcast layers one track may have.
	MaxLayers = 3
	// KeyframeRequestInterval is the least time between two keyframe
	// requests (PLI) for one layer, however many subscribers ask.
	KeyframeRequestInterval = 500 * time.Millisecond
	// maxReplayPackets bounds the burst a starting downtrack replays from
	// the cache (see DownTrack.replayKeyframe): half a video cache.
	maxReplayPackets = VideoCachePackets / 2
	// InlineFanout is how many of a track's downtracks its read loops
	// write themselves, in turn, as each packet arrives; the rest each
	// have a queue and a goroutine. Writing inline spares a goroutine
	// wake per packet per subscriber: in a meeting the server-added
	// latency fell from ≤ 2.5 to ≤ 1 ms at p99, for a live of 50 viewers
	// from ≤ 25 to ≤ 5 ms (bench/RESULTS.md). Past the bound, the queued
	// downtracks spread a large audience's writes over the cores, and
	// keep the read loop's turn short. A write to a UDP socket does not
	// wait on the subscriber, so an inline slow subscriber stalls no one.
	InlineFanout = 64
	// LayerTimeout is how long a layer may go without packets before it
	// counts as stopped (a browser drops its top layer when its uplink
	// shrinks) and subscribers move off it.
	LayerTimeout = 1500 * time.Millisecond
	// BitrateTolerance is how far above ReceiverConfig.MaxBitrate a track
	// may run (keyframes are bursty) before layers are refused.
	BitrateTolerance = 1.25
	// refuseAfter is how many one-second measurements in a row a layer
	// must be over the limit before it is refused.
	refuseAfter  = 3
	tickInterval = time.Second
)

// ErrTooManyLayers refuses a simulcast layer beyond MaxLayers.
var ErrTooManyLayers = errors.New("too many simulcast layers")

// ReceiverConfig configures a Receiver.
type ReceiverConfig struct {
	// WriteRTCP sends RTCP toward the publisher: keyframe requests (PLI)
	// and the bitrate cap (REMB). Usually the publisher connection's
	// WriteRTCP.
	WriteRTCP func([]rtcp.Packet) error
	// MaxBitrate caps what the publisher may send on this track, all
	// simulcast layers together, in bits per second; zero means no cap.
	// The receiver asks the publisher to stay under it with REMB (sent
	// every second), and refuses the layers, from the top, that take the
	// track over it by more than BitrateTolerance for refuseAfter
	// seconds: they are not forwarded until the rate comes back under.
	MaxBitrate int
	Logger     *slog.Logger
	// Latency, when set, counts how long each packet this receiver
	// reads takes to reach each subscriber's connection. Receivers of
	// one kind of service share one, so it describes the node.
	Latency *LatencyHistogram
}

// rtpSource is where a layer's packets come from: a *webrtc.TrackRemote.
type rtpSource interface {
	Read(b []byte) (int, interceptor.Attributes, error)
	SetReadDeadline(time.Time) error
}

// Receiver is one published track: its layers, their packet caches, and
// the downtracks and sinks it feeds. Each layer has a goroutine that
// reads its packets, caches each one once and puts a reference to it in
// every interested consumer's queue; it never waits for a consumer.
type Receiver struct {
	cfg       ReceiverConfig
	logger    *slog.Logger
	trackID   string
	streamID  string
	kind      webrtc.RTPCodecType
	codec     webrtc.RTPCodecParameters
	ckind     codecKind
	extIDs    map[string]uint8 // publisher's header extension IDs by URI
	levelID   uint8
	level     audioLevel
	malformed atomic.Uint64
	plis      atomic.Uint64

	mu         sync.Mutex
	layers     []*layer
	reading    int
	closed     bool
	order      atomic.Pointer[[]*layer] // low to high quality
	downTracks atomic.Pointer[[]*DownTrack]

	done chan struct{}
	stop chan struct{}
}

// NewReceiver starts receiving a published track. rr is the track's
// RTPReceiver; the receiver reads the publisher's sender reports from it.
// Further simulcast layers of the same track are added with AddTrack.
func NewReceiver(track *webrtc.TrackRemote, rr *webrtc.RTPReceiver, cfg ReceiverConfig) (*Receiver, error) {
	var exts []webrtc.RTPHeaderExtensionParameter
	if rr != nil {
		exts = rr.GetParameters().HeaderExtensions
	}
	r := newReceiver(track.ID(), track.StreamID(), track.Kind(), track.Codec(), exts, cfg)
	if err := r.AddTrack(track, rr); err != nil {
		return nil, err
	}
	return r, nil
}

func newReceiver(trackID, streamID string, kind webrtc.RTPCodecType, codec webrtc.RTPCodecParameters,
	exts []webrtc.RTPHeaderExtensionParameter, cfg ReceiverConfig) *Receiver {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.WriteRTCP == nil {
		cfg.WriteRTCP = func([]rtcp.Packet) error { return nil }
	}
	r := &Receiver{
		cfg:      cfg,
		logger:   cfg.Logger.With("track", trackID),
		trackID:  trackID,
		streamID: streamID,
		kind:     kind,
		codec:    codec,
		ckind:    codecOf(codec.MimeType),
		extIDs:   map[string]uint8{},
		done:     make(chan struct{}),
		stop:     make(chan struct{}),
	}
	for _, e := range exts {
		r.extIDs[e.URI] = uint8(e.ID)
	}
	r.levelID = r.extIDs[sdp.AudioLevelURI]
	r.order.Store(&[]*layer{})
	r.downTracks.Store(&[]*DownTrack{})
	go r.tick()
	return r
}

// AddTrack adds a simulcast layer, one TrackRemote per rid, and starts
// reading it. A track with a rid already present replaces that layer's
// source (the publisher restarted it with a new SSRC); downtracks switch
// over on its next keyframe without a break in their sequence numbers.
func (r *Receiver) AddTrack(track *webrtc.TrackRemote, rr *webrtc.RTPReceiver) error {
	l, gen, err := r.addLayer(track.RID(), track)
	if err != nil {
		return err
	}
	l.ssrc.Store(uint32(track.SSRC()))
	go r.readRTP(l, gen, track)
	if rr != nil {
		r.startRTCP(rr)
	}
	return nil
}

// startRTCP starts reading the publisher's RTCP for every layer once
// all of rr's layers have arrived. Pion v3's RTPReceiver.ReadSimulcast
// walks the receiver's layers without its lock while a later layer is
// still being set up, so reading must wait until none is.
func (r *Receiver) startRTCP(rr *webrtc.RTPReceiver) {
	for _, t := range rr.Tracks() {
		if t.SSRC() == 0 {
			return
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.layers {
		if !l.rtcpStarted {
			l.rtcpStarted = true
			go r.readRTCP(l, rr, l.rid)
		}
	}
}

// addLayer finds or makes the layer for rid, makes src its source and
// counts one more reader.
func (r *Receiver) addLayer(rid string, src rtpSource) (*layer, uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, 0, fmt.Errorf("track %s: receiver closed", r.trackID)
	}
	var l *layer
	for _, have := range r.layers {
		if have.rid == rid {
			l = have
		}
	}
	if l == nil {
		if len(r.layers) == MaxLayers {
			return nil, 0, fmt.Errorf("track %s rid %q: %w (limit %d)", r.trackID, rid, ErrTooManyLayers, MaxLayers)
		}
		size := VideoCachePackets
		if r.kind == webrtc.RTPCodecTypeAudio {
			size = AudioCachePackets
		}
		l = &layer{slot: len(r.layers), rid: rid, cache: newPacketCache(size)}
		l.sinks.Store(&[]*sinkPump{})
		r.layers = append(r.layers, l)
	}
	if l.src != nil {
		// Wake the replaced source's reader so it ends.
		_ = l.src.SetReadDeadline(time.Now())
	}
	l.src = src
	gen := l.srcGen.Add(1)
	r.reading++
	r.reorderLocked()
	return l, gen, nil
}

// TrackID is the published track's id.
func (r *Receiver) TrackID() string { return r.trackID }

// StreamID is the published track's stream (MediaStream) id.
func (r *Receiver) StreamID() string { return r.streamID }

// Kind is audio or video.
func (r *Receiver) Kind() webrtc.RTPCodecType { return r.kind }

// Codec is the codec the publisher sends.
func (r *Receiver) Codec() webrtc.RTPCodecParameters { return r.codec }

// Done is closed when every layer has stopped: the publisher ended the
// track, its connection closed, or Close was called.
func (r *Receiver) Done() <-chan struct{} { return r.done }

// Close stops reading. Downtracks and sinks stay attached but get no more
// packets; their owners close them.
func (r *Receiver) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	close(r.stop)
	for _, l := range r.layers {
		if l.src != nil {
			_ = l.src.SetReadDeadline(time.Now())
		}
		for _, s := range *l.sinks.Load() {
			s.close()
		}
	}
}

// RequestKeyframe asks the publisher for a keyframe on the layer at
// quality index (HighestLayer for the best), at most once per
// KeyframeRequestInterval per layer.
func (r *Receiver) RequestKeyframe(quality int) {
	if l := r.layerAt(quality); l != nil {
		r.requestKeyframe(l)
	}
}

// KeyframeRequests counts the PLIs sent to the publisher.
func (r *Receiver) KeyframeRequests() uint64 { return r.plis.Load() }

// Malformed counts packets from the publisher that did not parse as RTP.
func (r *Receiver) Malformed() uint64 { return r.malformed.Load() }

// requestKeyframe asks the publisher for a keyframe on l, at most once
// per KeyframeRequestInterval however many subscribers ask.
func (r *Receiver) requestKeyframe(l *layer) {
	if r.kind != webrtc.RTPCodecTypeVideo {
		return
	}
	now := time.Now().UnixNano()
	last := l.lastPLI.Load()
	if now-last < int64(KeyframeRequestInterval) || !l.lastPLI.CompareAndSwap(last, now) {
		return
	}
	ssrc := l.ssrc.Load()
	if ssrc == 0 {
		return
	}
	r.plis.Add(1)
	if err := r.cfg.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		r.logger.Debug("keyframe request", "ssrc", ssrc, "err", err)
	}
}

func (r *Receiver) readRTP(l *layer, gen uint64, src rtpSource) {
	defer r.layerStopped()
	buf := make([]byte, MaxPacketSize)
	var pkt rtp.Packet
	for {
		n, _, err := src.Read(buf)
		if err != nil || l.srcGen.Load() != gen {
			return
		}
		r.push(l, buf[:n], &pkt)
	}
}

func (r *Receiver) layerStopped() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reading--
	if r.reading == 0 {
		close(r.done)
		if !r.closed {
			r.closed = true
			close(r.stop)
			for _, l := range r.layers {
				for _, s := range *l.sinks.Load() {
					s.close()
				}
			}
		}
	}
}

// push takes one packet from the wire: cache it, note what the layer
// tells about itself, and queue it for every consumer that wants it.
func (r *Receiver) push(l *layer, b []byte, pkt *rtp.Packet) {
	if err := pkt.Unmarshal(b); err != nil {
		r.malformed.Add(1)
		return
	}
	if !l.cache.put(pkt.SequenceNumber, b) {
		return // a duplicate, or a retransmission of a packet we have
	}
	l.bytes.Add(uint64(len(b)))
	now := time.Now().UnixNano()
	l.lastPacket.Store(now)
	l.ssrc.Store(pkt.SSRC)
	keyframe := len(pkt.Payload) > 0 && isKeyframeStart(r.ckind, pkt.Payload)
	if keyframe && r.kind == webrtc.RTPCodecTypeVideo {
		// A keyframe may open with several "start" packets (an H.264
		// SPS, then the IDR slice): one picture is one timestamp.
		if prev := l.lastKey.Load(); prev == 0 || l.lastKeyTS.Load() != pkt.Timestamp {
			if prev != 0 {
				l.keyGap.Store(now - prev)
			}
			l.lastKeyTS.Store(pkt.Timestamp)
			l.lastKeySN.Store(uint32(pkt.SequenceNumber))
		}
		l.lastKey.Store(now)
		if w, h, ok := pictureSize(r.ckind, pkt.Payload); ok {
			l.width.Store(int32(w))
			l.height.Store(int32(h))
		}
	}
	if r.levelID != 0 {
		if ext := pkt.GetExtension(r.levelID); len(ext) > 0 {
			r.level.observe(ext[0] & 0x7f)
		}
	}
	e := entry{layer: l, sn: pkt.SequenceNumber, keyframe: keyframe, at: now}
	var lat latencyBatch
	for _, d := range *r.downTracks.Load() {
		switch {
		case !d.wants(l.slot):
		case d.inline:
			d.forward(e, pkt, len(b), &lat)
		default:
			d.q.push(e)
		}
	}
	if h := r.cfg.Latency; h != nil {
		h.add(&lat)
	}
	for _, s := range *l.sinks.Load() {
		s.q.push(e)
	}
}

func (r *Receiver) readRTCP(l *layer, rr *webrtc.RTPReceiver, rid string) {
	buf := make([]byte, MaxPacketSize)
	for {
		n, _, err := rr.ReadSimulcast(buf, rid)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			sr, ok := p.(*rtcp.SenderReport)
			if !ok {
				continue
			}
			for _, s := range *l.sinks.Load() {
				s.q.push(entry{layer: l, sr: sr})
			}
		}
	}
}

// addDownTrack starts feeding d and reports whether d is written inline
// by the layers' read loops (the first InlineFanout downtracks) rather
// than through its own queue and goroutine. A downtrack keeps its way
// for life, so its packets are never split between the two and
// reordered.
func (r *Receiver) addDownTrack(d *DownTrack) (inline bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.downTracks.Load()
	n := 0
	for _, x := range old {
		if x.inline {
			n++
		}
	}
	d.inline = n < InlineFanout
	list := append(slices.Clone(old), d)
	r.downTracks.Store(&list)
	return d.inline
}

func (r *Receiver) removeDownTrack(d *DownTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	list := slices.DeleteFunc(slices.Clone(*r.downTracks.Load()), func(x *DownTrack) bool { return x == d })
	r.downTracks.Store(&list)
}

// forwardedExtensions maps the URIs a downtrack forwards to the publisher's
// IDs for them.
func (r *Receiver) forwardedExtensions() map[string]uint8 {
	out := map[string]uint8{}
	for _, uri := range []string{sdp.AudioLevelURI, transport.VideoOrientationURI} {
		if id, ok := r.extIDs[uri]; ok {
			out[uri] = id
		}
	}
	return out
}
