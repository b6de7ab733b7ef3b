package live

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"

	"parley/sfu/media"
	"parley/sfu/transport"
)

// WatchOptions shape a viewer session.
type WatchOptions struct {
	// MaxWidth and MaxHeight cap the simulcast layer sent to the size the
	// player shows the picture at; zero sets no cap. Within the cap, the
	// layer follows the viewer's bandwidth estimate.
	MaxWidth, MaxHeight int
}

// Playback is one viewer session of a live (a WHEP resource, or a
// watch over the WebSocket): a subscriber connection with a DownTrack
// per published track, and an allocator that picks each video's
// simulcast layer from this viewer's bandwidth estimate. It is recorded
// in the live's viewer statistics from its start to its Close.
type Playback struct {
	iceSession
	id     string
	bc     *Broadcast
	viewer Viewer
	opts   WatchOptions
	alloc  *media.Allocator
	log    *slog.Logger

	mu        sync.Mutex
	tracks    map[webrtc.RTPCodecType]*viewerTrack
	recordID  string
	connected bool
	connect   *time.Timer
	closed    bool
	done      chan struct{}
}

// viewerTrack is one track a viewer receives.
type viewerTrack struct {
	dt     *media.DownTrack
	sender *webrtc.RTPSender
}

// ID is the resource id, the last element of the session's Location.
func (p *Playback) ID() string { return p.id }

// LiveID is the live being watched.
func (p *Playback) LiveID() string { return p.bc.liveID }

// Viewer is who watches.
func (p *Playback) Viewer() Viewer { return p.viewer }

// Done is closed when the session has ended.
func (p *Playback) Done() <-chan struct{} { return p.done }

// DownTracks lists the session's downtracks, audio first, for their
// counters and layers.
func (p *Playback) DownTracks() []*media.DownTrack {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*media.DownTrack
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if vt := p.tracks[kind]; vt != nil {
			out = append(out, vt.dt)
		}
	}
	return out
}

// Play starts a viewer session from a player's offer (WHEP) and returns
// it with the answer, which lists every server candidate. The player
// gets each published track whose codec its offer takes; a live that is
// not on air here is ErrNotOnAir, a full one ErrCapacity, and a player
// that takes none of the live's codecs, or receives video (or audio) but
// not in the codec the live sends it in, ErrCodec.
func (b *Broadcasts) Play(ctx context.Context, liveID string, v Viewer, offer string) (*Playback, string, error) {
	desc, err := transport.CheckSDP(offer)
	if err != nil {
		return nil, "", fmt.Errorf("play live %s: %w", liveID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, NegotiateTimeout+TrackWait)
	defer cancel()
	p, err := b.newPlayback(ctx, liveID, v, WatchOptions{}, desc)
	if err != nil {
		return nil, "", err
	}
	answer, err := p.answer(ctx, offer)
	if err != nil {
		p.Close()
		return nil, "", fmt.Errorf("play live %s: %w", liveID, err)
	}
	p.pruneUnnegotiated()
	if err := p.start(); err != nil {
		return nil, "", err
	}
	return p, answer, nil
}

// Watch starts a viewer session on which the server offers (the
// WebSocket watch of a signed-in member) and returns it with the offer.
// The client's answer goes to Answer, its candidates to AddCandidate.
func (b *Broadcasts) Watch(ctx context.Context, liveID string, v Viewer, opts WatchOptions) (*Playback, string, error) {
	if opts.MaxWidth < 0 || opts.MaxHeight < 0 {
		return nil, "", fmt.Errorf("watch live %s: %w: max size must not be negative", liveID, ErrInvalid)
	}
	ctx, cancel := context.WithTimeout(ctx, NegotiateTimeout+TrackWait)
	defer cancel()
	p, err := b.newPlayback(ctx, liveID, v, opts, nil)
	if err != nil {
		return nil, "", err
	}
	p.offerer = true
	p.iceSession.mu.Lock()
	offer, err := transport.Offer(ctx, p.pc)
	p.etag = newETag()
	p.iceSession.mu.Unlock()
	if err != nil {
		p.Close()
		return nil, "", fmt.Errorf("watch live %s: %w", liveID, err)
	}
	if err := p.start(); err != nil {
		return nil, "", err
	}
	return p, offer, nil
}

// newPlayback makes a viewer session's connection with a downtrack for
// each track the player takes (every track when desc is nil).
func (b *Broadcasts) newPlayback(ctx context.Context, liveID string, v Viewer, opts WatchOptions, desc *sdp.SessionDescription) (*Playback, error) {
	bc := b.Broadcast(liveID)
	if bc == nil {
		return nil, fmt.Errorf("play live %s: %w", liveID, ErrNotOnAir)
	}
	recvs, err := bc.waitTracks(ctx)
	if err != nil {
		return nil, fmt.Errorf("play live %s: %w", liveID, err)
	}
	bc.checkKeyframeInterval(recvs[webrtc.RTPCodecTypeVideo])
	if n := bc.Viewers(); n >= b.cfg.MaxViewers {
		return nil, fmt.Errorf("play live %s: %w: %d viewers on this server", liveID, ErrCapacity, n)
	}
	pc, est, err := b.cfg.Transport.NewSubscriber()
	if err != nil {
		return nil, fmt.Errorf("play live %s: %w", liveID, err)
	}
	p := &Playback{
		iceSession: iceSession{pc: pc}, id: rand.Text(), bc: bc, viewer: v, opts: opts,
		alloc: media.NewAllocator(est), log: bc.log.With("playback", v.ID),
		tracks: map[webrtc.RTPCodecType]*viewerTrack{}, done: make(chan struct{}),
	}
	var refused, skipped []string
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		recv := recvs[kind]
		if recv == nil {
			continue
		}
		if desc != nil && !playerTakes(desc, kind, recv.Codec()) {
			// A player that asks for this kind but cannot decode the
			// live's codec (a browser without AV1 or HEVC) is refused
			// outright rather than left with sound and no picture; one
			// that does not ask for it (an audio-only player) just
			// goes without.
			if playerReceives(desc, kind) {
				refused = append(refused, kind.String()+" is "+codecName(recv.Codec()))
			} else {
				skipped = append(skipped, codecName(recv.Codec()))
			}
			continue
		}
		if err := p.addTrack(kind, recv); err != nil {
			p.Close()
			return nil, fmt.Errorf("play live %s: %w", liveID, err)
		}
	}
	switch {
	case len(refused) > 0:
		p.Close()
		return nil, fmt.Errorf("play live %s: %w: the live's %s, which the player's offer does not take",
			liveID, ErrCodec, strings.Join(refused, " and its "))
	case len(p.tracks) == 0:
		p.Close()
		return nil, fmt.Errorf("play live %s: %w: the live is sent as %s, which the player does not take",
			liveID, ErrCodec, strings.Join(skipped, " and "))
	}
	pc.OnConnectionStateChange(p.onState)
	return p, nil
}

