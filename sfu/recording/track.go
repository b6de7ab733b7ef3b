package recording

import (
	"bytes"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// keyframeRequestInterval is the least media time between two keyframe
// requests of one track, so a lossy stretch does not flood the sender.
const keyframeRequestInterval = time.Second

// TrackConfig describes one published track to record.
type TrackConfig struct {
	// ID names the track in the manifest.
	ID string
	// MimeType is the codec: MimeTypeVP8, MimeTypeVP9, MimeTypeH264 or
	// MimeTypeOpus, in any case.
	MimeType string
	// ClockRate is the RTP clock; zero means the codec's usual one
	// (90000 for video, 48000 for Opus).
	ClockRate uint32
	// OnKeyframeNeeded asks the publisher for a keyframe: when the track
	// starts, when a new file starts, and after a loss the recorder cannot
	// repair. It runs on the recorder's goroutine and must not block or
	// call back into the recorder.
	OnKeyframeNeeded func()
}

// TrackStats counts what happened to a track's packets and frames.
type TrackStats struct {
	Packets          uint64 // packets given to WriteRTP
	QueueDrops       uint64 // dropped because the recorder fell behind
	Duplicates       uint64 // dropped as already seen
	Late             uint64 // dropped as coming after their turn
	Gaps             uint64 // places where packets never came
	Frames           uint64 // frames put in a file
	FramesDropped    uint64 // frames broken by loss or waiting for a keyframe
	KeyframeRequests uint64
}

// TrackWriter takes one published track's RTP packets and Sender Reports
// into a participant's recording. Its Write methods never block: they
// copy what they need and queue it for the recorder's goroutine, and when
// the queue is full they drop the packet and count it (the gap then reads
// as a loss, which asks for a keyframe).
//
// The packets are those of the track's media SSRC, after any RTX repair;
// padding-only packets may come too. A new SSRC is taken for a new stream
// from the same publisher, as after a reconnect: the file ends, and the
// track starts over in the next one from a keyframe.
type TrackWriter struct {
	p         *Participant
	id        string
	codec     codec
	clockRate uint32
	onKey     func()
	state     *trackState // owned by the participant's goroutine

	closed   atomic.Bool
	overflow atomic.Bool // a packet was dropped from a full queue
	stats    struct {
		packets, queueDrops, duplicates, late, gaps, frames, framesDropped, keyRequests atomic.Uint64
	}
}

// ID is the track's ID as configured.
func (t *TrackWriter) ID() string { return t.id }

// WriteRTP queues a copy of pkt. It returns at once, whatever the state
// of the recorder or the disk.
func (t *TrackWriter) WriteRTP(pkt *rtp.Packet) {
	t.stats.packets.Add(1)
	if t.closed.Load() || t.p.stopped.Load() {
		return
	}
	q := &packet{
		ssrc:    pkt.SSRC,
		seq:     pkt.SequenceNumber,
		ts:      pkt.Timestamp,
		marker:  pkt.Marker,
		payload: bytes.Clone(pkt.Payload),
		arrival: time.Now(),
	}
	select {
	case t.p.in <- item{track: t, pkt: q}:
	default:
		t.stats.queueDrops.Add(1)
		t.overflow.Store(true)
	}
}

// WriteSenderReport queues the parts of a publisher's Sender Report the
// recorder uses to line tracks up. It returns at once.
func (t *TrackWriter) WriteSenderReport(sr *rtcp.SenderReport) {
	if t.closed.Load() || t.p.stopped.Load() {
		return
	}
	r := &senderReport{ssrc: sr.SSRC, ntp: ntpTime(sr.NTPTime), rtpTime: sr.RTPTime}
	select {
	case t.p.in <- item{track: t, sr: r}:
	default: // a later report will do
	}
}

// Close ends the track: what it has buffered goes to the file, and the
// file goes on with the participant's other tracks. It waits for the
// recorder's goroutine.
func (t *TrackWriter) Close() error {
	if t.closed.Swap(true) {
		return nil
	}
	err := t.p.do(func() { t.p.closeTrack(t.state) })
	if errors.Is(err, ErrStopped) {
		return nil // the whole participant is gone already
	}
	return err
}

// Stats returns the track's counters so far.
func (t *TrackWriter) Stats() TrackStats {
	return TrackStats{
		Packets:          t.stats.packets.Load(),
		QueueDrops:       t.stats.queueDrops.Load(),
		Duplicates:       t.stats.duplicates.Load(),
		Late:             t.stats.late.Load(),
		Gaps:             t.stats.gaps.Load(),
		Frames:           t.stats.frames.Load(),
		FramesDropped:    t.stats.framesDropped.Load(),
		KeyframeRequests: t.stats.keyRequests.Load(),
	}
}

// senderReport is the part of an RTCP Sender Report the recorder keeps.
type senderReport struct {
	ssrc    uint32
	ntp     time.Time
	rtpTime uint32
}

// ntpEpochOffset is the seconds from 1900 (NTP's epoch) to 1970.
const ntpEpochOffset = 2208988800

// ntpTime converts a 64-bit NTP timestamp into a time.
func ntpTime(v uint64) time.Time {
	sec := int64(v>>32) - ntpEpochOffset
	nsec := int64((v & 0xffffffff) * uint64(time.Second) >> 32)
	return time.Unix(sec, nsec)
}

// trackState is a track as the participant's goroutine sees it.
type trackState struct {
	w       *TrackWriter
	codec   codec
	ssrc    uint32
	hasSSRC bool
	jitter  *jitterBuffer
	asm     *frameAssembler
	clock   trackClock
	// pendingSR is a report for an SSRC not seen yet: a reconnecting
	// publisher's report may come before its first packet.
	pendingSR *senderReport
	// lostPending carries a loss across padding-only packets.
	lostPending bool

	hasKeyRequest bool
	lastKeyTS     uint32

	closed bool

	// inFile is the track's index in the open file, or -1.
	inFile int
	// startup holds frames while the track waits for a file.
	startup      []*frame
	startupBytes int
	// lastPTS is the time of the track's last frame in the open file.
	lastPTS time.Duration
	hasPTS  bool
}

func newTrackState(w *TrackWriter) *trackState {
	return &trackState{
		w:      w,
		codec:  w.codec,
		jitter: newJitterBuffer(w.clockRate),
		asm:    newFrameAssembler(w.codec),
		clock:  newTrackClock(w.clockRate),
		inFile: -1,
	}
}

// requestKeyframe asks the publisher for a keyframe, at most once per
// keyframeRequestInterval of the track's media time. ts is the RTP time
// of the packet that made the need known; force skips the limit.
func (s *trackState) requestKeyframe(ts uint32, force bool) {
	if !s.codec.video() || s.w.onKey == nil {
		return
	}
	if !force && s.hasKeyRequest {
		since := int64(int32(ts - s.lastKeyTS))
		if since >= 0 && since < int64(ticksIn(keyframeRequestInterval, s.w.clockRate)) {
			return
		}
	}
	if !force {
		s.hasKeyRequest, s.lastKeyTS = true, ts
	}
	s.w.stats.keyRequests.Add(1)
	s.w.onKey()
}

func ticksIn(d time.Duration, rate uint32) uint64 {
	return uint64(d) * uint64(rate) / uint64(time.Second)
}

// newStream readies the track for a new SSRC.
func (s *trackState) newStream(ssrc uint32) {
	s.ssrc, s.hasSSRC = ssrc, true
	s.jitter.reset()
	s.asm = newFrameAssembler(s.codec)
	s.clock = newTrackClock(s.w.clockRate)
	s.hasKeyRequest = false
	s.lostPending = false
	if sr := s.pendingSR; sr != nil && sr.ssrc == ssrc {
		s.clock.senderReport(sr.ntp, sr.rtpTime)
	}
	s.pendingSR = nil
}

func (s *trackState) String() string {
	return fmt.Sprintf("track %s (%s)", s.w.id, s.codec.mimeType())
}

// formatKnown reports whether a file could describe the track now: audio
// always, video once a keyframe has shown its size and parameters.
func (s *trackState) formatKnown() bool {
	return !s.codec.video() || s.asm.format.ready(s.codec)
}
