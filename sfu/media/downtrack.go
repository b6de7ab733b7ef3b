package media

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"

	"parley/sfu/transport"
)

// Queue and history sizes of a downtrack.
const (
	// VideoQueuePackets and AudioQueuePackets bound the packets waiting
	// for one subscriber. A full queue drops (the subscriber NACKs them
	// back from the cache) rather than holding up the publisher's reader.
	VideoQueuePackets = 256
	AudioQueuePackets = 64
	// historyPackets is how many sent packets a downtrack remembers, to
	// map a NACKed sequence number back to the layer packet it was.
	historyPackets = 1024
	// MaxRetransmits is how often one packet is resent for NACKs. A
	// congested link NACKs the same packets again and again; resending
	// without end would only congest it more.
	MaxRetransmits = 2
)

// ErrDownTrackBound refuses a second Bind: a downtrack feeds exactly one
// subscriber connection.
var ErrDownTrackBound = errors.New("downtrack already bound")

// DownTrack forwards one Receiver's track to one subscriber. It is a
// webrtc.TrackLocal, added to the subscriber's PeerConnection (see
// AddDownTrack). It forwards one layer at a time, rewriting sequence
// numbers and timestamps so the subscriber sees a single continuous
// stream across layer switches and publisher SSRC changes, and it
// answers the subscriber's RTCP: NACKs from the receiver's packet cache,
// PLI and FIR with a throttled keyframe request to the publisher.
type DownTrack struct {
	r        *Receiver
	id       string
	streamID string
	logger   *slog.Logger
	q        *queue

	inline   bool // set by Receiver.addDownTrack before the first packet; see InlineFanout
	muted    atomic.Bool
	ready    atomic.Bool  // the subscriber's SRTP keys exist; see becomeReady
	target   atomic.Int32 // slot wanted, -1 for none
	current  atomic.Int32 // slot being forwarded, -1 for none
	maxLayer atomic.Int32 // quality index
	bwLayer  atomic.Int32 // quality index the allocator allows
	maxW     atomic.Int32
	maxH     atomic.Int32

	mu     sync.Mutex
	bound  bool
	closed bool
	done   chan struct{}

	// sender is set by AddDownTrack. Its DTLS transport tells when the
	// subscriber connection can carry media.
	sender atomic.Pointer[webrtc.RTPSender]

	// Set once in Bind, before the goroutines start.
	ssrc   uint32
	pt     uint8
	writer webrtc.TrackLocalWriter
	exts   []extMap

	// writeMu is held while one packet is written; Mute takes it so no
	// packet is written after Mute returns. It also guards hist, which
	// the RTCP reader consults for NACKs.
	writeMu sync.Mutex
	fwd     forwarder
	buf     []byte
	pkt     rtp.Packet
	hdr     rtp.Header
	hist    []sent

	packets, bytes, retransmits, nackMisses atomic.Uint64
	lastSN                                  atomic.Uint32
}

// extMap forwards one header extension under the subscriber's ID.
type extMap struct{ from, to uint8 }

// sent remembers one packet a downtrack wrote, for NACKs.
type sent struct {
	valid    bool
	resent   uint8
	outSN    uint16
	inSN     uint16
	layer    *layer
	tsOffset uint32
	epoch    uint32
}

// DownTrackConfig names a downtrack as the subscriber will see it.
type DownTrackConfig struct {
	// ID and StreamID default to the published track's.
	ID, StreamID string
	Logger       *slog.Logger
}

