package rtcpeer

import (
	"bytes"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media/samplebuilder"

	"parley/bench/latency"
)

// Sample builder settings for video. Like a browser's jitter buffer, the
// builder gives up on a missing packet after a while (maxFrameWait)
// rather than only after a count of later packets.
const (
	maxLatePackets = 512
	maxFrameWait   = time.Second
)

// maxPlausibleLatency bounds a frame time: a frame that seems to have
// taken longer matched a send from an earlier loop of the clip, and is
// not timed.
const maxPlausibleLatency = 2 * time.Second

// pliInterval is the least time between two keyframe requests (PLI) of
// one receiver: a browser asks again only after about a round trip and a
// frame, not for every undecodable frame.
const pliInterval = 300 * time.Millisecond

// seqWindow is how many recent sequence numbers a receiver remembers to
// tell a duplicate from a late packet.
const seqWindow = 2048

// timestampRing is how many recent RTP timestamps a receiver remembers
// the last packet arrival of, to time the frames the builder completes.
const timestampRing = 128

// Counts is what one receiver, or many added up, got.
type Counts struct {
	Packets    int64 // distinct RTP packets received
	Bytes      int64 // their payload bytes
	Duplicates int64 // packets received again (retransmissions of ones that had arrived)
	// Expected is the span of extended sequence numbers from the first
	// packet to the highest: what a lossless path would have delivered.
	Expected int64
	// Frames are whole frames: depacketized by the sample builder for
	// video, one per packet for audio.
	Frames    int64
	Keyframes int64
	// Corrupt frames match no frame of the clip that was sent.
	Corrupt int64
	// BeforeKeyframe are video frames that arrived before the stream's
	// first keyframe: a decoder cannot show them.
	BeforeKeyframe int64
	// Undecodable are video frames after a loss, before the next
	// keyframe.
	Undecodable int64
	// PLIs are the keyframe requests the receiver sent.
	PLIs int64
}

// Lost is how many packets never arrived: Expected less Packets.
func (c Counts) Lost() int64 { return max(0, c.Expected-c.Packets) }

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Packets += o.Packets
	c.Bytes += o.Bytes
	c.Duplicates += o.Duplicates
	c.Expected += o.Expected
	c.Frames += o.Frames
	c.Keyframes += o.Keyframes
	c.Corrupt += o.Corrupt
	c.BeforeKeyframe += o.BeforeKeyframe
	c.Undecodable += o.Undecodable
	c.PLIs += o.PLIs
}

// Sub returns c less o: what arrived between two readings.
func (c Counts) Sub(o Counts) Counts {
	return Counts{
		Packets: c.Packets - o.Packets, Bytes: c.Bytes - o.Bytes, Duplicates: c.Duplicates - o.Duplicates,
		Expected: c.Expected - o.Expected, Frames: c.Frames - o.Frames, Keyframes: c.Keyframes - o.Keyframes,
		Corrupt: c.Corrupt - o.Corrupt, BeforeKeyframe: c.BeforeKeyframe - o.BeforeKeyframe, Undecodable: c.Undecodable - o.Undecodable,
		PLIs: c.PLIs - o.PLIs,
	}
}

// RTCPWriter sends RTCP on a connection: a *webrtc.PeerConnection.
type RTCPWriter interface {
	WriteRTCP(pkts []rtcp.Packet) error
}

// ReceiverOptions say where a Receiver reports.
type ReceiverOptions struct {
	// Latency gets each timed frame, under shard key Shard.
	Latency *latency.Recorder
	Shard   int
	// Feedback, when set, carries the receiver's keyframe requests: like
	// a browser's decoder, a video receiver that cannot show what arrives
	// (no keyframe yet, or a loss since the last) asks for one with a
	// PLI, at most once every pliInterval.
	Feedback RTCPWriter
}

// Receiver reads one remote track and checks what arrives against the
// Source that sent it. Its counters may be read at any time.
type Receiver struct {
	Track *webrtc.TrackRemote
	src   *Source
	opts  ReceiverOptions
	// lastPLI is when the last keyframe request went; used by the
	// reading goroutine only.
	lastPLI time.Duration

	packets, bytes, duplicates, expected atomic.Int64
	frames, keyframes, corrupt           atomic.Int64
	beforeKeyframe, undecodable, plis    atomic.Int64
	firstPacket, firstFrame              atomic.Int64 // since epoch; 0 before
	done                                 chan struct{}
}

// NewReceiver starts reading track, which src sent (the clip it plays is
// what the track must carry). The receiver reads until the track ends.
func NewReceiver(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver, src *Source, opts ReceiverOptions) *Receiver {
	r := &Receiver{Track: track, src: src, opts: opts, done: make(chan struct{})}
	go r.read()
	// The interceptors see RTCP (the sender reports that receiver reports
	// refer to) only when someone reads it.
	go func() {
		for {
			if _, _, err := recv.ReadRTCP(); err != nil {
				return
			}
		}
	}()
	return r
}

// Counts returns what the receiver has got so far.
func (r *Receiver) Counts() Counts {
	return Counts{
		Packets: r.packets.Load(), Bytes: r.bytes.Load(), Duplicates: r.duplicates.Load(), Expected: r.expected.Load(),
		Frames: r.frames.Load(), Keyframes: r.keyframes.Load(), Corrupt: r.corrupt.Load(),
		BeforeKeyframe: r.beforeKeyframe.Load(), Undecodable: r.undecodable.Load(), PLIs: r.plis.Load(),
	}
}

// FirstFrame returns when the first frame a decoder could show arrived
// (for video, the first whole keyframe), and whether one has.
func (r *Receiver) FirstFrame() (time.Time, bool) {
	at := r.firstFrame.Load()
	if at == 0 {
		return time.Time{}, false
	}
	return epoch.Add(time.Duration(at)), true
}

