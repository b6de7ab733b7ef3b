package usage

import (
	"math"
	"testing"

	"parley/bench/wire"
)

// The window's figures come from the difference of two scrapes: packets
// counted before the window do not move the quantiles.
func TestForwardLatencyOverWindow(t *testing.T) {
	bounds := []float64{0.001, 0.005, 0.01, math.Inf(1)}
	before := wire.Histogram{Bounds: bounds, Cumulative: []uint64{0, 0, 1000, 1000}} // 1,000 slow packets earlier
	after := wire.Histogram{Bounds: bounds, Cumulative: []uint64{90, 99, 1099, 1100}}
	fl, ok := forwardLatency(before, after)
	if !ok {
		t.Fatal("no figures")
	}
	want := ForwardLatency{Packets: 100, P50Ms: 1, P99Ms: 5, WithinTarget: 0.99}
	if fl != want {
		t.Fatalf("got %+v, want %+v", fl, want)
	}
	// The slowest packet lands in +Inf: reported at the last finite bound.
	fl, _ = forwardLatency(wire.Histogram{}, wire.Histogram{Bounds: bounds, Cumulative: []uint64{0, 0, 0, 1}})
	if fl.P99Ms != 10 || fl.WithinTarget != 0 {
		t.Fatalf("all beyond: %+v", fl)
	}
	if _, ok := forwardLatency(after, after); ok {
		t.Fatal("an empty window gave figures")
	}
	if _, ok := forwardLatency(wire.Histogram{Bounds: bounds[:3], Cumulative: []uint64{1, 2, 3}}, after); ok {
		t.Fatal("scrapes with different buckets gave figures")
	}
}
