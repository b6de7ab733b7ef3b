package wire

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

// refInbound is Inbound as encoding/json decodes it, the reference the
// scanner is checked against.
type refInbound struct {
	Type string
	ID   string
	Data refData
}

type refData struct {
	ConversationID string `json:"conversation_id"`
	Seq            uint64 `json:"seq"`
	SenderID       string `json:"sender_id"`
	ClientMsgID    string `json:"client_msg_id"`
	Type           string `json:"type"`
	Body           struct {
		Text string `json:"text"`
	} `json:"body"`
	Duplicate bool   `json:"duplicate"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

// reference decodes frame with encoding/json into the shape DecodeInbound
// fills: data kept only for the three frame types Inbound reads.
func reference(frame []byte) (refInbound, error) {
	var env struct {
		Type string          `json:"type"`
		ID   string          `json:"id"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(frame, &env); err != nil {
		return refInbound{}, err
	}
	r := refInbound{Type: env.Type, ID: env.ID}
	if hasData([]byte(r.Type)) && env.Data != nil {
		if err := json.Unmarshal(env.Data, &r.Data); err != nil {
			return r, err
		}
	}
	return r, nil
}

// asReference converts what DecodeInbound read for comparison.
func asReference(in *Inbound) refInbound {
	var r refInbound
	r.Type, r.ID = string(in.Type), string(in.ID)
	d := &r.Data
	d.ConversationID, d.Seq, d.SenderID = string(in.Data.ConversationID), in.Data.Seq, string(in.Data.SenderID)
	d.ClientMsgID, d.Type, d.Body.Text = string(in.Data.ClientMsgID), string(in.Data.Type), string(in.Data.Text)
	d.Duplicate, d.Code, d.Message = in.Data.Duplicate, string(in.Data.Code), string(in.Data.Message)
	return r
}

// validFrames are frames of every shape the server sends, and orders,
// spacing and escapes it might.
var validFrames = []string{
	`{"type":"chat.message","data":{"conversation_id":"d_x","seq":12,"sender_id":"bench-a-1","client_msg_id":"m1-5","type":"text","body":{"text":"0000000000001234 xxxx","mentions":["bob"],"reply_to":3},"created_at":"2026-03-02T06:40:02.511Z"}}`,
	`{"type":"chat.ack","id":"77","data":{"conversation_id":"g_y","client_msg_id":"m2-9","seq":4,"created_at":"2026-03-02T06:37:26.297Z","duplicate":false}}`,
	`{"type":"chat.ack","id":"78","data":{"conversation_id":"g_y","client_msg_id":"m2-9","seq":4,"duplicate":true}}`,
	`{"type":"error","id":"9","data":{"code":"rate_limited","message":"rate limited (member); retry after 8ms"}}`,
	`{"type":"error","data":{"code":"bad_message","message":"cannot decode \"x\": \u00e9\\n"}}`,
	`{"type":"chat.message","data":{"conversation_id":"g_1","seq":2,"sender_id":"alice","type":"system","body":{"event":"joined","actor":"alice","members":["carol",{"a":[1,-2.5e3,true,null,{}]}],"welcome":""},"created_at":"x"}}`,
	` { "data" : { "seq" : 7 , "body" : { } , "extra" : [ ] } , "id" : "1" , "type" : "chat.message" } `,
	`{"type":"chat.conversation","data":{"conversation":{"id":"g_1","kind":"group","member_count":3},"role":"member","joined_seq":1}}`,
	`{"type":"pong","id":"7","data":{}}`,
	`{"type":"presence","data":{"seq":"not a number","type":5,"message":{"nested":[]}}}`,
	`{"type":"chat.message","data":{"conversation_id":"g\/2","seq":0,"sender_id":"\u0062ob","type":"text","body":{"text":"0000000000000001 a \"quoted\" \\ tab\t é 😀 \ud83d\ude00"}}}`,
	`{"type":"chat.message","data":{"conversation_id":"d_x","seq":18446744073709551615,"sender_id":"a","client_msg_id":"m","type":"text","body":{"text":""},"created_at":""}}`,
	`{"type":"chat.message","data":{"conversation_id":"d_x","seq":9999999999999999999,"sender_id":"a","client_msg_id":"m","type":"text","body":{"text":"x"},"created_at":""}}`,
	// As the server writes a text message; the benchmark decodes it.
	`{"type":"chat.message","data":{"conversation_id":"g_cqnezuscwz7if3puu6f3iggubj","seq":123456,"sender_id":"bench-abcdefgh-a17","client_msg_id":"m17-9999","type":"text","body":{"text":"0000000123456789 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},"created_at":"2026-03-02T06:40:02.511Z"}}`,
}

