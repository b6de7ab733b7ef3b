package runlog

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestErrorsAreCountedAndSampledPerKind(t *testing.T) {
	var out bytes.Buffer
	l := New(&out)
	for i := range 100 {
		l.Error("rate_limited", fmt.Sprintf("rate limited %d", i))
	}
	l.Error("", "socket closed")
	l.Error("", "socket closed")
	for i := range 10 {
		l.Error(fmt.Sprintf("code%d", i), "other")
	}
	l.Warn("slow %s", "generator")
	if l.Errors() != 112 {
		t.Fatalf("counted %d errors", l.Errors())
	}
	s := l.Samples()
	if len(s) != MaxSamples || s[0] != "rate limited 0" || s[1] != "socket closed" {
		t.Fatalf("samples %q", s)
	}
	if w := l.Warnings(); len(w) != 1 || w[0] != "slow generator" || !strings.Contains(out.String(), "warning: slow generator") {
		t.Fatalf("warnings %q, progress %q", w, out.String())
	}
}
