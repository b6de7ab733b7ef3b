package chatbench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"parley/bench/wire"
)

// writeTimeout bounds one frame write; a server that takes no bytes for
// this long has stopped reading.
const writeTimeout = 10 * time.Second

// conn is one active connection: a member's device that sends into its
// conversation and reads everything the server pushes to it.
type conn struct {
	idx    int
	member string
	r      *runner
	ws     *wire.Socket
	conv   *conversation

	mu      sync.Mutex
	pending map[uint64]time.Duration // request id -> intended send time
	nextID  uint64

	// slots holds one token per send the connection may still have
	// outstanding: a send takes one, its ack or error gives it back.
	slots chan struct{}

	recv receiveLog
	done chan struct{} // closed when the reader returns

	// The reader's running totals (see reader.publish). They are kept
	// per connection, not in the run's shared counters, because a
	// delivery is the generator's most frequent event: a thousand readers
	// adding to one cache line from every core would pass it back and
	// forth all the time. runner.snapshot sums them.
	delivered    atomic.Int64
	lastDelivery atomic.Int64 // time since the run's base, in ns

	// Used by the sending goroutine only.
	msgs  uint64
	text  []byte
	cmid  []byte
	frame []byte
}

func newConn(r *runner, idx int, member string, ws *wire.Socket, conv *conversation, slots int) *conn {
	c := &conn{
		idx:     idx,
		member:  member,
		r:       r,
		ws:      ws,
		conv:    conv,
		pending: map[uint64]time.Duration{},
		slots:   make(chan struct{}, slots),
		done:    make(chan struct{}),
		text:    []byte(strings.Repeat("x", r.cfg.Size)),
	}
	c.text[StampBytes-1] = ' '
	for range slots {
		c.slots <- struct{}{}
	}
	return c
}

// putStamp writes d as 16 zero-padded decimal digits at the start of text.
func putStamp(text []byte, d time.Duration) {
	v := uint64(max(d, 0))
	for i := StampBytes - 2; i >= 0; i-- {
		text[i] = byte('0' + v%10)
		v /= 10
	}
}

// parseStamp reads the send time a text starts with.
func parseStamp(text []byte) (time.Duration, bool) {
	if len(text) < StampBytes || text[StampBytes-1] != ' ' {
		return 0, false
	}
	var v int64
	for i := range StampBytes - 1 {
		ch := text[i]
		if ch < '0' || ch > '9' {
			return 0, false
		}
		v = v*10 + int64(ch-'0')
	}
	return time.Duration(v), true
}

// release gives back a send slot.
func (c *conn) release() {
	select {
	case c.slots <- struct{}{}:
	default:
	}
}

// outstanding is how many sends await an answer.
func (c *conn) outstanding() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// send sends one text message stamped with its intended send time.
func (c *conn) send(intended time.Duration) error {
	c.msgs++
	c.cmid = append(c.cmid[:0], 'm')
	c.cmid = strconv.AppendInt(c.cmid, int64(c.idx), 10)
	c.cmid = append(c.cmid, '-')
	c.cmid = strconv.AppendUint(c.cmid, c.msgs, 10)
	putStamp(c.text, intended)

	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.pending[id] = intended
	c.mu.Unlock()

	c.frame = wire.AppendChatSend(c.frame[:0], id, c.conv.id, c.cmid, c.text)
	if err := c.ws.WriteText(c.frame, writeTimeout); err != nil {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
		if !c.r.closing.Load() {
			c.r.recordError("", fmt.Sprintf("connection %d (%s): send: %v", c.idx, c.member, err))
		}
		return err
	}
	c.r.stats.sent.Add(1)
	return nil
}

// closedLoop sends whenever a slot is free, until ctx ends.
func (c *conn) closedLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case <-c.slots:
		}
		if ctx.Err() != nil {
			c.release()
			return
		}
		if c.send(c.r.clock()) != nil {
			c.release()
			return
		}
	}
}

// openLoop sends on a fixed schedule: the k-th message is due at
// first + k*interval, and nothing is due at or after end. A message sent
// late keeps its intended time, so the delay counts in its latency.
func (c *conn) openLoop(ctx context.Context, first time.Duration, interval float64, end time.Duration) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for k := 0; ; k++ {
		intended := first + time.Duration(float64(k)*interval)
		if intended >= end {
			return
		}
		if wait := intended - c.r.clock(); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-c.done:
			return
		case <-c.slots:
		}
		if c.send(intended) != nil {
			c.release()
			return
		}
	}
}

// take removes a request from the outstanding ones and returns its
// intended send time.
func (c *conn) take(id []byte) (time.Duration, bool) {
	n, err := strconv.ParseUint(string(id), 10, 64)
	if err != nil {
		return 0, false
	}
	c.mu.Lock()
	intended, ok := c.pending[n]
	delete(c.pending, n)
	c.mu.Unlock()
	if ok {
		c.release()
	}
	return intended, ok
}

// counters are the run's running totals, but for the deliveries, which
// each connection counts (conn.delivered); a step's figures are the
// difference between two snapshots.
type counters struct {
	sent, acked, expected  atomic.Int64
	errors, rateLimited    atomic.Int64
	duplicates, outOfOrder atomic.Int64
	lastAck                atomic.Int64 // time since the run's base, in ns
}

type snapshot struct {
	sent, acked, delivered, expected, errors, rateLimited, duplicates, outOfOrder int64
}

// snapshot reads the run's totals, summing the connections' deliveries.
func (r *runner) snapshot() snapshot {
	c := &r.stats
	s := snapshot{
		sent: c.sent.Load(), acked: c.acked.Load(), expected: c.expected.Load(),
		errors: c.errors.Load(), rateLimited: c.rateLimited.Load(),
		duplicates: c.duplicates.Load(), outOfOrder: c.outOfOrder.Load(),
	}
	for _, cn := range r.conns {
		s.delivered += cn.delivered.Load()
	}
	return s
}

// lastDelivery is when the run's last delivery arrived, since its base.
func (r *runner) lastDelivery() time.Duration {
	var last int64
	for _, cn := range r.conns {
		last = max(last, cn.lastDelivery.Load())
	}
	return time.Duration(last)
}

func (s snapshot) minus(o snapshot) snapshot {
	return snapshot{
		sent: s.sent - o.sent, acked: s.acked - o.acked, delivered: s.delivered - o.delivered,
		expected: s.expected - o.expected, errors: s.errors - o.errors, rateLimited: s.rateLimited - o.rateLimited,
		duplicates: s.duplicates - o.duplicates, outOfOrder: s.outOfOrder - o.outOfOrder,
	}
}
