package media

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/mediatest"
	"parley/sfu/transport"
)

// renegotiate offers pc to client and applies its answer.
func renegotiate(t *testing.T, pc *webrtc.PeerConnection, client *mediatest.Peer) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	offer, err := transport.Offer(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	if err := transport.AcceptAnswer(pc, client.Answer(offer)); err != nil {
		t.Fatal(err)
	}
	return offer
}

// A subscriber that first receives VP8, and in a later negotiation
// H.264, gets both whole: the first video section's answer settled the
// connection's codecs, and it must have settled H.264 too. Unsubscribing
// and subscribing again reuses the idle section.
func TestMixedCodecsOnOneSubscriber(t *testing.T) {
	srv := newTestServer(t)
	spec := func(mime string) mediatest.VideoSpec {
		return mediatest.VideoSpec{MimeType: mime, Width: 160, Height: 90, FPS: 15, Duration: time.Second,
			KeyframeInterval: 500 * time.Millisecond}
	}
	clips := map[string]mediatest.Clip{
		webrtc.MimeTypeVP8:  mediatest.Video(t, spec(webrtc.MimeTypeVP8)),
		webrtc.MimeTypeH264: mediatest.Video(t, spec(webrtc.MimeTypeH264)),
	}
	// Two publishers, one codec each, as two browsers would send.
	var receivers []*Receiver
	for _, c := range []struct {
		mime  string
		codec webrtc.RTPCodecCapability
	}{{webrtc.MimeTypeVP8, webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}}, {webrtc.MimeTypeH264, h264Codec}} {
		pub := mediatest.NewPeer(t, mediatest.ClientConfig{})
		track := mediatest.NewTrack(c.codec, strings.ToLower(strings.TrimPrefix(c.mime, "video/")), "cam", "")
		pub.Publish(track)
		wait := srv.publish(pub, ReceiverConfig{})
		pub.WaitConnected(10 * time.Second)
		t.Cleanup(mediatest.PlayUntil(track, clips[c.mime]))
		receivers = append(receivers, wait(1)[0])
	}
	vp8, h264 := receivers[0], receivers[1]

	pc, _, err := srv.tr.NewSubscriber()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	client := mediatest.NewPeer(t, mediatest.ClientConfig{})
	add := func(r *Receiver) (*webrtc.RTPSender, *mediatest.Received) {
		t.Helper()
		d := NewDownTrack(r, DownTrackConfig{})
		t.Cleanup(d.Close)
		sender, err := AddDownTrack(pc, d)
		if err != nil {
			t.Fatalf("add %s: %v", r.Codec().MimeType, err)
		}
		renegotiate(t, pc, client)
		rec := client.NextTrack(10 * time.Second)
		if !strings.EqualFold(rec.Track.Codec().MimeType, r.Codec().MimeType) {
			t.Fatalf("a %s track arrived as %s", r.Codec().MimeType, rec.Track.Codec().MimeType)
		}
		if !rec.WaitFor(10*time.Second, func(f []mediatest.ReceivedFrame) bool { return hasKeyframe(f) && len(f) >= 10 }) {
			t.Fatalf("%s did not arrive whole: %d frames", r.Codec().MimeType, len(rec.Frames()))
		}
		return sender, rec
	}
	add(vp8)
	h264Sender, _ := add(h264)
	if n := len(pc.GetTransceivers()); n != 2 {
		t.Fatalf("%d transceivers for two tracks", n)
	}

	// Unsubscribe and subscribe again, three times: the section is reused.
	for range 3 {
		if err := pc.RemoveTrack(h264Sender); err != nil {
			t.Fatal(err)
		}
		renegotiate(t, pc, client)
		h264Sender, _ = add(h264)
	}
	offer := renegotiate(t, pc, client)
	if n, sections := len(pc.GetTransceivers()), strings.Count(offer, "\r\nm="); n != 2 || sections != 2 {
		t.Fatalf("after three resubscriptions: %d transceivers, %d media sections; want 2", n, sections)
	}
}
