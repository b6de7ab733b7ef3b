package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsClient is a test device: it reads every frame on its own goroutine,
// hands replies to the request that is waiting for them (by id), and
// queues pushed frames by type.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	next atomic.Int64

	mu      sync.Mutex
	waiting map[string]chan wsMsg
	pushed  map[string][]wsMsg
	notify  chan struct{}
	done    chan struct{} // closed when the read loop ends
	closed  error
}

func newWSClient(t *testing.T, baseURL, token string) *wsClient {
	t.Helper()
	c := &wsClient{
		t: t, conn: dialWS(t, baseURL, token),
		waiting: map[string]chan wsMsg{}, pushed: map[string][]wsMsg{}, notify: make(chan struct{}, 1), done: make(chan struct{}),
	}
	go c.readLoop()
	// The upgrade completes before the server has subscribed the session
	// to its conversations; the server reads a session's first request
	// only after that. A ping round trip therefore means the device is
	// ready to receive, as a real client's chat.sync does.
	c.request("ping", nil)
	return c
}

func (c *wsClient) readLoop() {
	for {
		_, raw, err := c.conn.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.closed = err
			c.mu.Unlock()
			close(c.done)
			return
		}
		var m wsMsg
		if err := json.Unmarshal(raw, &m); err != nil {
			continue
		}
		c.mu.Lock()
		if ch, ok := c.waiting[m.ID]; ok && m.ID != "" {
			c.mu.Unlock()
			ch <- m
			continue
		}
		c.pushed[m.Type] = append(c.pushed[m.Type], m)
		c.mu.Unlock()
		c.wake()
	}
}

func (c *wsClient) wake() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// request sends one request and collects every reply with its id until a
// reply of a final type (anything but the streaming types) arrives.
func (c *wsClient) request(typ string, data any) []wsMsg {
	c.t.Helper()
	id := fmt.Sprintf("r%d", c.next.Add(1))
	ch := make(chan wsMsg, 4096)
	c.mu.Lock()
	c.waiting[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.waiting, id)
		c.mu.Unlock()
	}()
	raw, _ := json.Marshal(data)
	frame, _ := json.Marshal(wsMsg{Type: typ, ID: id, Data: raw})
	wsSend(c.t, c.conn, string(frame))
	var replies []wsMsg
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-ch:
			replies = append(replies, m)
			if m.Type != "chat.sync.page" {
				return replies
			}
		case <-c.done:
			c.t.Fatalf("%s: connection closed: %v", typ, c.closed)
		case <-timeout:
			c.t.Fatalf("%s: no final reply within 10s (got %d)", typ, len(replies))
		}
	}
}

// call is request for single-reply requests; it decodes the reply's data
// into out and returns the reply type.
func (c *wsClient) call(typ string, data any, out any) string {
	c.t.Helper()
	replies := c.request(typ, data)
	last := replies[len(replies)-1]
	if out != nil {
		if err := json.Unmarshal(last.Data, out); err != nil {
			c.t.Fatalf("%s reply %s: %v", typ, last.Data, err)
		}
	}
	return last.Type
}

// waitPushed waits until at least n frames of typ were pushed and returns
// them all.
func (c *wsClient) waitPushed(typ string, n int, within time.Duration) []wsMsg {
	c.t.Helper()
	deadline := time.After(within)
	for {
		c.mu.Lock()
		got := append([]wsMsg(nil), c.pushed[typ]...)
		closed := c.closed
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if closed != nil {
			c.t.Fatalf("waiting for %d %s frames: connection closed (%v) after %d", n, typ, closed, len(got))
		}
		select {
		case <-c.notify:
		case <-c.done:
		case <-deadline:
			c.t.Fatalf("waited %s for %d %s frames, got %d", within, n, typ, len(got))
		}
	}
}

// pushedNow returns the frames of typ pushed so far.
func (c *wsClient) pushedNow(typ string) []wsMsg {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]wsMsg(nil), c.pushed[typ]...)
}
