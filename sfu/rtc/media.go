package rtc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/media"
	"parley/sfu/transport"
)

// MediaDeps is what rooms need of the media side.
type MediaDeps struct {
	// Transport builds the PeerConnections, on the node's one UDP port.
	Transport *transport.Transport
	// RecordingDir is the folder of meeting recordings: each meeting's
	// are under RecordingDir/<meeting id>/<recording id>/. Empty turns
	// recording off (StartRecording is ErrState).
	RecordingDir string
}

type mediaDeps struct {
	transport    *transport.Transport
	recordingDir string
}

func newMediaDeps(d MediaDeps) (*mediaDeps, error) {
	if d.Transport == nil {
		return nil, errors.New("rtc: media deps: no transport")
	}
	return &mediaDeps{transport: d.Transport, recordingDir: d.RecordingDir}, nil
}

// negotiateTimeout bounds one local description's candidate gathering,
// which on one UDP port with host candidates takes milliseconds.
const negotiateTimeout = 5 * time.Second

// participantMedia is a participant's two PeerConnections: the publisher,
// on which the client offers what it sends, and the subscriber, on which
// the server offers what the participant receives. Each has its own lock,
// held across a whole negotiation step, so the two never wait on each
// other and one side's offers are handled in order.
type participantMedia struct {
	p *Participant

	pubMu         sync.Mutex
	pub           *webrtc.PeerConnection
	pubCandidates []webrtc.ICECandidateInit // trickled before the first offer

	subMu         sync.Mutex
	sub           *webrtc.PeerConnection
	alloc         *media.Allocator         // divides the subscriber's bandwidth estimate
	subs          map[string]*subscription // by track id
	offering      bool                     // an offer is out, awaiting the answer
	again         bool                     // something changed while offering
	restartICE    bool                     // the next offer restarts ICE
	subCandidates []webrtc.ICECandidateInit
	// offers counts the subscriber offers made. emptied holds the
	// subscriber's transceivers whose track was removed, with the count
	// of offers made by then: Pion reuses such a transceiver for a new
	// track only once the client has answered an offer made after the
	// removal, which settles it idle.
	offers  int
	emptied map[*webrtc.RTPTransceiver]int

	closed bool // under both locks
}

func (m *participantMedia) init(p *Participant) {
	m.p = p
	m.subs = map[string]*subscription{}
	m.emptied = map[*webrtc.RTPTransceiver]int{}
}

// settle marks idle the transceivers the answered offer (the last one
// made) carried as emptied. Called with subMu held.
func (m *participantMedia) settle() {
	for tr, at := range m.emptied {
		if at < m.offers {
			delete(m.emptied, tr)
		}
	}
}

// hasSection reports whether a new track of kind fits the subscriber
// connection without passing transport.MaxAnswerSections media
// sections: there is room for another, or a settled idle one of the
// kind for Pion to reuse. Called with subMu held.
func (m *participantMedia) hasSection(kind webrtc.RTPCodecType) bool {
	trs := m.sub.GetTransceivers()
	if len(trs) < transport.MaxAnswerSections {
		return true
	}
	for _, tr := range trs {
		if _, unsettled := m.emptied[tr]; tr.Kind() == kind && tr.Sender() == nil && !unsettled {
			return true
		}
	}
	return false
}

// openMedia creates both PeerConnections. Until the first publish there
// is nothing to answer, and until the first subscription nothing to
// offer, so neither connects yet.
func (p *Participant) openMedia() error {
	m := &p.media
	t := p.room.mgr.media.transport
	pub, err := t.NewPublisher()
	if err != nil {
		return err
	}
	sub, estimator, err := t.NewSubscriber()
	if err != nil {
		pub.Close()
		return err
	}
	alloc := media.NewAllocator(estimator)
	pub.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
		p.room.trackArrived(p, pub, remote, recv)
	})
	m.pubMu.Lock()
	m.subMu.Lock()
	closed := m.closed
	if !closed {
		m.pub, m.sub, m.alloc = pub, sub, alloc
	}
	m.subMu.Unlock()
	m.pubMu.Unlock()
	if closed { // left while we were opening
		alloc.Close()
		pub.Close()
		sub.Close()
		return fmt.Errorf("%w: the participant has left", ErrState)
	}
	return nil
}

// closeMedia closes both PeerConnections and every subscription. The
// participant's published tracks were dropped by the room already.
func (p *Participant) closeMedia() {
	m := &p.media
	m.pubMu.Lock()
	m.subMu.Lock()
	m.closed = true
	pub, sub, alloc := m.pub, m.sub, m.alloc
	subs := m.subs
	m.subs = map[string]*subscription{}
	m.subMu.Unlock()
	m.pubMu.Unlock()
	for _, s := range subs {
		s.close()
	}
	if alloc != nil {
		alloc.Close()
	}
	if pub != nil {
		_ = pub.Close()
	}
	if sub != nil {
		_ = sub.Close()
	}
}

// publisherAnswer applies a client offer on the publisher connection and
// returns the server's answer, with every server candidate in it and the
// publish bitrate limit written into each media section.
func (p *Participant) publisherAnswer(offer string) (string, error) {
	m := &p.media
	m.pubMu.Lock()
	defer m.pubMu.Unlock()
	if m.closed || m.pub == nil {
		return "", fmt.Errorf("%w: the participant has no media connection", ErrState)
	}
	ctx, cancel := context.WithTimeout(context.Background(), negotiateTimeout)
	defer cancel()
	answer, err := transport.Answer(ctx, m.pub, offer)
	if err != nil {
		return "", sdpErr(err)
	}
	for _, c := range m.pubCandidates {
		_ = m.pub.AddICECandidate(c)
	}
	m.pubCandidates = nil
	return limitBitrate(answer, p.room.cfg.MaxPublishBitrate)
}

