package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/mediatest"
)

func newTransport(t *testing.T, cfg Config) *Transport {
	t.Helper()
	cfg.LoopbackOnly = true
	tr, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{MediaPort: 70000}, "not a port number"},
		{Config{PublicIP: "example.com"}, "not an IP address"},
		{Config{InitialBitrate: 50_000}, "bitrates must rise"},
		{Config{MaxBitrate: 1_000_000}, "bitrates must rise"},
		{Config{SocketBuffer: -1}, "socket buffer"},
	} {
		if _, err := New(c.cfg, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("New(%+v) = %v, want %q", c.cfg, err, c.want)
		}
	}
	tr := newTransport(t, Config{})
	if _, err := New(Config{MediaPort: tr.Port(), LoopbackOnly: true}, nil); err == nil {
		t.Error("a second transport took a port already in use")
	}
}

// The media socket gets the buffers asked for: as root (CI) past
// net.core.rmem_max through SO_RCVBUFFORCE; otherwise up to that cap.
func TestSocketBuffer(t *testing.T) {
	const asked = 6 << 20
	tr := newTransport(t, Config{SocketBuffer: asked})
	got := tr.SocketBuffer()
	if os.Geteuid() == 0 && got < asked {
		t.Fatalf("as root the media socket got a %d-byte receive buffer, asked %d", got, asked)
	}
	if got <= 0 || got > 2*asked {
		t.Fatalf("media socket receive buffer %d bytes, asked %d", got, asked)
	}
	if def := newTransport(t, Config{}).SocketBuffer(); os.Geteuid() == 0 && def < DefaultSocketBuffer {
		t.Fatalf("default buffer %d, want %d", def, DefaultSocketBuffer)
	}
}

// Every peer connection, publisher or subscriber, gathers one candidate:
// the shared media port, announced under the public IP when one is set.
func TestOnePortAndPublicIP(t *testing.T) {
	tr := newTransport(t, Config{PublicIP: "203.0.113.7"})
	want := fmt.Sprintf("203.0.113.7 %d typ host", tr.Port())
	for i := range 3 {
		var pc *webrtc.PeerConnection
		var err error
		if i < 2 {
			pc, err = tr.NewPublisher()
		} else {
			pc, _, err = tr.NewSubscriber()
		}
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
		sdp, err := Offer(ctx(t), pc)
		if err != nil {
			t.Fatal(err)
		}
		// (Pion lists the candidate again for RTCP component 2.)
		for _, line := range strings.Split(sdp, "\r\n") {
			if strings.HasPrefix(line, "a=candidate:") && !strings.Contains(line, want) {
				t.Fatalf("connection %d: candidate %q, want only %q", i, line, want)
			}
		}
		if !strings.Contains(sdp, want) {
			t.Fatalf("connection %d: no candidate %q", i, want)
		}
	}
}

// Two clients publish through the one port at the same time, each with
// an OBS-like offer of a single H.264 profile, and the answer keeps it.
func TestPeersShareThePort(t *testing.T) {
	tr := newTransport(t, Config{})
	for _, profile := range []string{"42e01f", "64001f"} {
		client := mediatest.NewPeer(t, mediatest.ClientConfig{})
		codec := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + profile}
		client.Publish(mediatest.NewTrack(codec, "v", "s", ""))
		pc, err := tr.NewPublisher()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		offer := onlyCodec(client.Offer(), profile)
		answer, err := Answer(ctx(t), pc, offer)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(answer, "profile-level-id="+profile) {
			t.Fatalf("answer lost H.264 %s:\n%s", profile, answer)
		}
		if err := client.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
			t.Fatal(err)
		}
		client.WaitConnected(10 * time.Second)
	}
}

