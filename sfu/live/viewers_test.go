package live

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"parley/storage"
)

func onAir(t *testing.T, s *Store) Live {
	t.Helper()
	l, _ := mustCreate(t, s, NewLive{})
	l, err := s.MarkLive(l.ID, t0)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func join(t *testing.T, s *Store, liveID string, v Viewer, at time.Duration) string {
	t.Helper()
	id, err := s.RecordViewerJoin(liveID, v, t0.Add(at))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func leave(t *testing.T, s *Store, id string, at time.Duration) {
	t.Helper()
	if err := s.RecordViewerLeave(id, t0.Add(at)); err != nil {
		t.Fatal(err)
	}
}

var (
	bob  = Viewer{ID: "bob", MemberID: "bob", Name: "Bob"}
	anon = Viewer{ID: "guest:A1", Name: "Visitor"}
	dave = Viewer{ID: "dave", MemberID: "dave", Name: "Dave"}
)

func TestViewerStats(t *testing.T) {
	s, clk := newStore(t)
	l := onAir(t, s)
	minute := time.Minute
	b1 := join(t, s, l.ID, bob, 0)
	a1 := join(t, s, l.ID, anon, 2*minute)
	b2 := join(t, s, l.ID, bob, 3*minute) // a second tab
	leave(t, s, b2, 4*minute)
	leave(t, s, b1, 10*minute)
	d1 := join(t, s, l.ID, dave, 11*minute)
	leave(t, s, a1, 12*minute)
	leave(t, s, a1, 30*minute) // a second leave changes nothing
	for _, kind := range []string{"like", "like", "comment", "like", "vote"} {
		if err := s.CountInteraction(l.ID, kind); err != nil {
			t.Fatal(err)
		}
	}

	clk.Set(t0.Add(20 * minute))
	st, err := s.Stats(l.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Two viewers at once from 2 on (bob's second tab counts once).
	if st.Concurrent != 1 || st.PeakConcurrent != 2 || !st.PeakAt.Equal(t0.Add(2*minute)) || st.UniqueViewers != 3 || st.OpenRecords != 1 {
		t.Fatalf("%+v", st)
	}
	// bob 10 (tabs overlap), anon 10, dave 9 so far.
	if st.TotalWatch != 29*minute || st.AverageWatch != 29*minute/3 {
		t.Fatalf("total %s average %s", st.TotalWatch, st.AverageWatch)
	}
	if st.Interactions["like"] != 3 || st.Interactions["comment"] != 1 || st.Interactions["vote"] != 1 || len(st.Interactions) != 3 {
		t.Fatalf("interactions %v", st.Interactions)
	}
	if len(st.Viewers) != 3 || st.Viewers[0].Viewer != bob || len(st.Viewers[0].Spans) != 2 || st.Viewers[0].Watch != 10*minute ||
		st.Viewers[1].Viewer != anon || !st.Viewers[1].Spans[0].Left.Equal(t0.Add(12*minute)) ||
		st.Viewers[2].Viewer != dave || !st.Viewers[2].Open || st.Viewers[2].Watch != 9*minute {
		t.Fatalf("viewers %+v", st.Viewers)
	}

	if err := s.RecordViewerLeave(b1, t0.Add(-time.Hour)); err != nil {
		t.Fatalf("closed record: %v", err) // closed already: ignored
	}
	wantErr(t, s.RecordViewerLeave(d1, t0), ErrInvalid) // before the join
	for _, bad := range []string{"", "x", l.ID + ".0", l.ID + ".99", "missing.1"} {
		wantErr(t, s.RecordViewerLeave(bad, t0), ErrNotFound)
	}
}

// A web viewer is recorded twice, by live.join and by its playback
// (WHEP or the WebSocket watch): the two records count one viewer in
// Concurrent and PeakConcurrent, and one watch time, the union of both.
func TestViewerRecordedTwiceCountsOnce(t *testing.T) {
	s, clk := newStore(t)
	l := onAir(t, s)
	minute := time.Minute
	stats := func(at time.Duration) Stats {
		t.Helper()
		clk.Set(t0.Add(at))
		st, err := s.Stats(l.ID)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	joined := join(t, s, l.ID, bob, 0)       // live.join
	playing := join(t, s, l.ID, bob, minute) // WHEP
	if st := stats(2 * minute); st.Concurrent != 1 || st.PeakConcurrent != 1 || st.OpenRecords != 2 {
		t.Fatalf("bob twice: concurrent %d, peak %d, open records %d; want 1, 1, 2", st.Concurrent, st.PeakConcurrent, st.OpenRecords)
	}
	d := join(t, s, l.ID, dave, 3*minute)
	leave(t, s, joined, 4*minute) // bob still plays
	if st := stats(5 * minute); st.Concurrent != 2 || st.PeakConcurrent != 2 || !st.PeakAt.Equal(t0.Add(3*minute)) {
		t.Fatalf("bob and dave: concurrent %d, peak %d at %v; want 2, 2 at 3m", st.Concurrent, st.PeakConcurrent, st.PeakAt)
	}
	leave(t, s, playing, 6*minute)
	leave(t, s, playing, 7*minute) // a second leave of the same record changes nothing
	if st := stats(8 * minute); st.Concurrent != 1 {
		t.Fatalf("after bob's last record: concurrent %d, want 1", st.Concurrent)
	}
	again := join(t, s, l.ID, bob, 9*minute)
	leave(t, s, again, 10*minute)
	leave(t, s, d, 10*minute)
	st := stats(11 * minute)
	if st.Concurrent != 0 || st.PeakConcurrent != 2 || st.UniqueViewers != 2 {
		t.Fatalf("at the end: %+v", st)
	}
	// bob: [0, 4) and [1, 6) overlap into 6 minutes, then [9, 10); dave 7.
	if st.Viewers[0].Viewer != bob || st.Viewers[0].Watch != 7*minute || st.TotalWatch != 14*minute {
		t.Fatalf("watch: bob %v, total %v; want 7m and 14m", st.Viewers[0].Watch, st.TotalWatch)
	}
}

func TestViewerValidationAndState(t *testing.T) {
	s, _ := newStore(t)
	scheduled, _ := mustCreate(t, s, NewLive{})
	_, err := s.RecordViewerJoin(scheduled.ID, bob, t0)
	wantErr(t, err, ErrState)
	_, err = s.RecordViewerJoin("missing", bob, t0)
	wantErr(t, err, ErrNotFound)
	l := onAir(t, s)
	for _, v := range []Viewer{{Name: "x"}, {ID: "a/b", Name: "x"}, {ID: "x", Name: ""}, {ID: "x", MemberID: "a\x00", Name: "x"}} {
		_, err := s.RecordViewerJoin(l.ID, v, t0)
		wantErr(t, err, ErrInvalid)
	}
	for _, kind := range []string{"", "Like", "1st", "a-b", "x/y"} {
		wantErr(t, s.CountInteraction(l.ID, kind), ErrInvalid)
	}
	wantErr(t, s.CountInteraction("missing", "like"), ErrNotFound)
	wantErr(t, s.CountReplayView("missing"), ErrNotFound)
	for i := range MaxInteractionKinds {
		if err := s.CountInteraction(l.ID, fmt.Sprintf("k%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, s.CountInteraction(l.ID, "one_more"), ErrLimit)
	if err := s.CountInteraction(l.ID, "k0"); err != nil {
		t.Fatalf("a known kind still counts: %v", err)
	}

	s.cmu.Lock()
	s.counters[l.ID].seq = MaxViewerRecords
	s.cmu.Unlock()
	_, err = s.RecordViewerJoin(l.ID, bob, t0)
	wantErr(t, err, ErrLimit)
}

func TestCountersSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	clk := &clock{t: t0.Add(time.Hour)}
	s := New(db, Options{Now: clk.Now, FlushInterval: -1})
	l := onAir(t, s)
	closed := join(t, s, l.ID, bob, 0)
	join(t, s, l.ID, anon, time.Minute) // open when the process stops
	leave(t, s, closed, 5*time.Minute)
	for range 3 {
		if err := s.CountInteraction(l.ID, "like"); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CountReplayView(l.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil { // a clean stop writes the counters
		t.Fatal(err)
	}
	db.Close()

	db = openDB(t, dir)
	defer db.Close()
	s = New(db, Options{Now: clk.Now, FlushInterval: -1})
	defer s.Close()
	st, err := s.Stats(l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Concurrent != 0 || st.PeakConcurrent != 2 || st.Interactions["like"] != 3 || st.ReplayViews != 1 || st.OpenRecords != 1 {
		t.Fatalf("after restart: %+v", st)
	}
	// Numbering continues; the stale record closes when the live ends.
	if id := join(t, s, l.ID, dave, 30*time.Minute); id != viewerRecordID(l.ID, 3) {
		t.Fatalf("third record %q", id)
	}
	if _, err := s.MarkEnded(l.ID, t0.Add(40*time.Minute)); err != nil {
		t.Fatal(err)
	}
	recs, _ := s.viewerRecords(l.ID)
	if !recs[1].LeftAt.Equal(t0.Add(40*time.Minute)) || !recs[2].Open() {
		t.Fatalf("stale record should close at the end, the connected one stay open: %+v", recs)
	}
}

func TestBackgroundFlush(t *testing.T) {
	db := openDB(t, t.TempDir())
	defer db.Close()
	s := New(db, Options{FlushInterval: 5 * time.Millisecond})
	defer s.Close()
	l, _ := mustCreate(t, s, NewLive{})
	if err := s.CountInteraction(l.ID, "comment"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var sc storedCounters
		err := db.GetJSON(storage.Key(storage.PrefixLiveCounters, l.ID), &sc)
		if err == nil && sc.Interactions["comment"] == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("counters never written: %v %+v", err, sc)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestConcurrentViewers(t *testing.T) {
	s, _ := newStore(t)
	l := onAir(t, s)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			id, err := s.RecordViewerJoin(l.ID, Viewer{ID: fmt.Sprintf("v%d", i), Name: "V"}, t0)
			if err == nil {
				err = s.RecordViewerLeave(id, t0.Add(time.Minute))
			}
			errs <- err
		}()
		go func() {
			defer wg.Done()
			errs <- s.CountInteraction(l.ID, "like")
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	st, _ := s.Stats(l.ID)
	if st.UniqueViewers != n || st.Concurrent != 0 || st.Interactions["like"] != n || st.TotalWatch != n*time.Minute {
		t.Fatalf("%+v", st)
	}
}
