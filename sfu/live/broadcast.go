package live

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"

	"parley/sfu/media"
	"parley/sfu/recording"
	"parley/sfu/transport"
)

// Defaults and timings of the live media side.
const (
	// DefaultDisconnectGrace is how long a live stays on air after its
	// publisher's connection drops, waiting for the encoder to reconnect
	// (OBS retries within seconds), when MediaConfig.DisconnectGrace is
	// zero.
	DefaultDisconnectGrace = 30 * time.Second
	// DefaultMaxBroadcasts bounds the lives on air at once on one node.
	DefaultMaxBroadcasts = 100
	// DefaultMaxViewers bounds the players of one live on one node.
	DefaultMaxViewers = 2000
	// NegotiateTimeout bounds making one answer or offer, gathering every
	// server candidate included. OBS gives up on a WHIP answer after 8 s.
	NegotiateTimeout = 5 * time.Second
	// ConnectTimeout is how long a publisher or player may take to
	// connect after its answer. A publisher that does not is treated as
	// one whose connection dropped; a player is closed.
	ConnectTimeout = 20 * time.Second
	// TrackWait is how long a new player waits for publisher tracks that
	// are negotiated but have not sent their first packet yet, so it gets
	// both audio and video in its one negotiation.
	TrackWait = 3 * time.Second
	// ReplaceOverlap is how long a replaced publisher connection stays
	// open when a reconnecting encoder takes over, so the new connection's
	// streams can continue the same receivers (viewers see no break in
	// sequence) before the old ones stop.
	ReplaceOverlap = 5 * time.Second
	// SlowKeyframeInterval is the keyframe interval past which a live's
	// log warns, once, when a viewer starts. A new viewer sees nothing
	// until a keyframe, and OBS does not answer keyframe requests: with
	// its default keyframe interval ("auto", 250 frames with x264) a
	// viewer waits up to about 8 s at 30 fps for a picture. The fix is in
	// the encoder: OBS's Keyframe Interval set to 1 or 2 s.
	SlowKeyframeInterval = 2 * time.Second
	// layerCheckInterval is how often the recording's choice of simulcast
	// layer is checked against the layers that are flowing.
	layerCheckInterval = time.Second
)

// MediaConfig configures the live media of a node.
type MediaConfig struct {
	// Transport makes the peer connections; Store keeps the lives.
	Transport *transport.Transport
	Store     *Store
	// RecordingDir holds the recordings of lives that ask for one, a
	// folder per broadcast named "<live id>-<UTC start time>". Empty
	// records nothing.
	RecordingDir string
	// DisconnectGrace defaults to DefaultDisconnectGrace.
	DisconnectGrace time.Duration
	// MaxBroadcasts and MaxViewers default to DefaultMaxBroadcasts and
	// DefaultMaxViewers.
	MaxBroadcasts int
	MaxViewers    int
	Logger        *slog.Logger
	// Now is the clock of status changes and viewer records; nil is
	// time.Now.
	Now func() time.Time
	// OnStatus, when set, hears every on-air and ended change this node
	// makes, after the store has it, so the live's room can be told at
	// once instead of polling. It runs on the broadcast's goroutine and
	// must not block.
	OnStatus func(liveID string, status Status, at time.Time)
}

// Broadcasts runs the live media of this node: one Broadcast for each
// live whose publisher is connected here, and the WHIP and WHEP
// resources (publisher and viewer sessions) that belong to them. It is
// safe for concurrent use.
type Broadcasts struct {
	cfg MediaConfig
	log *slog.Logger

	mu        sync.Mutex
	lives     map[string]*Broadcast // by live id
	ingests   map[string]*Ingest    // by resource id
	playbacks map[string]*Playback  // by resource id
	closed    bool

	totals media.ForwardTotals // forwarding counters, closed downtracks' and receivers' included; see Stats
	// latency is every live receiver's time from packet read to viewer
	// write; see Stats.
	latency media.LatencyHistogram
}

