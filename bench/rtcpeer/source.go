package rtcpeer

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3/pkg/media"

	"parley/sfu/mediatest"
)

// maxBehind is how far a Source may fall behind its schedule before it
// gives up catching up: a generator that cannot keep its own pace would
// otherwise send a burst that no real encoder sends. Each reset counts as
// a stall.
const maxBehind = 500 * time.Millisecond

// epoch is the zero of the generator's clock: send and arrival times are
// kept as durations since it, on the monotonic clock.
var epoch = time.Now()

// now is the time since epoch.
func now() time.Duration { return time.Since(epoch) }

// Source plays a clip into a track at real-time pace, in a loop, and
// remembers when it sent each frame.
type Source struct {
	Clip  *Clip
	Track *mediatest.Track

	keyframes []int          // index of the next keyframe at or after each frame
	sentAt    []atomic.Int64 // since epoch, of each frame's latest send; 0 before

	frames, bytes   atomic.Int64
	keyframeAnswers atomic.Int64
	stalls          atomic.Int64
	writeErrors     atomic.Int64

	cancel context.CancelFunc
	done   chan struct{}
}

// SourceStats is what a Source sent.
type SourceStats struct {
	Frames int64
	Bytes  int64
	// KeyframeAnswers counts jumps to a keyframe asked for by PLI or FIR.
	KeyframeAnswers int64
	// Stalls counts the times the source fell more than maxBehind
	// behind its schedule: the generator was short of CPU.
	Stalls int64
	// WriteErrors counts frames the track could not send.
	WriteErrors int64
}

// NewSource prepares clip to play into track. Start plays it.
func NewSource(clip *Clip, track *mediatest.Track) *Source {
	s := &Source{Clip: clip, Track: track, sentAt: make([]atomic.Int64, len(clip.Frames)),
		keyframes: make([]int, len(clip.Frames))}
	// Fill the next-keyframe table backwards, wrapping once.
	next := -1
	for pass := 0; pass < 2; pass++ {
		for i := len(clip.Frames) - 1; i >= 0; i-- {
			if clip.Frames[i].Keyframe {
				next = i
			}
			s.keyframes[i] = next
		}
	}
	return s
}

// Start plays the clip until Stop.
func (s *Source) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel, s.done = cancel, make(chan struct{})
	go s.play(ctx)
}

// Stop stops playing and returns once the last frame is written.
func (s *Source) Stop() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	<-s.done
}

// SentAt is when frame i was last sent, as a duration since the
// package's epoch; zero if never.
func (s *Source) SentAt(i int) time.Duration {
	if i < 0 || i >= len(s.sentAt) {
		return 0
	}
	return time.Duration(s.sentAt[i].Load())
}

// Stats returns what the source has sent so far.
func (s *Source) Stats() SourceStats {
	return SourceStats{Frames: s.frames.Load(), Bytes: s.bytes.Load(), KeyframeAnswers: s.keyframeAnswers.Load(),
		Stalls: s.stalls.Load(), WriteErrors: s.writeErrors.Load()}
}

func (s *Source) play(ctx context.Context) {
	defer close(s.done)
	frames := s.Clip.Frames
	if len(frames) == 0 {
		return
	}
	start := time.Now()
	var at time.Duration
	requests := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := 0; ; i = (i + 1) % len(frames) {
		wait := time.Until(start.Add(at))
		if wait < -maxBehind {
			start = time.Now().Add(-at)
			wait = 0
			s.stalls.Add(1)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if s.Clip.IsVideo() {
			// An encoder answers a PLI or FIR with a keyframe; this one
			// jumps to the clip's next.
			c := s.Track.RTCP()
			if n := c.PLI + c.FIR; n > requests {
				requests = n
				if k := s.keyframes[i]; k >= 0 && k != i {
					i = k
				}
				s.keyframeAnswers.Add(1)
			}
		}
		f := frames[i]
		s.sentAt[i].Store(int64(now()))
		if err := s.Track.WriteSample(media.Sample{Data: f.Data, Duration: f.Duration}); err != nil {
			s.writeErrors.Add(1)
		}
		s.frames.Add(1)
		s.bytes.Add(int64(len(f.Data)))
		at += f.Duration
	}
}
