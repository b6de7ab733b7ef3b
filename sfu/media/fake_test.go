package media

import (
	"io"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"
)

// This file stands in for Pion's side of a track in unit tests and the
// benchmark: a TrackLocalContext whose writer records (or only counts)
// what a downtrack sends. The engine under test is the real one.

var (
	vp8Params  = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96}
	opusParams = webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, PayloadType: 111}
)

type sentPacket struct {
	header  rtp.Header
	payload []byte
}

type recordingWriter struct {
	mu      sync.Mutex
	count   atomic.Uint64
	keep    bool
	packets []sentPacket
}

func (w *recordingWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.count.Add(1)
	if w.keep {
		w.mu.Lock()
		w.packets = append(w.packets, sentPacket{header: h.Clone(), payload: append([]byte(nil), payload...)})
		w.mu.Unlock()
	}
	return len(payload), nil
}

func (w *recordingWriter) Write(b []byte) (int, error) { return len(b), nil }

func (w *recordingWriter) sent() []sentPacket {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]sentPacket(nil), w.packets...)
}

type fakeContext struct {
	codecs []webrtc.RTPCodecParameters
	exts   []webrtc.RTPHeaderExtensionParameter
	ssrc   webrtc.SSRC
	w      *recordingWriter
	rtcp   chan []byte
}

func newFakeContext(codec webrtc.RTPCodecParameters, keep bool) *fakeContext {
	return &fakeContext{
		codecs: []webrtc.RTPCodecParameters{codec},
		exts:   []webrtc.RTPHeaderExtensionParameter{{URI: sdp.AudioLevelURI, ID: 5}},
		ssrc:   4242,
		w:      &recordingWriter{keep: keep},
		rtcp:   make(chan []byte, 16),
	}
}

func (c *fakeContext) CodecParameters() []webrtc.RTPCodecParameters           { return c.codecs }
func (c *fakeContext) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return c.exts }
func (c *fakeContext) SSRC() webrtc.SSRC                                      { return c.ssrc }
func (c *fakeContext) WriteStream() webrtc.TrackLocalWriter                   { return c.w }
func (c *fakeContext) ID() string                                             { return "fake" }
func (c *fakeContext) RTCPReader() interceptor.RTCPReader {
	return interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		p, ok := <-c.rtcp
		if !ok {
			return 0, nil, io.EOF
		}
		return copy(b, p), a, nil
	})
}

// feed is a receiver layer driven by the test: it pushes packets as the
// read loop would.
type feed struct {
	r   *Receiver
	l   *layer
	pkt rtp.Packet
	buf []byte
}

func newFeed(t testing.TB, r *Receiver, rid string) *feed {
	t.Helper()
	l, _, err := r.addLayer(rid, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &feed{r: r, l: l, buf: make([]byte, MaxPacketSize)}
}

func (f *feed) send(t testing.TB, p *rtp.Packet) {
	t.Helper()
	n, err := p.MarshalTo(f.buf)
	if err != nil {
		t.Fatal(err)
	}
	f.r.push(f.l, f.buf[:n], &f.pkt)
}

// vp8Payload is a one-packet VP8 frame: descriptor with S=1, then the
// frame tag (bit 0 clear on keyframes) and, for keyframes, the start code
// and the picture size.
func vp8Payload(key bool, w, h int) []byte {
	if !key {
		return []byte{0x10, 0x01, 0, 0, 0xaa, 0xbb}
	}
	return []byte{0x10, 0x00, 0, 0, 0x9d, 0x01, 0x2a, byte(w), byte(w >> 8), byte(h), byte(h >> 8), 0xcc}
}
