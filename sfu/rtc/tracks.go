package rtc

import (
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"

	"parley/sfu/media"
	"parley/sfu/transport"
)

// MaxSubscriptions caps the tracks one participant receives at once. A
// subscriber connection has one media section per track (sections left
// idle by unsubscribing are reused), and the client's answer must fit one
// WebSocket message. Automatic subscription stops at the cap; beyond it a
// client picks (unsubscribing some first).
const MaxSubscriptions = transport.MaxAnswerSections

// PublishTrack declares one track the client sends in its offer: the
// media section (mid) that carries it and what it is.
type PublishTrack struct {
	Mid    string `json:"mid"`
	Source Source `json:"source"`
}

// publishedTrack is one track a participant publishes: declared by a
// publish, live once its media arrives, dropped when unpublished.
type publishedTrack struct {
	id     string
	owner  *Participant
	mid    string
	closed atomic.Bool // set when dropped, so no new subscription takes it
	muted  atomic.Bool // forwarding and recording stopped (setMuted)

	downs downs

	// Guarded by room.mu.
	info TrackInfo
	live bool
	recv *media.Receiver
}

// Publish applies a publisher offer from the client and returns the
// server's answer. tracks declares the offer's new sending media sections
// (none for an offer that only renegotiates or restarts ICE): every
// section the client sends on must have been declared, each source at
// most once, within MaxTracksPerParticipant, and a screen share only
// while the meeting allows it (hosts and co-hosts always may). A track
// is announced to the room when its media first arrives.
func (p *Participant) Publish(offer string, tracks []PublishTrack) (answer string, declared []TrackInfo, err error) {
	desc, err := transport.CheckSDP(offer)
	if err != nil {
		return "", nil, fmt.Errorf("publish: %w", sdpErr(err))
	}
	added, err := p.room.declare(p, desc, tracks)
	if err != nil {
		return "", nil, err
	}
	answer, err = p.publisherAnswer(offer)
	if err != nil {
		p.room.undeclare(p, added)
		return "", nil, fmt.Errorf("publish: %w", err)
	}
	r := p.room
	r.mu.Lock()
	for _, t := range added {
		declared = append(declared, t.info)
	}
	r.mu.Unlock()
	return answer, declared, nil
}