// NewDownTrack makes a downtrack of r. It starts forwarding once bound to
// a PeerConnection, on the highest layer allowed until told otherwise.
func NewDownTrack(r *Receiver, cfg DownTrackConfig) *DownTrack {
	if cfg.ID == "" {
		cfg.ID = r.trackID
	}
	if cfg.StreamID == "" {
		cfg.StreamID = r.streamID
	}
	if cfg.Logger == nil {
		cfg.Logger = r.logger
	}
	size := VideoQueuePackets
	if r.kind == webrtc.RTPCodecTypeAudio {
		size = AudioQueuePackets
	}
	d := &DownTrack{
		r: r, id: cfg.ID, streamID: cfg.StreamID, logger: cfg.Logger.With("downtrack", cfg.ID),
		q:    newQueue(size),
		done: make(chan struct{}),
		fwd:  newForwarder(r.kind == webrtc.RTPCodecTypeVideo, r.codec.ClockRate),
		buf:  make([]byte, MaxPacketSize),
		hist: make([]sent, historyPackets),
	}
	d.target.Store(-1)
	d.current.Store(-1)
	d.maxLayer.Store(MaxLayers - 1)
	d.bwLayer.Store(MaxLayers - 1)
	return d
}

// AddDownTrack adds d to a subscriber connection from
// transport.NewSubscriber; the server then offers. It is the one way
// downtracks reach a connection, so two rules hold for every subscriber:
//
//   - A media section that an earlier track left idle (removed with
//     pc.RemoveTrack and renegotiated since) is reused, so the SDP does
//     not grow with every subscribe and unsubscribe. Pion's AddTrack
//     does the reuse.
//   - The section offers the publisher's codec first, then every other
//     codec the connection has of its kind. Pion v3 settles a
//     connection's codecs from the client's answer to its first audio
//     and first video section only: a first section that offered one
//     codec alone would leave a later track of another codec (H.264 next
//     to VP8) unable to bind. After that first answer, "the codecs the
//     connection has" are the ones negotiated, so a section never offers
//     a codec the client has refused.
//
// A track in a codec the server does not register, or a subscriber
// whose connection has no codec to carry the publisher's, gets an error
// wrapping webrtc.ErrUnsupportedCodec (in the second case the section
// stays, idle, for a later track to reuse). Remove the downtrack with
// pc.RemoveTrack(sender).
func AddDownTrack(pc *webrtc.PeerConnection, d *DownTrack) (*webrtc.RTPSender, error) {
	if _, ok := matchCodec(d.r.codec, transport.Codecs()); !ok {
		return nil, fmt.Errorf("add downtrack %s: %w: %s", d.id, webrtc.ErrUnsupportedCodec, d.r.codec.MimeType)
	}
	sender, err := pc.AddTrack(d)
	if err != nil {
		return nil, fmt.Errorf("add downtrack %s: %w", d.id, err)
	}
	d.sender.Store(sender)
	var tr *webrtc.RTPTransceiver
	for _, t := range pc.GetTransceivers() {
		if t.Sender() == sender {
			tr = t
			break
		}
	}
	fail := func(err error) (*webrtc.RTPSender, error) {
		_ = pc.RemoveTrack(sender)
		return nil, fmt.Errorf("add downtrack %s: %w", d.id, err)
	}
	if tr == nil {
		return fail(errors.New("its transceiver is gone"))
	}
	// A reused transceiver still prefers its last track's codec; with no
	// preference, the sender lists every codec the connection has.
	if err := tr.SetCodecPreferences(nil); err != nil {
		return fail(err)
	}
	have := sender.GetParameters().Codecs
	codec, ok := matchCodec(d.r.codec, have)
	if !ok {
		return fail(fmt.Errorf("%w: the subscriber does not take %s %s", webrtc.ErrUnsupportedCodec,
			d.r.codec.MimeType, d.r.codec.SDPFmtpLine))
	}
	prefs := []webrtc.RTPCodecParameters{codec}
	for _, c := range have {
		if c.PayloadType != codec.PayloadType {
			prefs = append(prefs, c)
		}
	}
	if err := tr.SetCodecPreferences(prefs); err != nil {
		return fail(fmt.Errorf("codec %s: %w", codec.MimeType, err))
	}
	return sender, nil
}

// ID implements webrtc.TrackLocal.
func (d *DownTrack) ID() string { return d.id }

