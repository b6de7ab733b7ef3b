package liveroom

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"parley/chat/msglog"
	"parley/storage"
)

// closeClientMsgIDPrefix starts the client message id of every poll-close
// entry ("close:<poll id>"), so closing a poll twice stores one entry.
const closeClientMsgIDPrefix = "close:"

// voteStripes is how many locks serialize votes. A vote locks the stripe
// of its (poll, viewer), so one viewer's two votes cannot both pass the
// "has voted?" read, while votes of different viewers commit
// concurrently and share fsyncs.
const voteStripes = 64

// Poll is a poll as stored and as clients see it. Its id is the seq of
// the entry that opened it.
type Poll struct {
	LiveID    string     `json:"live_id"`
	ID        uint64     `json:"poll_id"`
	Question  string     `json:"question"`
	Options   []string   `json:"options"`
	OpenedBy  string     `json:"opened_by"`
	Open      bool       `json:"open"`
	Counts    []uint64   `json:"counts"` // votes per option, in option order
	Votes     uint64     `json:"votes"`
	CreatedAt time.Time  `json:"created_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
}

// OpenPollRequest opens a poll.
type OpenPollRequest struct {
	LiveID      string   `json:"live_id"`
	ClientMsgID string   `json:"client_msg_id"`
	Question    string   `json:"question"`
	Options     []string `json:"options"`
}

type pollID struct {
	live string
	id   uint64
}

// pollBook keeps the polls this node has touched: their records and live
// counts, loaded once from the vote keys.
type pollBook struct {
	s      *Service
	seed   maphash.Seed
	stripe [voteStripes]sync.Mutex
	openMu sync.Mutex // one OpenPoll at a time, so MaxOpenPolls holds

	mu     sync.Mutex
	states map[pollID]*pollState
	dirty  map[pollID]*pollState // tallies changed since the last flush
}

type pollState struct {
	mu     sync.RWMutex // votes hold it shared; loading and closing exclusively
	loaded atomic.Bool
	poll   Poll // the record; counts live in counts and votes
	counts []atomic.Uint64
	votes  atomic.Uint64
}

func newPollBook(s *Service) *pollBook {
	return &pollBook{s: s, seed: maphash.MakeSeed(), states: map[pollID]*pollState{}, dirty: map[pollID]*pollState{}}
}

// OpenPoll opens a poll in a live. A resend with the same client message
// id returns the poll it opened. The caller checked that actor may.
func (s *Service) OpenPoll(ctx context.Context, actor string, req OpenPollRequest) (Poll, error) {
	if err := s.checkRequest(req.LiveID, actor, req.ClientMsgID); err != nil {
		return Poll{}, err
	}
	if e, ok := s.original(req.LiveID, actor, req.ClientMsgID); ok {
		return s.Poll(req.LiveID, e.Seq)
	}
	if err := checkText("question", req.Question, MaxPollQuestionBytes); err != nil {
		return Poll{}, err
	}
	if len(req.Options) < MinPollOptions || len(req.Options) > MaxPollOptions {
		return Poll{}, invalidf("a poll has %d to %d options, not %d", MinPollOptions, MaxPollOptions, len(req.Options))
	}
	for i, o := range req.Options {
		if err := checkText("option "+strconv.Itoa(i), o, MaxPollOptionBytes); err != nil {
			return Poll{}, err
		}
	}
	s.polls.openMu.Lock()
	defer s.polls.openMu.Unlock()
	open, err := s.OpenPolls(req.LiveID)
	if err != nil {
		return Poll{}, err
	}
	if len(open) >= MaxOpenPolls {
		return Poll{}, fmt.Errorf("%w: %d polls are open; close one first", ErrLimit, MaxOpenPolls)
	}
	body, err := marshal(PollBody{Question: req.Question, Options: req.Options})
	if err != nil {
		return Poll{}, err
	}
	ack, err := s.append(ctx, req.LiveID, msglog.Draft{
		ConversationID: ConversationID(req.LiveID), SenderID: actor, ClientMsgID: req.ClientMsgID,
		Type: TypePoll, Body: body,
		OnCommit: func(b *storage.Batch, e msglog.Entry) error {
			return b.SetJSON(pollKey(req.LiveID, e.Seq), Poll{
				LiveID: req.LiveID, ID: e.Seq, Question: req.Question, Options: req.Options,
				OpenedBy: actor, Open: true, Counts: make([]uint64, len(req.Options)), CreatedAt: e.CreatedAt,
			})
		},
	})
	if err != nil {
		return Poll{}, err
	}
	return s.Poll(req.LiveID, ack.Seq)
}

// state returns the loaded state of a poll, or ErrNotFound.
func (b *pollBook) state(liveID string, id uint64) (*pollState, error) {
	k := pollID{liveID, id}
	b.mu.Lock()
	ps := b.states[k]
	if ps == nil {
		ps = &pollState{}
		b.states[k] = ps
	}
	b.mu.Unlock()
	if ps.loaded.Load() {
		return ps, nil
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.loaded.Load() {
		return ps, nil
	}
	if err := b.load(ps, liveID, id); err != nil {
		b.mu.Lock()
		if b.states[k] == ps {
			delete(b.states, k) // unknown ids must not grow the book
		}
		b.mu.Unlock()
		return nil, err
	}
	ps.loaded.Store(true)
	return ps, nil
}

// load reads a poll's record and, while it is open, counts its votes
// from the vote keys. The caller holds ps.mu exclusively, so no vote is
// in flight on this node.
func (b *pollBook) load(ps *pollState, liveID string, id uint64) error {
	var p Poll
	err := b.s.db.GetJSON(pollKey(liveID, id), &p)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%w: live %s has no poll %d", ErrNotFound, liveID, id)
	}
	if err != nil {
		return fmt.Errorf("load poll %d of live %s: %w", id, liveID, err)
	}
	ps.poll = p
	ps.counts = make([]atomic.Uint64, len(p.Options))
	if !p.Open {
		for i, c := range p.Counts {
			if i < len(ps.counts) {
				ps.counts[i].Store(c)
			}
		}
		ps.votes.Store(p.Votes)
		return nil
	}
	var bad error
	err = b.s.db.ScanPrefix(votePrefix(liveID, id), func(_, v []byte) bool {
		if len(v) != 8 || storage.Uint64At(v, 0) >= uint64(len(ps.counts)) {
			bad = fmt.Errorf("vote record %x of poll %d is malformed", v, id)
			return false
		}
		ps.counts[storage.Uint64At(v, 0)].Add(1)
		ps.votes.Add(1)
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return fmt.Errorf("count votes of poll %d of live %s: %w", id, liveID, err)
	}
	return nil
}

// snapshot is the poll with its current counts. The caller holds ps.mu.
func (ps *pollState) snapshot() Poll {
	p := ps.poll
	p.Counts = make([]uint64, len(ps.counts))
	for i := range ps.counts {
		p.Counts[i] = ps.counts[i].Load()
	}
	p.Votes = ps.votes.Load()
	return p
}

// Poll returns a poll with its current counts.
func (s *Service) Poll(liveID string, id uint64) (Poll, error) {
	if err := checkID("live_id", liveID); err != nil {
		return Poll{}, err
	}
	ps, err := s.polls.state(liveID, id)
	if err != nil {
		return Poll{}, err
	}
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	return ps.snapshot(), nil
}

// OpenPolls returns the open polls of a live, oldest first, with their
// current counts.
func (s *Service) OpenPolls(liveID string) ([]Poll, error) {
	if err := checkID("live_id", liveID); err != nil {
		return nil, err
	}
	var ids []uint64
	var bad error
	err := s.db.ScanPrefix(storage.KeyPrefix(storage.PrefixLiveRoomPoll, liveID), func(k, v []byte) bool {
		var p Poll
		if err := json.Unmarshal(v, &p); err != nil {
			bad = fmt.Errorf("decode poll %x: %w", k, err)
			return false
		}
		if p.Open {
			ids = append(ids, p.ID)
		}
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, fmt.Errorf("list polls of live %s: %w", liveID, err)
	}
	out := make([]Poll, 0, len(ids))
	for _, id := range ids {
		p, err := s.Poll(liveID, id)
		if err != nil {
			return nil, err
		}
		if p.Open { // closed meanwhile
			out = append(out, p)
		}
	}
	return out, nil
}

// Vote records viewerID's vote for option (0-based) of a poll. Each viewer
// votes once per poll: a second vote is ErrAlreadyVoted and changes
// nothing. The vote is durable when Vote returns; its tally is published
// at the next flush.
func (s *Service) Vote(liveID, viewerID string, id uint64, option int) error {
	if err := checkID("live_id", liveID); err != nil {
		return err
	}
	if err := checkID("viewer_id", viewerID); err != nil {
		return err
	}
	if s.closed() {
		return ErrClosed
	}
	b := s.polls
	ps, err := b.state(liveID, id)
	if err != nil {
		return err
	}
	ps.mu.RLock()
	defer ps.mu.RUnlock()
	if !ps.poll.Open {
		return ErrPollClosed
	}
	if option < 0 || option >= len(ps.counts) {
		return invalidf("option %d is outside 0..%d", option, len(ps.counts)-1)
	}
	key := voteKey(liveID, id, viewerID)
	st := &b.stripe[maphash.Bytes(b.seed, key)%voteStripes]
	st.Lock()
	defer st.Unlock()
	voted, err := s.db.Has(key)
	if err != nil {
		return fmt.Errorf("check vote of %s in poll %d: %w", viewerID, id, err)
	}
	if voted {
		return ErrAlreadyVoted
	}
	batch := s.db.NewBatch()
	batch.Set(key, be8(uint64(option)))
	if err := s.db.Commit(batch); err != nil {
		return fmt.Errorf("store vote of %s in poll %d: %w", viewerID, id, err)
	}
	ps.counts[option].Add(1)
	ps.votes.Add(1)
	b.mu.Lock()
	b.dirty[pollID{liveID, id}] = ps
	b.mu.Unlock()
	return nil
}

// Voters returns the viewers who voted in a poll, sorted by id.
func (s *Service) Voters(liveID string, id uint64) ([]string, error) {
	prefix := votePrefix(liveID, id)
	var out []string
	err := s.db.ScanPrefix(prefix, func(k, _ []byte) bool {
		out = append(out, string(k[len(prefix):]))
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list voters of poll %d of live %s: %w", id, liveID, err)
	}
	return out, nil
}

// ClosePoll closes a poll and stores its final counts in the close entry
// and the poll's record. Closing a closed poll returns it unchanged. The
// caller checked that actor may.
func (s *Service) ClosePoll(ctx context.Context, liveID, actor string, id uint64) (Poll, error) {
	if err := checkID("live_id", liveID); err != nil {
		return Poll{}, err
	}
	if err := checkID("actor", actor); err != nil {
		return Poll{}, err
	}
	ps, err := s.polls.state(liveID, id)
	if err != nil {
		return Poll{}, err
	}
	ps.mu.Lock() // waits for votes in flight; new ones wait for the close
	defer ps.mu.Unlock()
	if !ps.poll.Open {
		return ps.snapshot(), nil
	}
	final := ps.snapshot()
	body, err := marshal(PollClosedBody{PollID: id, Counts: final.Counts, Votes: final.Votes})
	if err != nil {
		return Poll{}, err
	}
	_, err = s.append(ctx, liveID, msglog.Draft{
		ConversationID: ConversationID(liveID), SenderID: actor,
		ClientMsgID: closeClientMsgIDPrefix + strconv.FormatUint(id, 10),
		Type:        TypePollClosed, Body: body,
		OnCommit: func(b *storage.Batch, e msglog.Entry) error {
			rec := final
			rec.Open = false
			rec.ClosedAt = &e.CreatedAt
			return b.SetJSON(pollKey(liveID, id), rec)
		},
	})
	if err != nil {
		return Poll{}, err
	}
	if err := s.db.GetJSON(pollKey(liveID, id), &ps.poll); err != nil {
		return Poll{}, fmt.Errorf("reload closed poll %d of live %s: %w", id, liveID, err)
	}
	return ps.snapshot(), nil
}

// flushTallies publishes the tally of every poll that got votes since the
// last flush.
func (b *pollBook) flushTallies() {
	b.mu.Lock()
	dirty := b.dirty
	b.dirty = map[pollID]*pollState{}
	b.mu.Unlock()
	for k, ps := range dirty {
		ps.mu.RLock()
		p := ps.snapshot()
		ps.mu.RUnlock()
		b.s.publish(k.live, FramePollTally, PollTally{LiveID: k.live, PollID: k.id, Counts: p.Counts, Votes: p.Votes})
	}
}