// sdpErr marks a refused description as the client's fault.
func sdpErr(err error) error {
	if refusedSDP(err) {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

// refusedSDP reports whether transport refused a description before
// Pion saw it, which leaves the connection as it was.
func refusedSDP(err error) bool {
	return errors.Is(err, transport.ErrMalformedSDP) || errors.Is(err, transport.ErrSDPTooLarge) ||
		errors.Is(err, transport.ErrUnsupportedCodec) || errors.Is(err, transport.ErrDataChannel)
}

// AddCandidate adds one of the client's ICE candidates to its publisher
// or subscriber connection (target is TargetPublisher or
// TargetSubscriber). Candidates that arrive before the connection has the
// client's description wait for it. An empty candidate ends the client's
// candidates.
func (p *Participant) AddCandidate(target string, c webrtc.ICECandidateInit) error {
	if len(c.Candidate) > MaxCandidateBytes {
		return fmt.Errorf("%w: candidate is over %d bytes", ErrInvalid, MaxCandidateBytes)
	}
	m := &p.media
	var mu *sync.Mutex
	var pc func() *webrtc.PeerConnection
	var pending *[]webrtc.ICECandidateInit
	switch target {
	case TargetPublisher:
		mu, pc, pending = &m.pubMu, func() *webrtc.PeerConnection { return m.pub }, &m.pubCandidates
	case TargetSubscriber:
		mu, pc, pending = &m.subMu, func() *webrtc.PeerConnection { return m.sub }, &m.subCandidates
	default:
		return fmt.Errorf("%w: target %q is not %q or %q", ErrInvalid, target, TargetPublisher, TargetSubscriber)
	}
	mu.Lock()
	defer mu.Unlock()
	conn := pc()
	if m.closed || conn == nil {
		return fmt.Errorf("%w: the participant has no media connection", ErrState)
	}
	if conn.RemoteDescription() == nil {
		if len(*pending) >= maxPendingCandidates {
			return fmt.Errorf("%w: more than %d candidates before the description", ErrLimit, maxPendingCandidates)
		}
		*pending = append(*pending, c)
		return nil
	}
	if err := conn.AddICECandidate(c); err != nil {
		return fmt.Errorf("%w: candidate: %v", ErrInvalid, err)
	}
	return nil
}

// maxPendingCandidates bounds the candidates held for a connection that
// has no remote description yet.
const maxPendingCandidates = 64

// negotiate offers the subscriber connection's current tracks to the
// client, unless an offer is already out; then it offers again once the
// answer is in.
func (p *Participant) negotiate() {
	m := &p.media
	m.subMu.Lock()
	defer m.subMu.Unlock()
	p.negotiateLocked()
}

func (p *Participant) negotiateLocked() {
	m := &p.media
	if m.closed || m.sub == nil {
		return
	}
	if m.offering {
		m.again = true
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), negotiateTimeout)
	defer cancel()
	sdp, err := transport.Offer(ctx, m.sub, transport.WithICERestart(m.restartICE))
	if err != nil {
		p.room.log.Error("rtc: subscriber offer", "participant", p.id, "err", err)
		return
	}
	m.restartICE = false
	m.offering = true
	m.offers++
	p.events.push(Event{Type: EventSubscriberOffer, Data: SDPEvent{SDP: sdp}})
}

// AnswerSubscriber applies the client's answer to the server's latest
// subscriber offer. A bad answer is refused and the offer stays out, so
// the client may answer again.
func (p *Participant) AnswerSubscriber(answer string) error {
	m := &p.media
	m.subMu.Lock()
	defer m.subMu.Unlock()
	if m.closed || m.sub == nil {
		return fmt.Errorf("%w: the participant has no media connection", ErrState)
	}
	if !m.offering {
		return fmt.Errorf("%w: no subscriber offer is waiting for an answer", ErrState)
	}
	if err := transport.AcceptAnswer(m.sub, answer); err != nil {
		if refusedSDP(err) {
			return sdpErr(err) // refused unseen: the offer stays out
		}
		if m.sub.SignalingState() == webrtc.SignalingStateStable {
			// Pion took the answer halfway: offer afresh, so the client
			// has something it can answer.
			m.offering = false
			p.negotiateLocked()
		}
		return fmt.Errorf("%w: answer: %w: %v", ErrInvalid, transport.ErrMalformedSDP, err)
	}
	m.settle()
	m.offering = false
	for _, c := range m.subCandidates {
		_ = m.sub.AddICECandidate(c)
	}
	m.subCandidates = nil
	if m.again || m.restartICE {
		m.again = false
		p.negotiateLocked()
	}
	return nil
}

// restartSubscriberICE makes the server offer the subscriber connection
// again with fresh ICE credentials, as after a resume. An offer the
// client may have lost with its old connection is sent again first; the
// restart follows its answer.
func (p *Participant) restartSubscriberICE() {
	m := &p.media
	m.subMu.Lock()
	defer m.subMu.Unlock()
	if m.closed || m.sub == nil {
		return
	}
	if m.sub.RemoteDescription() == nil && !m.offering {
		return // never negotiated: nothing to restart
	}
	m.restartICE = true
	if m.offering {
		if d := m.sub.PendingLocalDescription(); d != nil {
			p.events.push(Event{Type: EventSubscriberOffer, Data: SDPEvent{SDP: d.SDP}})
		}
		return
	}
	p.negotiateLocked()
}

// subscriptionIDs lists the tracks the participant receives.
func (p *Participant) subscriptionIDs() []string {
	m := &p.media
	m.subMu.Lock()
	defer m.subMu.Unlock()
	ids := make([]string, 0, len(m.subs))
	for id := range m.subs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