// NewBroadcasts prepares the live media side. Call Recover once at
// startup, and Close at shutdown before the store closes.
func NewBroadcasts(cfg MediaConfig) (*Broadcasts, error) {
	if cfg.Transport == nil || cfg.Store == nil {
		return nil, errors.New("live media: Transport and Store are required")
	}
	if cfg.DisconnectGrace < 0 || cfg.MaxBroadcasts < 0 || cfg.MaxViewers < 0 {
		return nil, errors.New("live media: disconnect grace and limits must not be negative")
	}
	if cfg.DisconnectGrace == 0 {
		cfg.DisconnectGrace = DefaultDisconnectGrace
	}
	if cfg.MaxBroadcasts == 0 {
		cfg.MaxBroadcasts = DefaultMaxBroadcasts
	}
	if cfg.MaxViewers == 0 {
		cfg.MaxViewers = DefaultMaxViewers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Broadcasts{
		cfg: cfg, log: cfg.Logger,
		lives: map[string]*Broadcast{}, ingests: map[string]*Ingest{}, playbacks: map[string]*Playback{},
	}, nil
}

// Recover takes charge of the lives a previous process left on air: each
// gets the disconnect grace to have its encoder reconnect here, and is
// ended if it does not.
func (b *Broadcasts) Recover() error {
	var onAir []Live
	err := b.cfg.Store.ScanNewest("", func(l Live) bool {
		if l.Status == StatusLive {
			onAir = append(onAir, l)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("recover lives on air: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range onAir {
		if b.lives[l.ID] != nil || b.closed {
			continue
		}
		bc := newBroadcast(b, l)
		bc.onAir = true
		bc.grace = time.AfterFunc(b.cfg.DisconnectGrace, bc.graceExpired)
		b.lives[l.ID] = bc
	}
	return nil
}

// Broadcast returns the live's broadcast on this node, or nil.
func (b *Broadcasts) Broadcast(liveID string) *Broadcast {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lives[liveID]
}

// Ingest returns the publisher session with resource id, or nil.
func (b *Broadcasts) Ingest(id string) *Ingest {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ingests[id]
}

// Playback returns the viewer session with resource id, or nil.
func (b *Broadcasts) Playback(id string) *Playback {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.playbacks[id]
}

// ICEServers are the STUN and TURN servers clients should use.
func (b *Broadcasts) ICEServers() []webrtc.ICEServer { return b.cfg.Transport.ICEServers() }

// Close ends every broadcast of this node without marking the lives
// ended: the next start's Recover gives their encoders the grace to
// come back. Recordings are finished.
func (b *Broadcasts) Close() {
	b.mu.Lock()
	b.closed = true
	all := make([]*Broadcast, 0, len(b.lives))
	for _, bc := range b.lives {
		all = append(all, bc)
	}
	b.mu.Unlock()
	for _, bc := range all {
		bc.end("server shutting down", false)
	}
}

// Broadcast is one live on this node: the publisher's session (and a
// replaced one while the new one takes over), one Receiver per published
// track, the viewers' sessions with their DownTracks, and the recorder.
//
// Receivers outlive publisher sessions: when an encoder reconnects with
// the same codec, its new streams continue the same receivers, so every
// viewer's DownTrack goes on with continuous sequence numbers. A new
// codec makes a new receiver, and each viewer's sender is switched to a
// DownTrack of it.
type Broadcast struct {
	b *Broadcasts
	// slowKeyframesLogged is set once the log has said the encoder's
	// keyframes are too far apart (see SlowKeyframeInterval).
	slowKeyframesLogged atomic.Bool
	liveID              string
	log                 *slog.Logger
	record              bool // the live asked to be recorded, as of the broadcast's start

	// pubPC is the current publisher's connection, where keyframe
	// requests and bitrate caps go.
	pubPC atomic.Pointer[webrtc.PeerConnection]

	// statusMu orders the store's status changes of this broadcast
	// (MarkLive, MarkEnded); recMu orders track arrivals and the
	// recorder's operations. Neither is taken with mu held; the order is
	// recMu, then statusMu, then mu.
	statusMu sync.Mutex
	recMu    sync.Mutex

	mu       sync.Mutex
	pub      *Ingest   // the current publisher session
	retiring []*Ingest // replaced sessions, open for ReplaceOverlap
	tracks   map[webrtc.RTPCodecType]*liveTrack
	viewers  map[*Playback]struct{}
	rec      *recorder
	marked   bool // going on air has been started for this broadcast
	onAir    bool // the store has the live on air
	grace    *time.Timer
	changed  chan struct{} // closed and replaced when tracks change
	ended    bool
	done     chan struct{}
}

// liveTrack is one published track: its receiver and, when recorded, the
// recording's writer and the sink that feeds it.
type liveTrack struct {
	kind  webrtc.RTPCodecType
	recv  *media.Receiver
	owner *Ingest // the publisher session whose streams feed recv now

	// Under the broadcast's recMu.
	writer  *recording.TrackWriter
	unsink  func()
	sinkRID string
}

func newBroadcast(b *Broadcasts, l Live) *Broadcast {
	bc := &Broadcast{
		b: b, liveID: l.ID, log: b.log.With("live", l.ID), record: l.Record && b.cfg.RecordingDir != "",
		tracks: map[webrtc.RTPCodecType]*liveTrack{}, viewers: map[*Playback]struct{}{},
		changed: make(chan struct{}), done: make(chan struct{}),
	}
	go bc.checkLayers()
	return bc
}

// LiveID is the live this broadcast carries.
func (bc *Broadcast) LiveID() string { return bc.liveID }

// Done is closed when the broadcast has ended.
func (bc *Broadcast) Done() <-chan struct{} { return bc.done }

// OnAir reports whether the live has media here that viewers can play.
func (bc *Broadcast) OnAir() bool {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	return bc.onAir && len(bc.tracks) > 0 && !bc.ended
}

// Viewers counts the viewer sessions.
func (bc *Broadcast) Viewers() int {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	return len(bc.viewers)
}

// TrackInfo describes one published track, as Tracks reports it.
type TrackInfo struct {
	Kind   webrtc.RTPCodecType
	Codec  webrtc.RTPCodecParameters
	Layers []media.LayerInfo
	// Receiver is the track's receiver, for its counters.
	Receiver *media.Receiver
}

// Tracks lists the published tracks, audio first.
func (bc *Broadcast) Tracks() []TrackInfo {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	var out []TrackInfo
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if t := bc.tracks[kind]; t != nil {
			out = append(out, TrackInfo{Kind: kind, Codec: t.recv.Codec(), Layers: t.recv.Layers(), Receiver: t.recv})
		}
	}
	return out
}

// writeRTCP sends RTCP toward the current publisher.
func (bc *Broadcast) writeRTCP(pkts []rtcp.Packet) error {
	if pc := bc.pubPC.Load(); pc != nil {
		return pc.WriteRTCP(pkts)
	}
	return nil
}

// notifyLocked wakes those waiting for the tracks to change.
func (bc *Broadcast) notifyLocked() {
	close(bc.changed)
	bc.changed = make(chan struct{})
}

// goLive puts the live on air in the store, once per broadcast, when
// its first media arrives.
func (bc *Broadcast) goLive() {
	bc.statusMu.Lock()
	defer bc.statusMu.Unlock()
	bc.mu.Lock()
	ended := bc.ended
	bc.mu.Unlock()
	if ended {
		return
	}
	at := bc.b.cfg.Now()
	l, err := bc.b.cfg.Store.MarkLive(bc.liveID, at)
	if err != nil {
		bc.log.Error("live media: go on air", "err", err)
		go bc.end("the live cannot go on air", false)
		return
	}
	bc.b.statusChanged(bc.liveID, StatusLive, at)
	bc.mu.Lock()
	bc.onAir = true
	bc.notifyLocked()
	bc.mu.Unlock()
	bc.log.Info("live on air", "session", len(l.Sessions))
}

// ensureRecorder starts the recording of a live that asks for one, when
// its publisher session is made: before any media, so the recorder is
// attached to each track the moment it starts and misses none of its
// first keyframe.
func (bc *Broadcast) ensureRecorder() {
	if !bc.record {
		return
	}
	bc.recMu.Lock()
	defer bc.recMu.Unlock()
	bc.mu.Lock()
	skip := bc.rec != nil || bc.ended
	bc.mu.Unlock()
	if skip {
		return
	}
	rec, err := startRecorder(bc.b.cfg.RecordingDir, bc.liveID, bc.b.cfg.Now(), bc.log)
	if err != nil {
		bc.log.Error("live media: start recording", "err", err)
		return
	}
	bc.mu.Lock()
	if bc.ended {
		bc.mu.Unlock()
		rec.stop()
		return
	}
	bc.rec = rec
	tracks := bc.trackListLocked()
	bc.mu.Unlock()
	for _, t := range tracks {
		rec.attach(t)
	}
}

func (bc *Broadcast) trackListLocked() []*liveTrack {
	out := make([]*liveTrack, 0, len(bc.tracks))
	for _, t := range bc.tracks {
		out = append(out, t)
	}
	return out
}

// checkLayers keeps the recording on the best simulcast layer flowing.
func (bc *Broadcast) checkLayers() {
	tick := time.NewTicker(layerCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-bc.done:
			return
		case <-tick.C:
		}
		bc.recMu.Lock()
		bc.mu.Lock()
		rec, tracks := bc.rec, bc.trackListLocked()
		bc.mu.Unlock()
		if rec != nil {
			for _, t := range tracks {
				rec.rehome(t)
			}
		}
		bc.recMu.Unlock()
	}
}

// startGraceLocked starts the disconnect grace unless it runs already.
func (bc *Broadcast) startGraceLocked() {
	if bc.grace == nil && !bc.ended {
		bc.grace = time.AfterFunc(bc.b.cfg.DisconnectGrace, bc.graceExpired)
	}
}

// graceExpired ends the broadcast unless a publisher is connected again.
func (bc *Broadcast) graceExpired() {
	bc.mu.Lock()
	bc.grace = nil
	back := bc.pub != nil && bc.pub.connected
	bc.mu.Unlock()
	if !back {
		bc.end("the publisher did not come back within the disconnect grace", true)
	}
}

// end stops the broadcast: viewers are closed, the recording finished,
// the publisher's connections closed, and, with markEnded, the live
// marked ended in the store.
func (bc *Broadcast) end(reason string, markEnded bool) {
	bc.mu.Lock()
	if bc.ended {
		bc.mu.Unlock()
		return
	}
	bc.ended = true
	if bc.grace != nil {
		bc.grace.Stop()
		bc.grace = nil
	}
	pubs := append([]*Ingest(nil), bc.retiring...)
	if bc.pub != nil {
		pubs = append(pubs, bc.pub)
	}
	bc.retiring = nil
	tracks := bc.trackListLocked()
	viewers := make([]*Playback, 0, len(bc.viewers))
	for p := range bc.viewers {
		viewers = append(viewers, p)
	}
	bc.notifyLocked()
	bc.mu.Unlock()
	bc.log.Info("live broadcast ended", "reason", reason, "viewers", len(viewers))

	bc.b.forget(bc, pubs)
	for _, p := range viewers {
		p.Close()
	}
	for _, i := range pubs {
		i.closePC()
	}
	for _, t := range tracks {
		t.recv.Close()
		bc.b.totals.RetireReceiver(t.recv)
	}
	bc.recMu.Lock()
	bc.mu.Lock()
	rec := bc.rec
	bc.rec = nil
	bc.mu.Unlock()
	if rec != nil {
		for _, t := range tracks {
			rec.detach(t)
		}
		rec.stop()
	}
	bc.recMu.Unlock()
	if markEnded {
		// Under statusMu, a MarkLive in flight has finished: onAir is
		// final, and no MarkLive comes after this MarkEnded.
		bc.statusMu.Lock()
		bc.mu.Lock()
		onAir := bc.onAir
		bc.mu.Unlock()
		if onAir {
			at := bc.b.cfg.Now()
			if _, err := bc.b.cfg.Store.MarkEnded(bc.liveID, at); err != nil {
				bc.log.Error("live media: mark ended", "err", err)
			} else {
				bc.b.statusChanged(bc.liveID, StatusEnded, at)
			}
		}
		bc.statusMu.Unlock()
	}
	close(bc.done)
}

// statusChanged tells the OnStatus hook, if any, of a status change.
func (b *Broadcasts) statusChanged(liveID string, status Status, at time.Time) {
	if b.cfg.OnStatus != nil {
		b.cfg.OnStatus(liveID, status, at)
	}
}

// forget removes an ended broadcast and its publisher sessions from the
// registry.
func (b *Broadcasts) forget(bc *Broadcast, pubs []*Ingest) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lives[bc.liveID] == bc {
		delete(b.lives, bc.liveID)
	}
	for _, i := range pubs {
		if b.ingests[i.id] == i {
			delete(b.ingests, i.id)
		}
	}
}
