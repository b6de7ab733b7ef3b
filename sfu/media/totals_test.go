package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// A Sum that misses a downtrack (retired while the walk ran) does not
// report less than the Sum before it; retired counts stay counted.
func TestForwardTotalsNeverGoDown(t *testing.T) {
	var tot ForwardTotals
	if c := tot.Sum(func(c *ForwardCounters) { c.Packets, c.KeyframeRequests = 10, 2 }); c.Packets != 10 || c.KeyframeRequests != 2 {
		t.Fatalf("first sum %+v", c)
	}
	if c := tot.Sum(func(*ForwardCounters) {}); c.Packets != 10 || c.KeyframeRequests != 2 {
		t.Fatalf("a sum that missed everything went down: %+v", c)
	}
	r := newTestReceiver(t, vp8Params, ReceiverConfig{})
	f := newFeed(t, r, "")
	d := boundDownTrack(t, r)
	for i := range 12 {
		f.send(t, &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1, SequenceNumber: uint16(i), Timestamp: uint32(i * 3000)},
			Payload: vp8Payload(i == 0, 320, 180)})
	}
	waitUntil(t, 5*time.Second, "12 packets forwarded", func() bool { return d.Stats().Packets == 12 })
	tot.RetireDownTrack(d)
	if c := tot.Sum(func(*ForwardCounters) {}); c.Packets != 12 {
		t.Fatalf("after retiring a downtrack of 12 packets: %+v", c)
	}
}
