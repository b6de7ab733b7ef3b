package chatbench

import (
	"fmt"
	"time"

	"github.com/coder/websocket"

	"parley/bench/wire"
)

// maxBatch is the most deliveries a reader holds before it publishes
// them; it publishes sooner, whenever its socket runs dry.
const maxBatch = 256

// reader takes what the server sends one connection: it is the
// wire.Receiver of the connection's socket and runs on its one reading
// goroutine. Deliveries are its hot path, a million a second in a big
// group, so it publishes them in batches, one per read from the network:
// their latencies go into the run's histogram under one lock, then their
// count and time into the connection's counters.
type reader struct {
	c  *conn
	in wire.Inbound // the message at hand; points into the socket's buffer
	// arrived is when the messages at hand arrived: the end of the read
	// that brought them, which is what their latencies run to.
	arrived   time.Duration
	latencies []time.Duration // of the deliveries not yet published
}

// read handles every message the server sends until the socket ends.
func (c *conn) read() {
	defer close(c.done)
	rd := &reader{c: c, latencies: make([]time.Duration, 0, maxBatch)}
	err := c.ws.Receive(rd)
	rd.publish()
	if !c.r.closing.Load() {
		c.r.recordError("", fmt.Sprintf("connection %d (%s) ended: %v", c.idx, c.member, err))
	}
}

// Arrived notes the time of a read from the network.
func (rd *reader) Arrived() { rd.arrived = rd.c.r.clock() }

// Drained publishes what the reader holds.
func (rd *reader) Drained() { rd.publish() }

// Message handles one message. Every text message is decoded, so a
// malformed one of any type is an error.
func (rd *reader) Message(typ websocket.MessageType, msg []byte) {
	c := rd.c
	if typ != websocket.MessageText {
		return
	}
	if err := wire.DecodeInbound(msg, &rd.in); err != nil {
		c.r.recordError("", fmt.Sprintf("connection %d: %v", c.idx, err))
		return
	}
	switch string(rd.in.Type) {
	case wire.TypeChatMessage:
		rd.onMessage(&rd.in.Data)
	case wire.TypeChatAck:
		rd.onAck(&rd.in)
	case wire.TypeError:
		rd.onError(&rd.in)
	}
}

// publish records the held deliveries' latencies, then counts them: a
// delivery counted has its latency in the histogram.
func (rd *reader) publish() {
	if len(rd.latencies) == 0 {
		return
	}
	c := rd.c
	c.r.e2e.RecordAll(c.idx, rd.latencies)
	c.lastDelivery.Store(int64(rd.arrived))
	c.delivered.Add(int64(len(rd.latencies)))
	rd.latencies = rd.latencies[:0]
}

func (rd *reader) onMessage(d *wire.InboundData) {
	c := rd.c
	if string(d.ConversationID) != c.conv.id {
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
	prefix := c.r.plan.prefix
	if string(d.Type) != "text" || len(d.SenderID) < len(prefix) || string(d.SenderID[:len(prefix)]) != prefix {
		return // not one of the run's messages
	}
	sent, ok := parseStamp(d.Text)
	if !ok {
		c.r.recordError("", fmt.Sprintf("connection %d: message %s/%d has no send-time stamp", c.idx, d.ConversationID, d.Seq))
		return
	}
	if rd.latencies = append(rd.latencies, rd.arrived-sent); len(rd.latencies) == maxBatch {
		rd.publish()
	}
}

func (rd *reader) onAck(in *wire.Inbound) {
	c := rd.c
	intended, ok := c.take(in.ID)
	if !ok {
		c.r.recordError("", fmt.Sprintf("connection %d: chat.ack for request %q, which is not outstanding", c.idx, in.ID))
		return
	}
	c.r.stats.acked.Add(1)
	c.r.stats.lastAck.Store(int64(rd.arrived))
	c.r.ack.Record(c.idx, rd.arrived-intended)
	d := &in.Data
	switch {
	case d.Duplicate:
		c.r.recordError("", fmt.Sprintf("connection %d: a fresh message was acked as a duplicate (%s/%d)", c.idx, d.ConversationID, d.Seq))
	case string(d.ConversationID) != c.conv.id:
		c.r.recordError("", fmt.Sprintf("connection %d: ack names conversation %s, not %s", c.idx, d.ConversationID, c.conv.id))
	case !c.conv.markAcked(d.Seq):
		c.r.recordError("", fmt.Sprintf("connection %d: seq %d of %s was acked twice", c.idx, d.Seq, d.ConversationID))
	default:
		c.r.stats.expected.Add(int64(len(c.conv.conns)))
	}
}

func (rd *reader) onError(in *wire.Inbound) {
	c := rd.c
	if len(in.ID) > 0 {
		c.take(in.ID)
	}
	c.r.recordError(string(in.Data.Code), fmt.Sprintf("connection %d (%s): error %s: %s", c.idx, c.member, in.Data.Code, in.Data.Message))
}
