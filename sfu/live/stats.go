package live

import (
	"maps"
	"slices"
	"time"
)

// Stats summarizes who watched a live and how they took part.
type Stats struct {
	LiveID string
	// Concurrent is how many viewers (distinct viewer ids) are watching
	// now, as this process counts them (zero after a restart until
	// viewers rejoin). A viewer recorded twice at once, as a web viewer
	// is by live.join and by its WHEP or WebSocket playback, or in two
	// tabs, counts once.
	Concurrent int
	// PeakConcurrent is the most viewers watching at once, counted the
	// same way, and PeakAt when it was first reached.
	PeakConcurrent int
	PeakAt         time.Time
	// UniqueViewers counts distinct viewer ids.
	UniqueViewers int
	// TotalWatch adds up every viewer's watch time; a viewer in two tabs
	// at once counts once for that time. AverageWatch is per unique
	// viewer.
	TotalWatch   time.Duration
	AverageWatch time.Duration
	// OpenRecords counts joins without a leave. They count until now
	// while the viewer is connected to this process, and otherwise (left
	// open by a crash) until the live's end.
	OpenRecords int
	// Viewers are per-viewer joins and leaves, by first join.
	Viewers []ViewerStats
	// Interactions counts CountInteraction calls by kind.
	Interactions map[string]int64
	ReplayViews  int64
}

// ViewerStats is one viewer's part of Stats.
type ViewerStats struct {
	Viewer               // as of their latest join
	Spans  []Span        // each join and leave, in join order
	Watch  time.Duration // the union of Spans
	Open   bool          // a span has no leave yet
}

// Span is one join; Left is zero while it is open.
type Span struct {
	Joined time.Time
	Left   time.Time
}

// Stats computes the live's viewer statistics.
func (s *Store) Stats(liveID string) (Stats, error) {
	l, err := s.Get(liveID)
	if err != nil {
		return Stats{}, err
	}
	recs, err := s.viewerRecords(liveID)
	if err != nil {
		return Stats{}, err
	}
	s.cmu.Lock()
	c, err := s.countersLocked(liveID)
	var saved storedCounters
	var open map[string]string
	var watching int
	if err == nil {
		saved, open, watching = c.saved, maps.Clone(c.open), len(c.watching)
		saved.Interactions = maps.Clone(saved.Interactions)
	}
	s.cmu.Unlock()
	if err != nil {
		return Stats{}, err
	}
	st := Stats{
		LiveID: liveID, Concurrent: watching, PeakConcurrent: saved.PeakConcurrent, PeakAt: saved.PeakAt,
		Interactions: saved.Interactions, ReplayViews: saved.ReplayViews, Viewers: []ViewerStats{},
	}
	now := s.clock()
	byID := map[string]int{}
	var intervals [][]interval
	for _, r := range recs {
		end := r.LeftAt
		if r.Open() {
			st.OpenRecords++
			end = now
			if _, connected := open[r.ID]; !connected && l.Status == StatusEnded {
				end = l.EndedAt
			}
			end = later(end, r.JoinedAt)
		}
		i, ok := byID[r.Viewer.ID]
		if !ok {
			i = len(st.Viewers)
			byID[r.Viewer.ID] = i
			st.Viewers = append(st.Viewers, ViewerStats{})
			intervals = append(intervals, nil)
		}
		v := &st.Viewers[i]
		v.Viewer = r.Viewer
		v.Spans = append(v.Spans, Span{Joined: r.JoinedAt, Left: r.LeftAt})
		v.Open = v.Open || r.Open()
		intervals[i] = append(intervals[i], interval{r.JoinedAt, end})
	}
	for i := range st.Viewers {
		for _, iv := range mergeIntervals(intervals[i]) {
			st.Viewers[i].Watch += iv.end.Sub(iv.start)
		}
		st.TotalWatch += st.Viewers[i].Watch
	}
	st.UniqueViewers = len(st.Viewers)
	if st.UniqueViewers > 0 {
		st.AverageWatch = st.TotalWatch / time.Duration(st.UniqueViewers)
	}
	return st, nil
}

// interval is a stretch of time [start, end).
type interval struct{ start, end time.Time }

// mergeIntervals returns the union of ivs as disjoint intervals in time
// order, dropping empty ones.
func mergeIntervals(ivs []interval) []interval {
	ivs = slices.DeleteFunc(slices.Clone(ivs), func(iv interval) bool { return !iv.end.After(iv.start) })
	slices.SortFunc(ivs, func(a, b interval) int { return a.start.Compare(b.start) })
	var out []interval
	for _, iv := range ivs {
		if n := len(out); n > 0 && !iv.start.After(out[n-1].end) {
			out[n-1].end = later(out[n-1].end, iv.end)
			continue
		}
		out = append(out, iv)
	}
	return out
}
