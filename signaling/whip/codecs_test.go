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
// gets its frames, starting on a keyframe, while one that does not is
// refused with 422 naming the codec.
func TestAV1PassThrough(t *testing.T) {
	clip := mediatest.AV1Video(t, mediatest.VideoSpec{Width: 320, Height: 180, Duration: 2 * time.Second})
	e, liveID := passThrough(t, clip, 45)

	// A player that receives video but not in AV1 is refused, not left
	// without a picture.
	vp8 := mediatest.NewPeer(t, mediatest.ClientConfig{})
	if _, err := vp8.PC.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	preferOnly(t, vp8, nil, webrtc.MimeTypeVP8, 96)
	body := wantStatus(t, e.do("POST", "/whep/"+liveID, vp8.Offer(), "Content-Type", sdpType, "Authorization", "Bearer "+e.token("carol")),
		http.StatusUnprocessableEntity)
	if code, msg := errorCode(t, body); code != "unsupported_codec" || !strings.Contains(msg, "video/AV1") {
		t.Fatalf("422 body %s", body)
	}
	if n := e.bc.Broadcast(liveID).Viewers(); n != 1 {
		t.Fatalf("%d viewers, want 1 (the refused player is not one)", n)
	}
}

// TestHEVCPassThrough publishes real H.265 (libx265, as OBS 30.2+ and
// Chrome send it) and checks that a player that takes H.265 gets whole
// frames, starting on a keyframe.
func TestHEVCPassThrough(t *testing.T) {
	clip := mediatest.HEVCVideo(t, mediatest.VideoSpec{Width: 320, Height: 180, Duration: 2 * time.Second})
	passThrough(t, clip, 49)
}

// passThrough publishes clip from a client that offers its codec alone,
// on payload type pt, and plays it with one WHEP player that takes it.
// The player must get the codec, start on a keyframe (the SFU knows where
// this codec's keyframes start) and assemble 30 frames.
func passThrough(t *testing.T, clip mediatest.Clip, pt webrtc.PayloadType) (*env, string) {
	t.Helper()
	e := newEnv(t, envOptions{})
	l, key := e.newLive(live.Scope{})
	codec := strings.TrimPrefix(clip.MimeType, "video/")

	pub := mediatest.NewPeer(t, mediatest.ClientConfig{})
	track := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: clip.MimeType}, "camera", "host", "")
	preferOnly(t, pub, pub.Publish(track), clip.MimeType, pt)
	offer := pub.Offer()
	if !strings.Contains(offer, codec+"/90000") || strings.Contains(offer, "VP8/90000") || strings.Contains(offer, "H264/90000") {
		t.Fatalf("the publisher does not offer %s alone:\n%s", codec, offer)
	}
	resp := e.do("POST", "/whip", offer, "Content-Type", sdpType, "Authorization", "Bearer "+key)
	pub.Accept(wantStatus(t, resp, http.StatusCreated))
	pub.WaitConnected(10 * time.Second)
	stop := mediatest.PlayUntil(track, clip)
	t.Cleanup(stop)
	waitFor(t, 10*time.Second, "the live to go on air", func() bool {
		bc := e.bc.Broadcast(l.ID)
		return bc != nil && bc.OnAir()
	})
	if got := e.bc.Broadcast(l.ID).Tracks()[0].Codec.MimeType; !strings.EqualFold(got, clip.MimeType) {
		t.Fatalf("the live's video is %s, want %s", got, clip.MimeType)
	}
	// Let the stream get past its first keyframe, so the player joins
	// mid-GOP as a late viewer does.
	time.Sleep(300 * time.Millisecond)

	p := mediatest.NewPeer(t, mediatest.ClientConfig{})
	if _, err := p.PC.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	resp = e.do("POST", "/whep/"+l.ID, p.Offer(), "Content-Type", sdpType, "Authorization", "Bearer "+e.token("bob"))
	p.Accept(wantStatus(t, resp, http.StatusCreated))
	r := p.NextTrack(10 * time.Second)
	if !strings.EqualFold(r.Track.Codec().MimeType, clip.MimeType) {
		t.Fatalf("the player got %s, want %s", r.Track.Codec().MimeType, clip.MimeType)
	}
	if !r.WaitFor(15*time.Second, func(frames []mediatest.ReceivedFrame) bool { return len(frames) >= 30 }) {
		t.Fatalf("the player assembled %d %s frames, want 30", len(r.Frames()), codec)
	}
	if frames := r.Frames(); !frames[0].Keyframe {
		t.Fatalf("the player's first %s frame is not a keyframe", codec)
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
	return e, l.ID
}

// TestHEVCOfferAccepted checks, at the signaling level, that HEVC offers
// as OBS 30.2+ and Chrome shape them get 201 with H.265 in the answer.
// TestHEVCPassThrough sends the media.
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
