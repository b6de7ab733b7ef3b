package media

import (
	"time"

	"github.com/pion/rtp"
)

// maxReorder is how far behind the newest packet a packet may arrive and
// still be forwarded: a publisher's retransmission answers a NACK within
// a second, well inside it.
const maxReorder = 4096

// verdict is what the forwarder decides for one packet.
type verdict uint8

const (
	verdictSend verdict = iota
	verdictDrop
	// verdictNeedKeyframe drops a packet of the layer the downtrack
	// wants to switch to, which cannot start before a keyframe.
	verdictNeedKeyframe
)

// forwarder turns the packets of several source streams (simulcast
// layers, and a layer's successive SSRCs) into one continuous outgoing
// stream. It forwards one source at a time. Each run of packets from one
// source is an epoch: within it, outgoing sequence numbers and
// timestamps are the incoming ones shifted by fixed offsets, so loss and
// reordering pass through unchanged and a NACK maps back exactly. A new
// epoch starts only on a keyframe (for video), one sequence number after
// the last one sent, with the timestamp advanced by the wall-clock time
// since the last packet sent.
//
// A forwarder is used by one goroutine; it holds no lock.
type forwarder struct {
	video     bool
	clockRate uint32

	started  bool
	cur      int // slot of the layer being forwarded, -1 for none
	curSSRC  uint32
	epochSN  uint16 // first incoming sequence number of the epoch
	highSN   uint16 // highest incoming sequence number of the epoch
	snOffset uint16
	tsOffset uint32
	epoch    uint32 // counts epochs

	lastSN uint16 // highest outgoing sequence number so far
	lastTS uint32
	lastAt time.Time
}

func newForwarder(video bool, clockRate uint32) forwarder {
	return forwarder{video: video, clockRate: clockRate, cur: -1}
}

// pause stops forwarding. The next packet sent starts a new epoch, so a
// video stream resumes on a keyframe.
func (f *forwarder) pause() { f.cur = -1 }

// forward decides for packet h of the layer in slot, when the downtrack
// wants the layer in slot target (-1 to send nothing), and returns the
// outgoing sequence number and timestamp.
func (f *forwarder) forward(slot, target int, h *rtp.Header, keyframe bool, now time.Time) (uint16, uint32, verdict) {
	if target < 0 {
		f.pause()
		return 0, 0, verdictDrop
	}
	if slot == f.cur && h.SSRC == f.curSSRC {
		sn := h.SequenceNumber
		// From before the switch (while the epoch is young enough for
		// that to be told), or too old to place at all.
		if (f.highSN-f.epochSN < maxReorder && seqBefore(sn, f.epochSN)) || (seqBefore(sn, f.highSN) && f.highSN-sn > maxReorder) {
			return 0, 0, verdictDrop
		}
		if seqBefore(f.highSN, sn) {
			f.highSN = sn
		}
		return f.emit(h, now)
	}
	if slot != target {
		return 0, 0, verdictDrop
	}
	// A switch to the target layer, or a new SSRC on it.
	if f.video && !keyframe {
		return 0, 0, verdictNeedKeyframe
	}
	if f.started {
		outSN := f.lastSN + 1
		delta := uint32(now.Sub(f.lastAt).Seconds() * float64(f.clockRate))
		if delta == 0 {
			delta = 1
		}
		f.snOffset = h.SequenceNumber - outSN
		f.tsOffset = h.Timestamp - (f.lastTS + delta)
	}
	f.cur, f.curSSRC, f.epochSN, f.highSN = slot, h.SSRC, h.SequenceNumber, h.SequenceNumber
	f.epoch++
	return f.emit(h, now)
}

func (f *forwarder) emit(h *rtp.Header, now time.Time) (uint16, uint32, verdict) {
	sn := h.SequenceNumber - f.snOffset
	ts := h.Timestamp - f.tsOffset
	if !f.started || seqBefore(f.lastSN, sn) {
		f.started = true
		f.lastSN, f.lastTS, f.lastAt = sn, ts, now
	}
	return sn, ts, verdictSend
}

// seqBefore reports whether sequence number a comes before b, modulo 2^16.
func seqBefore(a, b uint16) bool { return int16(a-b) < 0 }
