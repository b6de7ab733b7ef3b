package meeting

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Stats summarizes a meeting's attendance.
type Stats struct {
	MeetingID string
	// UniqueAttendees counts distinct attendee ids.
	UniqueAttendees int
	// TotalDuration adds up every attendee's time in the meeting; an
	// attendee on two devices at once counts once for that time.
	TotalDuration time.Duration
	// AverageDuration is TotalDuration per unique attendee.
	AverageDuration time.Duration
	// PeakConcurrent is the most distinct attendees present at once, and
	// PeakAt the first moment it was reached.
	PeakConcurrent int
	PeakAt         time.Time
	// OpenRecords counts joins without a leave. In a running meeting they
	// count until now; in an ended one MarkEnded has closed them, and any
	// that slipped past it count until the end.
	OpenRecords int
	// Attendees are the per-attendee totals, by first join.
	Attendees []AttendeeStats
}

// AttendeeStats is one attendee's part of Stats.
type AttendeeStats struct {
	Attendee      // as of their latest join
	Joins     int // records, one per join
	Duration  time.Duration
	FirstJoin time.Time
	LastLeave time.Time // zero while a record is open
	Open      bool      // a record has no leave yet
}

// span is a stretch of time [start, end).
type span struct{ start, end time.Time }

// Stats computes the meeting's attendance statistics from its records.
func (s *Store) Stats(meetingID string) (Stats, error) {
	m, err := s.Get(meetingID)
	if err != nil {
		return Stats{}, err
	}
	recs, err := s.records(meetingID)
	if err != nil {
		return Stats{}, err
	}
	openEnd := s.clock()
	if m.Status == StatusEnded {
		openEnd = m.EndedAt
	}
	return computeStats(meetingID, recs, openEnd), nil
}

// computeStats is Stats' arithmetic; open records end at openEnd (or at
// their join, if that is later).
func computeStats(meetingID string, recs []Record, openEnd time.Time) Stats {
	st := Stats{MeetingID: meetingID, Attendees: []AttendeeStats{}}
	byID := map[string]int{} // attendee id -> index in st.Attendees
	spans := map[string][]span{}
	for _, r := range recs {
		end := r.LeftAt
		if r.Open() {
			st.OpenRecords++
			end = later(openEnd, r.JoinedAt)
		}
		i, ok := byID[r.Attendee.ID]
		if !ok {
			i = len(st.Attendees)
			byID[r.Attendee.ID] = i
			st.Attendees = append(st.Attendees, AttendeeStats{FirstJoin: r.JoinedAt})
		}
		a := &st.Attendees[i]
		a.Attendee = r.Attendee
		a.Joins++
		a.FirstJoin = earlier(a.FirstJoin, r.JoinedAt)
		if r.Open() {
			a.Open = true
		} else {
			a.LastLeave = later(a.LastLeave, r.LeftAt)
		}
		spans[r.Attendee.ID] = append(spans[r.Attendee.ID], span{r.JoinedAt, end})
	}
	for i := range st.Attendees {
		a := &st.Attendees[i]
		if a.Open {
			a.LastLeave = time.Time{}
		}
		merged := mergeSpans(spans[a.ID])
		for _, sp := range merged {
			a.Duration += sp.end.Sub(sp.start)
		}
		spans[a.ID] = merged
		st.TotalDuration += a.Duration
	}
	st.UniqueAttendees = len(st.Attendees)
	if st.UniqueAttendees > 0 {
		st.AverageDuration = st.TotalDuration / time.Duration(st.UniqueAttendees)
	}
	st.PeakConcurrent, st.PeakAt = peak(spans)
	slices.SortStableFunc(st.Attendees, func(a, b AttendeeStats) int { return a.FirstJoin.Compare(b.FirstJoin) })
	return st
}

// mergeSpans returns the union of spans as disjoint spans in time order,
// dropping empty ones.
func mergeSpans(spans []span) []span {
	spans = slices.DeleteFunc(slices.Clone(spans), func(s span) bool { return !s.end.After(s.start) })
	slices.SortFunc(spans, func(a, b span) int { return a.start.Compare(b.start) })
	var out []span
	for _, s := range spans {
		if n := len(out); n > 0 && !s.start.After(out[n-1].end) {
			out[n-1].end = later(out[n-1].end, s.end)
			continue
		}
		out = append(out, s)
	}
	return out
}

// peak is the most attendees present at once, given each attendee's
// merged (disjoint) spans, and when it was first reached. A leave and a
// join at the same instant do not overlap.
func peak(byAttendee map[string][]span) (int, time.Time) {
	type event struct {
		at    time.Time
		delta int
	}
	var events []event
	for _, spans := range byAttendee {
		for _, s := range spans {
			events = append(events, event{s.start, +1}, event{s.end, -1})
		}
	}
	slices.SortFunc(events, func(a, b event) int {
		if c := a.at.Compare(b.at); c != 0 {
			return c
		}
		return cmp.Compare(a.delta, b.delta) // leaves first
	})
	cur, best := 0, 0
	var bestAt time.Time
	for _, e := range events {
		cur += e.delta
		if cur > best {
			best, bestAt = cur, e.at
		}
	}
	return best, bestAt
}

// String is a one-line summary, for logs.
func (st Stats) String() string {
	return fmt.Sprintf("meeting %s: %d attendees, peak %d, total %s, average %s, %d open",
		st.MeetingID, st.UniqueAttendees, st.PeakConcurrent, st.TotalDuration, st.AverageDuration, st.OpenRecords)
}

// later is the later of two times.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// earlier is the earlier of two times.
func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
