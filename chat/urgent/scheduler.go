package urgent

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"parley/chat/conversation"
	"parley/storage"
)

// Limits of a schedule. The chat service checks requests against them;
// Stage refuses anything outside them with ErrInvalid.
const (
	// MinInterval is the shortest time between two reminders.
	MinInterval = time.Minute
	// MaxInterval is the longest time between two reminders.
	MaxInterval = 24 * time.Hour
	// MaxRepeats caps the reminders of one message.
	MaxRepeats = 10
	// RetryDelay is how long a reminder waits after a storage error before
	// it is tried again.
	RetryDelay = time.Minute
	// batchSize bounds the due keys one pass reads at a time.
	batchSize = 100
)

// ErrInvalid reports an Item outside the limits above.
var ErrInvalid = errors.New("urgent: invalid")

// Item is the next reminder of one urgent message.
type Item struct {
	ConversationID string
	Seq            uint64
	SenderID       string
	// Repeat is the number of this reminder, from 1 to MaxRepeats.
	Repeat     int
	MaxRepeats int
	Interval   time.Duration
	// Due is when the reminder fires, in whole milliseconds. Stage sets it
	// to the scheduler's now plus Interval.
	Due time.Time
}

// record is an Item's value in Pebble; the rest of it is in the key.
type record struct {
	SenderID   string `json:"sender_id"`
	Repeat     int    `json:"repeat"`
	MaxRepeats int    `json:"max_repeats"`
	IntervalMS int64  `json:"interval_ms"`
}

// Notice is one reminder as a member's devices get it: the data of a
// chat.urgent frame.
type Notice struct {
	ConversationID string `json:"conversation_id"`
	Seq            uint64 `json:"seq"`
	SenderID       string `json:"sender_id"`
	Repeat         int    `json:"repeat"`
	Of             int    `json:"of"`
}

// Readers tells who has not read a message yet (conversation.Store).
type Readers interface {
	Readers(convID string, seq uint64, senderID string) (read, unread []string, err error)
}

// Notifier delivers reminders and says which messages were recalled; the
// chat service implements it.
type Notifier interface {
	Recalled(convID string, seq uint64) (recallSeq uint64, recalled bool, err error)
	NotifyUrgent(memberIDs []string, n Notice)
}

// Clock is the scheduler's time, replaceable in tests.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options tune a Scheduler. The zero value uses the wall clock and
// slog.Default.
type Options struct {
	Clock  Clock
	Logger *slog.Logger
}

// Scheduler fires the reminders of urgent messages. Start runs it; Close
// stops it.
type Scheduler struct {
	db       *storage.DB
	readers  Readers
	notifier Notifier
	clock    Clock
	logger   *slog.Logger

	wake      chan struct{} // buffered 1: "a key may now be due earlier"
	stop      chan struct{}
	done      chan struct{} // closed when run returns
	started   atomic.Bool
	closeOnce sync.Once
}

// New returns a scheduler over the keys in db. It does nothing until
// Start.
func New(db *storage.DB, readers Readers, notifier Notifier, opts Options) *Scheduler {
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Scheduler{
		db: db, readers: readers, notifier: notifier, clock: opts.Clock, logger: opts.Logger,
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{}),
	}
}

// Start runs the scheduler's goroutine. Reminders that fell due while the
// node was down fire at once.
func (s *Scheduler) Start() {
	if s.started.CompareAndSwap(false, true) {
		go s.run()
	}
}

// Close stops the goroutine and waits for it; a reminder being sent is
// finished first. It is safe to call more than once, and without Start.
func (s *Scheduler) Close() {
	s.closeOnce.Do(func() {
		close(s.stop)
		if s.started.Load() {
			<-s.done
		}
	})
}

// Wake tells the scheduler that a new key may be due before the one it is
// waiting for. The chat service calls it after committing an urgent
// message.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stage adds it to b, due one Interval from now. The caller commits b:
// the chat service calls Stage from the log's OnCommit hook, so the
// schedule commits with the message. It may run more than once for one
// message (the log may rebuild a batch); only the last call's write
// commits.
func (s *Scheduler) Stage(b *storage.Batch, it Item) error {
	if err := check(it); err != nil {
		return err
	}
	it.Due = s.clock.Now().Add(it.Interval)
	return put(b, it)
}

// check refuses an Item outside the limits.
func check(it Item) error {
	switch {
	case it.ConversationID == "" || it.SenderID == "" || it.Seq == 0:
		return fmt.Errorf("%w: conversation, sender and seq are required", ErrInvalid)
	case it.MaxRepeats < 1 || it.MaxRepeats > MaxRepeats:
		return fmt.Errorf("%w: max repeats %d is outside 1..%d", ErrInvalid, it.MaxRepeats, MaxRepeats)
	case it.Repeat < 1 || it.Repeat > it.MaxRepeats:
		return fmt.Errorf("%w: repeat %d is outside 1..%d", ErrInvalid, it.Repeat, it.MaxRepeats)
	case it.Interval < MinInterval || it.Interval > MaxInterval:
		return fmt.Errorf("%w: interval %s is outside %s..%s", ErrInvalid, it.Interval, MinInterval, MaxInterval)
	}
	for i := 0; i < len(it.ConversationID); i++ {
		if c := it.ConversationID[i]; c == '/' || c < 0x20 {
			return fmt.Errorf("%w: conversation id %q contains '/' or a control byte", ErrInvalid, it.ConversationID)
		}
	}
	return nil
}

// put writes it at its key.
func put(b *storage.Batch, it Item) error {
	return b.SetJSON(itemKey(it), record{
		SenderID: it.SenderID, Repeat: it.Repeat, MaxRepeats: it.MaxRepeats, IntervalMS: it.Interval.Milliseconds(),
	})
}

