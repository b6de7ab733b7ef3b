package transport

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/webrtc/v3"
)

// Bandwidth estimate bounds for subscriber connections, in bits per
// second. The estimate starts high enough for one 720p simulcast layer
// plus audio, so a new subscriber sees a sharp picture at once and the
// estimator only has to come down if the path is worse.
const (
	DefaultInitialBitrate = 1_500_000
	DefaultMinBitrate     = 100_000
	DefaultMaxBitrate     = 10_000_000
)

// DefaultSocketBuffer is the receive and send buffer asked for on the
// media socket, in bytes. Every publisher's packets for every room on the
// node arrive on this one socket; the kernel's usual 208 KiB holds a few
// milliseconds of them, so a scheduling hiccup under load dropped
// packets before Parley could read them, and a packet lost there is
// lost for every subscriber.
const DefaultSocketBuffer = 8 << 20

// Config says how the media transport listens and estimates.
type Config struct {
	// MediaPort is the one UDP port every peer connection shares. Zero
	// picks a free port, for tests; Port reports it.
	MediaPort int
	// PublicIP, when set, is announced in ICE candidates in place of the
	// local addresses: the public side of a 1:1 NAT such as a cloud VM's
	// elastic IP.
	PublicIP string
	// ICEServers are the STUN and TURN servers handed to clients (see
	// ICEServers). The server itself gathers only host candidates on
	// MediaPort, so it never opens a second port.
	ICEServers []webrtc.ICEServer
	// LoopbackOnly listens on 127.0.0.1 and announces only that address.
	// Tests set it, so peers never touch a real network interface.
	LoopbackOnly bool
	// InitialBitrate, MinBitrate and MaxBitrate bound each subscriber
	// connection's bandwidth estimate, in bits per second; zero takes the
	// Default values.
	InitialBitrate, MinBitrate, MaxBitrate int
	// SocketBuffer is the media socket's receive and send buffer in
	// bytes; zero takes DefaultSocketBuffer. The kernel may grant less
	// (see New).
	SocketBuffer int
}

// Transport builds Pion PeerConnections that share one UDP socket, one
// codec table and Parley's interceptors. It is safe for concurrent use.
type Transport struct {
	cfg    Config
	logger *slog.Logger
	conn   *net.UDPConn
	mux    ice.UDPMux
	// socketBuffer is the receive buffer the kernel granted, in bytes.
	socketBuffer int

	settings  webrtc.SettingEngine
	media     *webrtc.MediaEngine
	publisher *webrtc.API

	closeOnce sync.Once
	closeErr  error
}

// New opens the media port and prepares the codecs and interceptors.
func New(cfg Config, logger *slog.Logger) (*Transport, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if cfg.MediaPort < 0 || cfg.MediaPort > 65535 {
		return nil, fmt.Errorf("transport: media port %d is not a port number", cfg.MediaPort)
	}
	if cfg.PublicIP != "" && net.ParseIP(cfg.PublicIP) == nil {
		return nil, fmt.Errorf("transport: public IP %q is not an IP address", cfg.PublicIP)
	}
	if cfg.InitialBitrate == 0 {
		cfg.InitialBitrate = DefaultInitialBitrate
	}
	if cfg.MinBitrate == 0 {
		cfg.MinBitrate = DefaultMinBitrate
	}
	if cfg.MaxBitrate == 0 {
		cfg.MaxBitrate = DefaultMaxBitrate
	}
	if cfg.SocketBuffer == 0 {
		cfg.SocketBuffer = DefaultSocketBuffer
	}
	if cfg.SocketBuffer < 0 {
		return nil, fmt.Errorf("transport: socket buffer %d bytes is negative", cfg.SocketBuffer)
	}
	if cfg.MinBitrate > cfg.InitialBitrate || cfg.InitialBitrate > cfg.MaxBitrate {
		return nil, fmt.Errorf("transport: bitrates must rise from min %d to initial %d to max %d",
			cfg.MinBitrate, cfg.InitialBitrate, cfg.MaxBitrate)
	}

	addr := &net.UDPAddr{IP: net.IPv4zero, Port: cfg.MediaPort}
	if cfg.LoopbackOnly {
		addr.IP = net.IPv4(127, 0, 0, 1)
	}
	conn, err := net.ListenUDP("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("transport: listen on UDP %s: %w", addr, err)
	}
	granted, err := setSocketBuffers(conn, cfg.SocketBuffer)
	switch {
	case err != nil:
		logger.Warn("media socket buffers left at the kernel default", "err", err)
	case granted < cfg.SocketBuffer:
		logger.Warn("media socket receive buffer is smaller than asked: raise net.core.rmem_max and net.core.wmem_max (sysctl), or run with CAP_NET_ADMIN, or packets may be dropped under load",
			"asked_bytes", cfg.SocketBuffer, "granted_bytes", granted)
	}
	logs := pionLogs{logger: logger}
	t := &Transport{cfg: cfg, logger: logger, conn: conn, socketBuffer: granted}
	t.mux = webrtc.NewICEUDPMux(logs.NewLogger("udpmux"), conn)

	s := webrtc.SettingEngine{LoggerFactory: logs}
	s.SetICEUDPMux(t.mux)
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if cfg.LoopbackOnly {
		s.SetIncludeLoopbackCandidate(true)
	}
	if cfg.PublicIP != "" {
		s.SetNAT1To1IPs([]string{cfg.PublicIP}, webrtc.ICECandidateTypeHost)
	}
	t.settings = s

	if t.media, err = newMediaEngine(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("transport: %w", err)
	}
	reg, err := publisherInterceptors(logs)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("transport: publisher interceptors: %w", err)
	}
	t.publisher = webrtc.NewAPI(webrtc.WithSettingEngine(t.settings), webrtc.WithMediaEngine(t.media),
		webrtc.WithInterceptorRegistry(reg))
	return t, nil
}

