package msglog_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"parley/chat/msglog"
)

// TestEntryAppendJSONMatchesEncodingJSON: the hand-written encoding is
// byte for byte what encoding/json writes with HTML escaping off, so
// stored entries and frames do not change with it.
func TestEntryAppendJSONMatchesEncodingJSON(t *testing.T) {
	for _, e := range []msglog.Entry{
		{ConversationID: "d:m1:m2", Seq: 1, SenderID: "m1", ClientMsgID: "c-1", Type: "text",
			Body: json.RawMessage(`{"text":"<b>Tom & Jerry</b> \"q\" 中文\u2028"}`), CreatedAt: time.UnixMilli(1795000000123).UTC()},
		{ConversationID: "g\"x", Seq: 1 << 62, SenderID: "s\\", Type: "system",
			Body: json.RawMessage(`{"kind":"joined","members":["a","b"]}`), CreatedAt: time.UnixMilli(1795000000000).UTC()},
		{ConversationID: "c", Seq: 7, SenderID: "s", ClientMsgID: "\x01odd\xff", Type: "recall", Body: nil,
			CreatedAt: time.UnixMilli(1).UTC()},
	} {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		if got := e.AppendJSON([]byte("prefix")); !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Errorf("AppendJSON:\n got %s\nwant prefix%s", got, want)
		}
	}
}

func BenchmarkEntryAppendJSON(b *testing.B) {
	e := msglog.Entry{ConversationID: "d:member-000123:member-000124", Seq: 123456, SenderID: "member-000123",
		ClientMsgID: "pjq6cwib-123-456789", Type: "text", Body: benchBody, CreatedAt: time.UnixMilli(1795000000123).UTC()}
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
}

// BenchmarkEntryEncodingJSON is the reflective encoding AppendJSON
// replaced, for comparison.
func BenchmarkEntryEncodingJSON(b *testing.B) {
	e := msglog.Entry{ConversationID: "d:member-000123:member-000124", Seq: 123456, SenderID: "member-000123",
		ClientMsgID: "pjq6cwib-123-456789", Type: "text", Body: benchBody, CreatedAt: time.UnixMilli(1795000000123).UTC()}
	for b.Loop() {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(e); err != nil {
			b.Fatal(err)
		}
	}
}