// RID implements webrtc.TrackLocal; a downtrack is one stream.
func (d *DownTrack) RID() string { return "" }

// StreamID implements webrtc.TrackLocal.
func (d *DownTrack) StreamID() string { return d.streamID }

// Kind implements webrtc.TrackLocal.
func (d *DownTrack) Kind() webrtc.RTPCodecType { return d.r.kind }

// Receiver is the track this downtrack forwards.
func (d *DownTrack) Receiver() *Receiver { return d.r }

// Bind implements webrtc.TrackLocal. Pion calls it when negotiation has
// settled the codec. Forwarding starts once the connection is up (see
// becomeReady).
func (d *DownTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	codec, ok := matchCodec(d.r.codec, ctx.CodecParameters())
	if !ok {
		return webrtc.RTPCodecParameters{}, fmt.Errorf("downtrack %s: %w: subscriber does not take %s %s",
			d.id, webrtc.ErrUnsupportedCodec, d.r.codec.MimeType, d.r.codec.SDPFmtpLine)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.bound || d.closed {
		return webrtc.RTPCodecParameters{}, fmt.Errorf("downtrack %s: %w", d.id, ErrDownTrackBound)
	}
	d.bound = true
	d.ssrc = uint32(ctx.SSRC())
	d.pt = uint8(codec.PayloadType)
	d.writer = ctx.WriteStream()
	pub := d.r.forwardedExtensions()
	for _, e := range ctx.HeaderExtensions() {
		if from, ok := pub[e.URI]; ok {
			d.exts = append(d.exts, extMap{from: from, to: uint8(e.ID)})
		}
	}
	go d.readRTCP(ctx.RTCPReader())
	if !d.r.addDownTrack(d) {
		go d.writeLoop() // what it queued meanwhile waits in d.q
	}
	d.retarget()
	return codec, nil
}

// Unbind implements webrtc.TrackLocal: the sender stopped, so the
// downtrack stops for good.
func (d *DownTrack) Unbind(webrtc.TrackLocalContext) error {
	d.Close()
	return nil
}

// Close stops forwarding and detaches from the receiver.
func (d *DownTrack) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	close(d.done)
	d.r.removeDownTrack(d)
}

// Mute stops forwarding at once: when Mute(true) returns, no further
// packet of this track is written toward the subscriber (retransmissions
// of packets sent before still are). Mute(false) resumes on the next
// keyframe, which it requests, with sequence numbers continuing where
// they stopped.
func (d *DownTrack) Mute(muted bool) {
	d.muted.Store(muted)
	d.writeMu.Lock()
	//lint:ignore SA2001 an empty critical section is the barrier
	d.writeMu.Unlock()
	if !muted {
		if l := d.r.layerInSlot(int(d.target.Load())); l != nil {
			d.r.requestKeyframe(l)
		}
	}
}

// Muted reports whether Mute(true) is in force.
func (d *DownTrack) Muted() bool { return d.muted.Load() }

// SetMaxLayer caps the layer forwarded, as a quality index (0 is the
// lowest; see Receiver.Layers).
func (d *DownTrack) SetMaxLayer(quality int) {
	d.maxLayer.Store(int32(max(quality, 0)))
	d.retarget()
}

// SetMaxSize caps the layer forwarded to the largest whose picture fits
// in w×h, the size the subscriber shows it at. The lowest layer is
// forwarded even if it is larger. Zero removes the cap.
func (d *DownTrack) SetMaxSize(w, h int) {
	d.maxW.Store(int32(w))
	d.maxH.Store(int32(h))
	d.retarget()
}

// setBandwidthLayer is the allocator's cap, as a quality index.
func (d *DownTrack) setBandwidthLayer(quality int) {
	d.bwLayer.Store(int32(quality))
	d.retarget()
}

