package latency

import (
	"math"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Range and precision of every histogram. Values above Highest are
// recorded as Highest: a latency of minutes already says everything.
const (
	Lowest            = time.Microsecond
	Highest           = 10 * time.Minute
	SignificantDigits = 3
	// Shards is how many histograms a Recorder spreads its values over.
	Shards = 16
)

// Recorder collects latencies from concurrent goroutines.
type Recorder struct {
	shards [Shards]shard
}

type shard struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
	_  [40]byte // keep shards on separate cache lines
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	r := &Recorder{}
	for i := range r.shards {
		r.shards[i].h = newHistogram()
	}
	return r
}

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(int64(Lowest/time.Microsecond), int64(Highest/time.Microsecond), SignificantDigits)
}

// Record adds one latency to the shard key selects (any int; it is taken
// modulo Shards). Negative values count as zero, values above Highest as
// Highest.
func (r *Recorder) Record(key int, d time.Duration) {
	s := &r.shards[uint(key)%Shards]
	s.mu.Lock()
	_ = s.h.RecordValue(clamp(d)) // cannot fail: clamp keeps it within the range
	s.mu.Unlock()
}

// RecordAll adds latencies as Record does, taking the shard's lock once.
// Where values come in bursts (every message of one read from the
// network), that also finds the counts they fall into still in the CPU's
// cache, as similar latencies share them.
func (r *Recorder) RecordAll(key int, ds []time.Duration) {
	s := &r.shards[uint(key)%Shards]
	s.mu.Lock()
	for _, d := range ds {
		_ = s.h.RecordValue(clamp(d))
	}
	s.mu.Unlock()
}

// clamp returns d in whole microseconds, within [0, Highest].
func clamp(d time.Duration) int64 {
	return int64(min(max(d, 0), Highest) / time.Microsecond)
}

// Reset empties every shard.
func (r *Recorder) Reset() {
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		s.h.Reset()
		s.mu.Unlock()
	}
}

// Summary merges the shards and returns their percentiles.
func (r *Recorder) Summary() Summary {
	all := newHistogram()
	for i := range r.shards {
		s := &r.shards[i]
		s.mu.Lock()
		all.Merge(s.h)
		s.mu.Unlock()
	}
	return Summary{
		P50:   millis(all.ValueAtQuantile(50)),
		P90:   millis(all.ValueAtQuantile(90)),
		P99:   millis(all.ValueAtQuantile(99)),
		P999:  millis(all.ValueAtQuantile(99.9)),
		Max:   millis(all.Max()),
		Count: all.TotalCount(),
	}
}

// Summary is a latency distribution in milliseconds. The JSON form has the
// percentiles only; Count says how many values it was made from.
type Summary struct {
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
	Count int64   `json:"-"`
}

// millis turns microseconds into milliseconds, rounded to the microsecond.
func millis(us int64) float64 {
	return math.Round(float64(us)) / 1000
}
