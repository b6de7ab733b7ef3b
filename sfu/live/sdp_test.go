package live

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"
)

const testOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=ice-ufrag:sess\r\na=ice-pwd:sessionpasswordsessionpw\r\n" +
	"a=fingerprint:sha-256 7A:3D:9C:1E:44:0B:6F:A2:5D:88:19:C3:E0:42:7B:91:0D:6E:A5:33:FC:28:94:1B:7E:C0:5A:66:D2:83:4F:19\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=sendonly\r\na=rtpmap:111 opus/48000/2\r\n" +
	"a=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendonly\r\n" +
	"a=rtpmap:96 H264/90000\r\na=fmtp:96 profile-level-id=42e01f;packetization-mode=1\r\n" +
	"a=rtpmap:97 H264/90000\r\na=fmtp:97 profile-level-id=42e01f;packetization-mode=0\r\n" +
	"a=rid:0 send\r\na=rid:1 send\r\na=rid:2 send max-width=320\r\na=simulcast:send 0;1;2\r\n"

func parse(t *testing.T, raw string) *sdp.SessionDescription {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(raw); err != nil {
		t.Fatal(err)
	}
	return &d
}

func TestShapeOfPublish(t *testing.T) {
	shape, err := shapeOfPublish(parse(t, testOffer))
	if err != nil {
		t.Fatal(err)
	}
	if shape.tracks != 4 || len(shape.kinds) != 2 {
		t.Fatalf("shape %+v, want 4 streams (audio and three layers) of 2 kinds", shape)
	}
	two := testOffer + strings.ReplaceAll(testOffer[strings.Index(testOffer, "m=audio"):strings.Index(testOffer, "m=video")], "a=mid:0", "a=mid:2")
	if _, err := shapeOfPublish(parse(t, two)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("two audio tracks: %v", err)
	}
	recv := strings.ReplaceAll(testOffer, "a=sendonly", "a=recvonly")
	if _, err := shapeOfPublish(parse(t, recv)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an offer that sends nothing: %v", err)
	}
	four := strings.Replace(testOffer, "a=simulcast", "a=rid:3 send\r\na=simulcast", 1)
	if _, err := shapeOfPublish(parse(t, four)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("four layers: %v", err)
	}
}

func TestCheckOfferNamesAcceptedCodecs(t *testing.T) {
	bad := strings.NewReplacer("opus/48000/2", "speex/8000", "H264/90000", "VP7/90000").Replace(testOffer)
	_, err := checkOffer(bad)
	if !errors.Is(err, ErrCodec) || !strings.Contains(err.Error(), "video/H264") || !strings.Contains(err.Error(), "audio/opus") {
		t.Fatalf("err %v", err)
	}
}

func TestPlayerTakes(t *testing.T) {
	d := parse(t, strings.ReplaceAll(testOffer, "a=sendonly", "a=recvonly"))
	h264 := func(mode string) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264,
			SDPFmtpLine: "profile-level-id=640032;packetization-mode=" + mode}}
	}
	vp8 := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}}
	opus := webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}}
	switch {
	case !playerTakes(d, webrtc.RTPCodecTypeVideo, h264("1")), !playerTakes(d, webrtc.RTPCodecTypeVideo, h264("0")):
		t.Fatal("the player takes H.264 in both modes")
	case playerTakes(d, webrtc.RTPCodecTypeVideo, vp8):
		t.Fatal("the player offered no VP8")
	case !playerTakes(d, webrtc.RTPCodecTypeAudio, opus), playerTakes(d, webrtc.RTPCodecTypeVideo, opus):
		t.Fatal("Opus is audio")
	case playerTakes(parse(t, testOffer), webrtc.RTPCodecTypeAudio, opus):
		t.Fatal("a sendonly section receives nothing")
	}
}

func TestWithICE(t *testing.T) {
	out, err := withICE(testOffer, "newu", "newpasswordnewpassword")
	if err != nil {
		t.Fatal(err)
	}
	p, cands, err := iceOf(out)
	if err != nil {
		t.Fatal(err)
	}
	if p.Ufrag != "newu" || p.Pwd != "newpasswordnewpassword" || len(cands) != 0 || p.Media != "audio" || p.MID != "0" {
		t.Fatalf("rewritten ICE %+v, candidates %v", p, cands)
	}
	if strings.Contains(out, "sess") {
		t.Fatalf("old credentials remain:\n%s", out)
	}
	if _, err := withICE(testOffer, "bad ufrag", "x"); !errors.Is(err, ErrICE) {
		t.Fatalf("credentials with a space: %v", err)
	}
}
