package chatbench

import (
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/bench/latency"
)

// messageFrame is a chat.message as the server writes it, from a member of
// the run whose text carries the send-time stamp.
func messageFrame(conv string, seq uint64, sent time.Duration) []byte {
	text := make([]byte, StampBytes+3)
	copy(text[StampBytes:], "xyz")
	text[StampBytes-1] = ' '
	putStamp(text, sent)
	return fmt.Appendf(nil, `{"type":"chat.message","data":{"conversation_id":%q,"seq":%d,"sender_id":"bench-run1-a0","client_msg_id":"m0-%d","type":"text","body":{"text":%q},"created_at":"2026-03-02T06:40:02.511Z"}}`,
		conv, seq, seq, text)
}

func TestReaderChecksAndCountsEveryDelivery(t *testing.T) {
	r := &runner{plan: &plan{prefix: "bench-run1-"}, base: time.Now(), ack: latency.NewRecorder(), e2e: latency.NewRecorder()}
	c := &conn{r: r, conv: &conversation{id: "g_1"}}
	r.conns = []*conn{c}
	rd := &reader{c: c}
	sent := r.clock()

	rd.Arrived()
	for seq := uint64(1); seq <= maxBatch+44; seq++ {
		rd.Message(websocket.MessageText, messageFrame("g_1", seq, sent))
	}
	if got := r.snapshot().delivered; got != maxBatch {
		t.Fatalf("before Drained: %d deliveries counted, want the full batch of %d", got, maxBatch)
	}
	rd.Drained()
	if got, hist := r.snapshot().delivered, r.e2e.Summary().Count; got != maxBatch+44 || hist != got {
		t.Fatalf("after Drained: %d deliveries counted, %d latencies; want %d of each", got, hist, maxBatch+44)
	}
	if r.lastDelivery() != rd.arrived {
		t.Fatalf("last delivery at %v, want the read's time %v", r.lastDelivery(), rd.arrived)
	}

	// Violations and bad frames.
	rd.Arrived()
	rd.Message(websocket.MessageText, messageFrame("g_1", 5, sent))   // again
	rd.Message(websocket.MessageText, messageFrame("g_1", 400, sent)) // a gap is fine
	rd.Message(websocket.MessageText, messageFrame("g_1", 399, sent)) // late
	rd.Message(websocket.MessageText, messageFrame("g_2", 401, sent)) // not its conversation
	rd.Message(websocket.MessageText, []byte(`{"type":"chat.message","data":{"seq":`))
	rd.Message(websocket.MessageText, []byte(`{"type":"chat.message","data":{"conversation_id":"g_1","seq":402,"sender_id":"bench-run1-a0","type":"text","body":{"text":"no stamp"}}}`))
	rd.Message(websocket.MessageBinary, []byte("ignored"))
	rd.Drained()
	s := r.snapshot()
	if s.duplicates != 1 || s.outOfOrder != 1 || s.errors != 3 || s.delivered != maxBatch+44+2 {
		t.Fatalf("duplicates %d, out of order %d, errors %d, delivered %d; want 1, 1, 3, %d",
			s.duplicates, s.outOfOrder, s.errors, s.delivered, maxBatch+44+2)
	}
}