// Pending returns up to limit scheduled reminders (limit <= 0: all), the
// next one due first.
func (s *Scheduler) Pending(limit int) ([]Item, error) {
	prefix := []byte(storage.PrefixChatUrgent)
	return s.scan(prefix, storage.PrefixEnd(prefix), limit)
}

// run is the scheduler's loop: fire what is due, then sleep until the
// next key is due, a new key arrives, or Close.
func (s *Scheduler) run() {
	defer close(s.done)
	for {
		next, ok, err := s.fireDue()
		var timer <-chan time.Time
		switch {
		case err != nil:
			s.logger.Warn("urgent: fire reminders", "err", err)
			timer = s.clock.After(RetryDelay)
		case ok:
			timer = s.clock.After(next.Sub(s.clock.Now()))
		}
		select {
		case <-s.stop:
			return
		case <-s.wake:
		case <-timer:
		}
	}
}

// stopped reports whether Close was called.
func (s *Scheduler) stopped() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

// fireDue fires every reminder due by now and returns when the next one
// is due, if any.
func (s *Scheduler) fireDue() (next time.Time, ok bool, err error) {
	prefix := []byte(storage.PrefixChatUrgent)
	for !s.stopped() {
		now := s.clock.Now()
		upper := storage.AppendUint64(append([]byte(nil), prefix...), uint64(now.UnixMilli())+1)
		due, err := s.scan(prefix, upper, batchSize)
		if err != nil {
			return time.Time{}, false, err
		}
		for _, it := range due {
			if s.stopped() {
				return time.Time{}, false, nil
			}
			if err := s.fire(it, now); err != nil {
				return time.Time{}, false, err
			}
		}
		if len(due) < batchSize {
			break
		}
	}
	first, err := s.scan(prefix, storage.PrefixEnd(prefix), 1)
	if err != nil || len(first) == 0 {
		return time.Time{}, false, err
	}
	return first[0].Due, true, nil
}

// fire sends one reminder to the members who have not read the message
// and moves its key on, in one synced batch: to the next repeat while
// repeats and unreaders remain, else away. A recalled message, or one
// whose conversation is gone, is dropped without a reminder. A failed
// lookup moves the reminder RetryDelay later, so one bad key cannot hold
// up the others.
func (s *Scheduler) fire(it Item, now time.Time) error {
	b := s.db.NewBatch()
	b.Delete(itemKey(it))
	_, recalled, err := s.notifier.Recalled(it.ConversationID, it.Seq)
	var unread []string
	if err == nil && !recalled {
		_, unread, err = s.readers.Readers(it.ConversationID, it.Seq, it.SenderID)
		if errors.Is(err, conversation.ErrNotFound) {
			unread, err = nil, nil
		}
	}
	switch {
	case err != nil:
		s.logger.Warn("urgent: look up reminder; retrying later", "conversation", it.ConversationID, "seq", it.Seq, "err", err)
		retry := it
		retry.Due = now.Add(RetryDelay)
		if err := put(b, retry); err != nil {
			return err
		}
	case len(unread) > 0:
		s.notifier.NotifyUrgent(unread, Notice{
			ConversationID: it.ConversationID, Seq: it.Seq, SenderID: it.SenderID, Repeat: it.Repeat, Of: it.MaxRepeats,
		})
		if it.Repeat < it.MaxRepeats {
			nextIt := it
			nextIt.Repeat++
			nextIt.Due = now.Add(it.Interval)
			if err := put(b, nextIt); err != nil {
				return err
			}
		}
	}
	if err := s.db.Commit(b); err != nil {
		return fmt.Errorf("move reminder of %s seq %d: %w", it.ConversationID, it.Seq, err)
	}
	return nil
}

// scan decodes up to limit items in [lower, upper), in due order.
func (s *Scheduler) scan(lower, upper []byte, limit int) ([]Item, error) {
	var (
		out []Item
		bad error
	)
	err := s.db.Scan(lower, upper, false, limit, func(k, v []byte) bool {
		it, err := decodeItem(k, v)
		if err != nil {
			bad = err
			return false
		}
		out = append(out, it)
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, fmt.Errorf("read urgent schedule: %w", err)
	}
	return out, nil
}

// itemKey is storage.PrefixChatUrgent + due (unix ms, BE8) + "/" + conv +
// "/" + seq (BE8).
func itemKey(it Item) []byte {
	k := make([]byte, 0, len(storage.PrefixChatUrgent)+8+1+len(it.ConversationID)+1+8)
	k = append(k, storage.PrefixChatUrgent...)
	k = storage.AppendUint64(k, uint64(it.Due.UnixMilli()))
	k = append(k, '/')
	k = append(k, it.ConversationID...)
	k = append(k, '/')
	return storage.AppendUint64(k, it.Seq)
}

// decodeItem splits a key by position (two fixed-width integers around
// the conversation id) and decodes its value.
func decodeItem(k, v []byte) (Item, error) {
	p := len(storage.PrefixChatUrgent)
	if len(k) < p+8+1+1+1+8 || k[p+8] != '/' || k[len(k)-9] != '/' {
		return Item{}, fmt.Errorf("malformed urgent key %q", k)
	}
	var r record
	if err := json.Unmarshal(v, &r); err != nil {
		return Item{}, fmt.Errorf("decode urgent key %q: %w", k, err)
	}
	return Item{
		ConversationID: string(k[p+9 : len(k)-9]),
		Seq:            storage.Uint64At(k, len(k)-8),
		SenderID:       r.SenderID,
		Repeat:         r.Repeat,
		MaxRepeats:     r.MaxRepeats,
		Interval:       time.Duration(r.IntervalMS) * time.Millisecond,
		Due:            time.UnixMilli(int64(storage.Uint64At(k, p))).UTC(),
	}, nil
}
