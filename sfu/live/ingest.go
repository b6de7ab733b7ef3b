package live

import (
	"context"
	"crypto/rand"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/media"
	"parley/sfu/recording"
)

// Ingest is one publisher session of a live (a WHIP resource): the
// encoder's or browser's connection that sends the live's media. A new
// session for the same live replaces the current one.
type Ingest struct {
	iceSession
	id    string
	live  string
	shape publishShape
	bc    atomic.Pointer[Broadcast]

	// Under the broadcast's mu.
	arrived   int  // streams that have started
	connected bool // ICE and DTLS are up
	connect   *time.Timer
	retire    *time.Timer

	closeOnce sync.Once
}

// ID is the resource id, the last element of the session's Location.
func (i *Ingest) ID() string { return i.id }

// LiveID is the live the session publishes.
func (i *Ingest) LiveID() string { return i.live }

// Publish starts a publisher session for l from the client's offer and
// returns it with the answer, which lists every server candidate: OBS
// sends no candidates and never trickles, so it must find the server's
// in the answer, and the server learns the encoder's address from its
// connectivity checks. If the live has a publisher already (an encoder
// reconnecting while its old session lingers), the new session replaces
// it.
//
// The offer must send one audio or video track, or one of each; see
// shapeOfPublish. Its refusals wrap ErrInvalid, ErrCodec or a transport
// error.
func (b *Broadcasts) Publish(ctx context.Context, l Live, offer string) (*Ingest, string, error) {
	desc, err := checkOffer(offer)
	if err != nil {
		return nil, "", fmt.Errorf("publish to live %s: %w", l.ID, err)
	}
	shape, err := shapeOfPublish(desc)
	if err != nil {
		return nil, "", fmt.Errorf("publish to live %s: %w", l.ID, err)
	}
	if err := b.roomFor(l.ID); err != nil {
		return nil, "", err
	}
	pc, err := b.cfg.Transport.NewPublisher()
	if err != nil {
		return nil, "", fmt.Errorf("publish to live %s: %w", l.ID, err)
	}
	i := &Ingest{iceSession: iceSession{pc: pc}, id: rand.Text(), live: l.ID, shape: shape}
	pc.OnTrack(func(remote *webrtc.TrackRemote, rr *webrtc.RTPReceiver) {
		if bc := i.bc.Load(); bc != nil {
			bc.trackArrived(i, remote, rr)
		}
	})
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if bc := i.bc.Load(); bc != nil {
			bc.publisherState(i, s)
		}
	})
	ctx, cancel := context.WithTimeout(ctx, NegotiateTimeout)
	defer cancel()
	answer, err := i.answer(ctx, offer)
	if err != nil {
		_ = pc.Close()
		return nil, "", fmt.Errorf("publish to live %s: %w", l.ID, err)
	}
	if err := b.attach(l, i); err != nil {
		_ = pc.Close()
		return nil, "", err
	}
	i.bc.Load().ensureRecorder()
	return i, answer, nil
}

// roomFor checks, before any work, that a new broadcast would fit.
func (b *Broadcasts) roomFor(liveID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.roomForLocked(liveID)
}

// attach makes i the live's publisher session, with a new broadcast if
// the live has none here, and retires the session it replaces.
func (b *Broadcasts) attach(l Live, i *Ingest) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.roomForLocked(l.ID); err != nil {
		return err
	}
	bc := b.lives[l.ID]
	if bc == nil {
		bc = newBroadcast(b, l)
		b.lives[l.ID] = bc
	}
	i.bc.Store(bc)
	bc.mu.Lock()
	old := bc.pub
	bc.pub = i
	bc.pubPC.Store(i.pc)
	if old != nil {
		bc.retiring = append(bc.retiring, old)
		old.retire = time.AfterFunc(ReplaceOverlap, func() { bc.retireIngest(old) })
		delete(b.ingests, old.id)
		bc.log.Info("live publisher replaced", "old", old.id, "new", i.id)
	}
	i.connect = time.AfterFunc(ConnectTimeout, func() { bc.connectTimedOut(i) })
	bc.mu.Unlock()
	b.ingests[i.id] = i
	return nil
}

func (b *Broadcasts) roomForLocked(liveID string) error {
	if b.closed {
		return fmt.Errorf("publish to live %s: %w: the server is shutting down", liveID, ErrCapacity)
	}
	if b.lives[liveID] == nil && len(b.lives) >= b.cfg.MaxBroadcasts {
		return fmt.Errorf("publish to live %s: %w: %d lives on air on this server", liveID, ErrCapacity, b.cfg.MaxBroadcasts)
	}
	return nil
}

// End ends the live, as the publisher's DELETE asks: viewers are closed,
// the recording is finished and the live is marked ended.
func (i *Ingest) End() {
	bc := i.bc.Load()
	if bc == nil {
		i.closePC()
		return
	}
	bc.mu.Lock()
	current := bc.pub == i
	bc.mu.Unlock()
	if current {
		bc.end("the publisher ended the stream", true)
		return
	}
	bc.retireIngest(i)
}

// closePC closes the session's connection, once.
func (i *Ingest) closePC() {
	i.closeOnce.Do(func() {
		if bc := i.bc.Load(); bc != nil {
			bc.mu.Lock()
			if i.connect != nil {
				i.connect.Stop()
			}
			if i.retire != nil {
				i.retire.Stop()
			}
			bc.mu.Unlock()
		}
		_ = i.pc.Close()
	})
}

