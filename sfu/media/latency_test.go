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
	waitUntil(t, 5*time.Second, "every packet to be forwarded", func() bool {
		return downs[0].Stats().Packets == packets && downs[1].Stats().Packets == packets
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
	if LatencyBuckets[6] != 5*time.Millisecond {
		t.Errorf("bucket 6 is %v; the test assumes 5ms", LatencyBuckets[6])
	}
}
