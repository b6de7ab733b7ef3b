package media

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// The first InlineFanout downtracks of a track are written by its read
// loop, the rest through their queues; either way each gets every
// packet, in order.
func TestInlineAndQueuedDownTracks(t *testing.T) {
	r := newTestReceiver(t, vp8Params, ReceiverConfig{})
	f := newFeed(t, r, "")
	type bound struct {
		d *DownTrack
		w *recordingWriter
	}
	var downs []bound
	for range InlineFanout + 3 {
		d := NewDownTrack(r, DownTrackConfig{})
		ctx := newFakeContext(vp8Params, true)
		if _, err := d.Bind(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		downs = append(downs, bound{d, ctx.w})
	}
	for i, b := range downs {
		if b.d.inline != (i < InlineFanout) {
			t.Fatalf("downtrack %d: inline %v", i, b.d.inline)
		}
	}
	const packets = 40
	for i := range packets {
		f.send(t, &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1, SequenceNumber: uint16(100 + i), Timestamp: uint32(i * 3000)},
			Payload: vp8Payload(i == 0, 320, 180)})
	}
	for i, b := range downs {
		waitUntil(t, 5*time.Second, "every packet forwarded", func() bool { return b.d.Stats().Packets == packets })
		sent := b.w.sent()
		for j := 1; j < len(sent); j++ {
			if sent[j].header.SequenceNumber != sent[j-1].header.SequenceNumber+1 {
				t.Fatalf("downtrack %d (inline %v): packet %d has SN %d after %d", i, b.d.inline, j, sent[j].header.SequenceNumber, sent[j-1].header.SequenceNumber)
			}
		}
	}
}

// A downtrack that starts just after a keyframe replays it and the
// packets since from the cache, then goes on live, asking the publisher
// for nothing; one that starts long after the last keyframe asks for a
// new one instead.
func TestStartReplaysRecentKeyframe(t *testing.T) {
	var plis atomic.Int32
	r := newTestReceiver(t, vp8Params, ReceiverConfig{WriteRTCP: func([]rtcp.Packet) error { plis.Add(1); return nil }})
	f := newFeed(t, r, "")
	sn := uint16(500)
	send := func(key bool) {
		f.send(t, &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1, SequenceNumber: sn, Timestamp: uint32(sn) * 3000},
			Payload: vp8Payload(key, 320, 180)})
		sn++
	}
	send(true) // seq 500: the keyframe
	for range 3 {
		send(false) // 501-503
	}
	d := NewDownTrack(r, DownTrackConfig{})
	ctx := newFakeContext(vp8Params, true)
	if _, err := d.Bind(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	send(false) // 504: the first packet the downtrack sees
	waitUntil(t, 5*time.Second, "the replay and the live packet", func() bool { return d.Stats().Packets == 5 })
	sent := ctx.w.sent()
	if len(sent) != 5 || sent[0].payload[1]&0x01 != 0 {
		t.Fatalf("sent %d packets, the first a keyframe: %v", len(sent), len(sent) > 0 && sent[0].payload[1]&0x01 == 0)
	}
	for i := 1; i < len(sent); i++ {
		if sent[i].header.SequenceNumber != sent[i-1].header.SequenceNumber+1 || sent[i].header.Timestamp <= sent[i-1].header.Timestamp {
			t.Fatalf("packet %d: SN %d TS %d after SN %d TS %d", i, sent[i].header.SequenceNumber, sent[i].header.Timestamp,
				sent[i-1].header.SequenceNumber, sent[i-1].header.Timestamp)
		}
	}
	if n := plis.Load(); n != 0 {
		t.Fatalf("%d keyframe requests for a start the cache could serve", n)
	}

	// Past KeyframeRequestInterval the keyframe is too old to replay.
	time.Sleep(KeyframeRequestInterval + 50*time.Millisecond)
	late := NewDownTrack(r, DownTrackConfig{})
	lateCtx := newFakeContext(vp8Params, true)
	if _, err := late.Bind(lateCtx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(late.Close)
	send(false)
	waitUntil(t, 5*time.Second, "a keyframe request", func() bool { return plis.Load() > 0 })
	if n := late.Stats().Packets; n != 0 {
		t.Fatalf("a late downtrack sent %d packets without a keyframe", n)
	}
}