func TestDecodeInboundAgreesWithEncodingJSON(t *testing.T) {
	for _, f := range validFrames {
		var in Inbound
		if err := DecodeInbound([]byte(f), &in); err != nil {
			t.Errorf("DecodeInbound(%s): %v", f, err)
			continue
		}
		want, err := reference([]byte(f))
		if err != nil {
			t.Fatalf("reference decode of %s: %v", f, err)
		}
		if got := asReference(&in); got != want {
			t.Errorf("frame %s\n got %+v\nwant %+v", f, got, want)
		}
	}
	// encoding/json refuses a body that is not an object; the scanner
	// skips it, as the generator does not read such a body.
	var in Inbound
	if err := DecodeInbound([]byte(`{"type":"chat.message","data":{"body":"not an object","seq":1}}`), &in); err != nil ||
		in.Data.Seq != 1 || in.Data.Text != nil {
		t.Errorf("string body: %v %+v", err, in)
	}
}

func TestDecodeInboundRejectsMalformedFrames(t *testing.T) {
	for _, f := range []string{
		``, `{`, `{"type":"chat.ack"`, `{"type":chat}`, `{"type":"a" "id":"b"}`, `{"type":"a"} x`, `[]`, `"chat.message"`,
		`{"id":"1","data":{}}`, // no type
		`{"type":"chat.ack","data":{"seq":-1}}`, `{"type":"chat.ack","data":{"seq":"1"}}`, `{"type":"chat.ack","data":{"seq":01}}`,
		`{"type":"chat.ack","data":{"seq":1.5}}`, `{"type":"chat.ack","data":{"seq":18446744073709551616}}`,
		`{"type":"chat.ack","data":{"seq":99999999999999999999}}`, `{"type":"chat.ack","data":{"seq":123456789012345678901}}`,
		`{"type":"chat.ack","data":{"seq":}}`, `{"type":"chat.ack","data":{"duplicate":"true"}}`,
		`{"type":"chat.message","data":{"body":{"text":7}}}`, `{"type":"chat.message","data":{"sender_id":null}}`,
		`{"type":"a\`, "{\"type\":\"a\x01\"}", `{"type":"a\q"}`, `{"type":"a\u00g0"}`,
		`{"type":"x","data":{"x":[1,}}`, `{"type":"x","data":{"x":tru}}`, `{"type":"x","data":{"x":1.2.3}}`,
		`{"type":"x","data":{"x":"\q"}}`, `{"type":"x","data":{"\q":1}}`, `{"type":"x","data":{"x":[1 2]}}`,
		"{\"type\":\"x\",\"data\":{\"x\":\"a\tb\"}}",
	} {
		var in Inbound
		if err := DecodeInbound([]byte(f), &in); err == nil {
			t.Errorf("DecodeInbound(%q) succeeded: %+v", f, in)
		}
	}
}

// TestDecodeInboundRejectsWhatEncodingJSONRejects cuts and corrupts valid
// frames one byte at a time: whatever encoding/json finds malformed must
// be an error, and what both accept must decode alike.
func TestDecodeInboundRejectsWhatEncodingJSONRejects(t *testing.T) {
	// No letters but x, which forms no key a case-insensitive
	// encoding/json would match to another field.
	const bytesTried = "\x00\x1f \t\"\\/{}[]:,-+.e0179xtfnu\x7f\x80\xff"
	var in Inbound
	for _, f := range validFrames {
		for n := range len(f) {
			if prefix := []byte(f[:n]); DecodeInbound(prefix, &in) == nil && !json.Valid(prefix) {
				t.Errorf("DecodeInbound accepted the cut frame %q", prefix)
			}
		}
		m := []byte(f)
		for i := range m {
			orig := m[i]
			for _, c := range []byte(bytesTried) {
				m[i] = c
				err := DecodeInbound(m, &in)
				if !json.Valid(m) {
					if err == nil {
						t.Errorf("DecodeInbound accepted malformed %q", m)
					}
					continue
				}
				want, refErr := reference(m)
				if err == nil && refErr != nil && !strings.Contains(refErr.Error(), "body") {
					t.Errorf("DecodeInbound accepted %q, which encoding/json refuses: %v", m, refErr)
				}
				if err == nil && refErr == nil && utf8.Valid(m) && asReference(&in) != want {
					t.Errorf("frame %q\n got %+v\nwant %+v", m, asReference(&in), want)
				}
			}
			m[i] = orig
		}
	}
}

// TestDecodeAsWrittenAgreesWithTheScanner checks the fast path: it must
// take the frame the server writes for a text message, and whatever it
// takes, cut or corrupted, the scanner must read the same way.
func TestDecodeAsWrittenAgreesWithTheScanner(t *testing.T) {
	serverLayout := []byte(validFrames[len(validFrames)-1])
	var fast, slow Inbound
	if !decodeAsWritten(serverLayout, &fast) {
		t.Fatalf("the fast path refuses the server's layout %s", serverLayout)
	}
	const bytesTried = "\x00\x1f \"\\{}:,.0179xtu\x80"
	m := bytes.Clone(serverLayout)
	for i := range m {
		orig := m[i]
		for _, c := range []byte(bytesTried) {
			m[i] = c
			fast = Inbound{}
			if !decodeAsWritten(m, &fast) {
				continue
			}
			if !json.Valid(m) {
				t.Fatalf("the fast path takes malformed %q", m)
			}
			// A leading space keeps the scanner off the fast path.
			if err := DecodeInbound(append([]byte(" "), m...), &slow); err != nil {
				t.Fatalf("the fast path takes %q, the scanner refuses it: %v", m, err)
			}
			if asReference(&fast) != asReference(&slow) {
				t.Fatalf("frame %q\nfast path %+v\n  scanner %+v", m, asReference(&fast), asReference(&slow))
			}
		}
		m[i] = orig
	}
}

func TestPlainRunStopsAtTheFirstSpecialByte(t *testing.T) {
	naive := func(b []byte) int {
		for i, c := range b {
			if c < 0x20 || c == '"' || c == '\\' {
				return i
			}
		}
		return len(b)
	}
	// Every byte value at every position of lines short and long enough
	// to cover both the word loop and the byte loop, over a background of
	// bytes just beside the special ones.
	for _, fill := range []byte{'x', 0x20, '!', '#', '[', ']', 0x7f, 0x80, 0xff} {
		for n := 0; n <= 19; n++ {
			b := bytes.Repeat([]byte{fill}, n)
			for i := range b {
				for v := range 256 {
					b[i] = byte(v)
					if got, want := plainRun(b), naive(b); got != want {
						t.Fatalf("plainRun(%q) = %d, want %d", b, got, want)
					}
				}
				b[i] = fill
			}
			if got := plainRun(b); got != n {
				t.Fatalf("plainRun(%q) = %d, want %d", b, got, n)
			}
		}
	}
	// Runs of bytes at and beside the special ones, where the word
	// arithmetic's borrows could mark the wrong byte.
	const special, plain = "\x00\x01\x1f\"\\", "\x20\x21\x23\x5b\x5d\x7f\x80\xff"
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = plain[rng.IntN(len(plain))]
			if rng.IntN(10) == 0 {
				b[i] = special[rng.IntN(len(special))]
			}
		}
		if got, want := plainRun(b), naive(b); got != want {
			t.Fatalf("plainRun(%q) = %d, want %d", b, got, want)
		}
	}
}

func TestDecodeChatMessageDoesNotAllocate(t *testing.T) {
	f := []byte(validFrames[len(validFrames)-1])
	var in Inbound
	allocs := testing.AllocsPerRun(100, func() {
		if err := DecodeInbound(f, &in); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("DecodeInbound of a chat.message allocates %.1f times", allocs)
	}
}

func BenchmarkDecodeChatMessage(b *testing.B) {
	f := []byte(validFrames[len(validFrames)-1])
	var in Inbound
	b.Run("as_written", func(b *testing.B) {
		for b.Loop() {
			if err := DecodeInbound(f, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scanner", func(b *testing.B) {
		spaced := append([]byte(" "), f...) // not as written: the fast path refuses it
		for b.Loop() {
			if err := DecodeInbound(spaced, &in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		for b.Loop() {
			if _, err := reference(f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
