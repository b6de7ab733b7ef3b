package ws

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/signaling/auth"
	"parley/storage"
)

type benchMembers struct{}

func (benchMembers) MemberActive(string) (bool, error) { return true, nil }

// BenchmarkDeliver pushes frames through the hub to 100 sessions on
// loopback, as the fanout does, in bursts of burst frames per session
// (a group getting burst messages at once), and counts them in at the
// clients. It measures the server's write path
// (queue, framing, system calls) plus the clients' reads, in one process.
func BenchmarkDeliver(b *testing.B) {
	const members, burst = 100, 4
	ids := make([]string, members)
	for i := range ids {
		ids[i] = fmt.Sprintf("m%d", i)
	}
	db, err := storage.Open(b.TempDir(), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	as, err := auth.New(db, benchMembers{}, auth.Config{})
	if err != nil {
		b.Fatal(err)
	}
	h := NewHub(Config{ReadLimit: 1 << 16, SendQueue: 256, PingInterval: time.Minute}, as, benchMembers{},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(h)
	defer srv.Close()
	var got atomic.Int64
	var wg sync.WaitGroup
	var conns []*websocket.Conn
	for i := range members {
		tok, err := as.IssueAccess(ids[i], time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), &websocket.DialOptions{
			HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.AccessToken}},
		})
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					return
				}
				got.Add(1)
			}
		}()
	}
	for h.Count() < members {
		time.Sleep(time.Millisecond)
	}
	frame := []byte(`{"type":"chat.message","data":{"conversation_id":"g_abcdefghijklmnopqrst","seq":12345,"sender_id":"m1","type":"text","body":{"text":"` + strings.Repeat("x", 64) + `"}}}`)
	b.ReportAllocs()
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		for range burst {
			for i := 0; i < members && sent < b.N; i++ {
				h.DeliverToMember(ids[i], frame)
				sent++
			}
		}
		// Stay well under the send queue: wait for the previous burst.
		for int(got.Load()) < sent-burst*members {
			time.Sleep(50 * time.Microsecond)
		}
	}
	for int(got.Load()) < b.N {
		time.Sleep(50 * time.Microsecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
	for _, c := range conns {
		c.CloseNow()
	}
	wg.Wait()
}

// BenchmarkLoopbackTCPWrite measures what the kernel charges for one
// 200-byte write (a chat frame's size) over loopback to a connection
// another goroutine drains: the floor under every frame a session writes
// and every frame the load generator sends. bench/RESULTS.md quotes it
// against the chat targets.
func BenchmarkLoopbackTCPWrite(b *testing.B) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	}()
	c, err := net.Dial("tcp4", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg := make([]byte, 200)
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
	}
}
