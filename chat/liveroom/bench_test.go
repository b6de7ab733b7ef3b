package liveroom_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"parley/chat/liveroom"
)

// countingViewer counts the frames handed to it, as cheaply as a
// session's queue takes them.
type countingViewer struct{ n *atomic.Int64 }

func (c *countingViewer) Send([]byte) bool { c.n.Add(1); return true }

// BenchmarkCommentFanout measures comments from many senders at once into
// one live watched by 1,000 local viewers: each is a synced log append,
// one publish, and 1,000 queue hand-offs. It reports deliveries/s.
func BenchmarkCommentFanout(b *testing.B) {
	const viewers = 1000
	n := &node{dir: b.TempDir(), cfg: liveroom.Config{TallyInterval: time.Hour}}
	n.open(b)
	var got atomic.Int64
	for i := range viewers {
		if err := n.svc.Join("B", fmt.Sprintf("v%d", i), &countingViewer{&got}); err != nil {
			b.Fatal(err)
		}
	}
	var seq atomic.Int64
	b.ResetTimer()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := seq.Add(1)
			sender := fmt.Sprintf("s%d", id%500)
			if _, err := n.svc.Comment(ctx, sender, liveroom.TextRequest{LiveID: "B", ClientMsgID: fmt.Sprint(id), Text: "nice"}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	want := int64(b.N) * viewers
	for deadline := time.Now().Add(30 * time.Second); got.Load() < want && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	if got.Load() < want {
		b.Fatalf("delivered %d of %d", got.Load(), want)
	}
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "deliveries/s")
}
