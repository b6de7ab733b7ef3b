package rtc

import (
	"fmt"
	"sync"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"

	"parley/sfu/media"
	"parley/sfu/transport"
)

// maxAudioBitrate caps an audio track, in bits per second: Opus stereo at
// its best quality needs 128 kbit/s.
const maxAudioBitrate = 128_000

// newReceiver starts forwarding a published track, capping each of its
// layers at the publish limit (the whole limit for one video track; the
// answer's b= lines split it between the client's tracks).
func (r *Room) newReceiver(pub *webrtc.PeerConnection, remote *webrtc.TrackRemote, rr *webrtc.RTPReceiver) (*media.Receiver, error) {
	limit := r.cfg.MaxPublishBitrate
	if remote.Kind() == webrtc.RTPCodecTypeAudio {
		limit = maxAudioBitrate
	}
	return media.NewReceiver(remote, rr, media.ReceiverConfig{
		WriteRTCP:  pub.WriteRTCP,
		MaxBitrate: limit,
		Logger:     r.log,
		Latency:    &r.mgr.latency,
	})
}

// downs is the downtracks of one published track, so a mute reaches every
// subscriber at once, including those subscribing as it happens.
type downs struct {
	mu    sync.Mutex
	muted bool
	set   map[*media.DownTrack]struct{}
}

// setMuted stops (or resumes) forwarding of t to every subscriber. When
// it returns, no packet of a muted track is written to anyone.
func (t *publishedTrack) setMuted(muted bool) {
	t.downs.mu.Lock()
	defer t.downs.mu.Unlock()
	t.downs.muted = muted
	t.muted.Store(muted) // the recorder's gate
	for d := range t.downs.set {
		d.Mute(muted)
	}
}

func (t *publishedTrack) addDown(d *media.DownTrack) {
	t.downs.mu.Lock()
	defer t.downs.mu.Unlock()
	if t.downs.set == nil {
		t.downs.set = map[*media.DownTrack]struct{}{}
	}
	d.Mute(t.downs.muted)
	t.downs.set[d] = struct{}{}
}

func (t *publishedTrack) removeDown(d *media.DownTrack) {
	t.downs.mu.Lock()
	defer t.downs.mu.Unlock()
	delete(t.downs.set, d)
}

// subscription is one track a participant receives.
type subscription struct {
	track  *publishedTrack
	down   *media.DownTrack
	sender *webrtc.RTPSender
	alloc  *media.Allocator
}

// apply passes a subscriber's preferences to the downtrack.
func (s *subscription) apply(pr Preferences) {
	switch pr.Layer {
	case LayerLow:
		s.down.SetMaxLayer(0)
	case LayerMedium:
		s.down.SetMaxLayer(1)
	default:
		s.down.SetMaxLayer(media.MaxLayers - 1)
	}
	s.down.SetMaxSize(pr.MaxWidth, pr.MaxHeight)
	s.alloc.Kick()
}

func (s *subscription) close() {
	s.alloc.Remove(s.down)
	s.track.removeDown(s.down)
	s.down.Close()
	s.track.owner.room.mgr.totals.RetireDownTrack(s.down)
}

// subscribe starts forwarding t to p (or changes the preferences of an
// existing subscription) and offers the subscriber connection again.
func (p *Participant) subscribe(t *publishedTrack, prefs Preferences) error {
	m := &p.media
	m.subMu.Lock()
	defer m.subMu.Unlock()
	if m.closed || m.sub == nil {
		return fmt.Errorf("%w: the participant has no media connection", ErrState)
	}
	if s := m.subs[t.id]; s != nil {
		s.apply(prefs)
		return nil
	}
	if t.closed.Load() {
		return fmt.Errorf("%w: track %s was unpublished", ErrNotFound, t.id)
	}
	if len(m.subs) >= MaxSubscriptions {
		return fmt.Errorf("%w: at most %d subscriptions per participant", ErrLimit, MaxSubscriptions)
	}
	if !m.hasSection(t.recv.Kind()) {
		return fmt.Errorf("%w: the subscriber connection has %d media sections; answer the outstanding offer first",
			ErrLimit, transport.MaxAnswerSections)
	}
	// The subscriber sees the track as <participant id> <track id> in its
	// a=msid, which is how a client matches media to the room's tracks.
	d := media.NewDownTrack(t.recv, media.DownTrackConfig{ID: t.id, StreamID: t.owner.id, Logger: p.room.log})
	t.addDown(d)
	sender, err := media.AddDownTrack(m.sub, d)
	if err != nil {
		t.removeDown(d)
		d.Close()
		return fmt.Errorf("subscribe to %s: %w", t.id, err)
	}
	s := &subscription{track: t, down: d, sender: sender, alloc: m.alloc}
	m.alloc.Add(d)
	s.apply(prefs)
	m.subs[t.id] = s
	p.negotiateLocked()
	return nil
}

// unsubscribe stops forwarding a track to p and offers the subscriber
// connection again.
func (p *Participant) unsubscribe(trackID string) error {
	m := &p.media
	m.subMu.Lock()
	defer m.subMu.Unlock()
	s := m.subs[trackID]
	if s == nil {
		return fmt.Errorf("%w: not subscribed to %s", ErrNotFound, trackID)
	}
	delete(m.subs, trackID)
	s.close()
	if m.closed || m.sub == nil {
		return nil
	}
	var tr *webrtc.RTPTransceiver
	for _, x := range m.sub.GetTransceivers() {
		if x.Sender() == s.sender {
			tr = x
		}
	}
	if err := m.sub.RemoveTrack(s.sender); err != nil {
		p.room.log.Debug("rtc: remove downtrack", "participant", p.id, "track", trackID, "err", err)
	} else if tr != nil {
		m.emptied[tr] = m.offers // idle for reuse once an offer after this is answered
	}
	p.negotiateLocked()
	return nil
}

// limitBitrate writes the publish limit into an answer: each audio
// section may use maxAudioBitrate, and the video sections share what is
// left. Browsers keep their encoders under b=TIAS (b=AS for older ones).
func limitBitrate(answer string, limit int) (string, error) {
	var desc sdp.SessionDescription
	if err := desc.UnmarshalString(answer); err != nil {
		return "", fmt.Errorf("limit bitrate: %w", err)
	}
	video := 0
	for _, md := range desc.MediaDescriptions {
		if md.MediaName.Media == "video" && md.MediaName.Port.Value != 0 {
			video++
		}
		if md.MediaName.Media == "audio" && md.MediaName.Port.Value != 0 {
			limit -= maxAudioBitrate
		}
	}
	perVideo := 0
	if video > 0 {
		perVideo = max(limit, minPublishBitrate) / video
	}
	for _, md := range desc.MediaDescriptions {
		bps := maxAudioBitrate
		switch {
		case md.MediaName.Port.Value == 0:
			continue
		case md.MediaName.Media == "video":
			bps = perVideo
		case md.MediaName.Media != "audio":
			continue
		}
		md.Bandwidth = []sdp.Bandwidth{
			{Type: "TIAS", Bandwidth: uint64(bps)},
			{Type: "AS", Bandwidth: uint64((bps + 999) / 1000)},
		}
	}
	out, err := desc.Marshal()
	if err != nil {
		return "", fmt.Errorf("limit bitrate: %w", err)
	}
	return string(out), nil
}
