package liveroom

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"parley/chat/bus"
	"parley/chat/msglog"
	"parley/storage"
)

// Viewer is one local device watching a live: a WebSocket session. Send
// must not block; a session that cannot keep up is closed by its owner.
type Viewer interface {
	Send(frame []byte) bool
}

// Deps are what the service stands on. All are required but Seeds.
type Deps struct {
	DB *storage.DB
	// Log is the chat log, with the chat service's durable hook installed
	// (messaging.New): it publishes each entry on the conversation subject.
	Log *msglog.Log
	// Conn is this node's bus connection.
	Conn   *nats.Conn
	Config Config
	Logger *slog.Logger
	// Seeds supplies the seeds of lottery draws; nil is crypto/rand.
	Seeds io.Reader
}

// Service is one node's live interaction service. It is safe for
// concurrent use.
type Service struct {
	db     *storage.DB
	log    *msglog.Log
	nc     *nats.Conn
	cfg    Config
	logger *slog.Logger
	seeds  io.Reader

	mu    sync.Mutex
	rooms map[string]*room // live id → this node's viewers of it

	likes *likeAggregator
	polls *pollBook

	drawMu sync.Mutex // one draw at a time, so "exclude previous winners" holds

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// room is one live's local viewers and the node's subscription to it.
type room struct {
	liveID string
	sub    *nats.Subscription

	mu sync.RWMutex
	// viewers holds every local session in the room; the value is true
	// for the audience and false for presenters (the host and guests),
	// who get the pushes but are not counted as viewers.
	viewers  map[Viewer]bool
	audience int
}

// New creates the service and starts its tally flusher. Close stops it.
func New(d Deps) (*Service, error) {
	if d.DB == nil || d.Log == nil || d.Conn == nil || d.Logger == nil {
		return nil, fmt.Errorf("liveroom: DB, Log, Conn and Logger are required")
	}
	cfg, def := d.Config, DefaultConfig()
	if cfg.MaxCommentBytes <= 0 {
		cfg.MaxCommentBytes = def.MaxCommentBytes
	}
	if cfg.TallyInterval <= 0 {
		cfg.TallyInterval = def.TallyInterval
	}
	seeds := d.Seeds
	if seeds == nil {
		seeds = rand.Reader
	}
	s := &Service{
		db: d.DB, log: d.Log, nc: d.Conn, cfg: cfg, logger: d.Logger, seeds: seeds,
		rooms: map[string]*room{},
		stop:  make(chan struct{}),
	}
	s.likes = newLikeAggregator(s)
	s.polls = newPollBook(s)
	s.wg.Add(1)
	go s.runFlusher()
	return s, nil
}

// Close flushes pending tallies one last time, stops the flusher and
// drops this node's subscriptions. Call it before closing the log.
func (s *Service) Close() {
	s.stopOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, r := range s.rooms {
		_ = r.sub.Unsubscribe()
		delete(s.rooms, id)
	}
}

func (s *Service) closed() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

func (s *Service) runFlusher() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.TallyInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.Flush()
		case <-s.stop:
			s.Flush()
			return
		}
	}
}

// Flush writes and publishes every pending tally now: likes (with the
// viewers who liked and watched), poll tallies and viewer counts. The
// flusher calls it every TallyInterval.
func (s *Service) Flush() {
	s.likes.flush()
	s.polls.flushTallies()
}

// Join adds a local viewer of liveID and records viewerID as having
// watched it. The first local viewer of a live subscribes this node to
// the live's subject; Join returns once the subscription is live at the
// server, so nothing published afterwards is missed. Pair every
// successful Join with one Leave.
//
// Every Join and Leave of a viewer changes the viewer count the next
// flush publishes (FrameViewers): the local viewers of this node, each
// session counted once. Counts are coalesced like likes, so thousands of
// viewers joining at once cost one frame per interval.
func (s *Service) Join(liveID, viewerID string, v Viewer) error {
	if err := checkID("viewer_id", viewerID); err != nil {
		return err
	}
	return s.join(liveID, viewerID, v)
}

// JoinPresenter adds a local session of the live's host or a guest: it
// gets every push of the room, as a viewer does, but is neither counted
// in FrameViewers nor recorded as having watched (presenters never win a
// draw). Pair it with one Leave.
func (s *Service) JoinPresenter(liveID string, v Viewer) error {
	return s.join(liveID, "", v)
}

