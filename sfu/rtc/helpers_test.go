package rtc_test

import (
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"parley/sfu/meeting"
	"parley/sfu/rtc"
	"parley/sfu/transport"
	"parley/storage"
)

// env is one node's meeting stack on a temporary data directory: a real
// Pebble, the meeting store, a loopback media transport and the manager.
type env struct {
	db        *storage.DB
	meetings  *meeting.Store
	transport *transport.Transport
	rooms     *rtc.Manager
	// recordings is the folder of meeting recordings.
	recordings string
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t *testing.T, mutate func(*rtc.Config)) *env {
	t.Helper()
	db, err := storage.Open(t.TempDir(), storage.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transport.New(transport.Config{LoopbackOnly: true}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	cfg := rtc.DefaultConfig()
	cfg.SpeakerInterval = 100 * time.Millisecond
	if mutate != nil {
		mutate(&cfg)
	}
	e := &env{db: db, meetings: meeting.New(db, meeting.Options{}), transport: tr, recordings: t.TempDir()}
	e.rooms, err = rtc.NewManager(cfg, e.meetings, rtc.MediaDeps{Transport: tr, RecordingDir: e.recordings}, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.rooms.Close()
		tr.Close()
		db.Close()
	})
	return e
}

// meeting creates an instant meeting hosted by host.
func (e *env) meeting(t *testing.T, host string, settings meeting.SettingsPatch, invitees ...string) meeting.Meeting {
	t.Helper()
	m, err := e.meetings.Create(meeting.NewMeeting{Title: "Standup", HostID: host, Invitees: invitees, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// member is a joined (or waiting) participant with its event log.
type member struct {
	p    *rtc.Participant
	snap rtc.Snapshot
	ev   *eventLog
}

func (e *env) join(t *testing.T, meetingID, who string, guest bool) *member {
	t.Helper()
	m, err := e.tryJoin(meetingID, who, guest)
	if err != nil {
		t.Fatalf("%s joins: %v", who, err)
	}
	return m
}

func (e *env) tryJoin(meetingID, who string, guest bool) (*member, error) {
	p, snap, err := e.rooms.Join(meetingID, rtc.Identity{ID: who, Name: "Name of " + who, Guest: guest},
		rtc.JoinOptions{AutoSubscribe: true})
	if err != nil {
		return nil, err
	}
	ev := newEventLog()
	p.Attach(ev)
	return &member{p: p, snap: snap, ev: ev}, nil
}

// eventLog is a Sink that keeps every event for the test to wait on;
// subscriber offers go to offers instead, for the client that answers
// them.
type eventLog struct {
	ch     chan rtc.Event
	offers chan string
	refuse chan struct{} // closed: Send reports the connection gone
	lost   atomic.Bool   // the room gave up on this sink
}

func newEventLog() *eventLog {
	return &eventLog{ch: make(chan rtc.Event, 1024), offers: make(chan string, 64), refuse: make(chan struct{})}
}

func (l *eventLog) Lost() { l.lost.Store(true) }

func (l *eventLog) Send(e rtc.Event) bool {
	select {
	case <-l.refuse:
		return false
	default:
	}
	if e.Type == rtc.EventSubscriberOffer {
		l.offers <- e.Data.(rtc.SDPEvent).SDP
		return true
	}
	select {
	case l.ch <- e:
		return true
	default:
		return false
	}
}

// waitFor returns the next event of type typ, skipping others, or fails
// the test after 5 seconds.
func (l *eventLog) waitFor(t *testing.T, typ rtc.EventType) rtc.Event {
	t.Helper()
	return l.waitMatch(t, typ, func(rtc.Event) bool { return true })
}

// waitMatch returns the next event of type typ that match accepts.
func (l *eventLog) waitMatch(t *testing.T, typ rtc.EventType, match func(rtc.Event) bool) rtc.Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case e := <-l.ch:
			if e.Type == typ && match(e) {
				return e
			}
		case <-deadline:
			t.Fatalf("no %s event within 5s", typ)
			return rtc.Event{}
		}
	}
}

// none checks that no event of type typ is queued now or arrives within
// a short while (the room queues synchronously, so a missing event is
// already missing when the call returns; the wait only covers delivery).
func (l *eventLog) none(t *testing.T, typ rtc.EventType) {
	t.Helper()
	deadline := time.After(100 * time.Millisecond)
	for {
		select {
		case e := <-l.ch:
			if e.Type == typ {
				t.Fatalf("unexpected %s event: %+v", typ, e.Data)
			}
		case <-deadline:
			return
		}
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

func boolp(b bool) *bool { return &b }

func intp(n int) *int { return &n }
