package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// Every packet forwarded to every subscriber is counted once in the
// receiver's latency histogram, in a bucket no lower than the time it
// was held.
func TestLatencyHistogramCountsForwardedPackets(t *testing.T) {
	var h LatencyHistogram
	r := newTestReceiver(t, vp8Params, ReceiverConfig{Latency: &h})
	f := newFeed(t, r, "")
	downs := []*DownTrack{boundDownTrack(t, r), boundDownTrack(t, r)}
	const packets = 50
	for i := range packets {
		f.send(t, &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1, SequenceNumber: uint16(i), Timestamp: uint32(i * 3000)},
			Payload: vp8Payload(i == 0, 320, 180)})
	}
	// A read loop adds its observations after writing the packet to
	// every subscriber, so the counts may trail the downtracks' by one
	// packet for a moment.
	waitUntil(t, 5*time.Second, "every packet to be forwarded and counted", func() bool {
		return downs[0].Stats().Packets == packets && downs[1].Stats().Packets == packets &&
			h.Snapshot().Count() >= 2*packets
	})
	s := h.Snapshot()
	if s.Count() != 2*packets {
		t.Fatalf("histogram counted %d packets, want %d", s.Count(), 2*packets)
	}
	if s.Sum <= 0 {
		t.Fatalf("sum %v", s.Sum)
	}
}

func TestLatencyHistogramBuckets(t *testing.T) {
	var h LatencyHistogram
	h.Observe(0)
	h.Observe(LatencyBuckets[0])
	h.Observe(LatencyBuckets[0] + 1)
	h.Observe(5 * time.Millisecond)
	h.Observe(time.Minute)
	s := h.Snapshot()
	want := map[int]uint64{0: 2, 1: 1, 6: 1, len(LatencyBuckets): 1}
	for i, c := range s.Counts {
		if c != want[i] {
			t.Errorf("bucket %d: %d, want %d (bounds %v)", i, c, want[i], LatencyBuckets)
		}
	}
	// A batch lands in the same buckets, all at once, and empties.
	var b latencyBatch
	for _, d := range []time.Duration{0, LatencyBuckets[0], LatencyBuckets[0] + 1, 5 * time.Millisecond, time.Minute} {
		b.observe(d)
	}
	h.add(&b)
	s2 := h.Snapshot()
	for i := range s.Counts {
		if s2.Counts[i] != 2*want[i] {
			t.Errorf("after a batch, bucket %d: %d, want %d", i, s2.Counts[i], 2*want[i])
		}
	}
	if s2.Sum != 2*s.Sum {
		t.Errorf("after a batch, sum %v, want %v", s2.Sum, 2*s.Sum)
	}
	if b.n != 0 || b.sum != 0 {
		t.Errorf("the batch was not emptied: %+v", b)
	}
	if LatencyBuckets[6] != 5*time.Millisecond {
		t.Errorf("bucket 6 is %v; the test assumes 5ms", LatencyBuckets[6])
	}
}
