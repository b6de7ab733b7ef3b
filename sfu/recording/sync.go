package recording

import "time"

// srResyncThreshold is how far a new Sender Report may disagree with the
// mapping already in use before the track is mapped afresh. Reports carry
// a little jitter of their own; following each one would shake the
// timeline, while drift beyond this is corrected. Half the 40 ms sync
// budget keeps audio and video well within it.
const srResyncThreshold = 15 * time.Millisecond

// tsUnwrapper extends 32-bit RTP timestamps into a line that does not
// wrap, so that differences stay right across the wrap.
type tsUnwrapper struct {
	started bool
	last    uint32
	ext     int64
}

func (u *tsUnwrapper) unwrap(ts uint32) int64 {
	if !u.started {
		u.started = true
		u.last = ts
		u.ext = 1<<32 + int64(ts)
		return u.ext
	}
	u.ext += int64(int32(ts - u.last))
	u.last = ts
	return u.ext
}

// ticks converts an RTP time difference into a duration.
func ticks(d int64, clockRate uint32) time.Duration {
	return time.Duration(d * int64(time.Second) / int64(clockRate))
}

// trackClock maps one track's RTP timestamps to wall-clock time.
//
// A Sender Report ties an RTP timestamp to the sender's wall clock, and
// all tracks of one sender share that clock, so reports are what line
// audio up with video. Until a track's first report arrives, its first
// frame is pinned to its arrival time and the rest follow by RTP time.
type trackClock struct {
	rate   uint32
	unwrap tsUnwrapper

	hasSR bool
	srTS  int64     // unwrapped RTP time of the report in use
	srNTP time.Time // the sender's wall clock at srTS

	hasArrival bool
	arrTS      int64
	arrTime    time.Time
}

func newTrackClock(rate uint32) trackClock { return trackClock{rate: rate} }

// senderReport takes in a report. It returns true when the mapping changed.
func (c *trackClock) senderReport(ntp time.Time, rtpTime uint32) bool {
	ext := c.unwrap.unwrap(rtpTime)
	ntp = ntp.Round(0)
	if c.hasSR {
		predicted := c.senderTime(ext)
		if d := predicted.Sub(ntp); d < srResyncThreshold && d > -srResyncThreshold {
			return false
		}
	}
	c.hasSR, c.srTS, c.srNTP = true, ext, ntp
	return true
}

// senderTime is the sender's wall clock at unwrapped RTP time ext.
func (c *trackClock) senderTime(ext int64) time.Time {
	return c.srNTP.Add(ticks(ext-c.srTS, c.rate))
}

// timeline places a participant's frames on the recorder's wall clock.
// Tracks with reports share one estimate of how far the sender's clock is
// from ours, taken from the arrival of the first frame placed by a
// report, and kept across files so that their start offsets keep the
// sender's timing. Tracks without a report are placed by arrival.
type timeline struct {
	hasOffset    bool
	senderOffset time.Duration // the sender's clock minus ours
}

// local returns when, on our clock, the frame at RTP time ts was captured
// (for tracks with a report) or would have arrived (for the others).
func (tl *timeline) local(c *trackClock, ts uint32, arrival time.Time) time.Time {
	ext := c.unwrap.unwrap(ts)
	arrival = arrival.Round(0)
	if c.hasSR {
		s := c.senderTime(ext)
		if !tl.hasOffset {
			tl.hasOffset = true
			tl.senderOffset = s.Sub(arrival)
		}
		return s.Add(-tl.senderOffset)
	}
	if !c.hasArrival {
		c.hasArrival, c.arrTS, c.arrTime = true, ext, arrival
	}
	return c.arrTime.Add(ticks(ext-c.arrTS, c.rate))
}