// join adds v to liveID's room; an empty viewerID is a presenter.
func (s *Service) join(liveID, viewerID string, v Viewer) error {
	if err := checkID("live_id", liveID); err != nil {
		return err
	}
	s.mu.Lock()
	if s.closed() {
		s.mu.Unlock()
		return ErrClosed
	}
	r := s.rooms[liveID]
	subscribed := r == nil
	if r == nil {
		r = &room{liveID: liveID, viewers: map[Viewer]bool{}}
		sub, err := s.nc.Subscribe(bus.ConversationSubject(ConversationID(liveID)), func(m *nats.Msg) {
			r.dispatch(s.toViewerFrame(m.Data))
		})
		if err != nil {
			s.mu.Unlock()
			return fmt.Errorf("subscribe to live %s: %w", liveID, err)
		}
		r.sub = sub
		s.rooms[liveID] = r
	}
	audience := viewerID != ""
	r.mu.Lock()
	if counted, in := r.viewers[v]; in && counted {
		r.audience-- // joined again: counted once
	}
	r.viewers[v] = audience
	if audience {
		r.audience++
	}
	count := r.audience
	r.mu.Unlock()
	s.mu.Unlock()
	if audience {
		s.likes.watched(liveID, viewerID, count)
	}
	if !subscribed {
		return nil // live at the server since the first viewer's Join
	}
	if err := s.nc.Flush(); err != nil {
		return fmt.Errorf("flush subscription to live %s: %w", liveID, err)
	}
	return nil
}

// Leave removes a local viewer. The last one unsubscribes the node.
func (s *Service) Leave(liveID string, v Viewer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.rooms[liveID]
	if r == nil {
		return
	}
	r.mu.Lock()
	counted, in := r.viewers[v]
	delete(r.viewers, v)
	if counted {
		r.audience--
	}
	count, sessions := r.audience, len(r.viewers)
	r.mu.Unlock()
	if sessions == 0 {
		_ = r.sub.Unsubscribe()
		delete(s.rooms, liveID)
	}
	if in && counted {
		s.likes.viewerCount(liveID, count)
	}
}

// LocalViewers is how many viewers of liveID are on this node, not
// counting its presenters (JoinPresenter).
func (s *Service) LocalViewers(liveID string) int {
	s.mu.Lock()
	r := s.rooms[liveID]
	s.mu.Unlock()
	if r == nil {
		return 0
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.audience
}

// dispatch hands one frame to every local viewer. Send never blocks, so
// delivering under the read lock is safe and costs no copy of the set.
func (r *room) dispatch(frame []byte) {
	if frame == nil {
		return
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	for v := range r.viewers {
		v.Send(frame)
	}
}

// envelope is a frame as published on the bus.
type envelope struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
}

// toViewerFrame turns a frame from the live's subject into the frame
// viewers get, once per node: an entry published by the chat service as
// "chat.message" becomes a frame named after the entry's type; frames of
// this package pass as they are. Anything else is dropped (nil).
func (s *Service) toViewerFrame(raw []byte) []byte {
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		s.logger.Warn("liveroom: undecodable frame on a live subject", "err", err)
		return nil
	}
	if strings.HasPrefix(env.Type, "live.") {
		return raw
	}
	if env.Type != "chat.message" {
		return nil
	}
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(env.Data, &head); err != nil || !strings.HasPrefix(head.Type, "live.") {
		return nil
	}
	out, err := marshal(envelope{Type: head.Type, Data: env.Data})
	if err != nil {
		return nil
	}
	return out
}

// publish encodes one frame and sends it to every node with viewers of
// liveID. A failure is logged: tallies are repeated by the next change,
// and entries are never published from here.
func (s *Service) publish(liveID, typ string, data any) {
	raw, err := marshal(data)
	if err == nil {
		var f []byte
		f, err = marshal(envelope{Type: typ, Data: raw})
		if err == nil {
			err = s.nc.Publish(bus.ConversationSubject(ConversationID(liveID)), f)
		}
	}
	if err != nil {
		s.logger.Warn("liveroom: publish", "live", liveID, "type", typ, "err", err)
	}
}

// PublishStatus tells every node's room of liveID that the live went on
// air (StatusLive) or ended (StatusEnded) at at, as a FrameStatus frame on
// the live's subject. The caller publishes after the change is stored.
func (s *Service) PublishStatus(liveID, status string, at time.Time) error {
	if err := checkID("live_id", liveID); err != nil {
		return err
	}
	if status != StatusLive && status != StatusEnded {
		return invalidf("status %q is neither %q nor %q", status, StatusLive, StatusEnded)
	}
	raw, err := marshal(StatusChange{LiveID: liveID, Status: status, At: at.UTC()})
	if err != nil {
		return fmt.Errorf("encode status of live %s: %w", liveID, err)
	}
	f, err := marshal(envelope{Type: FrameStatus, Data: raw})
	if err != nil {
		return fmt.Errorf("encode status of live %s: %w", liveID, err)
	}
	if err := s.nc.Publish(bus.ConversationSubject(ConversationID(liveID)), f); err != nil {
		return fmt.Errorf("publish status of live %s: %w", liveID, err)
	}
	return nil
}

// marshal is json.Marshal without HTML escaping, as the chat log stores
// bodies: comments are full of <, > and &.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
