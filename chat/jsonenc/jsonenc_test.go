package jsonenc_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"parley/chat/jsonenc"
)

// stdString is what encoding/json writes for s with HTML escaping off.
func stdString(t testing.TB, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendStringMatchesEncodingJSON(t *testing.T) {
	cases := []string{
		"", "plain", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tnew\nline\rcr",
		"\b\f\x00\x01\x1f\x7f", "中文 emoji 😀", "line\u2028para\u2029", "bad \xff utf8 \xe4\xb8",
		"\xed\xa0\x80 surrogate", "end\\",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 { // random bytes, most of them not valid UTF-8
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		got := jsonenc.AppendString([]byte("x"), s)
		want := append([]byte("x"), stdString(t, s)...)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendString(%q) = %s, want %s", s, got, want)
		}
	}
}

func TestAppendTimeMatchesMarshalJSON(t *testing.T) {
	for _, tm := range []time.Time{
		time.UnixMilli(0).UTC(),
		time.UnixMilli(1795000000123).UTC(),
		time.UnixMilli(1795000000100).UTC(), // trailing zeros are trimmed
		time.Date(2026, 11, 22, 12, 0, 0, 0, time.FixedZone("x", 3600)),
		time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
	} {
		want, err := json.Marshal(tm)
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonenc.AppendTime(nil, tm); !bytes.Equal(got, want) {
			t.Errorf("AppendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

func BenchmarkAppendString(b *testing.B) {
	s := "a typical short chat message, about sixty bytes long <ok> & 中文"
	buf := make([]byte, 0, 256)
	for b.Loop() {
		buf = jsonenc.AppendString(buf[:0], s)
	}
}
