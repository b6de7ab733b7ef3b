package msglog_test

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"parley/chat/msglog"
)

// benchSenders is how many goroutines per GOMAXPROCS the benchmarks run:
// group commit only shows with many concurrent senders, as on a server.
const benchSenders = 32

var benchBody = json.RawMessage(`{"text":"hello, this is a typical short chat message"}`)

// BenchmarkAppendParallel appends to 1000 conversations from many
// goroutines at once: the shards commit concurrently and share fsyncs.
func BenchmarkAppendParallel(b *testing.B) {
	benchAppend(b, 1000, false)
}

// BenchmarkAppendCountedParallel is BenchmarkAppendParallel with every
// draft counted, as members' messages are: two more keys per entry.
func BenchmarkAppendCountedParallel(b *testing.B) {
	benchAppend(b, 1000, true)
}

// BenchmarkAppendOneConversation appends to one hot group from many
// goroutines: one shard, one fsync per batch.
func BenchmarkAppendOneConversation(b *testing.B) {
	benchAppend(b, 1, false)
}

// BenchmarkAppendCountedOneConversation is BenchmarkAppendOneConversation
// with every draft counted.
func BenchmarkAppendCountedOneConversation(b *testing.B) {
	benchAppend(b, 1, true)
}

// BenchmarkCounted reads the totals at spread-out seqs of a conversation
// of 20,000 entries from 20 senders, as an unread count does twice.
func BenchmarkCounted(b *testing.B) {
	_, l := openLog(b, b.TempDir(), msglog.Options{})
	const n, senders = 20000, 20
	var wg sync.WaitGroup
	for w := range senders {
		wg.Add(1)
		go func() { // concurrent senders share fsyncs, so filling is quick
			defer wg.Done()
			for i := range n / senders {
				d := msglog.Draft{ConversationID: "room", SenderID: "user-" + strconv.Itoa(w), ClientMsgID: strconv.Itoa(i),
					Type: "text", Body: benchBody, Counted: i%10 != 0}
				if _, _, err := l.Append(context.Background(), d); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, _, err := l.Counted("room", "user-7", uint64(i*7919%n)+1); err != nil {
			b.Fatal(err)
		}
	}
}

func benchAppend(b *testing.B, convs int, counted bool) {
	_, l := openLog(b, b.TempDir(), msglog.Options{})
	names := make([]string, convs)
	for i := range names {
		names[i] = "conv-" + strconv.Itoa(i)
	}
	var worker atomic.Int64
	b.SetParallelism(benchSenders)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := worker.Add(1)
		sender := "user-" + strconv.FormatInt(w, 10)
		for i := 0; pb.Next(); i++ {
			d := msglog.Draft{
				ConversationID: names[(int(w)+i)%convs],
				SenderID:       sender,
				ClientMsgID:    strconv.Itoa(i),
				Type:           "text",
				Body:           benchBody,
				Counted:        counted,
			}
			if _, _, err := l.Append(context.Background(), d); err != nil {
				b.Errorf("append: %v", err)
				return
			}
		}
	})
}
