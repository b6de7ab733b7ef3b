package rtc

import (
	"sync"
	"sync/atomic"

	"parley/sfu/meeting"
)

// EventType names an event. The signaling layer sends each as a message
// of type "meeting." + EventType with Data as its payload, which is why
// every payload is JSON-ready.
type EventType string

// Events, with the type of their Data.
const (
	EventParticipantJoined  EventType = "participant_joined"  // ParticipantInfo
	EventParticipantUpdated EventType = "participant_updated" // ParticipantInfo: role or state changed
	EventParticipantLeft    EventType = "participant_left"    // LeftEvent
	EventTrackPublished     EventType = "track_published"     // TrackInfo
	EventTrackUnpublished   EventType = "track_unpublished"   // UnpublishedEvent
	EventMuted              EventType = "muted"               // MuteEvent
	EventSpeakers           EventType = "speakers"            // SpeakersEvent
	EventSettings           EventType = "settings"            // meeting.Settings
	EventWaitingRoom        EventType = "waiting_room"        // WaitingRoomEvent, to hosts and co-hosts
	EventAdmitted           EventType = "admitted"            // Snapshot, to the admitted participant
	EventDenied             EventType = "denied"              // ByEvent, to the denied participant
	EventRemoved            EventType = "removed"             // RemovedEvent, to the removed participant
	EventEnded              EventType = "ended"               // EndedEvent
	EventSubscriberOffer    EventType = "subscriber_offer"    // SDPEvent: answer with the subscriber's answer
	EventRecording          EventType = "recording"           // RecordingEvent: started (media on disk) or stopped
)

// Event is one thing a participant's client must hear about.
type Event struct {
	Type EventType
	Data any
}

// LeftEvent says a participant left, and why (one of the Reason consts).
type LeftEvent struct {
	ParticipantID string `json:"participant_id"`
	Reason        string `json:"reason"`
}

// UnpublishedEvent says a track is gone.
type UnpublishedEvent struct {
	TrackID       string `json:"track_id"`
	ParticipantID string `json:"participant_id"`
	Reason        string `json:"reason"`
}

// MuteEvent says a participant's source was muted or unmuted. By is the
// participant id of the host who did it, empty when the participant did
// it themself. AllowUnmute is false when a host forbade unmuting.
type MuteEvent struct {
	ParticipantID string `json:"participant_id"`
	Source        Source `json:"source"`
	Muted         bool   `json:"muted"`
	By            string `json:"by,omitempty"`
	AllowUnmute   bool   `json:"allow_unmute"`
}

// Speaker is one active speaker and its audio level, 0 (silence) to 1.
type Speaker struct {
	ParticipantID string  `json:"participant_id"`
	Level         float64 `json:"level"`
}

// SpeakersEvent ranks the loudest speakers, loudest first; empty when
// nobody speaks.
type SpeakersEvent struct {
	Speakers []Speaker `json:"speakers"`
}

// WaitingRoomEvent is the whole waiting room, sent to hosts and co-hosts
// whenever it changes.
type WaitingRoomEvent struct {
	Waiting []ParticipantInfo `json:"waiting"`
}

// ByEvent names the participant id of the host who acted.
type ByEvent struct {
	By string `json:"by,omitempty"`
}

// EndedEvent tells a participant the meeting ended for it: a host ended
// it for all (By names the host), or the server is shutting down (Reason
// server_shutdown, By empty; rejoin later or elsewhere).
type EndedEvent struct {
	By     string `json:"by,omitempty"`
	Reason string `json:"reason"`
}

// RemovedEvent tells a participant it was removed.
type RemovedEvent struct {
	By     string `json:"by,omitempty"`
	Reason string `json:"reason"`
	Banned bool   `json:"banned"`
}

// SDPEvent carries a server offer on the subscriber connection.
type SDPEvent struct {
	SDP string `json:"sdp"`
}

// Targets of a client's trickled candidate: which of the participant's
// two connections it belongs to. The server never trickles: each SDP it
// sends carries all its candidates (one UDP port, gathered at once).
const (
	TargetPublisher  = "publisher"
	TargetSubscriber = "subscriber"
)

