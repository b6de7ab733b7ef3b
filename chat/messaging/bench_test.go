package messaging_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"parley/chat/bus"
	"parley/chat/conversation"
	"parley/chat/fanout"
	"parley/chat/messaging"
	"parley/chat/msglog"
	"parley/storage"
)

// counter stands in for a node's WebSocket hub and only counts deliveries.
type counter struct{ n atomic.Int64 }

func (c *counter) DeliverToMember(string, []byte) { c.n.Add(1) }

// benchNode starts a real node (Pebble on disk, the message log, embedded
// NATS, fanout) with members m0..m(n-1), all online.
func benchNode(b *testing.B, n int) (*messaging.Service, *counter, []string) {
	b.Helper()
	db, err := storage.Open(b.TempDir(), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	log, err := msglog.Open(db, msglog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	convs := conversation.New(db, conversation.Options{})
	nb, err := bus.Start(bus.Config{}, quiet)
	if err != nil {
		b.Fatal(err)
	}
	cnt := &counter{}
	fan := fanout.New(nb.Conn(), cnt, convs, quiet)
	people := directory{}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%d", i)
		people[ids[i]] = true
	}
	svc := messaging.New(messaging.Deps{
		DB: db, Log: log, Conversations: convs, Fanout: fan, Members: people,
		Events: localEvents{fan}, Limits: messaging.DefaultLimits(), Logger: quiet,
	})
	b.Cleanup(func() {
		svc.Close()
		nb.Close()
		log.Close()
		db.Close()
	})
	for _, id := range ids {
		if err := fan.SessionOpened(id); err != nil {
			b.Fatal(err)
		}
	}
	return svc, cnt, ids
}

var benchBody = json.RawMessage(`{"text":"a typical short chat message, about sixty bytes long"}`)

// BenchmarkSendDirect: many senders in many 1:1 conversations; each send
// is durable (synced) before it returns, and reaches the peer's device.
func BenchmarkSendDirect(b *testing.B) {
	svc, cnt, ids := benchNode(b, 512)
	ctx := context.Background()
	convs := make([]string, len(ids)/2)
	for i := range convs {
		c, err := svc.CreateDirect(ctx, ids[2*i], ids[2*i+1])
		if err != nil {
			b.Fatal(err)
		}
		convs[i] = c.ID
	}
	base := cnt.n.Load()
	var next atomic.Int64
	b.SetParallelism(64) // many clients in flight, as a server sees them
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			pair := int(i) % len(convs)
			if _, err := svc.Send(ctx, ids[2*pair], messaging.SendRequest{
				ConversationID: convs[pair], ClientMsgID: fmt.Sprintf("c%d", i), Type: messaging.TypeText, Body: benchBody,
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	waitCount(b, cnt, base+2*int64(b.N)) // both members of the pair get it
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sends/s")
}

// BenchmarkSendGroup1000: senders in one group of 1,000 online members;
// it reports deliveries per second into the members' sessions.
func BenchmarkSendGroup1000(b *testing.B) {
	svc, cnt, ids := benchNode(b, 1000)
	ctx := context.Background()
	g, err := svc.CreateGroup(ctx, ids[0], messaging.GroupSpec{Name: "all hands", Members: ids[1:]})
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // let the creation frames land
	base := cnt.n.Load()
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			if _, err := svc.Send(ctx, ids[int(i)%len(ids)], messaging.SendRequest{
				ConversationID: g.ID, ClientMsgID: fmt.Sprintf("g%d", i), Type: messaging.TypeText, Body: benchBody,
			}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	want := base + int64(b.N)*int64(len(ids))
	waitCount(b, cnt, want)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)*float64(len(ids))/elapsed.Seconds(), "deliveries/s")
}

func waitCount(b *testing.B, cnt *counter, want int64) {
	deadline := time.Now().Add(time.Minute)
	for cnt.n.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d frames within a minute", cnt.n.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
}
