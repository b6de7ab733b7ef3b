package transport

import (
	"slices"
	"strings"
	"testing"

	"github.com/pion/webrtc/v3"
)

// Every codec has its own payload type, and AV1 and H.265 carry the same
// feedback as the other video codecs.
func TestCodecTable(t *testing.T) {
	seen := map[webrtc.PayloadType]string{}
	var av1, h265 int
	for _, c := range Codecs() {
		if other, dup := seen[c.PayloadType]; dup {
			t.Fatalf("payload type %d is both %s and %s", c.PayloadType, other, c.MimeType)
		}
		seen[c.PayloadType] = c.MimeType + " " + c.SDPFmtpLine
		switch c.MimeType {
		case webrtc.MimeTypeAV1:
			av1++
		case webrtc.MimeTypeH265:
			h265++
			if strings.Contains(c.SDPFmtpLine, "level-id") {
				t.Errorf("H.265 %q names a level, which would refuse offers of other levels", c.SDPFmtpLine)
			}
		default:
			continue
		}
		if c.ClockRate != 90000 || !slices.Equal(c.RTCPFeedback, videoFeedback) {
			t.Errorf("%s: clock %d, feedback %v", c.MimeType, c.ClockRate, c.RTCPFeedback)
		}
	}
	if av1 != 1 || h265 != 2 {
		t.Fatalf("%d AV1 and %d H.265 entries, want 1 and 2 (Main, Main 10)", av1, h265)
	}
}

// A publisher that offers only AV1, or only H.265, gets an answer that
// receives it.
func TestAnswerTakesAV1AndHEVC(t *testing.T) {
	tr := newTransport(t, Config{})
	for _, c := range []struct{ mime, fmtp string }{
		{webrtc.MimeTypeAV1, ""},
		{webrtc.MimeTypeH265, ""},
		{webrtc.MimeTypeH265, "level-id=180;profile-id=1;tier-flag=0;tx-mode=SRST"},
	} {
		client := newClient(t, c.mime, c.fmtp)
		offer, err := Offer(ctx(t), client)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := CheckSDP(offer); err != nil {
			t.Fatalf("%s %q: CheckSDP: %v", c.mime, c.fmtp, err)
		}
		pc, err := tr.NewPublisher()
		if err != nil {
			t.Fatal(err)
		}
		answer, err := Answer(ctx(t), pc, offer)
		pc.Close()
		if err != nil {
			t.Fatalf("%s %q: %v", c.mime, c.fmtp, err)
		}
		name := strings.TrimPrefix(c.mime, "video/")
		if !strings.Contains(answer, " "+name+"/90000") || !strings.Contains(answer, "a=recvonly") {
			t.Fatalf("%s %q: answer does not receive it:\n%s", c.mime, c.fmtp, answer)
		}
	}
}

// newClient is a peer that sends one video track in a single codec.
func newClient(t *testing.T, mime, fmtp string) *webrtc.PeerConnection {
	t.Helper()
	m := &webrtc.MediaEngine{}
	err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, ClockRate: 90000, SDPFmtpLine: fmtp},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(m)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	return pc
}
