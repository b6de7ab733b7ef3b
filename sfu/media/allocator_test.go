package media

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v3"
)

// fixedEstimate is a bandwidth estimate the test sets.
type fixedEstimate struct{ bps atomic.Int64 }

func (e *fixedEstimate) GetTargetBitrate() int { return int(e.bps.Load()) }

// simulcastReceiver makes a receiver with three sized layers at the given
// bitrates, low to high.
func simulcastReceiver(t *testing.T, rates [3]int64) *Receiver {
	r := newTestReceiver(t, vp8Params, ReceiverConfig{})
	for i, rid := range []string{"q", "h", "f"} {
		f := newFeed(t, r, rid)
		w := 160 << i
		f.send(t, &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: uint32(i + 1), SequenceNumber: 1}, Payload: vp8Payload(true, w, w*9/16)})
		f.l.bitrate.Store(rates[i])
	}
	r.mu.Lock()
	r.reorderLocked()
	r.mu.Unlock()
	return r
}

func boundDownTrack(t *testing.T, r *Receiver) *DownTrack {
	d := NewDownTrack(r, DownTrackConfig{})
	codec := vp8Params
	if r.kind == webrtc.RTPCodecTypeAudio {
		codec = opusParams
	}
	if _, err := d.Bind(newFakeContext(codec, false)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// The allocator serves audio first, gives every video its lowest layer,
// then raises layers round robin while the estimate lasts; each
// subscriber's own size cap still applies.
func TestAllocatorDividesEstimate(t *testing.T) {
	a := simulcastReceiver(t, [3]int64{100_000, 300_000, 1_000_000})
	b := simulcastReceiver(t, [3]int64{100_000, 300_000, 1_000_000})
	mic := newTestReceiver(t, opusParams, ReceiverConfig{})
	newFeed(t, mic, "")
	da, db, dm := boundDownTrack(t, a), boundDownTrack(t, b), boundDownTrack(t, mic)

	est := &fixedEstimate{}
	alloc := NewAllocator(est)
	t.Cleanup(alloc.Close)
	alloc.mu.Lock()
	alloc.dts = []*DownTrack{da, db, dm}
	alloc.mu.Unlock()

	for _, c := range []struct {
		bps    int64
		wa, wb int
	}{
		{3_000_000, 2, 2},
		// 64k audio + 2×100k + 2×(300k−100k)·1.15 headroom fits; f does not.
		{1_200_000, 1, 1},
		// Room for one step up only: the first video gets it.
		{500_000, 1, 0},
		{200_000, 0, 0},
		{10_000, 0, 0}, // the lowest layer is never taken away
	} {
		est.bps.Store(c.bps)
		alloc.allocate()
		if ga, gb := da.TargetLayer(), db.TargetLayer(); ga != c.wa || gb != c.wb {
			t.Errorf("estimate %d: layers %d and %d, want %d and %d", c.bps, ga, gb, c.wa, c.wb)
		}
		// Let the downtracks settle as if the switch happened.
		da.current.Store(da.target.Load())
		db.current.Store(db.target.Load())
	}

	est.bps.Store(3_000_000)
	db.SetMaxSize(320, 180)
	alloc.allocate()
	if got := db.TargetLayer(); got != 1 {
		t.Errorf("with a 320x180 cap: layer %d, want 1 (320x180)", got)
	}
	db.SetMaxLayer(0)
	if got := db.TargetLayer(); got != 0 {
		t.Errorf("with max layer 0: layer %d", got)
	}
}

// A layer that stops sending is left for the nearest one still sending.
func TestDownTrackLeavesStoppedLayer(t *testing.T) {
	r := simulcastReceiver(t, [3]int64{100_000, 300_000, 1_000_000})
	d := boundDownTrack(t, r)
	if got := d.TargetLayer(); got != 2 {
		t.Fatalf("starts on layer %d, want 2", got)
	}
	top := (*r.order.Load())[2]
	top.lastPacket.Store(time.Now().Add(-2 * LayerTimeout).UnixNano())
	d.retarget()
	if got := d.TargetLayer(); got != 1 {
		t.Fatalf("after the top layer stopped: layer %d, want 1", got)
	}
}
