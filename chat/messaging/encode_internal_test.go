package messaging

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"parley/chat/msglog"
)

// The hand-written encodings of the send path write exactly what the
// reflective ones they replace wrote, so nothing a client sees or the log
// stores changes with them.

func TestTextBodyAppendJSONMatchesMarshal(t *testing.T) {
	for _, b := range []TextBody{
		{Text: "hello"},
		{Text: "<b>Tom & Jerry</b> \"q\" \\ 中文 \u2028 \t\n", Mentions: []string{"m1", MentionAll}, ReplyTo: 42},
		{Text: "x", Mentions: []string{}},
		{Text: "x", ReplyTo: 1},
	} {
		want, err := marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.appendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("appendJSON = %s, want %s", got, want)
		}
	}
}

func TestAckAppendJSONMatchesMarshal(t *testing.T) {
	for _, a := range []Ack{
		{ConversationID: "d:m1:m2", ClientMsgID: "c<1>&", Seq: 99, CreatedAt: time.UnixMilli(1795000000120).UTC()},
		{ConversationID: "g1", ClientMsgID: "\"", Seq: 1, CreatedAt: time.UnixMilli(0).UTC(), Duplicate: true},
	} {
		want, err := marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.AppendJSON(nil); !bytes.Equal(got, want) {
			t.Errorf("AppendJSON = %s, want %s", got, want)
		}
	}
}

func TestMessageFrameMatchesFrame(t *testing.T) {
	e := msglog.Entry{ConversationID: "d:m1:m2", Seq: 3, SenderID: "m1", ClientMsgID: "c1", Type: TypeText,
		Body: json.RawMessage(`{"text":"<hi> & bye"}`), CreatedAt: time.UnixMilli(1795000000123).UTC()}
	want, err := frame(FrameMessage, e)
	if err != nil {
		t.Fatal(err)
	}
	if got := messageFrame(e.AppendJSON(nil)); !bytes.Equal(got, want) {
		t.Errorf("messageFrame = %s, want %s", got, want)
	}
}

var benchTextBody = json.RawMessage(`{"text":"a typical short chat message, about sixty bytes long"}`)

// BenchmarkCanonicalTextBody is the send path's decoding and canonical
// encoding of a canonical text body.
func BenchmarkCanonicalTextBody(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, c, err := decodeText(benchTextBody); err != nil || c == nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStrictTextBody is what the send path spent before on the same
// body (strict decode, reflective encode), and still spends on a body in
// any other form.
func BenchmarkStrictTextBody(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var t TextBody
		if err := strictJSON(benchTextBody, &t); err != nil {
			b.Fatal(err)
		}
		if _, err := marshal(t); err != nil {
			b.Fatal(err)
		}
	}
}
