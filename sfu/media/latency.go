package media

import (
	"sync/atomic"
	"time"
)

// LatencyBuckets are the upper bounds of a LatencyHistogram's buckets;
// a last, unbounded bucket takes the rest. They are fine around the few
// milliseconds a forwarding server should add and coarse beyond.
var LatencyBuckets = [...]time.Duration{
	50 * time.Microsecond, 100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond, 10 * time.Millisecond,
	25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second,
}

// LatencyHistogram counts how long packets spend inside the server: from
// a Receiver reading one off the publisher's connection (decrypted) to
// a DownTrack's write to the subscriber's connection returning
// (encrypted, through the interceptors, handed to the socket). It is
// what the server adds to a packet's trip, queueing and scheduling
// included, and what a "server-added latency" target is checked
// against. Retransmissions are not counted. Safe for concurrent use:
// observing is a few atomic adds, and the forwarding path adds its
// observations a batch at a time.
type LatencyHistogram struct {
	counts [len(LatencyBuckets) + 1]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
}

// Observe counts one packet that took d.
func (h *LatencyHistogram) Observe(d time.Duration) {
	h.counts[bucketOf(d)].Add(1)
	h.sum.Add(int64(d))
}

// latencyBatch gathers observations for a LatencyHistogram and adds them
// in one go (see LatencyHistogram.add): a read loop gathers one packet's
// times to all the subscribers it writes itself, a downtrack's write loop
// those of one drained batch. Receivers of a service share one histogram,
// so adding each packet of each subscriber bounced its counters between
// the cores. Not safe for concurrent use; the zero value is empty.
type latencyBatch struct {
	counts [len(LatencyBuckets) + 1]uint32
	sum    int64
	n      int
}

// observe counts one packet that took d.
func (b *latencyBatch) observe(d time.Duration) {
	b.counts[bucketOf(d)]++
	b.sum += int64(d)
	b.n++
}

// add moves b's observations into h and empties b.
func (h *LatencyHistogram) add(b *latencyBatch) {
	if b.n == 0 {
		return
	}
	for i, c := range b.counts {
		if c != 0 {
			h.counts[i].Add(uint64(c))
		}
	}
	h.sum.Add(b.sum)
	*b = latencyBatch{}
}

func bucketOf(d time.Duration) int {
	i := 0
	for i < len(LatencyBuckets) && d > LatencyBuckets[i] {
		i++
	}
	return i
}

// LatencySnapshot is a LatencyHistogram's counts at one moment.
type LatencySnapshot struct {
	// Counts[i] counts packets that took at most LatencyBuckets[i] and
	// more than the bound before; the last counts the rest.
	Counts [len(LatencyBuckets) + 1]uint64
	Sum    time.Duration
}

// Snapshot reads the histogram. Counts read while packets are observed
// may be a packet or two apart from Sum.
func (h *LatencyHistogram) Snapshot() LatencySnapshot {
	var s LatencySnapshot
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
	}
	s.Sum = time.Duration(h.sum.Load())
	return s
}

// Count is the number of packets observed.
func (s LatencySnapshot) Count() uint64 {
	var n uint64
	for _, c := range s.Counts {
		n += c
	}
	return n
}
