package meeting

import (
	"testing"
	"time"
)

func TestStatsArithmetic(t *testing.T) {
	s, clk := newStore(t)
	m := startedMeeting(t, s)
	minute := time.Minute
	// alice: 0-10, then 20-30: 20 minutes over two joins.
	mustLeave(t, s, mustJoin(t, s, m.ID, "alice", false, 0), 10*minute)
	// bob: 5-25 on his laptop and 6-8 on his phone at the same time: the
	// overlap counts once, 20 minutes.
	bobLaptop := mustJoin(t, s, m.ID, "bob", false, 5*minute)
	mustLeave(t, s, mustJoin(t, s, m.ID, "bob", false, 6*minute), 8*minute)
	// carol (a guest) from 9, still there.
	mustJoin(t, s, m.ID, "guest:carol", true, 9*minute)
	mustLeave(t, s, mustJoin(t, s, m.ID, "alice", false, 20*minute), 30*minute)
	mustLeave(t, s, bobLaptop, 25*minute)

	clk.Set(t0.Add(40 * minute))
	st, err := s.Stats(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	// At 9 alice, bob and carol are in; again at 20-25. Never four.
	if st.UniqueAttendees != 3 || st.PeakConcurrent != 3 || !st.PeakAt.Equal(t0.Add(9*minute)) || st.OpenRecords != 1 {
		t.Fatalf("%s, peak at %v", st, st.PeakAt)
	}
	if want := 20*minute + 20*minute + 31*minute; st.TotalDuration != want || st.AverageDuration != want/3 {
		t.Fatalf("total %s average %s", st.TotalDuration, st.AverageDuration)
	}
	want := []AttendeeStats{
		{Attendee: Attendee{ID: "alice", Name: "Alice"}, Joins: 2, Duration: 20 * minute, FirstJoin: t0, LastLeave: t0.Add(30 * minute)},
		{Attendee: Attendee{ID: "bob", Name: "Bob"}, Joins: 2, Duration: 20 * minute, FirstJoin: t0.Add(5 * minute), LastLeave: t0.Add(25 * minute)},
		{Attendee: Attendee{ID: "guest:carol", Name: "Guest:carol", Guest: true}, Joins: 1, Duration: 31 * minute, FirstJoin: t0.Add(9 * minute), Open: true},
	}
	if len(st.Attendees) != len(want) {
		t.Fatalf("attendees %+v", st.Attendees)
	}
	for i, w := range want {
		g := st.Attendees[i]
		if g.Attendee != w.Attendee || g.Joins != w.Joins || g.Duration != w.Duration || !g.FirstJoin.Equal(w.FirstJoin) ||
			!g.LastLeave.Equal(w.LastLeave) || g.Open != w.Open {
			t.Errorf("attendee %d: got %+v, want %+v", i, g, w)
		}
	}

	// Ending closes carol at 50: 41 minutes.
	if _, err := s.MarkEnded(m.ID, t0.Add(50*minute)); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(10 * time.Hour)) // the clock no longer matters
	st, _ = s.Stats(m.ID)
	if st.OpenRecords != 0 || st.TotalDuration != 81*minute || st.Attendees[2].Open || !st.Attendees[2].LastLeave.Equal(t0.Add(50*minute)) {
		t.Fatalf("after end: %s %+v", st, st.Attendees[2])
	}
}

func TestStatsPeakEdges(t *testing.T) {
	minute := time.Minute
	rec := func(id string, from, to time.Duration, open bool) Record {
		r := Record{Attendee: Attendee{ID: id, Name: id}, JoinedAt: t0.Add(from)}
		if !open {
			r.LeftAt = t0.Add(to)
		}
		return r
	}
	cases := []struct {
		name string
		recs []Record
		peak int
	}{
		{"none", nil, 0},
		{"hand-over at the same instant", []Record{rec("a", 0, 10*minute, false), rec("b", 10*minute, 20*minute, false)}, 1},
		{"overlap by a second", []Record{rec("a", 0, 10*minute, false), rec("b", 10*minute-time.Second, 20*minute, false)}, 2},
		{"one person on three devices", []Record{rec("a", 0, 10*minute, false), rec("a", minute, 5*minute, false), rec("a", 2*minute, 3*minute, false)}, 1},
		{"zero-length join", []Record{rec("a", 0, 10*minute, false), rec("b", 5*minute, 5*minute, false)}, 1},
		{"open records run to the end", []Record{rec("a", 0, 0, true), rec("b", 30*minute, 0, true)}, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := computeStats("m", c.recs, t0.Add(time.Hour))
			if st.PeakConcurrent != c.peak {
				t.Fatalf("peak %d, want %d", st.PeakConcurrent, c.peak)
			}
		})
	}
	st := computeStats("m", []Record{rec("a", 0, 0, true), rec("b", 30*minute, 0, true)}, t0.Add(time.Hour))
	if st.TotalDuration != 90*minute || st.AverageDuration != 45*minute || st.OpenRecords != 2 {
		t.Fatalf("%s", st)
	}
}
