package urgenttest

import (
	"testing"
	"time"
)

func TestManualClock(t *testing.T) {
	c := NewManualClock()
	early, late := c.After(time.Minute), c.After(time.Hour)
	c.Advance(59 * time.Second)
	select {
	case <-early:
		t.Fatal("fired before it was due")
	default:
	}
	c.Advance(time.Second)
	if got := <-early; !got.Equal(Start.Add(time.Minute)) {
		t.Fatalf("fired at %v", got)
	}
	select {
	case <-late:
		t.Fatal("the hour timer fired after a minute")
	default:
	}
	if got := <-c.After(0); !got.Equal(c.Now()) {
		t.Fatalf("After(0) gave %v", got)
	}
}
