package usage

import (
	"fmt"
	"io"
	"math"
	"slices"

	"parley/bench/wire"
)

// ForwardTarget is the server-added latency a media packet should stay
// under at p99 (receiver read to subscriber write), the figure
// ForwardLatency.WithinTarget reports against.
const ForwardTarget = 0.005 // seconds

// ForwardLatency summarizes, over one window, the server's own histogram
// of the time each media packet spent inside it, from the receiver
// reading it off the publisher's connection to the write to a
// subscriber's connection returning. Unlike the generator's frame
// latency it leaves out both Pion stacks on the generator's side and the
// generator's scheduling, so it is what the server adds.
type ForwardLatency struct {
	Packets uint64 `json:"packets"`
	// P50Ms and P99Ms are the upper bounds, in milliseconds, of the
	// buckets that hold the median and the 99th percentile: the true
	// value is at most this (or beyond the largest finite bound when
	// equal to it).
	P50Ms float64 `json:"p50_ms_at_most"`
	P99Ms float64 `json:"p99_ms_at_most"`
	// WithinTarget is the share of packets that took at most
	// ForwardTarget.
	WithinTarget float64 `json:"within_5ms"`
}

// forwardLatency is the change of histogram h from before to after.
// It reports false when nothing was observed in the window or the two
// scrapes do not have the same buckets.
func forwardLatency(before, after wire.Histogram) (ForwardLatency, bool) {
	n := len(after.Bounds)
	if n == 0 || len(after.Cumulative) != n {
		return ForwardLatency{}, false
	}
	delta := slices.Clone(after.Cumulative)
	if len(before.Bounds) > 0 {
		if !slices.Equal(before.Bounds, after.Bounds) || len(before.Cumulative) != n {
			return ForwardLatency{}, false
		}
		for i := range delta {
			delta[i] -= min(before.Cumulative[i], delta[i])
		}
	}
	total := delta[n-1] // the +Inf bucket counts everything
	if total == 0 {
		return ForwardLatency{}, false
	}
	lastFinite := 0.0
	for _, b := range after.Bounds {
		if !math.IsInf(b, 1) {
			lastFinite = b
		}
	}
	quantile := func(q float64) float64 {
		for i, c := range delta {
			if float64(c) >= q*float64(total) {
				return 1000 * min(after.Bounds[i], lastFinite)
			}
		}
		return 1000 * lastFinite
	}
	var within uint64
	for i, b := range after.Bounds {
		if b <= ForwardTarget {
			within = delta[i]
		}
	}
	return ForwardLatency{
		Packets: total, P50Ms: quantile(0.5), P99Ms: quantile(0.99),
		WithinTarget: float64(within) / float64(total),
	}, true
}

// forwardLatencies summarizes every service's histogram over a window.
func forwardLatencies(before, after wire.Process) map[string]ForwardLatency {
	var out map[string]ForwardLatency
	for service, h := range after.ForwardLatency {
		if fl, ok := forwardLatency(before.ForwardLatency[service], h); ok {
			if out == nil {
				out = map[string]ForwardLatency{}
			}
			out[service] = fl
		}
	}
	return out
}

// WriteForward prints the server-added latency of service's packets
// over the window, when the server measured any.
func WriteForward(w io.Writer, s Server, service string) {
	fl, ok := s.ForwardLatency[service]
	if !ok {
		return
	}
	fmt.Fprintf(w, "  server-added latency (packet read → subscriber write), %d packets: p50 ≤ %g ms, p99 ≤ %g ms, %.2f %% within %g ms\n",
		fl.Packets, fl.P50Ms, fl.P99Ms, 100*fl.WithinTarget, ForwardTarget*1000)
}