// allowedLayer is the highest quality index the subscriber's own limits
// (SetMaxLayer, SetMaxSize) allow among order.
func (d *DownTrack) allowedLayer(order []*layer) int {
	q := min(int(d.maxLayer.Load()), len(order)-1)
	if w, h := d.maxW.Load(), d.maxH.Load(); w > 0 && h > 0 {
		for q > 0 {
			l := order[q]
			lw, lh := l.width.Load(), l.height.Load()
			if lw == 0 || (lw <= w && lh <= h) {
				break
			}
			q--
		}
	}
	return q
}

// retarget chooses the layer to forward: the highest active one within
// the subscriber's limits and the allocator's, else the nearest active
// one below, else above.
func (d *DownTrack) retarget() {
	order := *d.r.order.Load()
	if len(order) == 0 {
		return
	}
	want := min(d.allowedLayer(order), int(d.bwLayer.Load()))
	now := time.Now().UnixNano()
	pick := -1
	for q := want; q >= 0 && pick < 0; q-- {
		if order[q].alive(now) {
			pick = q
		}
	}
	for q := want + 1; q < len(order) && pick < 0; q++ {
		if order[q].alive(now) {
			pick = q
		}
	}
	if pick < 0 {
		if d.target.Load() >= 0 {
			return // nothing is flowing; keep waiting on the old choice
		}
		pick = max(want, 0) // not started yet: wait for the wanted layer
	}
	l := order[pick]
	// Before the connection is up a keyframe would be lost; becomeReady
	// asks for one then.
	if old := d.target.Swap(int32(l.slot)); old != int32(l.slot) && int32(l.slot) != d.current.Load() && d.ready.Load() {
		d.r.requestKeyframe(l)
	}
}

// CurrentLayer is the quality index being forwarded, or -1.
func (d *DownTrack) CurrentLayer() int { return d.r.qualityOf(int(d.current.Load())) }

// TargetLayer is the quality index the downtrack is moving to, or -1.
func (d *DownTrack) TargetLayer() int { return d.r.qualityOf(int(d.target.Load())) }

// wants reports whether packets of the layer in slot may be forwarded.
func (d *DownTrack) wants(slot int) bool {
	s := int32(slot)
	return s == d.current.Load() || s == d.target.Load()
}

func (d *DownTrack) writeLoop() {
	var batch []entry
	var lat latencyBatch
	for {
		select {
		case <-d.done:
			return
		case <-d.q.wake:
		}
		batch = d.q.drain(batch[:0])
		for _, e := range batch {
			d.forward(e, nil, 0, &lat)
		}
		if h := d.r.cfg.Latency; h != nil {
			h.add(&lat)
		}
	}
}

// forward writes one packet to the subscriber: from the writeLoop, or
// inline from the layers' read loops (several at once during a layer
// switch), hence writeMu around the scratch buffers too. A read loop
// passes the packet as it parsed it, in, and its size: the packet is
// written from there, with no copy. The writeLoop passes nil and the
// packet is read back from the layer's cache. The packet's time in the
// server goes to lat.
func (d *DownTrack) forward(e entry, in *rtp.Packet, size int, lat *latencyBatch) {
	d.writeMu.Lock()
	defer d.writeMu.Unlock()
	if in == nil {
		n, ok := e.layer.cache.get(e.sn, d.buf)
		if !ok {
			return // overwritten while queued: this subscriber lags far behind
		}
		if err := d.pkt.Unmarshal(d.buf[:n]); err != nil {
			return
		}
		in, size = &d.pkt, n
	}
	if d.muted.Load() || e.layer.refused.Load() {
		// Muted, or the layer runs over the publisher's bitrate cap.
		if d.muted.Load() || e.layer.slot == d.fwd.cur {
			d.fwd.pause()
			d.current.Store(-1)
		}
		return
	}
	if !d.ready.Load() && !d.becomeReady() {
		return
	}
	target := int(d.target.Load())
	// The forwarder's clock is the receiver's: when it read the packet.
	now := time.Unix(0, e.at)
	if e.at == 0 {
		now = time.Now()
	}
	if d.packets.Load() == 0 && !e.keyframe && e.layer.slot == target && d.r.kind == webrtc.RTPCodecTypeVideo {
		d.replayKeyframe(e.layer, e.sn, target, now)
	}
	d.send(e.layer, e.sn, in, size, e.keyframe, target, now, e.at, lat)
}

