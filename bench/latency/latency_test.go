package latency

import (
	"sync"
	"testing"
	"time"
)

func TestRecorderPercentiles(t *testing.T) {
	r := NewRecorder()
	var wg sync.WaitGroup
	// 1..1000 ms spread over every shard by concurrent goroutines.
	for g := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g*100 + 1; i <= g*100+100; i++ {
				r.Record(i, time.Duration(i)*time.Millisecond)
			}
		}()
	}
	wg.Wait()
	s := r.Summary()
	if s.Count != 1000 {
		t.Fatalf("count %d, want 1000", s.Count)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if got < want*0.999 || got > want*1.001 {
			t.Errorf("%s = %v ms, want %v within 0.1%%", name, got, want)
		}
	}
	near("p50", s.P50, 500)
	near("p90", s.P90, 900)
	near("p99", s.P99, 990)
	near("p999", s.P999, 999)
	near("max", s.Max, 1000)

	r.Reset()
	if s := r.Summary(); s.Count != 0 || s.Max != 0 {
		t.Fatalf("after Reset: %+v", s)
	}
}

func TestRecordAllIsRecordInBulk(t *testing.T) {
	one, all := NewRecorder(), NewRecorder()
	var batch []time.Duration
	for i := range 500 {
		d := time.Duration(i*i) * time.Microsecond
		one.Record(7, d)
		batch = append(batch, d)
	}
	all.RecordAll(7, batch[:200])
	all.RecordAll(23, batch[200:]) // another shard
	all.RecordAll(1, nil)
	if got, want := all.Summary(), one.Summary(); got != want {
		t.Fatalf("RecordAll: %+v, Record: %+v", got, want)
	}
}

func TestRecorderClampsOutOfRange(t *testing.T) {
	r := NewRecorder()
	r.Record(-3, -time.Second)
	r.Record(0, time.Hour)
	r.RecordAll(5, []time.Duration{-time.Second, time.Hour})
	s := r.Summary()
	if s.Count != 4 || s.P50 != 0 {
		t.Fatalf("count %d, p50 %v; want 4, 0", s.Count, s.P50)
	}
	if want := float64(Highest / time.Millisecond); s.Max < want*0.999 || s.Max > want*1.001 {
		t.Fatalf("max %v ms, want about %v", s.Max, want)
	}
}