func codecName(c webrtc.RTPCodecParameters) string {
	if strings.EqualFold(c.MimeType, webrtc.MimeTypeH264) {
		return c.MimeType + " (packetization-mode=" + orZero(fmtpValue(c.SDPFmtpLine, "packetization-mode")) + ")"
	}
	return c.MimeType
}

func (p *Playback) addTrack(kind webrtc.RTPCodecType, recv *media.Receiver) error {
	dt := p.newDownTrack(kind, recv)
	sender, err := media.AddDownTrack(p.pc, dt)
	if err != nil {
		dt.Close()
		return err
	}
	p.mu.Lock()
	p.tracks[kind] = &viewerTrack{dt: dt, sender: sender}
	p.mu.Unlock()
	p.alloc.Add(dt)
	return nil
}

func (p *Playback) newDownTrack(kind webrtc.RTPCodecType, recv *media.Receiver) *media.DownTrack {
	dt := media.NewDownTrack(recv, media.DownTrackConfig{ID: kind.String(), StreamID: p.bc.liveID, Logger: p.log})
	if p.opts.MaxWidth > 0 || p.opts.MaxHeight > 0 {
		dt.SetMaxSize(p.opts.MaxWidth, p.opts.MaxHeight)
	}
	return dt
}

// pruneUnnegotiated drops the downtracks the player's offer had no
// section for.
func (p *Playback) pruneUnnegotiated() {
	p.mu.Lock()
	defer p.mu.Unlock()
	negotiated := map[*webrtc.RTPSender]bool{}
	for _, tr := range p.pc.GetTransceivers() {
		if tr.Mid() != "" {
			negotiated[tr.Sender()] = true
		}
	}
	for kind, vt := range p.tracks {
		if !negotiated[vt.sender] {
			p.alloc.Remove(vt.dt)
			vt.dt.Close()
			delete(p.tracks, kind)
		}
	}
}

// start registers the negotiated session with its broadcast and in the
// live's viewer statistics, and gives it ConnectTimeout to connect.
func (p *Playback) start() error {
	b, bc := p.bc.b, p.bc
	b.mu.Lock()
	bc.mu.Lock()
	ended := bc.ended
	if !ended {
		bc.viewers[p] = struct{}{}
		b.playbacks[p.id] = p
	}
	bc.mu.Unlock()
	b.mu.Unlock()
	if ended {
		p.Close()
		return fmt.Errorf("play live %s: %w", bc.liveID, ErrNotOnAir)
	}
	id, err := b.cfg.Store.RecordViewerJoin(bc.liveID, p.viewer, b.cfg.Now())
	if err != nil {
		p.log.Warn("live viewer not recorded", "err", err)
	}
	p.mu.Lock()
	p.recordID = id
	closed := p.closed
	if !closed && !p.connected {
		p.connect = time.AfterFunc(ConnectTimeout, p.connectTimedOut)
	}
	p.mu.Unlock()
	if closed && id != "" { // closed while recording the join
		p.recordLeave(id)
	}
	return nil
}

func (p *Playback) onState(s webrtc.PeerConnectionState) {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		p.mu.Lock()
		p.connected = true
		if p.connect != nil {
			p.connect.Stop()
		}
		p.mu.Unlock()
	case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		p.Close()
	}
}

