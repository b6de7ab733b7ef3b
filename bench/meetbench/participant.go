package meetbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/bench/rtcpeer"
	"parley/bench/wire"
	"parley/sfu/mediatest"
)

// offerQueue is how many subscriber offers may wait for an answer. The
// server sends the next only after the previous is answered, so one is
// the most there should ever be.
const offerQueue = 16

// room is one meeting and the participants the run put in it.
type room struct {
	index     int
	meetingID string
	members   []string       // member id of each participant: publishers first
	all       []*participant // same order; nil where joining failed

	mu      sync.Mutex
	sources map[string]*rtcpeer.Source // published track id → its source
	trackOf map[int]string             // publisher index → its track id

	// With Config.Record: the recording's id, when the host started and
	// stopped it, when the room said media is on disk (under mu), and a
	// channel closed then.
	recordingID             string
	recordStart, recordStop time.Time
	mediaOnDisk             time.Time
	recordingStarted        chan struct{}
	startedOnce             sync.Once
}

func (rm *room) source(trackID string) *rtcpeer.Source {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	return rm.sources[trackID]
}

func (rm *room) addSource(publisher int, trackID string, s *rtcpeer.Source) {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	rm.sources[trackID] = s
	rm.trackOf[publisher] = trackID
}

// subscription is one track a participant receives or should.
type subscription struct {
	// start is when the participant could first have asked for the
	// track: its join, for a track published before it joined; the
	// track_published push, for one published after; its
	// meeting.subscribe, for one it picked. Zero until known.
	start time.Time
	recv  *rtcpeer.Receiver
}

// participant is one member in one room, with its socket and a
// browser's two peer connections.
type participant struct {
	r     *runner
	room  *room
	index int  // in the room: publishers first, then subscribers
	shard int  // latency shard key, unique in the run
	pubs  bool // publishes a track

	conn     *conn
	pub, sub *webrtc.PeerConnection
	source   *rtcpeer.Source
	live     chan struct{} // closed when the room announced the published track
	liveOnce sync.Once
	offers   chan string
	stop     chan struct{} // closed at teardown
	// ctx lives as long as the participant: the run's, cancelled at
	// teardown. Work that outlives one request (answering offers) uses
	// it.
	ctx    context.Context
	cancel context.CancelFunc

	joinStart time.Time

	mu   sync.Mutex
	subs map[string]*subscription // by track id
	want []string                 // track ids it must receive, set once every publisher is up
}

func (p *participant) name() string { return p.room.members[p.index] }

// expect notes that the participant could have asked for trackID at at;
// the earliest such moment counts.
func (p *participant) expect(trackID string, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.subs[trackID]
	if s == nil {
		s = &subscription{}
		p.subs[trackID] = s
	}
	if s.start.IsZero() || at.Before(s.start) {
		s.start = at
	}
}

// start opens the participant's socket and peer connections and joins
// the meeting; a publisher also publishes.
func (p *participant) start(ctx context.Context) error {
	var err error
	if p.sub, err = p.r.stack.NewPeerConnection(); err != nil {
		return err
	}
	p.sub.OnTrack(p.onTrack)
	p.sub.OnConnectionStateChange(p.watchState("subscriber"))
	if p.pubs {
		if p.pub, err = p.r.stack.NewPeerConnection(); err != nil {
			return err
		}
		p.pub.OnConnectionStateChange(p.watchState("publisher"))
	}
	ws, err := p.r.dialer.Dial(ctx, p.r.fleet.Token(p.name()))
	if err != nil {
		return fmt.Errorf("%s: %w", p.name(), err)
	}
	p.conn = newConn(ws, p.onPush)
	go p.answerOffers(p.ctx)

	audio := p.r.cfg.Layout == LayoutAudio
	p.joinStart = time.Now()
	var snap wire.MeetingSnapshot
	if err := p.conn.call(ctx, wire.TypeMeetingJoin, wire.MeetingJoin{MeetingID: p.room.meetingID, AutoSubscribe: audio},
		wire.TypeMeetingJoined, &snap); err != nil {
		return fmt.Errorf("%s: %w", p.name(), err)
	}
	p.r.join.Record(p.shard, time.Since(p.joinStart))
	if audio {
		for _, other := range snap.Participants {
			for _, t := range other.Tracks {
				p.expect(t.TrackID, p.joinStart)
			}
		}
	}
	if p.pubs {
		if err := p.publish(ctx); err != nil {
			return fmt.Errorf("%s: %w", p.name(), err)
		}
	}
	return nil
}

// publish sends the participant's microphone (audio layout) or camera
// (video layout) over meeting.publish and starts playing the clip.
func (p *participant) publish(ctx context.Context) error {
	clip := p.r.clip
	source := wire.SourceMicrophone
	if clip.IsVideo() {
		source = wire.SourceCamera
	}
	track := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: clip.MimeType}, source+"-"+p.name(), "s-"+p.name(), "")
	if !clip.IsVideo() {
		// A steady level per publisher: the server ranks speakers from
		// it, and the ranking stays put.
		track.SetAudioLevel(audioLevelBase + p.index%audioLevelSpread)
	}
	if _, err := p.pub.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		return fmt.Errorf("add track: %w", err)
	}
	offer, err := rtcpeer.Offer(ctx, p.pub)
	if err != nil {
		return err
	}
	var rep wire.MeetingPublished
	err = p.conn.call(ctx, wire.TypeMeetingPublish, wire.MeetingPublish{SDP: offer,
		Tracks: []wire.PublishTrack{{Mid: rtcpeer.MidOf(p.pub, track.ID()), Source: source}}}, wire.TypeMeetingPublished, &rep)
	if err != nil {
		return err
	}
	if len(rep.Tracks) != 1 || rep.Tracks[0].TrackID == "" {
		return fmt.Errorf("meeting.published names %d tracks, want 1", len(rep.Tracks))
	}
	p.source = rtcpeer.NewSource(clip, track)
	// Registered before any media flows, so every subscriber finds it.
	p.room.addSource(p.index, rep.Tracks[0].TrackID, p.source)
	if err := rtcpeer.Accept(p.pub, rep.SDP); err != nil {
		return err
	}
	if err := rtcpeer.WaitConnected(ctx, p.pub); err != nil {
		return fmt.Errorf("publisher connection: %w", err)
	}
	p.source.Start()
	return nil
}

