package msglog_test

import (
	"context"
	"encoding/json"
	"strconv"
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
	benchAppend(b, 1000)
}

// BenchmarkAppendOneConversation appends to one hot group from many
// goroutines: one shard, one fsync per batch.
func BenchmarkAppendOneConversation(b *testing.B) {
	benchAppend(b, 1)
}

func benchAppend(b *testing.B, convs int) {
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
			}
			if _, _, err := l.Append(context.Background(), d); err != nil {
				b.Errorf("append: %v", err)
				return
			}
		}
	})
}
