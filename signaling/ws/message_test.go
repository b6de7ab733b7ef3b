package ws

import (
	"encoding/json"
	"testing"
)

func TestDecodeMessage(t *testing.T) {
	m, err := DecodeMessage([]byte(`{"type":"ping","id":"7","data":{"x":1}}`))
	if err != nil || m.Type != "ping" || m.ID != "7" || string(m.Data) != `{"x":1}` {
		t.Fatalf("got %+v, %v", m, err)
	}
	for _, bad := range []string{``, `null`, `[]`, `{"id":"1"}`, `{"type":""}`, `{"type":5}`, `{"type":"a"`} {
		if _, err := DecodeMessage([]byte(bad)); err == nil {
			t.Errorf("DecodeMessage(%q) accepted", bad)
		}
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	frame, err := Encode("pong", "r1", map[string]int{"n": 2})
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMessage(frame)
	if err != nil || m.Type != "pong" || m.ID != "r1" || string(m.Data) != `{"n":2}` {
		t.Fatalf("round trip: %+v, %v", m, err)
	}
}

// FuzzDecodeMessage: the decoder never panics on client input, and what it
// accepts has a type and survives re-encoding unchanged.
func FuzzDecodeMessage(f *testing.F) {
	for _, seed := range []string{
		`{"type":"ping","id":"1"}`,
		`{"type":"auth.refresh","id":"2","data":{"access_token":"x.y.z"}}`,
		`{"type":"x","data":null}`,
		`{"type":"\u0000","id":"` + "\xff" + `"}`,
		`{"type":"a","type":"b"}`,
		`{"type":"a","data":[1,2,{"b":{}}]}`,
		`{"type":"a","data":1e999}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, err := DecodeMessage(frame)
		if err != nil {
			return
		}
		if m.Type == "" {
			t.Fatalf("accepted a message without a type: %q", frame)
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("accepted message does not re-encode: %v", err)
		}
		m2, err := DecodeMessage(again)
		if err != nil || m2.Type != m.Type || m2.ID != m.ID {
			t.Fatalf("re-encoded message differs: %+v vs %+v (%v)", m, m2, err)
		}
	})
}
