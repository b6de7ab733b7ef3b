package transport

import (
	"fmt"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"
)

// Header extension URIs Parley negotiates beyond those pion/sdp names.
const (
	// RepairedRIDURI names the repaired-rtp-stream-id extension browsers
	// send with simulcast.
	RepairedRIDURI = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"
	// VideoOrientationURI carries a phone's camera rotation (3GPP CVO),
	// which the SFU forwards so subscribers draw the picture upright.
	VideoOrientationURI = "urn:3gpp:video-orientation"
)

// videoFeedback is the RTCP feedback every video codec offers: NACK and
// PLI for loss, FIR for older encoders, transport-cc for the browser's
// bandwidth estimate, and goog-remb so a publisher's bitrate can be
// capped (see media.ReceiverConfig.MaxBitrate).
var videoFeedback = []webrtc.RTCPFeedback{
	{Type: webrtc.TypeRTCPFBGoogREMB},
	{Type: webrtc.TypeRTCPFBTransportCC},
	{Type: webrtc.TypeRTCPFBCCM, Parameter: "fir"},
	{Type: webrtc.TypeRTCPFBNACK},
	{Type: webrtc.TypeRTCPFBNACK, Parameter: "pli"},
}

// h264Profiles are the H.264 profile-level-ids Parley accepts, each in
// packetization modes 1 and 0. A peer that offers only one variant (OBS
// always offers 42e01f, whatever it sends) still finds its match.
var h264Profiles = []string{"42e01f", "42001f", "4d001f", "64001f"}

// Payload types of the codecs beyond VP8, VP9 and H.264: those Chrome
// uses, so a browser's offer and Parley's agree without remapping.
const (
	av1PayloadType        = 45
	h265MainPayloadType   = 49
	h265Main10PayloadType = 51
)

// h265Fmtp is the H.265 format Parley registers for profile-id p (1 Main,
// 2 Main 10): main tier, single RTP stream (RFC 7798 7.1). level-id is
// left out on purpose: Pion matches H.265 fmtp by comparing every key
// both sides name, so a registered level would refuse encoders and
// players that offer another (Chrome offers 93 or 180, OBS offers no
// fmtp at all). The SFU forwards the publisher's stream untouched, so
// the level is the publisher's to choose and the viewer's to decode.
func h265Fmtp(p int) string {
	return fmt.Sprintf("profile-id=%d;tier-flag=0;tx-mode=SRST", p)
}

// Codecs lists every codec the MediaEngine registers, with its payload
// type. There is deliberately no RTX: retransmissions travel on the media
// SSRC, so one NACK path serves publishers and subscribers alike.
//
// AV1 and H.265 are registered for pass-through (OBS offers AV1 since
// 30.1 and HEVC since 30.2): the SFU forwards them to subscribers whose
// offers take them. The media engine does not parse their keyframes, so
// it forwards them from any packet and relies on PLI for a decodable
// start, and the recorder leaves them out.
func Codecs() []webrtc.RTPCodecParameters {
	codecs := []webrtc.RTPCodecParameters{
		{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
				SDPFmtpLine:  "minptime=10;useinbandfec=1",
				RTCPFeedback: []webrtc.RTCPFeedback{{Type: webrtc.TypeRTCPFBTransportCC}},
			},
			PayloadType: 111,
		},
		{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback,
			},
			PayloadType: 96,
		},
		{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeVP9, ClockRate: 90000, SDPFmtpLine: "profile-id=0",
				RTCPFeedback: videoFeedback,
			},
			PayloadType: 98,
		},
		{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeAV1, ClockRate: 90000, RTCPFeedback: videoFeedback,
			},
			PayloadType: av1PayloadType,
		},
		{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeH265, ClockRate: 90000, SDPFmtpLine: h265Fmtp(1),
				RTCPFeedback: videoFeedback,
			},
			PayloadType: h265MainPayloadType,
		},
		{
			RTPCodecCapability: webrtc.RTPCodecCapability{
				MimeType: webrtc.MimeTypeH265, ClockRate: 90000, SDPFmtpLine: h265Fmtp(2),
				RTCPFeedback: videoFeedback,
			},
			PayloadType: h265Main10PayloadType,
		},
	}
	pt := webrtc.PayloadType(102)
	for _, profile := range h264Profiles {
		for _, mode := range []int{1, 0} {
			codecs = append(codecs, webrtc.RTPCodecParameters{
				RTPCodecCapability: webrtc.RTPCodecCapability{
					MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
					SDPFmtpLine:  fmt.Sprintf("level-asymmetry-allowed=1;packetization-mode=%d;profile-level-id=%s", mode, profile),
					RTCPFeedback: videoFeedback,
				},
				PayloadType: pt,
			})
			pt++
		}
	}
	return codecs
}

// newMediaEngine registers the codecs and header extensions. The engine
// is shared by every PeerConnection; Pion copies it per connection, so
// negotiation on one never changes another.
func newMediaEngine() (*webrtc.MediaEngine, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range Codecs() {
		kind := webrtc.RTPCodecTypeVideo
		if c.MimeType == webrtc.MimeTypeOpus {
			kind = webrtc.RTPCodecTypeAudio
		}
		if err := m.RegisterCodec(c, kind); err != nil {
			return nil, fmt.Errorf("register codec %s %s: %w", c.MimeType, c.SDPFmtpLine, err)
		}
	}
	exts := []struct {
		uri  string
		kind webrtc.RTPCodecType
	}{
		{sdp.SDESMidURI, webrtc.RTPCodecTypeAudio},
		{sdp.AudioLevelURI, webrtc.RTPCodecTypeAudio},
		{sdp.TransportCCURI, webrtc.RTPCodecTypeAudio},
		{sdp.SDESMidURI, webrtc.RTPCodecTypeVideo},
		{sdp.SDESRTPStreamIDURI, webrtc.RTPCodecTypeVideo},
		{RepairedRIDURI, webrtc.RTPCodecTypeVideo},
		{sdp.TransportCCURI, webrtc.RTPCodecTypeVideo},
		{VideoOrientationURI, webrtc.RTPCodecTypeVideo},
	}
	for _, e := range exts {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, e.kind); err != nil {
			return nil, fmt.Errorf("register header extension %s: %w", e.uri, err)
		}
	}
	return m, nil
}
