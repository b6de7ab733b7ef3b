package chatbench

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

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
	ws     *websocket.Conn
	conv   *conversation

	mu      sync.Mutex
	pending map[uint64]time.Duration // request id -> intended send time
	nextID  uint64

	// slots holds one token per send the connection may still have
	// outstanding: a send takes one, its ack or error gives it back.
	slots chan struct{}

	recv receiveLog
	done chan struct{} // closed when the reader returns

	// Used by the sending goroutine only.
	msgs  uint64
	text  []byte
	cmid  []byte
	frame []byte
}

func newConn(r *runner, idx int, member string, ws *websocket.Conn, conv *conversation, slots int) *conn {
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
func parseStamp(text string) (time.Duration, bool) {
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
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	err := c.ws.Write(ctx, websocket.MessageText, c.frame)
	cancel()
	if err != nil {
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

// read handles every frame the server sends until the socket ends.
func (c *conn) read() {
	defer close(c.done)
	var in wire.Inbound
	var buf bytes.Buffer // reused: decoding copies what it keeps
	for {
		typ, frame, err := readFrame(c.ws, &buf)
		if err != nil {
			if !c.r.closing.Load() {
				c.r.recordError("", fmt.Sprintf("connection %d (%s) ended: %v", c.idx, c.member, err))
			}
			return
		}
		now := c.r.clock()
		if typ != websocket.MessageText {
			continue
		}
		switch wire.FrameType(frame) {
		case wire.TypeChatMessage:
			if c.decode(frame, &in) {
				c.onMessage(&in, now)
			}
		case wire.TypeChatAck:
			if c.decode(frame, &in) {
				c.onAck(&in, now)
			}
		case wire.TypeError:
			if c.decode(frame, &in) {
				c.onError(&in)
			}
		}
	}
}

// readFrame reads the next message into buf, which it reuses, and returns
// the bytes; they stay valid until the next call.
func readFrame(ws *websocket.Conn, buf *bytes.Buffer) (websocket.MessageType, []byte, error) {
	typ, rd, err := ws.Reader(context.Background())
	if err != nil {
		return 0, nil, err
	}
	buf.Reset()
	if _, err := buf.ReadFrom(rd); err != nil {
		return 0, nil, err
	}
	return typ, buf.Bytes(), nil
}

func (c *conn) decode(frame []byte, in *wire.Inbound) bool {
	if err := wire.DecodeInbound(frame, in); err != nil {
		c.r.recordError("", fmt.Sprintf("connection %d: %v", c.idx, err))
		return false
	}
	return true
}

func (c *conn) onMessage(in *wire.Inbound, now time.Duration) {
	d := &in.Data
	if d.ConversationID != c.conv.id {
		c.r.recordError("", fmt.Sprintf("connection %d got a message of conversation %s, which it is not in", c.idx, d.ConversationID))
		return
	}
	switch c.recv.receive(d.Seq) {
	case duplicate:
		c.r.stats.duplicates.Add(1)
		return
	case outOfOrder:
		c.r.stats.outOfOrder.Add(1)
	}
	if d.Type != "text" || !strings.HasPrefix(d.SenderID, c.r.plan.prefix) {
		return // not one of the run's messages
	}
	sent, ok := parseStamp(d.Body.Text)
	if !ok {
		c.r.recordError("", fmt.Sprintf("connection %d: message %s/%d has no send-time stamp", c.idx, d.ConversationID, d.Seq))
		return
	}
	c.r.stats.delivered.Add(1)
	c.r.stats.lastDelivery.Store(int64(now))
	c.r.e2e.Record(c.idx, now-sent)
}

// take removes a request from the outstanding ones and returns its
// intended send time.
func (c *conn) take(id string) (time.Duration, bool) {
	n, err := strconv.ParseUint(id, 10, 64)
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

func (c *conn) onAck(in *wire.Inbound, now time.Duration) {
	intended, ok := c.take(in.ID)
	if !ok {
		c.r.recordError("", fmt.Sprintf("connection %d: chat.ack for request %q, which is not outstanding", c.idx, in.ID))
		return
	}
	c.r.stats.acked.Add(1)
	c.r.stats.lastAck.Store(int64(now))
	c.r.ack.Record(c.idx, now-intended)
	d := &in.Data
	switch {
	case d.Duplicate:
		c.r.recordError("", fmt.Sprintf("connection %d: a fresh message was acked as a duplicate (%s/%d)", c.idx, d.ConversationID, d.Seq))
	case d.ConversationID != c.conv.id:
		c.r.recordError("", fmt.Sprintf("connection %d: ack names conversation %s, not %s", c.idx, d.ConversationID, c.conv.id))
	case !c.conv.markAcked(d.Seq):
		c.r.recordError("", fmt.Sprintf("connection %d: seq %d of %s was acked twice", c.idx, d.Seq, d.ConversationID))
	default:
		c.r.stats.expected.Add(int64(len(c.conv.conns)))
	}
}

func (c *conn) onError(in *wire.Inbound) {
	if in.ID != "" {
		c.take(in.ID)
	}
	c.r.recordError(in.Data.Code, fmt.Sprintf("connection %d (%s): error %s: %s", c.idx, c.member, in.Data.Code, in.Data.Message))
}

// counters are the run's running totals; a step's figures are the
// difference between two snapshots.
type counters struct {
	sent, acked, delivered, expected atomic.Int64
	errors, rateLimited              atomic.Int64
	duplicates, outOfOrder           atomic.Int64
	lastAck, lastDelivery            atomic.Int64 // time since the run's base, in ns
}

type snapshot struct {
	sent, acked, delivered, expected, errors, rateLimited, duplicates, outOfOrder int64
}

func (c *counters) snapshot() snapshot {
	return snapshot{
		sent: c.sent.Load(), acked: c.acked.Load(), delivered: c.delivered.Load(), expected: c.expected.Load(),
		errors: c.errors.Load(), rateLimited: c.rateLimited.Load(),
		duplicates: c.duplicates.Load(), outOfOrder: c.outOfOrder.Load(),
	}
}

func (s snapshot) minus(o snapshot) snapshot {
	return snapshot{
		sent: s.sent - o.sent, acked: s.acked - o.acked, delivered: s.delivered - o.delivered,
		expected: s.expected - o.expected, errors: s.errors - o.errors, rateLimited: s.rateLimited - o.rateLimited,
		duplicates: s.duplicates - o.duplicates, outOfOrder: s.outOfOrder - o.outOfOrder,
	}
}
