package media

import (
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// Speaker detection settings.
const (
	// SpeakerInterval is how often the room model should call
	// SpeakerDetector.Top: each call scores the audio since the last.
	SpeakerInterval = 300 * time.Millisecond
	// ActiveLevel is the loudest audio level (in -dBov, RFC 6464: 0 is
	// loudest, 127 silence) that still counts as silence; packets louder
	// than this count as speech.
	ActiveLevel = 50
	// minActiveShare is the share of an interval's packets that must be
	// speech for the track to score at all, so a cough is not a speaker.
	minActiveShare = 0.4
	// speakerSmoothing weighs the previous score against the new one.
	speakerSmoothing = 0.5
)

// audioLevel gathers the RFC 6464 levels of one audio track's packets
// between two scorings. Levels come from the header extension: no audio
// is decoded.
type audioLevel struct {
	mu     sync.Mutex
	count  int
	active int
	sum    float64 // linear amplitude of the speech packets
}

func (a *audioLevel) observe(dBov uint8) {
	a.mu.Lock()
	a.count++
	if dBov < ActiveLevel {
		a.active++
		a.sum += math.Pow(10, -float64(dBov)/20)
	}
	a.mu.Unlock()
}

// take scores the interval, from 0 (silent) to 1 (full scale, all
// speech), and starts the next.
func (a *audioLevel) take() float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	count, active, sum := a.count, a.active, a.sum
	a.count, a.active, a.sum = 0, 0, 0
	if count == 0 || float64(active)/float64(count) < minActiveShare {
		return 0
	}
	return sum / float64(count)
}

// Speaker is one entry of the speaker ranking.
type Speaker struct {
	ID string
	// Level is the smoothed loudness, 0 to 1 (linear amplitude, weighted
	// by the share of the time spent speaking).
	Level float64
}

// SpeakerDetector ranks audio tracks by how loudly they are speaking,
// from the audio level extension alone. It is safe for concurrent use.
type SpeakerDetector struct {
	mu     sync.Mutex
	tracks map[string]*speakerTrack
}

type speakerTrack struct {
	r     *Receiver
	level float64
}

// NewSpeakerDetector makes an empty detector.
func NewSpeakerDetector() *SpeakerDetector {
	return &SpeakerDetector{tracks: map[string]*speakerTrack{}}
}

// Add watches an audio receiver under id (a participant, say). Receivers
// whose publisher did not negotiate the audio level extension never
// score.
func (s *SpeakerDetector) Add(id string, r *Receiver) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tracks[id] = &speakerTrack{r: r}
}

// Remove stops watching id.
func (s *SpeakerDetector) Remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tracks, id)
}

// Top scores the audio since the last call and returns up to n speakers,
// loudest first. Call it every SpeakerInterval.
func (s *SpeakerDetector) Top(n int) []Speaker {
	threshold := math.Pow(10, -float64(ActiveLevel)/20) * minActiveShare
	s.mu.Lock()
	var out []Speaker
	for id, t := range s.tracks {
		t.level = speakerSmoothing*t.level + (1-speakerSmoothing)*t.r.level.take()
		if t.level >= threshold {
			out = append(out, Speaker{ID: id, Level: t.level})
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b Speaker) int {
		switch {
		case a.Level > b.Level:
			return -1
		case a.Level < b.Level:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}
