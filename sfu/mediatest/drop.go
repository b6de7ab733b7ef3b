package mediatest

import (
	"sync"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
)

// DropRule decides whether a test network loses one RTP packet. size is
// the whole packet's length.
type DropRule func(info *interceptor.StreamInfo, h *rtp.Header, size int) bool

// Dropper is an interceptor factory that loses the RTP packets its rules
// pick: In for packets arriving (remote streams), Out for packets leaving
// (local streams). Put it first in ClientConfig.Interceptors so the
// losses happen on the wire, as far as NACK and transport-cc can tell.
// Arriving packets are dropped after SRTP has seen them, which is why
// NewPeer turns SRTP replay protection off.
type Dropper struct {
	In, Out DropRule
}

// NewInterceptor implements interceptor.Factory.
func (d *Dropper) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &dropInterceptor{d: d}, nil
}

type dropInterceptor struct {
	interceptor.NoOp
	d *Dropper
}

func (i *dropInterceptor) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if i.d.In == nil {
		return reader
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := reader.Read(b, a)
			if err != nil {
				return n, attr, err
			}
			var h rtp.Header
			if _, err := h.Unmarshal(b[:n]); err == nil && i.d.In(info, &h, n) {
				continue
			}
			return n, attr, nil
		}
	})
}

func (i *dropInterceptor) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	if i.d.Out == nil {
		return writer
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		size := h.MarshalSize() + len(payload)
		if i.d.Out(info, h, size) {
			return size, nil
		}
		return writer.Write(h, payload, a)
	})
}

// DropOnce loses every Every-th video packet (by sequence number) the
// first time it passes, so a retransmission gets through. Count says how
// many it dropped.
type DropOnce struct {
	Every uint16

	mu      sync.Mutex
	seen    map[uint64]bool
	dropped int
	enabled bool
}

// NewDropOnce makes a DropOnce rule that starts disabled.
func NewDropOnce(every uint16) *DropOnce {
	return &DropOnce{Every: every, seen: map[uint64]bool{}}
}

// Enable starts or stops dropping.
func (d *DropOnce) Enable(on bool) {
	d.mu.Lock()
	d.enabled = on
	d.mu.Unlock()
}

// Count is how many packets were dropped.
func (d *DropOnce) Count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dropped
}

// Rule is the DropRule to put in a Dropper.
func (d *DropOnce) Rule(info *interceptor.StreamInfo, h *rtp.Header, _ int) bool {
	if len(info.MimeType) < 6 || info.MimeType[:6] != "video/" || h.SequenceNumber%d.Every != 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	key := uint64(h.SSRC)<<16 | uint64(h.SequenceNumber)
	if !d.enabled || d.seen[key] {
		return false
	}
	d.seen[key] = true
	d.dropped++
	return true
}

// RateLimit loses packets beyond a bitrate, like a narrow link with a
// short buffer: a token bucket holding 100 ms of traffic.
type RateLimit struct {
	mu     sync.Mutex
	bps    int
	tokens float64
	last   time.Time
}

// SetRate sets the limit in bits per second; zero removes it.
func (r *RateLimit) SetRate(bps int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bps = bps
	r.tokens = float64(bps) / 8 / 10
	r.last = time.Now()
}

// Rule is the DropRule to put in a Dropper.
func (r *RateLimit) Rule(_ *interceptor.StreamInfo, _ *rtp.Header, size int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bps == 0 {
		return false
	}
	now := time.Now()
	burst := float64(r.bps) / 8 / 10
	r.tokens = min(burst, r.tokens+now.Sub(r.last).Seconds()*float64(r.bps)/8)
	r.last = now
	if r.tokens < float64(size) {
		return true
	}
	r.tokens -= float64(size)
	return false
}
