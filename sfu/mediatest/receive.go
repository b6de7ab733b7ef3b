package mediatest

import (
	"bytes"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media/samplebuilder"
)

// Received records one track arriving at a test client: each packet as
// it came off the interceptors (after any Dropper, with retransmissions),
// and the whole frames Pion's sample builder assembled from them.
type Received struct {
	Track *webrtc.TrackRemote

	mu      sync.Mutex
	packets []Packet
	frames  []ReceivedFrame
	changed chan struct{}
	ended   bool
}

// Packet is one received RTP packet's header fields.
type Packet struct {
	SequenceNumber uint16
	Timestamp      uint32
	Marker         bool
	Size           int
	At             time.Time
}

// ReceivedFrame is one frame the sample builder completed.
type ReceivedFrame struct {
	Data      []byte
	Timestamp uint32
	Keyframe  bool
	// Width and Height are read from VP8 keyframes; zero otherwise.
	Width, Height int
}

func (p *Peer) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	r := &Received{Track: track, changed: make(chan struct{})}
	select {
	case p.arrived <- r:
	default: // more tracks than anyone waits for
	}
	go r.read()
}

// NextTrack waits for the next track to arrive.
func (p *Peer) NextTrack(timeout time.Duration) *Received {
	p.t.Helper()
	select {
	case r := <-p.arrived:
		return r
	case <-time.After(timeout):
		p.t.Fatalf("no track arrived within %v", timeout)
		return nil
	}
}

func (r *Received) read() {
	mime := strings.ToLower(r.Track.Codec().MimeType)
	var dep rtp.Depacketizer
	maxLate := uint16(256)
	switch mime {
	case strings.ToLower(webrtc.MimeTypeVP8):
		dep = &codecs.VP8Packet{}
	case strings.ToLower(webrtc.MimeTypeVP9):
		dep = &codecs.VP9Packet{}
	case strings.ToLower(webrtc.MimeTypeH264):
		dep = &codecs.H264Packet{}
	case strings.ToLower(webrtc.MimeTypeAV1):
		dep = &codecs.AV1Depacketizer{}
	case strings.ToLower(webrtc.MimeTypeH265):
		dep = &codecs.H265Depacketizer{}
	default:
		dep = &codecs.OpusPacket{}
		maxLate = 50
	}
	// Like a browser's jitter buffer, give up on a missing packet after a
	// while rather than after a count of later packets, which a
	// low-rate stream takes long to reach.
	sb := samplebuilder.New(maxLate, dep, r.Track.Codec().ClockRate, samplebuilder.WithMaxTimeDelay(time.Second))
	defer func() {
		r.mu.Lock()
		r.ended = true
		r.signalLocked()
		r.mu.Unlock()
	}()
	for {
		pkt, _, err := r.Track.ReadRTP()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.packets = append(r.packets, Packet{
			SequenceNumber: pkt.SequenceNumber, Timestamp: pkt.Timestamp, Marker: pkt.Marker,
			Size: len(pkt.Payload), At: time.Now(),
		})
		r.mu.Unlock()
		sb.Push(pkt)
		for {
			s, ts := sb.PopWithTimestamp()
			if s == nil {
				break
			}
			r.mu.Lock()
			if n := len(r.frames); n > 0 && r.frames[n-1].Timestamp == ts {
				// The sample builder splits an H.265 access unit at each
				// NAL unit that starts a packet; one RTP timestamp is one
				// frame.
				f := &r.frames[n-1]
				f.Data = append(f.Data, s.Data...)
				f.Keyframe, f.Width, f.Height = describeFrame(mime, f.Data)
			} else {
				f := ReceivedFrame{Data: s.Data, Timestamp: ts}
				f.Keyframe, f.Width, f.Height = describeFrame(mime, s.Data)
				r.frames = append(r.frames, f)
			}
			r.signalLocked()
			r.mu.Unlock()
		}
	}
}

func (r *Received) signalLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// describeFrame tells whether a depacketized frame is a keyframe and,
// for VP8, its size. An AV1 frame counts as a keyframe when it carries a
// sequence header, an H.265 one when it holds a random access picture.
func describeFrame(mime string, data []byte) (key bool, w, h int) {
	switch mime {
	case strings.ToLower(webrtc.MimeTypeVP8):
		if len(data) < 10 || data[0]&0x01 != 0 {
			return false, 0, 0
		}
		return true, int(data[6]) | int(data[7]&0x3f)<<8, int(data[8]) | int(data[9]&0x3f)<<8
	case strings.ToLower(webrtc.MimeTypeH264):
		for _, nal := range SplitAnnexB(data) {
			if len(nal) > 0 && nal[0]&0x1f == 5 {
				return true, 0, 0
			}
		}
		return false, 0, 0
	case strings.ToLower(webrtc.MimeTypeVP9):
		return len(data) > 0 && data[0]&0x04 == 0, 0, 0
	case strings.ToLower(webrtc.MimeTypeAV1):
		return av1HasOBU(data, obuSequenceHeader), 0, 0
	case strings.ToLower(webrtc.MimeTypeH265):
		return hevcHasIRAP(data), 0, 0
	}
	return true, 0, 0
}

// SplitAnnexB splits an Annex B byte stream into NAL units.
func SplitAnnexB(data []byte) [][]byte {
	var nals [][]byte
	for len(data) > 0 {
		i := bytes.Index(data, []byte{0, 0, 1})
		if i < 0 {
			nals = append(nals, data)
			break
		}
		if i > 0 {
			nal := bytes.TrimRight(data[:i], "\x00")
			if len(nal) > 0 {
				nals = append(nals, nal)
			}
		}
		data = data[i+3:]
	}
	return nals
}

// Frames returns the frames completed so far.
func (r *Received) Frames() []ReceivedFrame {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ReceivedFrame(nil), r.frames...)
}

// Packets returns the packets received so far.
func (r *Received) Packets() []Packet {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Packet(nil), r.packets...)
}

// WaitFor waits until cond holds for the frames received, or the
// timeout passes, and reports whether it held.
func (r *Received) WaitFor(timeout time.Duration, cond func(frames []ReceivedFrame) bool) bool {
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ok := cond(r.frames)
		ch, ended := r.changed, r.ended
		r.mu.Unlock()
		if ok {
			return true
		}
		if ended {
			return false
		}
		select {
		case <-ch:
		case <-deadline:
			return false
		}
	}
}
