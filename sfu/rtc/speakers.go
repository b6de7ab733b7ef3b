package rtc

import (
	"slices"
	"time"

	"parley/sfu/media"
)

// speakerState is a room's speaker ranking: the detector scoring the
// unmuted microphones, and the ranking last announced.
type speakerState struct {
	detector  *media.SpeakerDetector
	announced []Speaker // guarded by room.mu
}

// speakerTrackLocked keeps the detector's set in line with t: a live,
// unmuted microphone is scored, anything else is not.
func (r *Room) speakerTrackLocked(t *publishedTrack) {
	if t.info.Source != SourceMicrophone || !t.live {
		return
	}
	if t.info.Muted || t.closed.Load() {
		r.speakers.detector.Remove(t.owner.id)
		return
	}
	r.speakers.detector.Add(t.owner.id, t.recv)
}

// runSpeakers ranks the speakers every SpeakerInterval until the room
// closes, and announces the ranking when the speakers or their order
// change (not on every change of level, which would be an event each
// interval).
func (r *Room) runSpeakers() {
	tick := time.NewTicker(r.cfg.SpeakerInterval)
	defer tick.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-tick.C:
		}
		top := r.speakers.detector.Top(r.cfg.MaxSpeakers)
		ranked := make([]Speaker, 0, len(top))
		for _, s := range top {
			ranked = append(ranked, Speaker{ParticipantID: s.ID, Level: float64(int(s.Level*1000)) / 1000})
		}
		r.mu.Lock()
		if !sameSpeakers(ranked, r.speakers.announced) {
			r.speakers.announced = ranked
			r.broadcastLocked(Event{Type: EventSpeakers, Data: SpeakersEvent{Speakers: ranked}}, nil)
		}
		r.mu.Unlock()
	}
}

// Speakers is the ranking last announced, loudest first.
func (r *Room) Speakers() []Speaker {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.speakers.announced)
}

func sameSpeakers(a, b []Speaker) bool {
	return slices.EqualFunc(a, b, func(x, y Speaker) bool { return x.ParticipantID == y.ParticipantID })
}
