package media

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

type fwdStep struct {
	slot     int
	ssrc     uint32
	sn       uint16
	ts       uint32
	key      bool
	target   int
	want     verdict
	wantSN   uint16
	wantTS   uint32
	afterDur time.Duration // wall time since the previous step
}

func runForwarder(t *testing.T, f *forwarder, steps []fwdStep) {
	t.Helper()
	now := time.Unix(1000, 0)
	for i, s := range steps {
		now = now.Add(s.afterDur)
		h := &rtp.Header{SSRC: s.ssrc, SequenceNumber: s.sn, Timestamp: s.ts}
		sn, ts, v := f.forward(s.slot, s.target, h, s.key, now)
		if v != s.want {
			t.Fatalf("step %d: verdict %d, want %d", i, v, s.want)
		}
		if v == verdictSend && (sn != s.wantSN || ts != s.wantTS) {
			t.Fatalf("step %d: sent as sn %d ts %d, want sn %d ts %d", i, sn, ts, s.wantSN, s.wantTS)
		}
	}
}

// A switch between layers waits for a keyframe on the new layer and goes
// on one sequence number later, with the timestamp advanced by the time
// that passed; late packets of the old layer are dropped.
func TestForwarderSwitchesLayersOnKeyframe(t *testing.T) {
	f := newForwarder(true, 90000)
	runForwarder(t, &f, []fwdStep{
		{slot: 0, ssrc: 1, sn: 100, ts: 5000, key: false, target: 0, want: verdictNeedKeyframe},
		{slot: 0, ssrc: 1, sn: 101, ts: 8000, key: true, target: 0, want: verdictSend, wantSN: 101, wantTS: 8000},
		{slot: 0, ssrc: 1, sn: 102, ts: 8000, target: 0, want: verdictSend, wantSN: 102, wantTS: 8000},
		{slot: 1, ssrc: 2, sn: 7000, ts: 900, target: 0, want: verdictDrop},
		// Target moves to slot 1: its delta frames wait, slot 0 goes on.
		{slot: 1, ssrc: 2, sn: 7001, ts: 900, target: 1, want: verdictNeedKeyframe},
		{slot: 0, ssrc: 1, sn: 103, ts: 11000, target: 1, want: verdictSend, wantSN: 103, wantTS: 11000, afterDur: 33 * time.Millisecond},
		// The keyframe arrives 100 ms after the last packet sent.
		{slot: 1, ssrc: 2, sn: 7002, ts: 4000, key: true, target: 1, want: verdictSend, wantSN: 104, wantTS: 11000 + 9000, afterDur: 100 * time.Millisecond},
		{slot: 1, ssrc: 2, sn: 7003, ts: 4000, target: 1, want: verdictSend, wantSN: 105, wantTS: 20000},
		{slot: 0, ssrc: 1, sn: 104, ts: 14000, target: 1, want: verdictDrop},
		// A reordered packet of the new layer keeps its place.
		{slot: 1, ssrc: 2, sn: 7005, ts: 7000, target: 1, want: verdictSend, wantSN: 107, wantTS: 23000},
		{slot: 1, ssrc: 2, sn: 7004, ts: 7000, target: 1, want: verdictSend, wantSN: 106, wantTS: 23000},
		// A packet from before the switch point is not forwarded.
		{slot: 1, ssrc: 2, sn: 6999, ts: 1, target: 1, want: verdictDrop},
	})
}

