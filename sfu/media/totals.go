package media

import (
	"sync"
	"sync/atomic"
)

// ForwardCounters count what a node's forwarding did, summed over
// downtracks and receivers, for metrics.
type ForwardCounters struct {
	// Packets and Bytes are the media packets forwarded to subscribers,
	// retransmissions not counted.
	Packets, Bytes uint64
	// Retransmits counts packets resent from the cache for subscribers'
	// NACKs; NACKMisses those asked for that could not be resent.
	Retransmits, NACKMisses uint64
	// QueueDrops counts packets dropped because a subscriber's queue was
	// full.
	QueueDrops uint64
	// KeyframeRequests counts the PLIs sent to publishers.
	KeyframeRequests uint64
}

// AddDownTrack adds d's counters to c.
func (c *ForwardCounters) AddDownTrack(d *DownTrack) {
	s := d.Stats()
	c.Packets += s.Packets
	c.Bytes += s.Bytes
	c.Retransmits += s.Retransmits
	c.NACKMisses += s.NACKMisses
	c.QueueDrops += s.QueueDrops
}

// AddReceiver adds r's keyframe requests to c.
func (c *ForwardCounters) AddReceiver(r *Receiver) {
	c.KeyframeRequests += r.KeyframeRequests()
}

// atLeast raises each counter of c to prev's where prev is larger.
func (c *ForwardCounters) atLeast(prev ForwardCounters) {
	c.Packets = max(c.Packets, prev.Packets)
	c.Bytes = max(c.Bytes, prev.Bytes)
	c.Retransmits = max(c.Retransmits, prev.Retransmits)
	c.NACKMisses = max(c.NACKMisses, prev.NACKMisses)
	c.QueueDrops = max(c.QueueDrops, prev.QueueDrops)
	c.KeyframeRequests = max(c.KeyframeRequests, prev.KeyframeRequests)
}

// ForwardTotals keeps a node's forwarding counters across the
// downtracks and receivers that come and go: those that close hand their
// counts over (Retire*), and Sum adds the ones still open. A downtrack or
// receiver must be retired only once nothing a Sum walks can reach it,
// so it is never counted twice. One retired while a Sum walks may be
// missed by that Sum, which is why Sum also never reports less than it
// reported before: the totals only grow. The zero value is ready.
type ForwardTotals struct {
	// The retired counts are atomics, not under mu: a retire may happen
	// under a room's lock, which a Sum's walk takes while holding mu.
	packets, bytes, retransmits, nackMisses, queueDrops, keyframeRequests atomic.Uint64

	mu   sync.Mutex // serializes Sum, and guards last
	last ForwardCounters
}

// RetireDownTrack keeps the counts of a closed downtrack.
func (t *ForwardTotals) RetireDownTrack(d *DownTrack) {
	s := d.Stats()
	t.packets.Add(s.Packets)
	t.bytes.Add(s.Bytes)
	t.retransmits.Add(s.Retransmits)
	t.nackMisses.Add(s.NACKMisses)
	t.queueDrops.Add(s.QueueDrops)
}

// RetireReceiver keeps the counts of a closed receiver.
func (t *ForwardTotals) RetireReceiver(r *Receiver) {
	t.keyframeRequests.Add(r.KeyframeRequests())
}

// Sum returns the retired counts plus what walk adds for the downtracks
// and receivers still open, never less than the last Sum. Sums run one
// at a time; walk runs inside.
func (t *ForwardTotals) Sum(walk func(c *ForwardCounters)) ForwardCounters {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := ForwardCounters{
		Packets: t.packets.Load(), Bytes: t.bytes.Load(),
		Retransmits: t.retransmits.Load(), NACKMisses: t.nackMisses.Load(),
		QueueDrops: t.queueDrops.Load(), KeyframeRequests: t.keyframeRequests.Load(),
	}
	walk(&c)
	c.atLeast(t.last)
	t.last = c
	return c
}
