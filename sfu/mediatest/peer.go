package mediatest

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"
)

// ClientConfig shapes a test client: a Pion peer standing in for a
// browser.
type ClientConfig struct {
	// Interceptors go nearest the wire, ahead of NACK, reports and
	// transport-cc, so a Dropper's losses look like network losses to
	// them.
	Interceptors []interceptor.Factory
}

// Peer is a test client's PeerConnection on loopback, with helpers to
// negotiate with the server, publish tracks and record what arrives.
type Peer struct {
	PC *webrtc.PeerConnection
	t  testing.TB

	mu      sync.Mutex
	tracks  []*Track
	arrived chan *Received
}

// RTCPCounts counts the feedback a publishing peer got from the server.
type RTCPCounts struct {
	PLI, FIR, NACK, REMB int
	// NACKed counts the sequence numbers asked for.
	NACKed int
	// REMBBitrate is the last REMB's bitrate, in bits per second.
	REMBBitrate float32
}

// NewPeer makes a client connection that uses only the loopback
// interface: Pion's default codecs, the header extensions browsers send
// (mid, rid, repaired rid, audio level, transport-cc), NACK generation
// and response, RTCP reports and transport-cc feedback. It closes with
// the test.
func NewPeer(t testing.TB, cfg ClientConfig) *Peer {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	// Pion's defaults have no H.265; register it as browsers offer it.
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH265, ClockRate: 90000, SDPFmtpLine: hevcFmtp,
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}, {Type: "goog-remb"}, {Type: "transport-cc"}}},
		PayloadType: hevcPayloadType,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct {
		uri  string
		kind webrtc.RTPCodecType
	}{
		{sdp.SDESMidURI, webrtc.RTPCodecTypeVideo},
		{sdp.SDESRTPStreamIDURI, webrtc.RTPCodecTypeVideo},
		{"urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", webrtc.RTPCodecTypeVideo},
		{sdp.SDESMidURI, webrtc.RTPCodecTypeAudio},
		{sdp.AudioLevelURI, webrtc.RTPCodecTypeAudio},
	} {
		if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: e.uri}, e.kind); err != nil {
			t.Fatal(err)
		}
	}
	reg := &interceptor.Registry{}
	for _, f := range cfg.Interceptors {
		reg.Add(f)
	}
	if err := webrtc.ConfigureNack(m, reg); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		t.Fatal(err)
	}
	s := webrtc.SettingEngine{}
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetIncludeLoopbackCandidate(true)
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	// A Dropper loses packets after SRTP has accepted them, so without
	// this the retransmission would be refused as a replay. (Only test
	// clients; the server keeps replay protection.)
	s.DisableSRTPReplayProtection(true)
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(s))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	p := &Peer{PC: pc, t: t, arrived: make(chan *Received, 64)}
	pc.OnTrack(p.onTrack)
	t.Cleanup(func() {
		waitICESettled(pc, iceSettleWait)
		_ = pc.Close()
	})
	return p
}

// iceSettleWait bounds how long a test peer's cleanup waits for ICE
// checks under way to end.
const iceSettleWait = 3 * time.Second

// waitICESettled waits, at most d, while pc's ICE agent is checking.
// Closing a Pion v3 connection then races inside Pion (ICETransport.Start
// writes its mux without the lock that Stop reads it under), which the
// race detector reports against whichever test closed it.
func waitICESettled(pc *webrtc.PeerConnection, d time.Duration) {
	deadline := time.Now().Add(d)
	for pc.ICEConnectionState() == webrtc.ICEConnectionStateChecking && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
}

// Offer makes the client's offer, with its candidates.
func (p *Peer) Offer() string {
	p.t.Helper()
	offer, err := p.PC.CreateOffer(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.setLocal(offer)
}

// Answer answers the server's offer.
func (p *Peer) Answer(offer string) string {
	p.t.Helper()
	if err := p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		p.t.Fatal(err)
	}
	answer, err := p.PC.CreateAnswer(nil)
	if err != nil {
		p.t.Fatal(err)
	}
	return p.setLocal(answer)
}

// Accept applies the server's answer to the client's offer.
func (p *Peer) Accept(answer string) {
	p.t.Helper()
	if err := p.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		p.t.Fatal(err)
	}
}

func (p *Peer) setLocal(desc webrtc.SessionDescription) string {
	p.t.Helper()
	gathered := webrtc.GatheringCompletePromise(p.PC)
	if err := p.PC.SetLocalDescription(desc); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-time.After(10 * time.Second):
		p.t.Fatal("ICE gathering did not complete")
	}
	// Browsers stamp the mid on every packet; simulcast needs it.
	for _, tr := range p.PC.GetTransceivers() {
		p.mu.Lock()
		for _, track := range p.tracks {
			if tr.Sender() != nil && tr.Sender().Track() != nil && tr.Sender().Track().ID() == track.ID() &&
				tr.Sender().Track().StreamID() == track.StreamID() {
				track.setMid(tr.Mid())
			}
		}
		p.mu.Unlock()
	}
	return p.PC.LocalDescription().SDP
}