// A publisher that restarts a layer with a new SSRC (and new random
// numbers) is followed without a break.
func TestForwarderFollowsSSRCChange(t *testing.T) {
	f := newForwarder(false, 48000)
	runForwarder(t, &f, []fwdStep{
		{slot: 0, ssrc: 1, sn: 65534, ts: 100, target: 0, want: verdictSend, wantSN: 65534, wantTS: 100},
		{slot: 0, ssrc: 1, sn: 65535, ts: 1060, target: 0, want: verdictSend, wantSN: 65535, wantTS: 1060, afterDur: 20 * time.Millisecond},
		{slot: 0, ssrc: 9, sn: 42, ts: 777777, target: 0, want: verdictSend, wantSN: 0, wantTS: 1060 + 960, afterDur: 20 * time.Millisecond},
		{slot: 0, ssrc: 9, sn: 43, ts: 777777 + 960, target: 0, want: verdictSend, wantSN: 1, wantTS: 1060 + 1920, afterDur: 20 * time.Millisecond},
	})
	// (Stray packets of the old SSRC never get here: the receiver drops
	// what the replaced track still delivers.)
}

// Pausing and resuming (mute) restarts on a keyframe and keeps the
// sequence numbers continuous.
func TestForwarderPauseResume(t *testing.T) {
	f := newForwarder(true, 90000)
	runForwarder(t, &f, []fwdStep{
		{slot: 0, ssrc: 1, sn: 10, ts: 0, key: true, target: 0, want: verdictSend, wantSN: 10, wantTS: 0},
		{slot: 0, ssrc: 1, sn: 11, ts: 3000, target: -1, want: verdictDrop},
		{slot: 0, ssrc: 1, sn: 12, ts: 6000, target: 0, want: verdictNeedKeyframe},
		{slot: 0, ssrc: 1, sn: 13, ts: 9000, key: true, target: 0, want: verdictSend, wantSN: 11, wantTS: 9000, afterDur: 100 * time.Millisecond},
		{slot: 0, ssrc: 1, sn: 14, ts: 12000, target: 0, want: verdictSend, wantSN: 12, wantTS: 12000},
	})
}

func TestSeqBefore(t *testing.T) {
	for _, c := range []struct {
		a, b uint16
		want bool
	}{{1, 2, true}, {2, 1, false}, {65535, 0, true}, {0, 65535, false}, {5, 5, false}} {
		if got := seqBefore(c.a, c.b); got != c.want {
			t.Errorf("seqBefore(%d, %d) = %v", c.a, c.b, got)
		}
	}
}

func TestPacketCache(t *testing.T) {
	c := newPacketCache(8)
	buf := make([]byte, MaxPacketSize)
	if !c.put(65535, []byte{1, 2, 3}) || !c.put(0, []byte{4}) {
		t.Fatal("put refused a new packet")
	}
	if c.put(0, []byte{4}) {
		t.Fatal("a duplicate was stored again")
	}
	if n, ok := c.get(65535, buf); !ok || n != 3 || buf[2] != 3 {
		t.Fatalf("get(65535) = %d, %v", n, ok)
	}
	c.put(7, []byte{9}) // 65535 and 7 share slot 7
	if _, ok := c.get(65535, buf); ok {
		t.Fatal("an overwritten packet was returned")
	}
	if _, ok := c.get(1, buf); ok {
		t.Fatal("a packet never stored was returned")
	}
	if c.put(3, make([]byte, MaxPacketSize+1)) {
		t.Fatal("an oversized packet was stored")
	}
}

// A long epoch wraps its sequence numbers without dropping anything.
func TestForwarderLongEpoch(t *testing.T) {
	f := newForwarder(true, 90000)
	now := time.Unix(1000, 0)
	for i := range 140000 {
		h := &rtp.Header{SSRC: 1, SequenceNumber: uint16(i), Timestamp: uint32(i * 3000)}
		sn, _, v := f.forward(0, 0, h, i == 0, now)
		if v != verdictSend || sn != uint16(i) {
			t.Fatalf("packet %d: verdict %d sn %d", i, v, sn)
		}
	}
	// Something far older than the newest is not forwarded.
	old := 140000 - 10000
	h := &rtp.Header{SSRC: 1, SequenceNumber: uint16(old)}
	if _, _, v := f.forward(0, 0, h, false, now); v != verdictDrop {
		t.Fatalf("a packet 10000 behind: verdict %d", v)
	}
}