// send hands one packet of layer l to the forwarder and, if it goes out,
// writes it to the subscriber and remembers it for NACKs. inSN is its
// sequence number as received, n its size, at when the receiver read it
// (zero: not measured); its time in the server goes to lat. It reports
// whether the packet went out. Called with writeMu held.
func (d *DownTrack) send(l *layer, inSN uint16, pkt *rtp.Packet, n int, keyframe bool, target int, now time.Time,
	at int64, lat *latencyBatch) bool {
	sn, ts, v := d.fwd.forward(l.slot, target, &pkt.Header, keyframe, now)
	if cur := int32(d.fwd.cur); d.current.Load() != cur {
		d.current.Store(cur)
	}
	switch v {
	case verdictDrop:
		return false
	case verdictNeedKeyframe:
		d.r.requestKeyframe(l)
		return false
	}
	d.setHeader(&d.hdr, pkt, sn, ts)
	written, err := d.writer.WriteRTP(&d.hdr, pkt.Payload)
	if err != nil {
		return false
	}
	if written == 0 && d.packets.Load() == 0 {
		// DTLS reports connected a moment before Pion makes the SRTP
		// keys, and this packet fell in between: start over on the next
		// keyframe.
		d.ready.Store(false)
		d.fwd.pause()
		d.current.Store(-1)
		return false
	}
	if d.r.cfg.Latency != nil && at != 0 && lat != nil {
		lat.observe(time.Duration(time.Now().UnixNano() - at))
	}
	d.hist[sn%historyPackets] = sent{valid: true, outSN: sn, inSN: inSN, layer: l,
		tsOffset: d.fwd.tsOffset, epoch: d.fwd.epoch}
	d.packets.Add(1)
	d.bytes.Add(uint64(n))
	d.lastSN.Store(uint32(sn))
	return true
}

// replayKeyframe starts a downtrack that has sent nothing on the keyframe
// it has just missed: when layer l's last keyframe arrived within
// KeyframeRequestInterval and every packet from it up to (not including)
// upTo is still cached, it sends them all, in order, before the packet
// upTo. A new subscriber whose connection came up just after a keyframe
// (very often the one the previous subscriber asked for) would otherwise
// wait for the next, and under the throttle it may not ask for one for
// up to KeyframeRequestInterval. The burst is at most maxReplayPackets:
// a few frames, shown a little late, which a decoder takes in stride.
// Called with writeMu held; it leaves d.pkt and d.buf alone.
func (d *DownTrack) replayKeyframe(l *layer, upTo uint16, target int, now time.Time) {
	at := l.lastKey.Load()
	if at == 0 || now.UnixNano()-at > int64(KeyframeRequestInterval) {
		return
	}
	first := uint16(l.lastKeySN.Load())
	count := upTo - first
	if count == 0 || count > maxReplayPackets {
		return
	}
	buf := make([]byte, MaxPacketSize) // once per subscriber start
	for i := range count {             // all there, and it opens a keyframe?
		n, ok := l.cache.get(first+i, buf)
		if !ok || (i == 0 && !isKeyframeStart(d.r.ckind, payloadOf(buf[:n]))) {
			return
		}
	}
	var pkt rtp.Packet
	for i := range count {
		n, ok := l.cache.get(first+i, buf)
		if !ok || pkt.Unmarshal(buf[:n]) != nil || !d.send(l, first+i, &pkt, n, i == 0, target, now, 0, nil) {
			return
		}
	}
}

// payloadOf is the payload of a raw RTP packet, or nil if it does not
// parse.
func payloadOf(raw []byte) []byte {
	var pkt rtp.Packet
	if pkt.Unmarshal(raw) != nil {
		return nil
	}
	return pkt.Payload
}

