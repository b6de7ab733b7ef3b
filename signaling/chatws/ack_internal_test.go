package chatws

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"parley/chat/messaging"
	"parley/signaling/ws"
)

// TestAckFrameMatchesReply: the hand-built ack decodes to what
// Session.Reply would have sent (ws.Encode), with and without a request id.
func TestAckFrameMatchesReply(t *testing.T) {
	ack := messaging.Ack{ConversationID: "d:m1:m2", ClientMsgID: "c<1>&\"", Seq: 12345,
		CreatedAt: time.UnixMilli(1795000000123).UTC(), Duplicate: true}
	for _, id := range []string{"", "r1", "odd \" \\ <id> \u2028"} {
		want, err := ws.Encode("chat.ack", id, ack)
		if err != nil {
			t.Fatal(err)
		}
		got := ackFrame(id, ack)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("ackFrame(%q) = %s: %v", id, got, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("ackFrame(%q) = %s, want the same as %s", id, got, want)
		}
	}
}

func BenchmarkAckFrame(b *testing.B) {
	ack := messaging.Ack{ConversationID: "d_abcdefghijklmnopqrstuvwxyz", ClientMsgID: "m12-3456", Seq: 12345,
		CreatedAt: time.UnixMilli(1795000000123).UTC()}
	b.ReportAllocs()
	for b.Loop() {
		ackFrame("1234", ack)
	}
}

// BenchmarkAckFrameEncode is what Session.Reply spent on the same ack,
// for comparison.
func BenchmarkAckFrameEncode(b *testing.B) {
	ack := messaging.Ack{ConversationID: "d_abcdefghijklmnopqrstuvwxyz", ClientMsgID: "m12-3456", Seq: 12345,
		CreatedAt: time.UnixMilli(1795000000123).UTC()}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ws.Encode("chat.ack", "1234", ack); err != nil {
			b.Fatal(err)
		}
	}
}