// Publish adds a track, sending one layer per Track given (several make
// a simulcast track: same id, each with its own rid), and counts the
// RTCP feedback that comes back for it.
func (p *Peer) Publish(layers ...*Track) *webrtc.RTPSender {
	p.t.Helper()
	sender, err := p.PC.AddTrack(layers[0])
	if err != nil {
		p.t.Fatal(err)
	}
	for _, l := range layers[1:] {
		if err := sender.AddEncoding(l); err != nil {
			p.t.Fatal(err)
		}
	}
	p.mu.Lock()
	p.tracks = append(p.tracks, layers...)
	p.mu.Unlock()
	return sender
}

// RTCP returns the feedback counted so far on all published tracks.
func (p *Peer) RTCP() RTCPCounts {
	p.mu.Lock()
	tracks := append([]*Track(nil), p.tracks...)
	p.mu.Unlock()
	var sum RTCPCounts
	for _, t := range tracks {
		c := t.RTCP()
		sum.PLI += c.PLI
		sum.FIR += c.FIR
		sum.NACK += c.NACK
		sum.NACKed += c.NACKed
		sum.REMB += c.REMB
		if c.REMB > 0 {
			sum.REMBBitrate = c.REMBBitrate
		}
	}
	return sum
}

// WaitConnected waits until ICE and DTLS are up.
func (p *Peer) WaitConnected(timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for p.PC.ConnectionState() != webrtc.PeerConnectionStateConnected {
		if time.Now().After(deadline) {
			p.t.Fatalf("peer not connected after %v (state %s)", timeout, p.PC.ConnectionState())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Track is a test publisher's track. Play writes samples into it; it
// packetizes them and stamps the header extensions a browser would: mid
// and rid (so the server can tell simulcast layers apart) and the audio
// level.
type Track struct {
	codec            webrtc.RTPCodecCapability
	id, stream, rid  string
	audioLevel       atomic.Int32
	mu               sync.Mutex
	mid              string
	packetizer       rtp.Packetizer
	writer           webrtc.TrackLocalWriter
	midID, ridID, al uint8
	clockRate        uint32
	rtcp             RTCPCounts
	// keyframeWanted is set by a PLI or FIR; PlayLive answers it.
	keyframeWanted atomic.Bool
}

// NewTrack makes a track of codec (its MimeType, and SDPFmtpLine to pick
// an H.264 profile) with the given id, stream id, and rid ("" unless
// simulcast).
func NewTrack(codec webrtc.RTPCodecCapability, id, stream, rid string) *Track {
	t := &Track{codec: codec, id: id, stream: stream, rid: rid}
	t.audioLevel.Store(-1)
	return t
}

// SetAudioLevel makes every later packet carry this audio level, in -dBov
// (0 loudest, 127 silent); -1 stops stamping it.
func (t *Track) SetAudioLevel(dBov int) { t.audioLevel.Store(int32(dBov)) }

func (t *Track) setMid(mid string) {
	t.mu.Lock()
	t.mid = mid
	t.mu.Unlock()
}

// ID implements webrtc.TrackLocal.
func (t *Track) ID() string { return t.id }

// RID implements webrtc.TrackLocal.
func (t *Track) RID() string { return t.rid }

// StreamID implements webrtc.TrackLocal.
func (t *Track) StreamID() string { return t.stream }

// Kind implements webrtc.TrackLocal.
func (t *Track) Kind() webrtc.RTPCodecType {
	if strings.HasPrefix(t.codec.MimeType, "audio/") {
		return webrtc.RTPCodecTypeAudio
	}
	return webrtc.RTPCodecTypeVideo
}

// Bind implements webrtc.TrackLocal.
func (t *Track) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var codec *webrtc.RTPCodecParameters
	for i, c := range ctx.CodecParameters() {
		if !strings.EqualFold(c.MimeType, t.codec.MimeType) {
			continue
		}
		if codec == nil || (t.codec.SDPFmtpLine != "" && c.SDPFmtpLine == t.codec.SDPFmtpLine) {
			codec = &ctx.CodecParameters()[i]
		}
	}
	if codec == nil {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	var payloader rtp.Payloader
	switch strings.ToLower(codec.MimeType) {
	case strings.ToLower(webrtc.MimeTypeVP8):
		payloader = &codecs.VP8Payloader{EnablePictureID: true}
	case strings.ToLower(webrtc.MimeTypeVP9):
		payloader = &codecs.VP9Payloader{}
	case strings.ToLower(webrtc.MimeTypeH264):
		payloader = &codecs.H264Payloader{}
	case strings.ToLower(webrtc.MimeTypeAV1):
		payloader = &codecs.AV1Payloader{}
	case strings.ToLower(webrtc.MimeTypeH265):
		payloader = &codecs.H265Payloader{}
	case strings.ToLower(webrtc.MimeTypeOpus):
		payloader = &codecs.OpusPayloader{}
	default:
		return webrtc.RTPCodecParameters{}, fmt.Errorf("mediatest: no payloader for %s", codec.MimeType)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clockRate = codec.ClockRate
	t.packetizer = rtp.NewPacketizer(1200, uint8(codec.PayloadType), uint32(ctx.SSRC()), payloader,
		rtp.NewRandomSequencer(), codec.ClockRate)
	t.writer = ctx.WriteStream()
	// Reading the RTCP of this encoding from its own reader, not through
	// RTPSender.ReadSimulcast, which races with the sender's Stop in
	// Pion v3. Reading it is also what lets the NACK responder see NACKs.
	go t.readRTCP(ctx.RTCPReader())
	for _, e := range ctx.HeaderExtensions() {
		switch e.URI {
		case sdp.SDESMidURI:
			t.midID = uint8(e.ID)
		case sdp.SDESRTPStreamIDURI:
			t.ridID = uint8(e.ID)
		case sdp.AudioLevelURI:
			t.al = uint8(e.ID)
		}
	}
	return *codec, nil
}

func (t *Track) readRTCP(reader interceptor.RTCPReader) {
	buf := make([]byte, 1500)
	for {
		n, _, err := reader.Read(buf, nil)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		t.mu.Lock()
		for _, pkt := range pkts {
			switch pkt := pkt.(type) {
			case *rtcp.PictureLossIndication:
				t.rtcp.PLI++
				t.keyframeWanted.Store(true)
			case *rtcp.FullIntraRequest:
				t.rtcp.FIR++
				t.keyframeWanted.Store(true)
			case *rtcp.TransportLayerNack:
				t.rtcp.NACK++
				for _, pair := range pkt.Nacks {
					t.rtcp.NACKed += len(pair.PacketList())
				}
			case *rtcp.ReceiverEstimatedMaximumBitrate:
				t.rtcp.REMB++
				t.rtcp.REMBBitrate = pkt.Bitrate
			}
		}
		t.mu.Unlock()
	}
}

// RTCP returns the feedback this track (this layer) got.
func (t *Track) RTCP() RTCPCounts {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rtcp
}

// Unbind implements webrtc.TrackLocal.
func (t *Track) Unbind(webrtc.TrackLocalContext) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.writer = nil
	return nil
}

// WriteSample packetizes one frame and sends it. Before the track is
// bound it drops the frame, as a browser would not have started yet.
func (t *Track) WriteSample(s media.Sample) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.writer == nil {
		return nil
	}
	samples := uint32(s.Duration.Seconds() * float64(t.clockRate))
	level := t.audioLevel.Load()
	for _, pkt := range t.packetizer.Packetize(s.Data, samples) {
		if t.midID != 0 && t.mid != "" {
			_ = pkt.Header.SetExtension(t.midID, []byte(t.mid))
		}
		if t.ridID != 0 && t.rid != "" {
			_ = pkt.Header.SetExtension(t.ridID, []byte(t.rid))
		}
		if t.al != 0 && level >= 0 {
			_ = pkt.Header.SetExtension(t.al, []byte{byte(level) | 0x80})
		}
		if _, err := t.writer.WriteRTP(&pkt.Header, pkt.Payload); err != nil {
			return fmt.Errorf("mediatest: write RTP: %w", err)
		}
	}
	return nil
}

// PlayUntil plays the clip in a loop into w until stop is called, which
// returns once the last frame is written.
func PlayUntil(w SampleWriter, clip Clip) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = Play(ctx, w, clip, true)
	}()
	return func() {
		cancel()
		<-done
	}
}

// PlayLive plays the clip into t in a loop until stop is called, which
// returns once the last frame is written. Unlike PlayUntil it answers
// keyframe requests as a live encoder does: after a PLI or FIR, the next
// frame written is the clip's next keyframe. A test that must see a
// stream start on the keyframe the server asked for uses it, with a
// clip whose own keyframes are far apart.
func PlayLive(t *Track, clip Clip) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		timer := time.NewTimer(0)
		defer timer.Stop()
		start := time.Now()
		var at time.Duration
		for i := 0; ; i = (i + 1) % len(clip.Frames) {
			if t.keyframeWanted.Swap(false) {
				i = nextKeyframe(clip, i)
			}
			timer.Reset(time.Until(start.Add(at)))
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			f := clip.Frames[i]
			if err := t.WriteSample(media.Sample{Data: f.Data, Duration: f.Duration}); err != nil {
				return
			}
			at += f.Duration
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// nextKeyframe is the index of the first keyframe at or after i, going
// round the clip; i when the clip has none.
func nextKeyframe(clip Clip, i int) int {
	for k := range len(clip.Frames) {
		if j := (i + k) % len(clip.Frames); clip.Frames[j].Keyframe {
			return j
		}
	}
	return i
}