// becomeReady reports whether the subscriber connection can carry media
// yet. Pion's sender drops, without an error, every packet written
// before the DTLS handshake has made the SRTP keys. A stream whose
// opening keyframe went that way reaches the subscriber as delta frames
// it cannot decode, until its own keyframe request comes round: a
// downtrack therefore forwards nothing until the connection is up, then
// starts on a keyframe (replayed if one has just passed, see
// replayKeyframe, else asked for). Called with writeMu held.
func (d *DownTrack) becomeReady() bool {
	if s := d.sender.Load(); s != nil && s.Transport().State() != webrtc.DTLSTransportStateConnected {
		return false
	}
	d.ready.Store(true)
	return true
}

// setHeader builds the outgoing header: the subscriber's SSRC and payload
// type, the munged numbers, and only the extensions worth forwarding,
// under the subscriber's IDs. It reuses hdr's extension slice.
func (d *DownTrack) setHeader(hdr *rtp.Header, in *rtp.Packet, sn uint16, ts uint32) {
	exts := hdr.Extensions[:0]
	*hdr = rtp.Header{
		Version: 2, Marker: in.Marker, PayloadType: d.pt,
		SequenceNumber: sn, Timestamp: ts, SSRC: d.ssrc, Extensions: exts,
	}
	for _, m := range d.exts {
		if v := in.GetExtension(m.from); v != nil {
			_ = hdr.SetExtension(m.to, v)
		}
	}
}

// DownTrackStats counts what a downtrack did.
type DownTrackStats struct {
	// Packets and Bytes count media packets forwarded, not counting
	// retransmissions.
	Packets, Bytes uint64
	// LastSequenceNumber is the outgoing sequence number of the last
	// packet forwarded.
	LastSequenceNumber uint16
	// Retransmits counts packets resent for NACKs, from the cache.
	Retransmits uint64
	// NACKMisses counts NACKed packets that could not be resent.
	NACKMisses uint64
	// QueueDrops counts packets dropped because the subscriber's queue
	// was full.
	QueueDrops uint64
}

// Stats reports the downtrack's counters.
func (d *DownTrack) Stats() DownTrackStats {
	return DownTrackStats{
		Packets: d.packets.Load(), Bytes: d.bytes.Load(), LastSequenceNumber: uint16(d.lastSN.Load()),
		Retransmits: d.retransmits.Load(), NACKMisses: d.nackMisses.Load(), QueueDrops: d.q.droppedCount(),
	}
}

// matchCodec finds the negotiated codec to forward want as: the same
// codec, and for H.264 the same packetization mode, preferring the same
// profile.
func matchCodec(want webrtc.RTPCodecParameters, have []webrtc.RTPCodecParameters) (webrtc.RTPCodecParameters, bool) {
	h264 := strings.EqualFold(want.MimeType, webrtc.MimeTypeH264)
	mode := fmtpValue(want.SDPFmtpLine, "packetization-mode")
	if mode == "" {
		mode = "0"
	}
	profile := fmtpValue(want.SDPFmtpLine, "profile-level-id")
	var fallback *webrtc.RTPCodecParameters
	for i, c := range have {
		if !strings.EqualFold(c.MimeType, want.MimeType) {
			continue
		}
		if !h264 {
			return c, true
		}
		m := fmtpValue(c.SDPFmtpLine, "packetization-mode")
		if m == "" {
			m = "0"
		}
		if m != mode {
			continue
		}
		p := fmtpValue(c.SDPFmtpLine, "profile-level-id")
		if len(p) >= 4 && len(profile) >= 4 && strings.EqualFold(p[:4], profile[:4]) {
			return c, true
		}
		if fallback == nil {
			fallback = &have[i]
		}
	}
	if fallback != nil {
		return *fallback, true
	}
	return webrtc.RTPCodecParameters{}, false
}

func fmtpValue(line, key string) string {
	for _, kv := range strings.Split(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}