// settingsEvent wraps the settings for an EventSettings.
func settingsEvent(s meeting.Settings) Event { return Event{Type: EventSettings, Data: s} }

// Sink is where a participant's events go: the signaling side of its
// client connection. Send must not block; it reports false when the
// connection is gone or too slow to take more, and the participant is then
// treated as disconnected. Lost tells the sink the room gave up on it (its
// queue overflowed): the connection should close, so the client notices
// and resumes.
type Sink interface {
	Send(Event) bool
	Lost()
}

// eventQueue is one participant's bounded queue of events, drained into
// its sink by one goroutine, so whoever queues (the room, under its lock)
// never waits on a client.
type eventQueue struct {
	limit  int
	notify chan struct{} // capacity 1: "something changed"
	done   chan struct{} // closed when the drain goroutine has finished

	mu      sync.Mutex
	events  []Event
	sink    Sink
	closing bool // drain what is queued, then stop
	stopped bool // the drain has stopped; attach delivers what is left
	onLost  func(Sink)
	// overflows counts, node-wide, the queues that overflowed.
	overflows *atomic.Uint64
}

func newEventQueue(limit int, overflows *atomic.Uint64, onLost func(Sink)) *eventQueue {
	q := &eventQueue{limit: limit, notify: make(chan struct{}, 1), done: make(chan struct{}), onLost: onLost, overflows: overflows}
	go q.drain()
	return q
}

// push queues e. Without a sink (before the participant attaches, or
// while it is disconnected) events still queue up to the limit; on
// overflow everything queued is dropped, since a resume sends a fresh
// snapshot anyway, and an attached sink is declared lost.
func (q *eventQueue) push(e Event) {
	q.mu.Lock()
	if q.closing {
		q.mu.Unlock()
		return
	}
	if len(q.events) >= q.limit {
		q.overflows.Add(1)
		q.events = nil
		lost := q.sink
		q.sink = nil
		q.mu.Unlock()
		if lost != nil {
			// The pusher may hold the room's lock, which onLost takes.
			go func() {
				lost.Lost()
				q.onLost(lost)
			}()
		}
		return
	}
	q.events = append(q.events, e)
	q.mu.Unlock()
	q.wake()
}

func (q *eventQueue) wake() {
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// attach starts delivering to sink, first what has queued since reset.
// If the participant left before it was ever attached, the drain has
// stopped, and attach delivers the last events (a denial, a removal)
// itself.
func (q *eventQueue) attach(sink Sink) {
	q.mu.Lock()
	if q.stopped {
		left := q.events
		q.events = nil
		q.mu.Unlock()
		for _, e := range left {
			if !sink.Send(e) {
				return
			}
		}
		return
	}
	q.sink = sink
	q.mu.Unlock()
	q.wake()
}

// detach stops delivering to sink, if it is still the current one, and
// drops what is queued. It reports whether sink was current.
func (q *eventQueue) detach(sink Sink) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.sink != sink {
		return false
	}
	q.sink, q.events = nil, nil
	return true
}

// reset drops what is queued and the sink: the caller is about to send a
// snapshot that supersedes them, and will attach a new sink after it.
func (q *eventQueue) reset() {
	q.mu.Lock()
	q.sink, q.events = nil, nil
	q.mu.Unlock()
}

// close lets the drain deliver what is queued (a removal notice, say),
// then stop. Later pushes are dropped.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.closing = true
	q.mu.Unlock()
	q.wake()
}

func (q *eventQueue) drain() {
	defer close(q.done)
	for range q.notify {
		for {
			q.mu.Lock()
			sink, batch, closing := q.sink, q.events, q.closing
			if sink != nil {
				q.events = nil
			}
			if closing && (sink == nil || len(batch) == 0) {
				q.stopped = true // what is left waits for attach
				q.mu.Unlock()
				return
			}
			q.mu.Unlock()
			if sink == nil || len(batch) == 0 {
				break
			}
			for _, e := range batch {
				if !sink.Send(e) {
					// The rest is lost with the connection; a resume
					// sends a fresh snapshot.
					if q.detach(sink) {
						q.onLost(sink)
					}
					break
				}
			}
		}
	}
}
