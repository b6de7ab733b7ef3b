package whip_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/live"
	"parley/sfu/mediatest"
)

// preferOnly restricts the peer's transceiver of sender (or, with a nil
// sender, its only transceiver) to one codec, so its offer names no
// other.
func preferOnly(t *testing.T, p *mediatest.Peer, sender *webrtc.RTPSender, mime string, pt webrtc.PayloadType) {
	t.Helper()
	for _, tr := range p.PC.GetTransceivers() {
		if sender != nil && tr.Sender() != sender {
			continue
		}
		err := tr.SetCodecPreferences([]webrtc.RTPCodecParameters{
			{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000}, PayloadType: pt},
		})
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("no transceiver to restrict")
}

// TestAV1PassThrough publishes real AV1 (as OBS 30.1+ may) from a
// client that offers AV1 only, and checks that a player that takes AV1
// gets its frames, keyframes included, while one that does not is
// refused with 422 naming the codec.
func TestAV1PassThrough(t *testing.T) {
	clip := mediatest.AV1Video(t, mediatest.VideoSpec{Width: 320, Height: 180, Duration: 2 * time.Second})
	e := newEnv(t, envOptions{})
	l, key := e.newLive(live.Scope{})

	pub := mediatest.NewPeer(t, mediatest.ClientConfig{})
	track := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeAV1}, "camera", "host", "")
	preferOnly(t, pub, pub.Publish(track), webrtc.MimeTypeAV1, 45)
	offer := pub.Offer()
	if !strings.Contains(offer, "AV1/90000") || strings.Contains(offer, "VP8/90000") || strings.Contains(offer, "H264/90000") {
		t.Fatalf("the publisher does not offer AV1 alone:\n%s", offer)
	}
	resp := e.do("POST", "/whip", offer, "Content-Type", sdpType, "Authorization", "Bearer "+key)
	pub.Accept(wantStatus(t, resp, http.StatusCreated))
	pub.WaitConnected(10 * time.Second)
	stop := mediatest.PlayUntil(track, clip)
	defer stop()
	waitFor(t, 10*time.Second, "the AV1 live to go on air", func() bool {
		bc := e.bc.Broadcast(l.ID)
		return bc != nil && bc.OnAir()
	})
	if got := e.bc.Broadcast(l.ID).Tracks()[0].Codec.MimeType; !strings.EqualFold(got, webrtc.MimeTypeAV1) {
		t.Fatalf("the live's video is %s, want AV1", got)
	}

	// A player whose offer takes AV1 gets it.
	p := mediatest.NewPeer(t, mediatest.ClientConfig{})
	if _, err := p.PC.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	resp = e.do("POST", "/whep/"+l.ID, p.Offer(), "Content-Type", sdpType, "Authorization", "Bearer "+e.token("bob"))
	p.Accept(wantStatus(t, resp, http.StatusCreated))
	r := p.NextTrack(10 * time.Second)
	if !strings.EqualFold(r.Track.Codec().MimeType, webrtc.MimeTypeAV1) {
		t.Fatalf("the player got %s, want AV1", r.Track.Codec().MimeType)
	}
	ok := r.WaitFor(15*time.Second, func(frames []mediatest.ReceivedFrame) bool {
		keys := 0
		for _, f := range frames {
			if f.Keyframe {
				keys++
			}
		}
		return keys >= 1 && len(frames) >= 30
	})
	if !ok {
		t.Fatalf("the player assembled %d AV1 frames, want 30 with a keyframe", len(r.Frames()))
	}
	marked := 0
	for _, pkt := range r.Packets() {
		if pkt.Marker {
			marked++
		}
	}
	if marked < 30 {
		t.Fatalf("%d packets ended a frame (marker bit), want at least 30", marked)
	}

	// A player that receives video but not in AV1 is refused, not left
	// without a picture.
	vp8 := mediatest.NewPeer(t, mediatest.ClientConfig{})
	if _, err := vp8.PC.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	preferOnly(t, vp8, nil, webrtc.MimeTypeVP8, 96)
	body := wantStatus(t, e.do("POST", "/whep/"+l.ID, vp8.Offer(), "Content-Type", sdpType, "Authorization", "Bearer "+e.token("carol")),
		http.StatusUnprocessableEntity)
	if code, msg := errorCode(t, body); code != "unsupported_codec" || !strings.Contains(msg, "video/AV1") {
		t.Fatalf("422 body %s", body)
	}
	if n := e.bc.Broadcast(l.ID).Viewers(); n != 1 {
		t.Fatalf("%d viewers, want 1 (the refused player is not one)", n)
	}
}

// TestHEVCOfferAccepted checks, at the signaling level only, that HEVC
// offers as OBS 30.2+ and Chrome shape them get 201 with H.265 in the
// answer. No media flows: Pion v3 has no H.265 payloader to send it
// with.
func TestHEVCOfferAccepted(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, key := e.newLive(live.Scope{})
	h264Fmtp := "a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1\r\n"
	for name, fmtp := range map[string]string{
		// libdatachannel's addH265Codec, which OBS calls, writes no fmtp.
		"OBS, no fmtp": "",
		"Chrome":       "a=fmtp:96 level-id=180;profile-id=1;tier-flag=0;tx-mode=SRST\r\n",
		"Main 10":      "a=fmtp:96 level-id=93;profile-id=2;tier-flag=0;tx-mode=SRST\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			offer := strings.NewReplacer("H264/90000", "H265/90000", h264Fmtp, fmtp).Replace(obsOffer)
			if !strings.Contains(offer, "H265/90000") || strings.Contains(offer, "H264") {
				t.Fatalf("not an HEVC offer:\n%s", offer)
			}
			resp := e.do("POST", "/whip", offer, "Content-Type", sdpType, "Authorization", "Bearer "+key)
			answer := wantStatus(t, resp, http.StatusCreated)
			if !strings.Contains(answer, "a=rtpmap:96 H265/90000") || resp.Header.Get("Location") == "" {
				t.Fatalf("answer without H.265 on the offer's payload type:\n%s", answer)
			}
		})
	}
}
