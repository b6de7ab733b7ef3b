package meetbench

import (
	"errors"
	"testing"
	"time"
)

func TestVideoTargetsSpreadViewersEvenly(t *testing.T) {
	const publishers, subscribers = 8, 4
	viewers := make([]int, publishers)
	for i := range publishers + subscribers {
		got := videoTargets(i, publishers)
		if len(got) != VideosPerSubscriber {
			t.Fatalf("participant %d picks %d cameras", i, len(got))
		}
		seen := map[int]bool{}
		for _, p := range got {
			if p == i || seen[p] || p < 0 || p >= publishers {
				t.Fatalf("participant %d picks %v", i, got)
			}
			seen[p] = true
			viewers[p]++
		}
	}
	for p, n := range viewers {
		if n < 8 || n > 10 { // 72 picks over 8 cameras: 9 each, give or take the subscribers' offsets
			t.Fatalf("camera %d has %d viewers: %v", p, n, viewers)
		}
	}
	// Fewer publishers than a gallery: everyone else's camera.
	if got := videoTargets(0, 3); len(got) != 2 {
		t.Fatalf("3 publishers: %v", got)
	}
	if got := videoTargets(5, 3); len(got) != 3 {
		t.Fatalf("a subscriber among 3 publishers: %v", got)
	}
}

func TestValidate(t *testing.T) {
	ok := Config{URL: "http://x", AdminPassword: "pw", Duration: time.Second, Layout: LayoutAudio, Rooms: 1, Publishers: 10, Subscribers: 5, MaxLoss: 0.01}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"layout":     func(c *Config) { c.Layout = "grid" },
		"rooms":      func(c *Config) { c.Rooms = 0 },
		"publishers": func(c *Config) { c.Publishers = 0 },
		"alone":      func(c *Config) { c.Publishers, c.Subscribers = 1, 0 },
		"too many":   func(c *Config) { c.Subscribers = MaxParticipantsPerRoom },
		"duration":   func(c *Config) { c.Duration = 0 },
		"loss":       func(c *Config) { c.MaxLoss = -1 },
		"password":   func(c *Config) { c.AdminPassword = "" },
	} {
		c := ok
		mod(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