// Done is closed when the track has ended.
func (r *Receiver) Done() <-chan struct{} { return r.done }

func (r *Receiver) read() {
	defer close(r.done)
	var seq seqTracker
	var ring arrivals
	buf := make([]byte, 1500)
	video := r.src.Clip.IsVideo()
	var sb *samplebuilder.SampleBuilder
	if video {
		sb = samplebuilder.New(maxLatePackets, depacketizer(r.src.Clip.MimeType), r.Track.Codec().ClockRate,
			samplebuilder.WithMaxTimeDelay(maxFrameWait))
	}
	decodable := false
	var audio rtp.Packet
	for {
		n, _, err := r.Track.Read(buf)
		if err != nil {
			return
		}
		arrival := now()
		pkt := &audio
		if video {
			// The sample builder keeps the packet: it gets its own bytes.
			pkt = &rtp.Packet{}
		}
		raw := buf[:n]
		if video {
			raw = bytes.Clone(raw)
		}
		if err := pkt.Unmarshal(raw); err != nil {
			continue
		}
		fresh, span := seq.add(pkt.SequenceNumber)
		r.expected.Store(span)
		if !fresh {
			r.duplicates.Add(1)
			continue
		}
		if r.firstPacket.Load() == 0 {
			r.firstPacket.Store(int64(arrival))
		}
		r.packets.Add(1)
		r.bytes.Add(int64(len(pkt.Payload)))
		if !video {
			// One Opus packet is one whole frame.
			r.frame(pkt.Payload, arrival, true, &decodable)
			continue
		}
		ring.note(pkt.Timestamp, arrival)
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			if s.PrevDroppedPackets > 0 {
				decodable = false
			}
			r.frame(s.Data, ring.last(s.PacketTimestamp), false, &decodable)
		}
	}
}

// frame checks one whole frame. arrival is when its last packet came
// (zero if unknown). audio frames are all keyframes.
func (r *Receiver) frame(data []byte, arrival time.Duration, audio bool, decodable *bool) {
	clip := r.src.Clip
	index, known, key := clip.identify(data)
	key = key || audio
	r.frames.Add(1)
	if key {
		r.keyframes.Add(1)
		*decodable = true
	}
	if !known {
		r.corrupt.Add(1)
	}
	if !*decodable {
		if r.firstFrame.Load() == 0 {
			r.beforeKeyframe.Add(1)
		} else {
			r.undecodable.Add(1)
		}
		r.askKeyframe()
		return
	}
	if r.firstFrame.Load() == 0 {
		r.firstFrame.Store(int64(now()))
	}
	if !known || index < 0 || arrival == 0 {
		return
	}
	if sent := r.src.SentAt(index); sent > 0 {
		if d := arrival - sent; d >= 0 && d < maxPlausibleLatency {
			r.opts.Latency.Record(r.opts.Shard, d)
		}
	}
}

// askKeyframe sends a PLI, unless one went less than pliInterval ago.
func (r *Receiver) askKeyframe() {
	if r.opts.Feedback == nil {
		return
	}
	at := now()
	if r.lastPLI != 0 && at-r.lastPLI < pliInterval {
		return
	}
	r.lastPLI = at
	if err := r.opts.Feedback.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(r.Track.SSRC())}}); err == nil {
		r.plis.Add(1)
	}
}

func depacketizer(mime string) rtp.Depacketizer {
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeH264):
		return &codecs.H264Packet{}
	case strings.ToLower(webrtc.MimeTypeVP9):
		return &codecs.VP9Packet{}
	default:
		return &codecs.VP8Packet{}
	}
}

// seqTracker extends 16-bit sequence numbers and remembers the recent
// ones, to count distinct packets and the span a lossless path would
// have delivered.
type seqTracker struct {
	started     bool
	first, high int64
	seen        [seqWindow]int64 // extended number + 1 of the packet in each slot
}

// add notes one packet and reports whether it is new, and the span from
// the first packet to the highest so far.
func (t *seqTracker) add(seq uint16) (fresh bool, span int64) {
	if !t.started {
		t.started = true
		t.first, t.high = int64(seq)+1<<16, int64(seq)+1<<16 // room to go back before the first
	}
	ext := t.high + int64(int16(seq-uint16(t.high)))
	if ext > t.high {
		t.high = ext
	}
	if ext < t.first {
		t.first = ext // a reordered packet from before the first one
	}
	span = t.high - t.first + 1
	if ext <= t.high-seqWindow {
		return true, span // too old to check; a late packet is still a packet
	}
	slot := &t.seen[ext%seqWindow]
	if *slot == ext+1 {
		return false, span
	}
	*slot = ext + 1
	return true, span
}

// arrivals remembers when the last packet of each recent RTP timestamp
// (each recent frame) arrived.
type arrivals struct {
	ts   [timestampRing]uint32
	at   [timestampRing]time.Duration
	next int
}

func (a *arrivals) note(ts uint32, at time.Duration) {
	prev := (a.next + timestampRing - 1) % timestampRing
	if a.at[prev] != 0 && a.ts[prev] == ts {
		a.at[prev] = at
		return
	}
	a.ts[a.next], a.at[a.next] = ts, at
	a.next = (a.next + 1) % timestampRing
}

// last returns when the last packet with timestamp ts arrived, zero if
// it is no longer remembered.
func (a *arrivals) last(ts uint32) time.Duration {
	for i := 1; i <= timestampRing; i++ {
		j := (a.next + timestampRing - i) % timestampRing
		if a.at[j] != 0 && a.ts[j] == ts {
			return a.at[j]
		}
	}
	return 0
}
