package meetbench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"parley/bench/wire"
)

// requestTimeout bounds one meeting request's reply. Publish and
// subscriber answers include the server's ICE gathering, which on one
// UDP port is immediate.
const requestTimeout = 15 * time.Second

// RequestError is a meeting request the server answered with an error.
type RequestError struct {
	Type    string // the request's type
	Code    string
	Message string
}

// Error names the request, the code and the server's message.
func (e *RequestError) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Type, e.Code, e.Message)
}

// errClosed is a request on a socket that has closed.
var errClosed = errors.New("the socket closed")

// conn is one participant's WebSocket: requests wait for the reply that
// carries their id; pushes go to a handler on the reading goroutine,
// which must not block.
type conn struct {
	ws     *websocket.Conn
	push   func(wire.Message)
	nextID atomic.Uint64

	mu      sync.Mutex
	pending map[string]chan wire.Message

	closed   chan struct{}
	closeErr error // why reading stopped; set before closed is closed
}

// newConn starts reading ws; push gets every message that is not a reply.
func newConn(ws *websocket.Conn, push func(wire.Message)) *conn {
	c := &conn{ws: ws, push: push, pending: map[string]chan wire.Message{}, closed: make(chan struct{})}
	go c.read()
	return c
}

func (c *conn) read() {
	defer close(c.closed)
	for {
		_, frame, err := c.ws.Read(context.Background())
		if err != nil {
			c.closeErr = err
			return
		}
		var m wire.Message
		if err := json.Unmarshal(frame, &m); err != nil {
			c.closeErr = fmt.Errorf("undecodable frame: %w", err)
			c.ws.CloseNow()
			return
		}
		if m.ID != "" {
			c.mu.Lock()
			ch := c.pending[m.ID]
			delete(c.pending, m.ID)
			c.mu.Unlock()
			if ch != nil {
				ch <- m
				continue
			}
		}
		c.push(m)
	}
}

// call sends a request and waits for its reply, which must be of type
// want; its data is decoded into out when out is not nil. An error reply
// is a *RequestError.
func (c *conn) call(ctx context.Context, typ string, data any, want string, out any) error {
	id := strconv.FormatUint(c.nextID.Add(1), 10)
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", typ, err)
	}
	frame, err := json.Marshal(wire.Message{Type: typ, ID: id, Data: raw})
	if err != nil {
		return fmt.Errorf("%s: encode: %w", typ, err)
	}
	ch := make(chan wire.Message, 1)
	c.mu.Lock()
	c.pending[id] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	// A cancelled Write closes the whole socket, so the write gets a
	// context of its own that only the timeout ends.
	wctx, wcancel := context.WithTimeout(context.Background(), requestTimeout)
	defer wcancel()
	if err := c.ws.Write(wctx, websocket.MessageText, frame); err != nil {
		return fmt.Errorf("%s: write: %w", typ, err)
	}
	select {
	case m := <-ch:
		if m.Type == wire.TypeError {
			var e wire.ErrorData
			_ = json.Unmarshal(m.Data, &e)
			return &RequestError{Type: typ, Code: e.Code, Message: e.Message}
		}
		if m.Type != want {
			return fmt.Errorf("%s: got %s, want %s", typ, m.Type, want)
		}
		if out != nil {
			if err := json.Unmarshal(m.Data, out); err != nil {
				return fmt.Errorf("%s: decode %s: %w", typ, m.Type, err)
			}
		}
		return nil
	case <-c.closed:
		return fmt.Errorf("%s: %w: %v", typ, errClosed, c.closeErr)
	case <-ctx.Done():
		return fmt.Errorf("%s: no reply: %w", typ, ctx.Err())
	}
}

// Close closes the socket without waiting for the server.
func (c *conn) Close() {
	c.ws.CloseNow()
	<-c.closed
}