// Port is the UDP port the transport listens on.
func (t *Transport) Port() int { return t.conn.LocalAddr().(*net.UDPAddr).Port }

// SocketBuffer is the media socket's receive buffer as the kernel
// granted it, in bytes (zero if it could not be set).
func (t *Transport) SocketBuffer() int { return t.socketBuffer }

// ICEServers are the STUN and TURN servers clients should use.
func (t *Transport) ICEServers() []webrtc.ICEServer {
	return append([]webrtc.ICEServer(nil), t.cfg.ICEServers...)
}

// NewPublisher creates a PeerConnection that receives a participant's
// media. The client offers on it (see Answer). Its interceptors send NACKs
// for lost packets, receiver reports, and transport-cc feedback so the
// client's own bandwidth estimate works.
func (t *Transport) NewPublisher() (*webrtc.PeerConnection, error) {
	pc, err := t.publisher.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("transport: new publisher connection: %w", err)
	}
	return pc, nil
}

// NewSubscriber creates a PeerConnection that sends media to a
// participant, and the bandwidth estimator (Google congestion control,
// fed by the client's transport-cc reports) that belongs to it. The
// server offers on it (see Offer). Its interceptors send sender reports
// and stamp transport-wide sequence numbers; NACKs and PLIs from the
// client are left to the media package, which answers them from the
// publisher's packet cache.
func (t *Transport) NewSubscriber() (*webrtc.PeerConnection, cc.BandwidthEstimator, error) {
	// Pion calls OnNewPeerConnection inside NewPeerConnection with an
	// empty id, so a registry of its own per connection is the way to
	// know which estimator is whose.
	var estimator cc.BandwidthEstimator
	ccFactory, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		return gcc.NewSendSideBWE(
			gcc.SendSideBWEInitialBitrate(t.cfg.InitialBitrate),
			gcc.SendSideBWEMinBitrate(t.cfg.MinBitrate),
			gcc.SendSideBWEMaxBitrate(t.cfg.MaxBitrate),
			// Layer selection keeps the rate under the estimate; a
			// pacer would only add delay and a copy of every packet.
			gcc.SendSideBWEPacer(gcc.NewNoOpPacer()),
			gcc.WithLoggerFactory(t.settings.LoggerFactory),
		)
	})
	if err != nil {
		return nil, nil, fmt.Errorf("transport: congestion control: %w", err)
	}
	ccFactory.OnNewPeerConnection(func(_ string, e cc.BandwidthEstimator) { estimator = e })

	reg := &interceptor.Registry{}
	// The estimator must see each packet after the transport-cc
	// interceptor has numbered it: interceptors added later wrap earlier
	// ones, so congestion control goes first.
	reg.Add(ccFactory)
	hdr, err := twcc.NewHeaderExtensionInterceptor()
	if err != nil {
		return nil, nil, fmt.Errorf("transport: transport-cc: %w", err)
	}
	reg.Add(hdr)
	sr, err := report.NewSenderInterceptor(report.WithSenderLoggerFactory(t.settings.LoggerFactory))
	if err != nil {
		return nil, nil, fmt.Errorf("transport: sender reports: %w", err)
	}
	reg.Add(sr)

	api := webrtc.NewAPI(webrtc.WithSettingEngine(t.settings), webrtc.WithMediaEngine(t.media),
		webrtc.WithInterceptorRegistry(reg))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, nil, fmt.Errorf("transport: new subscriber connection: %w", err)
	}
	if estimator == nil {
		pc.Close()
		return nil, nil, errors.New("transport: congestion control made no estimator")
	}
	return pc, estimator, nil
}

func publisherInterceptors(logs pionLogs) (*interceptor.Registry, error) {
	reg := &interceptor.Registry{}
	gen, err := nack.NewGeneratorInterceptor(nack.WithGeneratorLoggerFactory(logs))
	if err != nil {
		return nil, err
	}
	reg.Add(gen)
	rr, err := report.NewReceiverInterceptor(report.WithReceiverLoggerFactory(logs))
	if err != nil {
		return nil, err
	}
	reg.Add(rr)
	fb, err := twcc.NewSenderInterceptor(twcc.WithLoggerFactory(logs))
	if err != nil {
		return nil, err
	}
	reg.Add(fb)
	return reg, nil
}

// Close closes the media port. Peer connections are closed by their
// owners first; after Close they can no longer send or receive.
func (t *Transport) Close() error {
	t.closeOnce.Do(func() {
		t.closeErr = t.mux.Close()
	})
	return t.closeErr
}
