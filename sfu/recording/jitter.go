package recording

import "time"

// Jitter buffer limits. A recording is not latency bound, so the buffer
// waits generously for a late or retransmitted packet before it calls the
// packet lost.
const (
	// jitterSlots is how many packets one track's buffer holds. A packet
	// that lands further ahead than this is a jump in the stream: the buffer
	// releases what it has and starts over from it.
	jitterSlots = 1024
	// jitterMaxDelay is how much media, in RTP time, may pile up behind a
	// missing packet before the buffer gives up waiting for it.
	jitterMaxDelay = 500 * time.Millisecond
	// jitterStartPackets and jitterStartDelay are how many packets, or how
	// much media, the buffer gathers before it releases the first, so that
	// packets reordered at the very start of a stream are not taken for
	// late ones. The delay serves sparse streams, such as a screen share
	// at one frame a second.
	jitterStartPackets = 8
	jitterStartDelay   = 100 * time.Millisecond
	// jitterLateRestart is how many late packets in a row make the buffer
	// take the stream for restarted with new sequence numbers.
	jitterLateRestart = 64
)

// packet is the part of an RTP packet the recorder keeps. WriteRTP copies
// into it, so the media engine may reuse its buffers.
type packet struct {
	ssrc    uint32
	seq     uint16
	ts      uint32
	marker  bool
	payload []byte
	arrival time.Time

	// ext is the sequence number extended past 16 bits, set by the buffer.
	ext uint64
	// lost is set on release when packets before this one never came.
	lost bool
}

// pushResult says what the jitter buffer did with a packet.
type pushResult int

const (
	pushStored pushResult = iota
	pushDuplicate
	pushLate
)

// jitterBuffer puts the packets of one track back in sequence order. It
// releases a packet as soon as every packet before it has been released;
// when one is missing it holds the rest back until jitterMaxDelay of media
// has piled up behind the gap, then skips the gap and marks the next
// released packet as following a loss. Duplicates and packets that come
// after their turn has passed are dropped.
//
// The buffer counts time only in RTP timestamps, never on a clock, so it
// behaves the same however fast packets are fed. A gap at the very end of
// a stream is only released by drain.
type jitterBuffer struct {
	slots      [jitterSlots]*packet
	maxDelay   uint32 // in RTP ticks
	startDelay uint32 // in RTP ticks

	seen      bool   // a packet has been pushed
	releasing bool   // the first packet has been released
	next      uint64 // extended number of the next packet to release
	highest   uint64 // highest extended number stored
	count     int    // packets held
	lostNext  bool   // a gap was skipped right before next
	lateRun   int    // late packets in a row
}

func newJitterBuffer(clockRate uint32) *jitterBuffer {
	return &jitterBuffer{
		maxDelay:   uint32(ticksIn(jitterMaxDelay, clockRate)),
		startDelay: uint32(ticksIn(jitterStartDelay, clockRate)),
	}
}

// push stores p. It reports a duplicate or a packet whose turn has passed,
// which it drops.
func (j *jitterBuffer) push(p *packet) pushResult {
	if !j.seen {
		// Start far from zero so that numbers before the first stay positive.
		j.seen = true
		j.highest = 1<<32 + uint64(p.seq)
		j.next = j.highest
	}
	p.ext = uint64(int64(j.highest) + int64(int16(p.seq-uint16(j.highest))))
	if p.ext < j.next {
		if j.releasing {
			j.lateRun++
			if j.lateRun < jitterLateRestart {
				return pushLate
			}
			// The sender started numbering afresh: follow it.
			j.reset()
			j.lostNext = true
			return j.push(p)
		}
		// Still gathering the start: an earlier packet moves the start back,
		// as long as everything held still fits.
		if j.highest-p.ext >= jitterSlots {
			return pushLate
		}
		j.next = p.ext
	}
	j.lateRun = 0
	if p.ext >= j.next+jitterSlots {
		// A jump too far to wait across: release nothing more of the old
		// run, start again from this packet.
		j.reset()
		j.seen = true
		j.releasing = true
		j.next = p.ext
		j.lostNext = true
	}
	slot := &j.slots[p.ext%jitterSlots]
	if *slot != nil {
		if (*slot).ext == p.ext {
			return pushDuplicate
		}
		// A stale packet from long before next; it can never be released.
		j.count--
	}
	*slot = p
	j.count++
	if p.ext > j.highest {
		j.highest = p.ext
	}
	return pushStored
}

// pop returns the next packet in order, or nil when it must wait.
func (j *jitterBuffer) pop() *packet {
	if !j.releasing {
		if j.count < jitterStartPackets && j.heldSpan() < j.startDelay {
			return nil
		}
		j.releasing = true
	}
	for j.count > 0 {
		if p := j.take(j.next); p != nil {
			return p
		}
		if !j.gapExpired() {
			return nil
		}
		j.skipGap()
	}
	return nil
}

// drain returns every held packet in order, gaps marked, and empties the
// buffer. The stream may continue afterwards.
func (j *jitterBuffer) drain() []*packet {
	var out []*packet
	j.releasing = true
	for j.count > 0 {
		if p := j.take(j.next); p != nil {
			out = append(out, p)
			continue
		}
		j.skipGap()
	}
	return out
}

// reset forgets everything, as for a new stream.
func (j *jitterBuffer) reset() {
	*j = jitterBuffer{maxDelay: j.maxDelay, startDelay: j.startDelay}
}

func (j *jitterBuffer) take(ext uint64) *packet {
	slot := &j.slots[ext%jitterSlots]
	p := *slot
	if p == nil || p.ext != ext {
		return nil
	}
	*slot = nil
	j.count--
	j.next = ext + 1
	p.lost = j.lostNext
	j.lostNext = false
	return p
}

// lowestHeld is the smallest extended number held at or after next.
func (j *jitterBuffer) lowestHeld() (*packet, bool) {
	for ext := j.next; ext <= j.highest; ext++ {
		if p := j.slots[ext%jitterSlots]; p != nil && p.ext == ext {
			return p, true
		}
	}
	return nil, false
}

// gapExpired reports whether the media held behind the gap at next spans
// at least maxDelay, or the buffer is nearly full.
func (j *jitterBuffer) gapExpired() bool {
	return j.count >= jitterSlots/2 || j.heldSpan() >= j.maxDelay
}

// heldSpan is the RTP time from the lowest held packet to the highest.
func (j *jitterBuffer) heldSpan() uint32 {
	low, ok := j.lowestHeld()
	if !ok {
		return 0
	}
	high := j.slots[j.highest%jitterSlots]
	if high == nil {
		return 0
	}
	if d := int32(high.ts - low.ts); d > 0 {
		return uint32(d)
	}
	return 0
}

// skipGap moves next to the lowest held packet and marks the loss.
func (j *jitterBuffer) skipGap() {
	low, ok := j.lowestHeld()
	if !ok {
		// Only stale packets are left; forget them.
		j.slots = [jitterSlots]*packet{}
		j.count = 0
		return
	}
	j.next = low.ext
	j.lostNext = true
}
