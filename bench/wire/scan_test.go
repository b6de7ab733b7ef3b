package wire

import (
	"encoding/json"
	"testing"
)

// TestDecodeInboundAgreesWithEncodingJSON checks the scanner against the
// standard decoder on frames of every shape the server sends, and on
// orders, spacing and escapes it might.
func TestDecodeInboundAgreesWithEncodingJSON(t *testing.T) {
	frames := []string{
		`{"type":"chat.message","data":{"conversation_id":"d_x","seq":12,"sender_id":"bench-a-1","client_msg_id":"m1-5","type":"text","body":{"text":"0000000000001234 xxxx","mentions":["bob"],"reply_to":3},"created_at":"2026-03-02T06:40:02.511Z"}}`,
		`{"type":"chat.ack","id":"77","data":{"conversation_id":"g_y","client_msg_id":"m2-9","seq":4,"created_at":"2026-03-02T06:37:26.297Z","duplicate":false}}`,
		`{"type":"chat.ack","id":"78","data":{"conversation_id":"g_y","client_msg_id":"m2-9","seq":4,"duplicate":true}}`,
		`{"type":"error","id":"9","data":{"code":"rate_limited","message":"rate limited (member); retry after 8ms"}}`,
		`{"type":"error","data":{"code":"bad_message","message":"cannot decode \"x\": \u00e9\\n"}}`,
		`{"type":"chat.message","data":{"conversation_id":"g_1","seq":2,"sender_id":"alice","type":"system","body":{"event":"joined","actor":"alice","members":["carol",{"a":[1,-2.5e3,true,null,{}]}],"welcome":""},"created_at":"x"}}`,
		` { "data" : { "seq" : 7 , "body" : { } , "extra" : [ ] } , "id" : "1" , "type" : "chat.message" } `,
		`{"type":"chat.conversation","data":{"conversation":{"id":"g_1","kind":"group","member_count":3},"role":"member","joined_seq":1}}`,
		`{"type":"pong","id":"7","data":{}}`,
		`{"type":"chat.message","data":{"body":"not an object","seq":1}}`,
	}
	for _, f := range frames {
		var got, want Inbound
		if err := DecodeInbound([]byte(f), &got); err != nil {
			t.Errorf("DecodeInbound(%s): %v", f, err)
			continue
		}
		if err := json.Unmarshal([]byte(f), &want); err != nil {
			// encoding/json refuses a string body; the scanner skips it.
			if f != frames[len(frames)-1] {
				t.Fatalf("reference decode of %s: %v", f, err)
			}
			want = Inbound{Type: "chat.message"}
			want.Data.Seq = 1
		}
		if got != want {
			t.Errorf("frame %s\n got %+v\nwant %+v", f, got, want)
		}
	}
}

func TestDecodeInboundRejectsMalformedFrames(t *testing.T) {
	for _, f := range []string{
		``, `{`, `{"type":"chat.ack"`, `{"type":chat}`, `{"type":"a" "id":"b"}`, `{"type":"a"} x`,
		`{"data":{"seq":-1}}`, `{"data":{"seq":"1"}}`, `{"type":"a\`, "{\"type\":\"a\x01\"}", `{"data":{"x":[1,}}`,
		`{"data":{"x":tru}}`, `{"data":{"x":1.2.3}}`,
	} {
		var in Inbound
		if err := DecodeInbound([]byte(f), &in); err == nil {
			t.Errorf("DecodeInbound(%q) succeeded: %+v", f, in)
		}
	}
}

func BenchmarkDecodeChatMessage(b *testing.B) {
	f := []byte(`{"type":"chat.message","data":{"conversation_id":"d_cqnezuscwz7if3puu6f3iggubj","seq":12345,"sender_id":"bench-abcdefgh-a17","client_msg_id":"m17-9999","type":"text","body":{"text":"0000000123456789 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},"created_at":"2026-03-02T06:40:02.511Z"}}`)
	var in Inbound
	b.Run("scanner", func(b *testing.B) {
		for b.Loop() {
			if err := DecodeInbound(f, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			in = Inbound{}
			if err := json.Unmarshal(f, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
}