// Audio levels the publishers stamp, in -dBov (0 is loudest).
const (
	audioLevelBase   = 20
	audioLevelSpread = 40
)

// subscribe asks for each track with meeting.subscribe.
func (p *participant) subscribe(ctx context.Context, trackIDs []string) error {
	for _, id := range trackIDs {
		at := time.Now()
		p.expect(id, at)
		if err := p.conn.call(ctx, wire.TypeMeetingSubscribe, wire.MeetingSubscribe{TrackID: id}, wire.TypeMeetingOK, nil); err != nil {
			return fmt.Errorf("%s: %w", p.name(), err)
		}
	}
	return nil
}

// onPush handles what the room pushes. It runs on the socket's reading
// goroutine and must not block.
func (p *participant) onPush(m wire.Message) {
	switch m.Type {
	case wire.TypeMeetingSubscriberOffer:
		var d wire.SDP
		if err := json.Unmarshal(m.Data, &d); err != nil {
			p.r.log.Error("", fmt.Sprintf("%s: undecodable subscriber offer: %v", p.name(), err))
			return
		}
		select {
		case p.offers <- d.SDP:
		default:
			p.r.log.Error("", fmt.Sprintf("%s: more than %d subscriber offers without an answer", p.name(), offerQueue))
		}
	case wire.TypeMeetingTrackPublished:
		var t wire.MeetingTrack
		if err := json.Unmarshal(m.Data, &t); err != nil {
			p.r.log.Error("", fmt.Sprintf("%s: undecodable track_published: %v", p.name(), err))
			return
		}
		if p.pubs && t.TrackID == p.ownTrack() {
			p.liveOnce.Do(func() { close(p.live) })
			return
		}
		if p.r.cfg.Layout == LayoutAudio {
			p.expect(t.TrackID, time.Now())
		}
	case wire.TypeMeetingRecording:
		p.recordingState(m.Data)
	case wire.TypeMeetingEnded, wire.TypeMeetingRemoved:
		if !p.r.closing.Load() {
			p.r.log.Error("", fmt.Sprintf("%s: %s %s before the end of the run", p.name(), m.Type, m.Data))
		}
	}
}

// ownTrack is the id of the published track, "" before the publish
// reply.
func (p *participant) ownTrack() string {
	p.room.mu.Lock()
	defer p.room.mu.Unlock()
	return p.room.trackOf[p.index]
}

// answerOffers answers the server's subscriber offers, one at a time.
func (p *participant) answerOffers(ctx context.Context) {
	for {
		var offer string
		select {
		case offer = <-p.offers:
		case <-p.stop:
			return
		case <-p.conn.closed:
			if !p.r.closing.Load() {
				p.r.log.Error("", fmt.Sprintf("%s: the socket closed during the run: %v", p.name(), p.conn.closeErr))
			}
			return
		}
		answer, err := rtcpeer.Answer(ctx, p.sub, offer)
		if err == nil {
			err = p.conn.call(ctx, wire.TypeMeetingSubscriberAnswer, wire.SDP{SDP: answer}, wire.TypeMeetingOK, nil)
		}
		if err != nil && !p.r.closing.Load() {
			p.r.log.Error(codeOf(err), fmt.Sprintf("%s: answer the subscriber offer: %v", p.name(), err))
		}
	}
}

// onTrack starts checking a track the subscriber connection got.
func (p *participant) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	src := p.room.source(track.ID())
	if src == nil {
		p.r.log.Error("", fmt.Sprintf("%s received track %s (stream %s), which no publisher of its room published", p.name(), track.ID(), track.StreamID()))
		go drain(track)
		return
	}
	rcv := rtcpeer.NewReceiver(track, recv, src, rtcpeer.ReceiverOptions{Latency: p.r.lat, Shard: p.shard, Feedback: p.sub})
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.subs[track.ID()]
	if s == nil {
		s = &subscription{}
		p.subs[track.ID()] = s
	}
	if s.recv != nil {
		p.r.log.Error("", fmt.Sprintf("%s received track %s twice", p.name(), track.ID()))
	}
	s.recv = rcv
}

// drain reads a track nobody checks, so its buffers never fill.
func drain(track *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := track.Read(buf); err != nil {
			return
		}
	}
}

func (p *participant) watchState(which string) func(webrtc.PeerConnectionState) {
	return func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed && !p.r.closing.Load() {
			p.r.log.Error("", fmt.Sprintf("%s: the %s connection failed", p.name(), which))
		}
	}
}

// close stops the participant's media and closes its socket and
// connections.
func (p *participant) close() {
	close(p.stop)
	p.cancel()
	if p.source != nil {
		p.source.Stop()
	}
	if p.conn != nil {
		p.conn.Close()
	}
	for _, pc := range []*webrtc.PeerConnection{p.pub, p.sub} {
		if pc != nil {
			_ = pc.Close()
		}
	}
}

// codeOf returns the server's error code of a refused request, "" for
// other errors.
func codeOf(err error) string {
	var re *RequestError
	if errors.As(err, &re) {
		return re.Code
	}
	return ""
}
