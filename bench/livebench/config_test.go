package livebench

import (
	"errors"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Config{URL: "http://x", AdminPassword: "pw", Duration: time.Second, Viewers: 1, MaxLoss: 0.01}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"url":      func(c *Config) { c.URL = "" },
		"password": func(c *Config) { c.AdminPassword = "" },
		"duration": func(c *Config) { c.Duration = MaxRunTime + time.Second },
		"viewers":  func(c *Config) { c.Viewers = 0 },
		"too many": func(c *Config) { c.Viewers = MaxViewers + 1 },
		"loss":     func(c *Config) { c.MaxLoss = 1.5 },
	} {
		c := ok
		mod(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFailuresNameEveryViolation(t *testing.T) {
	zero, one := 0, 1
	rep := &Report{measured: true, cfg: Config{MaxLoss: 0.01, Record: true}, Viewers: 3, WithoutMedia: 1, Errors: 2,
		CorruptFrames: 1, BeforeKeyframe: 4, LossRatio: 0.02, ReceivedPackets: 10, Recordings: &one, RecordingsValid: &zero}
	// Frames before a keyframe are a warning, not a failure.
	if f := rep.Failures(); len(f) != 5 {
		t.Fatalf("failures %q", f)
	}
	clean := &Report{measured: true, cfg: Config{MaxLoss: 0.01, Record: true}, Viewers: 3, ReceivedPackets: 10,
		Recordings: &one, RecordingsValid: &one, RecordedSeconds: 10, SentSeconds: 10.5}
	if f := clean.Failures(); len(f) != 0 {
		t.Fatalf("a clean run fails: %q", f)
	}
	clean.RecordedSeconds = 5
	if f := clean.Failures(); len(f) != 1 {
		t.Fatalf("a short recording passes: %q", f)
	}
}