func (p *Playback) connectTimedOut() {
	p.mu.Lock()
	connected := p.connected
	p.mu.Unlock()
	if !connected {
		p.log.Info("live viewer never connected")
		p.Close()
	}
}

// Answer applies the client's answer to the server's offer of Watch.
func (p *Playback) Answer(answer string) error {
	p.iceSession.mu.Lock()
	defer p.iceSession.mu.Unlock()
	if !p.offerer {
		return fmt.Errorf("%w: the player made this session's offer", ErrState)
	}
	if err := transport.AcceptAnswer(p.pc, answer); err != nil {
		return fmt.Errorf("watch live %s: %w", p.bc.liveID, err)
	}
	return nil
}

// AddCandidate adds one of the client's trickled ICE candidates; an
// empty candidate ends them.
func (p *Playback) AddCandidate(c webrtc.ICECandidateInit) error {
	p.iceSession.mu.Lock()
	defer p.iceSession.mu.Unlock()
	if p.pc.RemoteDescription() == nil {
		return fmt.Errorf("%w: the session has no answer yet", ErrICE)
	}
	if err := p.pc.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: %v", ErrICE, err)
	}
	return nil
}

// replaceTrack switches the viewer's sender of kind to a downtrack of a
// new receiver, after the publisher changed codec or its old receiver
// stopped. A player whose negotiation cannot take the new codec loses
// that track until it plays again.
func (p *Playback) replaceTrack(kind webrtc.RTPCodecType, recv *media.Receiver) {
	p.mu.Lock()
	defer p.mu.Unlock()
	vt := p.tracks[kind]
	if vt == nil || p.closed {
		return
	}
	dt := p.newDownTrack(kind, recv)
	if err := vt.sender.ReplaceTrack(dt); err != nil {
		dt.Close()
		p.log.Warn("live viewer keeps no track after the publisher changed it", "kind", kind, "err", err)
		return
	}
	p.alloc.Remove(vt.dt)
	vt.dt.Close()
	p.bc.b.totals.RetireDownTrack(vt.dt)
	vt.dt = dt
	p.alloc.Add(dt)
}

// Close ends the session and records the viewer's leave. It is safe to
// call more than once.
func (p *Playback) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	if p.connect != nil {
		p.connect.Stop()
	}
	tracks := p.tracks
	p.tracks = map[webrtc.RTPCodecType]*viewerTrack{}
	recordID := p.recordID
	p.mu.Unlock()

	b, bc := p.bc.b, p.bc
	b.mu.Lock()
	if b.playbacks[p.id] == p {
		delete(b.playbacks, p.id)
	}
	b.mu.Unlock()
	bc.mu.Lock()
	delete(bc.viewers, p)
	bc.mu.Unlock()

	p.alloc.Close()
	for _, vt := range tracks {
		vt.dt.Close()
		b.totals.RetireDownTrack(vt.dt)
	}
	_ = p.pc.Close()
	if recordID != "" {
		p.recordLeave(recordID)
	}
	close(p.done)
}

func (p *Playback) recordLeave(id string) {
	if err := p.bc.b.cfg.Store.RecordViewerLeave(id, p.bc.b.cfg.Now()); err != nil {
		p.log.Warn("live viewer leave not recorded", "err", err)
	}
}

// waitTracks returns the live's receivers once every track the
// publisher negotiated has started, or after TrackWait with those that
// have.
func (bc *Broadcast) waitTracks(ctx context.Context) (map[webrtc.RTPCodecType]*media.Receiver, error) {
	timer := time.NewTimer(TrackWait)
	defer timer.Stop()
	waited := false
	for {
		bc.mu.Lock()
		if bc.ended || !bc.onAir || len(bc.tracks) == 0 {
			bc.mu.Unlock()
			return nil, ErrNotOnAir
		}
		if waited || bc.pub == nil || len(bc.tracks) >= len(bc.pub.shape.kinds) {
			out := make(map[webrtc.RTPCodecType]*media.Receiver, len(bc.tracks))
			for kind, t := range bc.tracks {
				out[kind] = t.recv
			}
			bc.mu.Unlock()
			return out, nil
		}
		ch := bc.changed
		bc.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			waited = true
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// checkKeyframeInterval logs, once per broadcast, that the encoder's
// keyframes are further apart than SlowKeyframeInterval: every new
// viewer waits for the next one, since encoders such as OBS ignore the
// keyframe request a new viewer's start sends.
func (bc *Broadcast) checkKeyframeInterval(video *media.Receiver) {
	if video == nil || bc.slowKeyframesLogged.Load() {
		return
	}
	var worst time.Duration
	for _, l := range video.Layers() {
		worst = max(worst, l.KeyframeInterval)
	}
	if worst > SlowKeyframeInterval && bc.slowKeyframesLogged.CompareAndSwap(false, true) {
		bc.log.Warn("live: the encoder sends a keyframe only every "+worst.Round(100*time.Millisecond).String()+
			"; new viewers wait up to that long for a picture. In OBS set Settings → Output → Keyframe Interval to 1 s",
			"keyframe_interval", worst, "limit", SlowKeyframeInterval)
	}
}