// onlyCodec strips every video payload type but the H.264 one with
// profile from an offer, as a single-codec encoder would send it.
func onlyCodec(sdp, profile string) string {
	var keep string
	for _, line := range strings.Split(sdp, "\r\n") {
		if strings.HasPrefix(line, "a=fmtp:") && strings.Contains(line, "packetization-mode=1;profile-level-id="+profile) {
			keep = strings.TrimPrefix(strings.Fields(line)[0], "a=fmtp:")
		}
	}
	var out []string
	for _, line := range strings.Split(sdp, "\r\n") {
		switch {
		case strings.HasPrefix(line, "m=video "):
			f := strings.Fields(line)
			line = strings.Join(append(f[:3], keep), " ")
		case strings.HasPrefix(line, "a=rtpmap:"), strings.HasPrefix(line, "a=fmtp:"), strings.HasPrefix(line, "a=rtcp-fb:"):
			pt := strings.Fields(strings.SplitN(line, ":", 2)[1])[0]
			if pt != keep {
				continue
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\r\n")
}

const goodOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n" +
	"a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n" +
	"a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n"

func TestCheckSDP(t *testing.T) {
	if _, err := CheckSDP(goodOffer); err != nil {
		t.Fatalf("good offer: %v", err)
	}
	for _, c := range []struct {
		name string
		sdp  string
		want error
	}{
		{"garbage", "hello", ErrMalformedSDP},
		{"empty", "", ErrMalformedSDP},
		{"no media", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n", ErrMalformedSDP},
		{"too large", goodOffer + strings.Repeat("a=x:y\r\n", MaxSDPSize/7), ErrSDPTooLarge},
		{"data channel", strings.Replace(goodOffer, "m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", 1), ErrDataChannel},
		{"H.266 only", strings.NewReplacer("m=audio", "m=video", "opus/48000/2", "H266/90000").Replace(goodOffer), ErrUnsupportedCodec},
		{"no rtpmap", strings.Replace(goodOffer, "a=rtpmap:111 opus/48000/2\r\n", "", 1), ErrMalformedSDP},
		{"no ICE password", strings.Replace(goodOffer, "a=ice-pwd:abcdefghijklmnopqrstuvwx\r\n", "", 1), ErrMalformedSDP},
		{"no fingerprint", strings.Replace(goodOffer, "a=fingerprint:", "a=x-fingerprint:", 1), ErrMalformedSDP},
		{"too many sections", goodOffer + strings.Repeat("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n", MaxMediaSections), ErrSDPTooLarge},
		{"no mid", strings.Replace(goodOffer, "a=mid:0\r\n", "", 1), ErrMalformedSDP},
		{"conflicting ICE username", goodOffer + "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=ice-ufrag:wxyz\r\na=rtpmap:111 opus/48000/2\r\n", ErrMalformedSDP},
		{"fingerprint without hash", strings.Replace(goodOffer, "a=fingerprint:sha-256 ", "a=fingerprint:", 1), ErrMalformedSDP},
		{"unparsable candidate", goodOffer + "a=candidate:1 1 udp notanumber 127.0.0.1 9 typ host\r\n", ErrMalformedSDP},
	} {
		_, err := CheckSDP(c.sdp)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// A candidate of a kind Pion does not know is ignored, not refused.
	if _, err := CheckSDP(goodOffer + "a=candidate:1 1 udp 1 127.0.0.1 9 typ future\r\n"); err != nil {
		t.Errorf("unknown candidate type: %v", err)
	}
	// A rejected section (port 0) may offer anything.
	rejected := strings.NewReplacer("m=audio 9", "m=video 0", "opus/48000/2", "H266/90000").Replace(goodOffer)
	if _, err := CheckSDP(rejected); err != nil {
		t.Errorf("rejected section: %v", err)
	}
}

// A bad offer gets a clear error and leaves the connection usable.
func TestAnswerRefusesBadOfferAndRecovers(t *testing.T) {
	tr := newTransport(t, Config{})
	pc, err := tr.NewPublisher()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	h266 := strings.NewReplacer("m=audio", "m=video", "opus/48000/2", "H266/90000").Replace(goodOffer)
	if _, err := Answer(ctx(t), pc, h266); !errors.Is(err, ErrUnsupportedCodec) || !strings.Contains(err.Error(), "video/H266") {
		t.Fatalf("H.266 offer: %v", err)
	}
	noICE := strings.Replace(goodOffer, "a=ice-ufrag:abcd\r\n", "", 1)
	if _, err := Answer(ctx(t), pc, noICE); !errors.Is(err, ErrMalformedSDP) || !strings.Contains(err.Error(), "ice-ufrag") {
		t.Fatalf("offer without ICE: %v", err)
	}
	if _, err := Answer(ctx(t), pc, "v=0\r\ngarbage"); !errors.Is(err, ErrMalformedSDP) {
		t.Fatalf("garbage offer: %v", err)
	}
	client := mediatest.NewPeer(t, mediatest.ClientConfig{})
	client.Publish(mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "a", "s", ""))
	if _, err := Answer(ctx(t), pc, client.Offer()); err != nil {
		t.Fatalf("good offer after bad ones: %v", err)
	}
}

func TestSubscriberHasItsOwnEstimator(t *testing.T) {
	tr := newTransport(t, Config{InitialBitrate: 800_000})
	pc1, est1, err := tr.NewSubscriber()
	if err != nil {
		t.Fatal(err)
	}
	defer pc1.Close()
	pc2, est2, err := tr.NewSubscriber()
	if err != nil {
		t.Fatal(err)
	}
	defer pc2.Close()
	if est1 == est2 {
		t.Fatal("two subscriber connections share one estimator")
	}
	if got := est1.GetTargetBitrate(); got != 800_000 {
		t.Fatalf("initial estimate %d, want 800000", got)
	}
}

func FuzzCheckSDP(f *testing.F) {
	f.Add(goodOffer)
	f.Add("v=0\r\nm=video 9 RTP 96\r\na=rtpmap:96\r\n")
	f.Add("v=0\r\no=\r\ns=\r\nt=\r\nm=\r\na=rtpmap: \r\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = CheckSDP(s)
	})
}

// A subscriber's answer may have more sections than an offer from a
// client may, up to MaxAnswerSections, and is checked like an offer.
func TestAcceptAnswerLimits(t *testing.T) {
	tr := newTransport(t, Config{})
	section := func(mid int) string {
		return fmt.Sprintf("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:%d\r\na=rtpmap:111 opus/48000/2\r\n", mid)
	}
	head := goodOffer[:strings.Index(goodOffer, "m=audio")]
	answer := func(n int) string {
		var b strings.Builder
		b.WriteString(head)
		for i := range n {
			b.WriteString(section(i))
		}
		return b.String()
	}
	if _, err := CheckSDP(answer(MaxMediaSections + 1)); !errors.Is(err, ErrSDPTooLarge) {
		t.Fatalf("an offer of %d sections: %v", MaxMediaSections+1, err)
	}
	pc, _, err := tr.NewSubscriber()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for range MaxAnswerSections {
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Offer(ctx(t), pc); err != nil {
		t.Fatal(err)
	}
	// Too many sections, or a section without a mid, is refused before
	// Pion sees it: the offer stays outstanding.
	if err := AcceptAnswer(pc, answer(MaxAnswerSections+1)); !errors.Is(err, ErrSDPTooLarge) {
		t.Fatalf("answer of %d sections: %v", MaxAnswerSections+1, err)
	}
	if err := AcceptAnswer(pc, strings.Replace(answer(MaxAnswerSections), "a=mid:7\r\n", "", 1)); !errors.Is(err, ErrMalformedSDP) {
		t.Fatalf("answer without a mid: %v", err)
	}
	if pc.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		t.Fatalf("signaling state %s after refused answers, want have-local-offer", pc.SignalingState())
	}
	// A real client's answer of MaxAnswerSections sections is taken.
	client := mediatest.NewPeer(t, mediatest.ClientConfig{})
	if err := AcceptAnswer(pc, client.Answer(pc.LocalDescription().SDP)); err != nil {
		t.Fatalf("answer of %d sections: %v", MaxAnswerSections, err)
	}
}

// An offer made WithICERestart carries new ICE credentials.
func TestOfferRestartsICE(t *testing.T) {
	tr := newTransport(t, Config{})
	pc, _, err := tr.NewSubscriber()
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	client := mediatest.NewPeer(t, mediatest.ClientConfig{})
	ufrag := func(raw string) string {
		desc, err := CheckSDP(raw)
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := desc.Attribute("ice-ufrag"); ok {
			return v
		}
		v, _ := desc.MediaDescriptions[0].Attribute("ice-ufrag")
		return v
	}
	first, err := Offer(ctx(t), pc)
	if err != nil {
		t.Fatal(err)
	}
	if err := AcceptAnswer(pc, client.Answer(first)); err != nil {
		t.Fatal(err)
	}
	same, err := Offer(ctx(t), pc)
	if err != nil {
		t.Fatal(err)
	}
	if err := AcceptAnswer(pc, client.Answer(same)); err != nil {
		t.Fatal(err)
	}
	restarted, err := Offer(ctx(t), pc, WithICERestart(true))
	if err != nil {
		t.Fatal(err)
	}
	if ufrag(same) != ufrag(first) {
		t.Fatal("an offer without restart changed the ICE credentials")
	}
	if ufrag(restarted) == ufrag(first) {
		t.Fatal("an offer WithICERestart kept the ICE credentials")
	}
}
