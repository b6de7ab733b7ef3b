package media

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"

	"parley/sfu/mediatest"
)

// vp8Clips returns a warm-up clip and a main clip that differ in size, so
// a subscriber can tell their frames apart.
func vp8Clips(t *testing.T) (warm, main mediatest.Clip) {
	warm = mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeVP8, Width: 160, Height: 90,
		Duration: time.Second, KeyframeInterval: 500 * time.Millisecond})
	main = mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeVP8, Width: 320, Height: 180, Duration: 2 * time.Second})
	return warm, main
}

// TestLossIsRecoveredThroughNACK loses packets on both legs. The
// publisher's link loses every 13th packet once: the server NACKs the
// publisher, which resends. The subscriber's link loses every 7th
// packet once: the subscriber NACKs the server, which resends from its
// cache. Every frame of the clip must still arrive whole.
func TestLossIsRecoveredThroughNACK(t *testing.T) {
	srv := newTestServer(t)
	warm, main := vp8Clips(t)

	pubLoss := mediatest.NewDropOnce(13)
	pub := mediatest.NewPeer(t, mediatest.ClientConfig{
		Interceptors: []interceptor.Factory{&mediatest.Dropper{Out: pubLoss.Rule}},
	})
	track := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "pub", "")
	pub.Publish(track)
	waitReceivers := srv.publish(pub, ReceiverConfig{})
	pub.WaitConnected(10 * time.Second)
	stop := mediatest.PlayUntil(track, warm)
	r := waitReceivers(1)[0]

	subLoss := mediatest.NewDropOnce(7)
	sub := srv.subscribe(mediatest.ClientConfig{
		Interceptors: []interceptor.Factory{&mediatest.Dropper{In: subLoss.Rule}},
	}, r)
	rec := sub.tracks["cam"]
	if !rec.WaitFor(10*time.Second, hasKeyframe) {
		t.Fatal("subscriber never got a keyframe")
	}
	stop()
	nacksBefore := pub.RTCP().NACK
	pubLoss.Enable(true)
	subLoss.Enable(true)
	playOnce(t, map[*mediatest.Track]mediatest.Clip{track: main})
	// A loss is noticed when a later packet arrives; keep the stream
	// going, losing nothing more, so the clip's last packets have later
	// ones too.
	pubLoss.Enable(false)
	subLoss.Enable(false)
	stopTail := mediatest.PlayUntil(track, warm)
	defer stopTail()
	checkWholeClip(t, "subscriber", rec, main)

	if pubLoss.Count() == 0 || subLoss.Count() == 0 {
		t.Fatalf("losses: publisher link %d, subscriber link %d; want both", pubLoss.Count(), subLoss.Count())
	}
	if got := pub.RTCP().NACK - nacksBefore; got == 0 {
		t.Errorf("publisher lost %d packets but got no NACK", pubLoss.Count())
	}
	waitUntil(t, 5*time.Second, "every loss on the subscriber link to be resent", func() bool {
		return sub.downTracks[0].Stats().Retransmits >= uint64(subLoss.Count())
	})
	st := sub.downTracks[0].Stats()
	t.Logf("lost %d to the server and %d to the subscriber; stats %+v", pubLoss.Count(), subLoss.Count(), st)
}

// TestKeyframeRequestsAreThrottled has a subscriber send a PLI every
// 10 ms. The publisher must see at most one per KeyframeRequestInterval
// (counted over the whole run, with a little slack for the edges).
func TestKeyframeRequestsAreThrottled(t *testing.T) {
	srv := newTestServer(t)
	warm, _ := vp8Clips(t)
	start := time.Now()
	pub, r := srv.publishCamera(mediatest.ClientConfig{}, ReceiverConfig{MaxBitrate: 2_000_000},
		func(tr *mediatest.Track) func() { return mediatest.PlayUntil(tr, warm) })
	sub := srv.subscribe(mediatest.ClientConfig{}, r)
	rec := sub.tracks["cam"]
	if !rec.WaitFor(10*time.Second, hasKeyframe) {
		t.Fatal("subscriber never got a keyframe")
	}
	sent := 0
	for range 150 {
		pli := &rtcp.PictureLossIndication{MediaSSRC: uint32(rec.Track.SSRC())}
		if err := sub.client.PC.WriteRTCP([]rtcp.Packet{pli}); err != nil {
			t.Fatal(err)
		}
		sent++
		time.Sleep(10 * time.Millisecond)
	}
	waitUntil(t, 5*time.Second, "PLIs to be forwarded", func() bool { return pub.RTCP().PLI > 0 })
	time.Sleep(100 * time.Millisecond)
	elapsed := time.Since(start)
	got := pub.RTCP().PLI
	limit := int(elapsed/KeyframeRequestInterval) + 2
	if got > limit {
		t.Errorf("publisher got %d PLIs in %v (subscriber sent %d); want at most %d", got, elapsed.Round(time.Millisecond), sent, limit)
	}
	if uint64(got) > r.KeyframeRequests() {
		t.Errorf("publisher got %d PLIs but the receiver sent %d", got, r.KeyframeRequests())
	}
	// The bitrate cap travels to the publisher as REMB.
	if c := pub.RTCP(); c.REMB == 0 || c.REMBBitrate != 2_000_000 {
		t.Errorf("REMB: %d received, last %v bit/s; want 2000000", c.REMB, c.REMBBitrate)
	}
	t.Logf("%d PLIs sent, %d reached the publisher in %v", sent, got, elapsed.Round(time.Millisecond))
}