// declare checks a publish against the offer and the room's rules and
// reserves its tracks.
func (r *Room) declare(p *Participant, desc *sdp.SessionDescription, tracks []PublishTrack) ([]*publishedTrack, error) {
	sections := map[string]*sdp.MediaDescription{}
	for _, md := range desc.MediaDescriptions {
		if mid, ok := md.Attribute(sdp.AttrKeyMID); ok && md.MediaName.Port.Value != 0 {
			sections[mid] = md
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.state != StateJoined {
		return nil, fmt.Errorf("%w: %s participants cannot publish", ErrState, p.state)
	}
	if len(p.declared)+len(tracks) > r.cfg.MaxTracksPerParticipant {
		return nil, fmt.Errorf("%w: at most %d published tracks per participant", ErrLimit, r.cfg.MaxTracksPerParticipant)
	}
	newMids := map[string]bool{}
	sources := map[Source]bool{}
	for _, t := range p.declared {
		sources[t.info.Source] = true
	}
	for _, d := range tracks {
		md := sections[d.Mid]
		switch {
		case d.Source.Kind() == "":
			return nil, fmt.Errorf("%w: track %q: unknown source %q", ErrInvalid, d.Mid, d.Source)
		case md == nil:
			return nil, fmt.Errorf("%w: the offer has no media section with mid %q", ErrInvalid, d.Mid)
		case md.MediaName.Media != d.Source.Kind():
			return nil, fmt.Errorf("%w: mid %q is %s, but %s is %s", ErrInvalid, d.Mid, md.MediaName.Media, d.Source, d.Source.Kind())
		case !sends(md):
			return nil, fmt.Errorf("%w: mid %q does not send", ErrInvalid, d.Mid)
		case p.usedMids[d.Mid] || newMids[d.Mid]:
			return nil, fmt.Errorf("%w: mid %q already carried a track; publish on a new transceiver", ErrInvalid, d.Mid)
		case sources[d.Source]:
			return nil, fmt.Errorf("%w: %s is already published", ErrInvalid, d.Source)
		case d.Source.IsScreenShare() && !r.rec.Settings.AllowScreenShare && !p.role.IsHost():
			return nil, fmt.Errorf("%w: the host has disabled screen sharing", ErrForbidden)
		}
		newMids[d.Mid] = true
		sources[d.Source] = true
	}
	for mid, md := range sections {
		if sends(md) && !p.usedMids[mid] && !newMids[mid] {
			return nil, fmt.Errorf("%w: the offer sends on mid %q, which no publish declared", ErrInvalid, mid)
		}
	}
	added := make([]*publishedTrack, 0, len(tracks))
	for _, d := range tracks {
		t := &publishedTrack{id: "t_" + randomID(9), owner: p, mid: d.Mid}
		t.info = TrackInfo{
			ID: t.id, ParticipantID: p.id, Source: d.Source, Kind: d.Source.Kind(),
			Muted: p.muted[d.Source], Layers: rids(sections[d.Mid]),
		}
		p.declared[d.Mid] = t
		p.usedMids[d.Mid] = true
		added = append(added, t)
	}
	return added, nil
}

// undeclare takes back the tracks of a publish whose offer failed, so the
// client may try again with the same mids.
func (r *Room) undeclare(p *Participant, tracks []*publishedTrack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range tracks {
		if p.declared[t.mid] == t && !t.live {
			delete(p.declared, t.mid)
			delete(p.usedMids, t.mid)
		}
	}
}

// sends reports whether the client sends on a media section.
func sends(md *sdp.MediaDescription) bool {
	for _, a := range md.Attributes {
		switch a.Key {
		case "sendonly", "sendrecv":
			return true
		case "recvonly", "inactive":
			return false
		}
	}
	return true // sendrecv is the default
}

// rids lists the simulcast layers a section sends ("a=rid:<id> send").
func rids(md *sdp.MediaDescription) []string {
	var out []string
	for _, a := range md.Attributes {
		if a.Key != "rid" {
			continue
		}
		if id, dir, ok := strings.Cut(a.Value, " "); ok && strings.HasPrefix(dir, "send") {
			out = append(out, id)
		}
	}
	return out
}

// trackArrived starts forwarding a track (or one simulcast layer of it)
// whose media has begun to arrive on p's publisher connection, announces
// it and subscribes those who subscribe automatically.
func (r *Room) trackArrived(p *Participant, pub *webrtc.PeerConnection, remote *webrtc.TrackRemote, rr *webrtc.RTPReceiver) {
	mid := ""
	if tr := rr.RTPTransceiver(); tr != nil {
		mid = tr.Mid()
	}
	r.mu.Lock()
	t := p.declared[mid]
	if t == nil || p.state == stateLeft {
		r.mu.Unlock()
		r.log.Debug("rtc: media on an undeclared section ignored", "participant", p.id, "mid", mid)
		return
	}
	if t.recv != nil {
		err := t.recv.AddTrack(remote, rr)
		r.mu.Unlock()
		if err != nil {
			r.log.Warn("rtc: simulcast layer refused", "participant", p.id, "track", t.id, "err", err)
		}
		return
	}
	recv, err := r.newReceiver(pub, remote, rr)
	if err != nil {
		r.mu.Unlock()
		r.log.Error("rtc: start receiving", "participant", p.id, "track", t.id, "err", err)
		return
	}
	t.recv, t.live = recv, true
	t.info.MimeType = remote.Codec().MimeType
	t.info.Muted = p.muted[t.info.Source]
	t.setMuted(t.info.Muted)
	r.tracks[t.id] = t
	p.tracks[t.id] = t
	r.speakerTrackLocked(t)
	r.broadcastLocked(Event{Type: EventTrackPublished, Data: t.info}, nil)
	var subscribers []*Participant
	for _, o := range r.participants {
		if o != p && o.autoSubscribe {
			subscribers = append(subscribers, o)
		}
	}
	auto := r.autoRecordLocked()
	r.mu.Unlock()
	go r.watchReceiver(t, recv)
	if auto {
		r.autoRecord()
	}
	r.recordTrack(t)
	for _, o := range subscribers {
		if err := o.subscribe(t, Preferences{}); err != nil {
			r.log.Debug("rtc: automatic subscription skipped", "participant", o.id, "track", t.id, "err", err)
		}
	}
}

// watchReceiver drops a track whose media ended without an unpublish:
// the client stopped its transceiver, or its connection closed.
func (r *Room) watchReceiver(t *publishedTrack, recv *media.Receiver) {
	select {
	case <-recv.Done():
	case <-r.stop:
		return
	}
	var after afterUnlock
	r.mu.Lock()
	if r.tracks[t.id] == t {
		r.dropTrackLocked(t, ReasonUnpublished, &after)
	}
	r.mu.Unlock()
	after.run()
}

// Unpublish stops one of the participant's tracks: forwarding stops at
// once and everyone hears it is gone. The client then stops its
// transceiver and renegotiates; the mid is not used again.
func (p *Participant) Unpublish(trackID string) error {
	r := p.room
	var after afterUnlock
	r.mu.Lock()
	var t *publishedTrack
	for _, d := range p.declared {
		if d.id == trackID {
			t = d
		}
	}
	if t == nil {
		r.mu.Unlock()
		return fmt.Errorf("%w: you publish no track %s", ErrNotFound, trackID)
	}
	r.dropTrackLocked(t, ReasonUnpublished, &after)
	r.mu.Unlock()
	after.run()
	return nil
}

// dropTrackLocked takes a track out of the room. With a reason, everyone
// (only its owner, if its media never arrived) hears it is gone; after
// the lock every subscription to it ends and its receiver closes.
func (r *Room) dropTrackLocked(t *publishedTrack, reason string, after *afterUnlock) {
	if t.closed.Swap(true) {
		return
	}
	p := t.owner
	if t.live && t.info.Source == SourceMicrophone {
		r.speakers.detector.Remove(p.id)
	}
	delete(r.tracks, t.id)
	delete(p.tracks, t.id)
	if p.declared[t.mid] == t {
		delete(p.declared, t.mid)
	}
	if reason != "" {
		e := Event{Type: EventTrackUnpublished, Data: UnpublishedEvent{TrackID: t.id, ParticipantID: p.id, Reason: reason}}
		if t.live {
			r.broadcastLocked(e, nil)
		} else if p.state == StateJoined {
			p.events.push(e)
		}
	}
	if !t.live {
		return
	}
	subscribers := make([]*Participant, 0, len(r.participants))
	for _, o := range r.participants {
		if o != p {
			subscribers = append(subscribers, o)
		}
	}
	recv := t.recv
	after.add(func() { r.unrecordTrack(t) })
	after.add(func() {
		for _, o := range subscribers {
			_ = o.unsubscribe(t.id)
		}
		recv.Close()
		r.mgr.totals.RetireReceiver(recv)
	})
}

// Preferences are a subscriber's wishes for one video track: a layer
// ("low", "medium", "high"; empty lets the server choose by bandwidth),
// and a largest picture size (0 for no limit).
type Preferences struct {
	Layer     string `json:"layer,omitempty"`
	MaxWidth  int    `json:"max_width,omitempty"`
	MaxHeight int    `json:"max_height,omitempty"`
}

// Layer names in Preferences.
const (
	LayerLow    = "low"
	LayerMedium = "medium"
	LayerHigh   = "high"
)

func (pr Preferences) check() error {
	switch pr.Layer {
	case "", LayerLow, LayerMedium, LayerHigh:
	default:
		return fmt.Errorf("%w: layer %q is not low, medium or high", ErrInvalid, pr.Layer)
	}
	if pr.MaxWidth < 0 || pr.MaxHeight < 0 || pr.MaxWidth > 16384 || pr.MaxHeight > 16384 {
		return fmt.Errorf("%w: max_width and max_height must be 0 to 16384", ErrInvalid)
	}
	return nil
}

// Subscribe starts receiving another participant's track, or, if already
// subscribed, changes the preferences. The server then offers the
// subscriber connection again.
func (p *Participant) Subscribe(trackID string, prefs Preferences) error {
	if err := prefs.check(); err != nil {
		return err
	}
	r := p.room
	r.mu.Lock()
	state := p.state
	t := r.tracks[trackID]
	r.mu.Unlock()
	switch {
	case state != StateJoined:
		return fmt.Errorf("%w: %s participants cannot subscribe", ErrState, state)
	case t == nil:
		return fmt.Errorf("%w: no track %s in the meeting", ErrNotFound, trackID)
	case t.owner == p:
		return fmt.Errorf("%w: you cannot subscribe to your own track", ErrInvalid)
	}
	return p.subscribe(t, prefs)
}

// Unsubscribe stops receiving a track.
func (p *Participant) Unsubscribe(trackID string) error {
	return p.unsubscribe(trackID)
}
