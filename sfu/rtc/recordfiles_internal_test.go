package rtc

import (
	"strings"
	"testing"

	"parley/sfu/recording"
)

// Every member or guest id gives a file name sfu/recording accepts, and
// two people never share one.
func TestFileStem(t *testing.T) {
	taken := map[string]*recordedPerson{}
	for _, c := range []struct {
		id     string
		screen bool
		want   string
	}{
		{"alice", false, "alice"},
		{"alice", true, "alice-screen"},
		{"guest:W3XN4MB6", false, "guest_W3XN4MB6"},
		{".hidden", false, "_.hidden"},
		{"张三", false, "______"},
		{"李四", false, "______-2"}, // the same name as 张三's
		{strings.Repeat("x", 100), false, strings.Repeat("x", 48)},
	} {
		got := fileStem(c.id, c.screen, taken)
		if got != c.want || !recording.ValidName(got) {
			t.Errorf("fileStem(%q, %v) = %q, want %q (valid: %v)", c.id, c.screen, got, c.want, recording.ValidName(got))
		}
		taken[got] = &recordedPerson{}
	}
}