// TestMuteStopsForwardingAtOnce mutes a downtrack: no packet newer than
// the last one forwarded before Mute returned may reach the subscriber.
// Unmuting resumes on a keyframe with the next sequence number.
func TestMuteStopsForwardingAtOnce(t *testing.T) {
	srv := newTestServer(t)
	warm, _ := vp8Clips(t)
	_, r := srv.publishCamera(mediatest.ClientConfig{}, ReceiverConfig{},
		func(tr *mediatest.Track) func() { return mediatest.PlayUntil(tr, warm) })
	sub := srv.subscribe(mediatest.ClientConfig{}, r)
	rec := sub.tracks["cam"]
	dt := sub.downTracks[0]
	if !rec.WaitFor(10*time.Second, hasKeyframe) {
		t.Fatal("subscriber never got a keyframe")
	}

	dt.Mute(true)
	muted := dt.Stats()
	// Whatever was in flight lands; nothing new is sent.
	settled := len(rec.Packets())
	for range 10 {
		time.Sleep(50 * time.Millisecond)
		if dt.Stats().Packets != muted.Packets {
			t.Fatalf("forwarded %d packets after Mute returned", dt.Stats().Packets-muted.Packets)
		}
	}
	for _, p := range rec.Packets() {
		if seqBefore(muted.LastSequenceNumber, p.SequenceNumber) {
			t.Fatalf("packet %d arrived after mute; the last forwarded was %d", p.SequenceNumber, muted.LastSequenceNumber)
		}
	}
	if len(rec.Packets()) == settled && settled == 0 {
		t.Fatal("no packets at all")
	}

	// The first frame after the last one sent before the mute must be a
	// keyframe, and its first packet must follow on without a gap.
	var lastTS uint32
	for _, p := range rec.Packets() {
		if p.SequenceNumber == muted.LastSequenceNumber {
			lastTS = p.Timestamp
		}
	}
	dt.Mute(false)
	after := func(f []mediatest.ReceivedFrame) []mediatest.ReceivedFrame {
		for i := range f {
			if int32(f[i].Timestamp-lastTS) > 0 {
				return f[i:]
			}
		}
		return nil
	}
	if !rec.WaitFor(5*time.Second, func(f []mediatest.ReceivedFrame) bool { return len(after(f)) > 2 }) {
		t.Fatal("no frames after unmute")
	}
	if f := after(rec.Frames())[0]; !f.Keyframe {
		t.Error("first frame after unmute is not a keyframe")
	}
	var next *mediatest.Packet
	for _, p := range rec.Packets() {
		if seqBefore(muted.LastSequenceNumber, p.SequenceNumber) {
			next = &p
			break
		}
	}
	if next == nil || next.SequenceNumber != muted.LastSequenceNumber+1 {
		t.Errorf("after unmute the stream went on at %v, want %d", next, muted.LastSequenceNumber+1)
	}
}

// TestNewSubscriberStartsOnKeyframe joins subscribers to a stream whose
// own keyframes are 6 s apart, from a publisher that answers keyframe
// requests, with the server offering (a meeting) and answering (a WHEP
// player). The test clients never ask for keyframes themselves. Each
// subscriber's stream must open with a keyframe: Pion
// drops what a downtrack writes before the subscriber's SRTP keys
// exist, so a downtrack that started before then would lose its opening
// keyframe and send delta frames no decoder can show.
func TestNewSubscriberStartsOnKeyframe(t *testing.T) {
	srv := newTestServer(t)
	clip := mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeVP8, Width: 160, Height: 90,
		Duration: 6 * time.Second, KeyframeInterval: 6 * time.Second})
	if clip.Keyframes() != 1 {
		t.Fatalf("clip has %d keyframes, want 1", clip.Keyframes())
	}
	_, r := srv.publishCamera(mediatest.ClientConfig{}, ReceiverConfig{},
		func(tr *mediatest.Track) func() { return mediatest.PlayLive(tr, clip) })
	for i, clientOffers := range []bool{false, true, false, true} {
		sub := srv.subscribeWith(subscribeConfig{ClientOffers: clientOffers}, r)
		rec := sub.tracks["cam"]
		if !rec.WaitFor(5*time.Second, func(f []mediatest.ReceivedFrame) bool { return len(f) > 0 }) {
			t.Fatalf("subscriber %d (client offers: %v) got no frame", i, clientOffers)
		}
		if f := rec.Frames()[0]; !f.Keyframe {
			t.Fatalf("subscriber %d (client offers: %v): the first frame is a delta frame (%d packets forwarded, %d arrived)",
				i, clientOffers, sub.downTracks[0].Stats().Packets, len(rec.Packets()))
		}
	}
}
