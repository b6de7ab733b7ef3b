package rtcpeer

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v2"
	"github.com/pion/transport/v2/stdnet"
	"github.com/pion/webrtc/v3"
)

// GatherTimeout bounds ICE candidate gathering for one description. The
// generator sends complete descriptions, as OBS does, so it waits for
// gathering before each offer or answer.
const GatherTimeout = 10 * time.Second

// udpReadBuffer is the receive buffer each connection asks for its UDP
// socket (the kernel caps it at net.core.rmem_max). The default, about
// 208 KiB, holds a fraction of a second of a 2.5 Mbit/s stream: when
// the generator shares its cores with the server and gets descheduled
// for longer, the kernel drops packets the server delivered, and the run
// would report the generator's loss as the server's.
const udpReadBuffer = 4 << 20

// ErrGatherTimeout is gathering that did not complete within
// GatherTimeout.
var ErrGatherTimeout = errors.New("ICE gathering did not complete")

// Stack builds the generator's peer connections. It is safe for
// concurrent use.
type Stack struct {
	api  *webrtc.API
	cert webrtc.Certificate
}

// NewStack prepares the codecs, header extensions and interceptors a
// browser would run, and one DTLS certificate for every connection.
func NewStack() (*Stack, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		return nil, fmt.Errorf("rtcpeer: codecs: %w", err)
	}
	for _, e := range []struct {
		uri  string
		kind webrtc.RTPCodecType
	}{
		{sdp.SDESMidURI, webrtc.RTPCodecTypeVideo},
		{sdp.SDESMidURI, webrtc.RTPCodecTypeAudio},
		{sdp.AudioLevelURI, webrtc.RTPCodecTypeAudio},
	} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, e.kind); err != nil {
			return nil, fmt.Errorf("rtcpeer: header extension %s: %w", e.uri, err)
		}
	}
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, reg); err != nil {
		return nil, fmt.Errorf("rtcpeer: nack: %w", err)
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, fmt.Errorf("rtcpeer: rtcp reports: %w", err)
	}
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return nil, fmt.Errorf("rtcpeer: transport-cc: %w", err)
	}
	s := webrtc.SettingEngine{}
	// Thousands of connections would print thousands of lines; what goes
	// wrong shows in the counters and the connection states instead.
	logs := logging.NewDefaultLoggerFactory()
	logs.Writer = io.Discard
	logs.DefaultLogLevel = logging.LogLevelDisabled
	s.LoggerFactory = logs
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	std, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("rtcpeer: network: %w", err)
	}
	s.SetNet(bufferedNet{std})

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("rtcpeer: certificate key: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return nil, fmt.Errorf("rtcpeer: certificate: %w", err)
	}
	return &Stack{
		api:  webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(s)),
		cert: *cert,
	}, nil
}

// NewPeerConnection makes a connection with the stack's settings.
func (s *Stack) NewPeerConnection() (*webrtc.PeerConnection, error) {
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{s.cert}})
	if err != nil {
		return nil, fmt.Errorf("rtcpeer: new peer connection: %w", err)
	}
	return pc, nil
}

// Offer makes an offer, applies it, waits for gathering and returns the
// offer with every candidate.
func Offer(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", fmt.Errorf("create offer: %w", err)
	}
	return setLocal(ctx, pc, offer)
}

// Answer applies the server's offer and returns the answer, with every
// candidate.
func Answer(ctx context.Context, pc *webrtc.PeerConnection, offer string) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("apply the server's offer: %w", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("create answer: %w", err)
	}
	return setLocal(ctx, pc, answer)
}

// Accept applies the server's answer to the client's offer.
func Accept(pc *webrtc.PeerConnection, answer string) error {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("apply the server's answer: %w", err)
	}
	return nil
}

func setLocal(ctx context.Context, pc *webrtc.PeerConnection, desc webrtc.SessionDescription) (string, error) {
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return "", fmt.Errorf("apply own %s: %w", desc.Type, err)
	}
	timer := time.NewTimer(GatherTimeout)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
		return "", ErrGatherTimeout
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}

// ConnectTimeout bounds the wait for a connection's ICE and DTLS.
const ConnectTimeout = 20 * time.Second

// WaitConnected waits until pc is connected (ICE and DTLS done, SRTP
// keys agreed). A Source should start only then, as a browser's encoder
// does: Pion drops what is written before, so a clip started earlier
// reaches the other side without its first keyframe.
func WaitConnected(ctx context.Context, pc *webrtc.PeerConnection) error {
	deadline := time.Now().Add(ConnectTimeout)
	for {
		switch s := pc.ConnectionState(); s {
		case webrtc.PeerConnectionStateConnected:
			return nil
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			return fmt.Errorf("connection %s before it connected", s)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not connected after %v (state %s)", ConnectTimeout, pc.ConnectionState())
		}
		select {
		case <-time.After(connectPoll):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// connectPoll is how often WaitConnected looks.
const connectPoll = 5 * time.Millisecond

// MidOf returns the mid of the transceiver that sends the track with id
// trackID, "" if none does.
func MidOf(pc *webrtc.PeerConnection, trackID string) string {
	for _, tr := range pc.GetTransceivers() {
		if s := tr.Sender(); s != nil && s.Track() != nil && s.Track().ID() == trackID {
			return tr.Mid()
		}
	}
	return ""
}

// bufferedNet is the standard network with a large receive buffer on
// every UDP socket a connection gathers on.
type bufferedNet struct{ *stdnet.Net }

// ListenUDP opens the socket and asks for udpReadBuffer; a refusal
// leaves the default.
func (n bufferedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err == nil {
		_ = c.SetReadBuffer(udpReadBuffer)
	}
	return c, err
}