// retireIngest closes a replaced publisher session.
func (bc *Broadcast) retireIngest(i *Ingest) {
	bc.mu.Lock()
	for n, r := range bc.retiring {
		if r == i {
			bc.retiring = append(bc.retiring[:n], bc.retiring[n+1:]...)
			break
		}
	}
	bc.mu.Unlock()
	bc.b.mu.Lock()
	if bc.b.ingests[i.id] == i {
		delete(bc.b.ingests, i.id)
	}
	bc.b.mu.Unlock()
	i.closePC()
}

// publisherState follows a publisher connection: the current one going
// down starts the disconnect grace, coming back up cancels it.
func (bc *Broadcast) publisherState(i *Ingest, s webrtc.PeerConnectionState) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	switch s {
	case webrtc.PeerConnectionStateConnected:
		i.connected = true
		if i.connect != nil {
			i.connect.Stop()
		}
		if bc.pub == i && bc.grace != nil {
			bc.grace.Stop()
			bc.grace = nil
			bc.log.Info("live publisher back within the grace")
		}
	case webrtc.PeerConnectionStateDisconnected, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
		i.connected = false
		if bc.pub == i && !bc.ended {
			bc.log.Info("live publisher connection lost", "state", s.String(), "grace", bc.b.cfg.DisconnectGrace)
			bc.startGraceLocked()
		}
	}
}

// connectTimedOut treats a publisher that never connected like one whose
// connection dropped.
func (bc *Broadcast) connectTimedOut(i *Ingest) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if bc.pub == i && !i.connected {
		bc.startGraceLocked()
	}
}

// trackArrived takes one stream of the current publisher: another layer
// of a track it has, the continuation of a track a replaced session
// published in the same codec, or a new track. Arrivals and recorder
// changes go one at a time, under recMu; mu is held only around the
// broadcast's state.
func (bc *Broadcast) trackArrived(i *Ingest, remote *webrtc.TrackRemote, rr *webrtc.RTPReceiver) {
	kind := remote.Kind()
	bc.recMu.Lock()
	defer bc.recMu.Unlock()

	bc.mu.Lock()
	if bc.ended || bc.pub != i {
		bc.mu.Unlock()
		return // a replaced or ended session's late stream
	}
	old, rec := bc.tracks[kind], bc.rec
	continues := old != nil && (old.owner == i || sameCodec(old.recv.Codec(), remote.Codec()))
	bc.mu.Unlock()

	// A new receiver reads from the moment it is made, so its recording
	// writer is made first (a call that waits on the recorder) and put on
	// it as a sink at once: the recording misses nothing of the first
	// keyframe.
	var w *recording.TrackWriter
	var wRecv atomic.Pointer[media.Receiver]
	if rec != nil {
		rec.follow(i)
		if !continues {
			if old != nil {
				rec.detach(old)
			}
			w = rec.newWriter(kind, remote.Codec(), func() {
				if r := wRecv.Load(); r != nil {
					r.RequestKeyframe(media.HighestLayer)
				}
			})
		}
	}

	bc.mu.Lock()
	if bc.ended || bc.pub != i {
		bc.mu.Unlock()
		if w != nil {
			_ = w.Close()
		}
		return
	}
	t := bc.tracks[kind]
	var replaced *liveTrack
	switch {
	case t != nil && t.owner == i:
		if err := t.recv.AddTrack(remote, rr); err != nil {
			bc.log.Warn("live media: simulcast layer refused", "kind", kind, "rid", remote.RID(), "err", err)
		}
	case t != nil && sameCodec(t.recv.Codec(), remote.Codec()) && t.recv.AddTrack(remote, rr) == nil:
		t.owner = i
	default:
		recv, err := media.NewReceiver(remote, rr, media.ReceiverConfig{WriteRTCP: bc.writeRTCP, Logger: bc.log, Latency: &bc.b.latency})
		if err != nil {
			bc.mu.Unlock()
			if w != nil {
				_ = w.Close()
			}
			bc.log.Error("live media: receive track", "kind", kind, "err", err)
			return
		}
		bc.log.Info("live track started", "kind", kind, "codec", remote.Codec().MimeType, "rid", remote.RID())
		replaced = t
		t = &liveTrack{kind: kind, recv: recv, owner: i}
		if w != nil {
			wRecv.Store(recv)
			t.writer, t.unsink, t.sinkRID = w, recv.AddSink(w, media.HighestLayer), remote.RID()
			w = nil
			recv.RequestKeyframe(media.HighestLayer) // in case the first one went by before the sink
		}
		bc.tracks[kind] = t
	}
	i.arrived++
	var retiring []*Ingest
	if i.arrived >= i.shape.tracks {
		retiring, bc.retiring = bc.retiring, nil
	}
	var viewers []*Playback
	if replaced != nil {
		for p := range bc.viewers {
			viewers = append(viewers, p)
		}
	}
	goLive := !bc.marked
	bc.marked = true
	bc.notifyLocked()
	bc.mu.Unlock()

	if w != nil {
		_ = w.Close() // the stream continued a receiver after all
	}
	for _, p := range viewers {
		p.replaceTrack(kind, t.recv)
	}
	if rec != nil {
		if replaced != nil {
			rec.detach(replaced)
		}
		if t.writer == nil {
			rec.attach(t)
		} else {
			rec.rehome(t)
		}
	}
	if replaced != nil {
		replaced.recv.Close()
		bc.b.totals.RetireReceiver(replaced.recv)
	}
	for _, r := range retiring {
		bc.b.mu.Lock()
		if bc.b.ingests[r.id] == r {
			delete(bc.b.ingests, r.id)
		}
		bc.b.mu.Unlock()
		r.closePC()
	}
	if goLive {
		bc.goLive()
	}
}
