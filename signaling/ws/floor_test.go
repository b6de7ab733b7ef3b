//go:build unix

package ws

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"

	"parley/chat/bus"
	"parley/chat/fanout"
)

// The floor benchmarks measure only the parts Parley cannot change:
// coder/websocket over loopback TCP and the embedded NATS hop, with no
// storage, JSON, auth or session machinery, in the fastest reasonable
// server shape, server and clients in one process as the load generator
// shares the machine in bench/. What they cannot reach on this machine,
// Parley cannot either; bench/RESULTS.md quotes them against the targets.
const (
	floorPairs    = 100     // sender/recipient pairs in the relay benchmarks
	floorMembers  = 1000    // members of the group in the fanout benchmark
	floorWindow   = 64      // messages the group producer may be ahead of its slowest reader
	floorMaxFrame = 4 << 10 // read buffer; every frame here is far smaller
)

// Payloads of the sizes Parley's frames have: a 1:1 send, its ack (with
// the sender's echo), and a delivery.
var (
	floorSend     = bytes.Repeat([]byte("s"), 200)
	floorAck      = bytes.Repeat([]byte("a"), 130)
	floorDelivery = bytes.Repeat([]byte("d"), 260)
)

// BenchmarkFloorDirectRelay is the fastest 1:1 send: 100 senders each keep
// one message in flight; the server's reader for sender i writes the
// delivery to recipient i's socket, then the ack to sender i, both directly
// under the sockets' own write locks (a slow recipient holds up only its
// one sender). An op is one message, done when its ack and its delivery
// are read. Left out: storage, sequencing, JSON, auth, the bus, Parley's
// queues and write batching (one frame per socket per message leaves
// nothing to batch).
func BenchmarkFloorDirectRelay(b *testing.B) { benchmarkFloorRelay(b, nil) }

// BenchmarkFloorDirectRelayNATS is BenchmarkFloorDirectRelay with the
// delivery going through the real embedded bus (chat/bus): the server
// publishes it on the recipient's subject and writes the ack; channel
// subscriptions drained by one dispatcher per core, as in chat/fanout,
// write it to the recipient. It adds exactly the NATS hop.
func BenchmarkFloorDirectRelayNATS(b *testing.B) {
	nb, err := bus.Start(bus.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := nb.Close(); err != nil {
			b.Error(err)
		}
	}()
	benchmarkFloorRelay(b, nb.Conn())
}

// BenchmarkFloorGroupFanout is the fastest group delivery: one producer
// hands each message to the 1,000 members' writer goroutines, at most
// floorWindow messages ahead of the slowest reader; every client reads
// every frame. An op is one delivery. coder/websocket flushes each frame
// it writes and cannot batch, so "frames" costs a system call per frame;
// "batched" holds, below coder/websocket, all a writer frames from its
// queue in one go and sends it with one write, as Parley's sessions do.
// Left out: the bus, membership lookups, JSON and Parley's queues.
func BenchmarkFloorGroupFanout(b *testing.B) {
	b.Run("frames", func(b *testing.B) { benchmarkFloorFanout(b, false) })
	b.Run("batched", func(b *testing.B) { benchmarkFloorFanout(b, true) })
}

func benchmarkFloorRelay(b *testing.B, nc *nats.Conn) {
	ctx := context.Background()
	var recipients [floorPairs]atomic.Pointer[websocket.Conn] // their server sides
	var subjects [floorPairs]string
	for i := range subjects {
		subjects[i] = "floor.deliver." + strconv.Itoa(i)
	}
	registered := newCountdown(floorPairs)
	r := newFloorRun(b, false, func(c *websocket.Conn, _ *batchConn, req *http.Request) error {
		i, err := strconv.Atoi(req.URL.Query().Get("pair"))
		if err != nil || i < 0 || i >= floorPairs {
			return fmt.Errorf("bad pair %q", req.URL.Query().Get("pair"))
		}
		if req.URL.Query().Get("role") == "recipient" {
			recipients[i].Store(c)
			registered.count()
			_, _, err := c.Reader(ctx) // recipients never send: this ends at close
			return err
		}
		to, buf := recipients[i].Load(), make([]byte, floorMaxFrame)
		for {
			if err := expectFloorFrame(c, buf, floorSend); err != nil {
				return err
			}
			if nc != nil {
				err = nc.Publish(subjects[i], floorDelivery)
			} else {
				err = to.Write(ctx, websocket.MessageText, floorDelivery)
			}
			if err != nil {
				return fmt.Errorf("deliver to pair %d: %w", i, err)
			}
			if err := c.Write(ctx, websocket.MessageText, floorAck); err != nil {
				return fmt.Errorf("ack pair %d: %w", i, err)
			}
		}
	})
	defer r.close()

	delivered, acked := newCountdown(b.N), newCountdown(b.N)
	for i := range floorPairs {
		c := r.dial(fmt.Sprintf("/?pair=%d&role=recipient", i))
		r.goClient(func() error {
			for buf := make([]byte, floorMaxFrame); ; delivered.count() {
				if err := expectFloorFrame(c, buf, floorDelivery); err != nil {
					return err
				}
			}
		})
	}
	r.await(registered)
	if nc != nil {
		defer startFloorDispatchers(b, nc, subjects[:], func(i int) *websocket.Conn { return recipients[i].Load() }, r.fail)()
	}
	var next atomic.Int64
	for i := range floorPairs {
		c := r.dial(fmt.Sprintf("/?pair=%d&role=sender", i))
		r.pending = append(r.pending, func() error {
			buf := make([]byte, floorMaxFrame)
			for ; next.Add(1) <= int64(b.N); acked.count() {
				if err := c.Write(ctx, websocket.MessageText, floorSend); err != nil {
					return err
				}
				if err := expectFloorFrame(c, buf, floorAck); err != nil {
					return err
				}
			}
			return nil
		})
	}
	r.start()
	r.await(acked)
	r.await(delivered)
	r.stop(b.N, "msgs/s", "cpu-µs/msg")
}

// startFloorDispatchers subscribes to subject i for conn(i) with channel
// subscriptions spread over one dispatcher goroutine per core, as
// chat/fanout does; the dispatchers write each message to its socket. It
// returns a function that stops them.
func startFloorDispatchers(b *testing.B, nc *nats.Conn, subjects []string, conn func(i int) *websocket.Conn, fail func(error)) (stop func()) {
	queues := make([]chan *nats.Msg, runtime.GOMAXPROCS(0))
	for i := range queues {
		queues[i] = make(chan *nats.Msg, fanout.DispatchQueue)
	}
	routes := make(map[*nats.Subscription]*websocket.Conn, len(subjects))
	for i, subject := range subjects {
		sub, err := nc.ChanSubscribe(subject, queues[i%len(queues)])
		if err != nil {
			b.Fatal(err)
		}
		routes[sub] = conn(i)
	}
	if err := nc.Flush(); err != nil { // the subscriptions are live at the server
		b.Fatal(err)
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	for _, q := range queues {
		wg.Go(func() {
			for {
				select {
				case msg := <-q:
					if err := routes[msg.Sub].Write(context.Background(), websocket.MessageText, msg.Data); err != nil {
						fail(fmt.Errorf("dispatch %s: %w", msg.Subject, err))
					}
				case <-quit:
					return
				}
			}
		})
	}
	return func() { close(quit); wg.Wait() }
}

func benchmarkFloorFanout(b *testing.B, batch bool) {
	var mu sync.Mutex
	var queues []chan []byte // one per member's writer
	registered := newCountdown(floorMembers)
	r := newFloorRun(b, batch, func(c *websocket.Conn, bc *batchConn, _ *http.Request) error {
		q := make(chan []byte, floorWindow)
		mu.Lock()
		queues = append(queues, q)
		mu.Unlock()
		registered.count()
		stop, written := make(chan struct{}), make(chan error, 1)
		go func() { written <- writeFloorQueue(c, bc, q, stop) }()
		_, _, err := c.Reader(context.Background()) // members never send: this ends at close
		close(stop)
		if werr := <-written; werr != nil {
			return werr
		}
		return err
	})
	defer r.close()

	msgs := (b.N + floorMembers - 1) / floorMembers
	done := newCountdown(msgs)
	free := make(chan struct{}, floorWindow) // a token per message the producer may send
	for range floorWindow {
		free <- struct{}{}
	}
	var reads [floorWindow]atomic.Int64 // members that read message k, at k % floorWindow
	for range floorMembers {
		c := r.dial("/")
		r.goClient(func() error {
			buf := make([]byte, floorMaxFrame)
			for k := 0; ; k++ {
				if err := expectFloorFrame(c, buf, floorDelivery); err != nil {
					return err
				}
				// Members read in order, so when the last one reads
				// message k, every member has read 0..k.
				if slot := &reads[k%floorWindow]; slot.Add(1) == floorMembers {
					slot.Store(0) // next used by message k+floorWindow, not sent yet
					free <- struct{}{}
					done.count()
				}
			}
		})
	}
	r.await(registered)
	mu.Lock()
	group := queues
	mu.Unlock()

	r.start()
	for range msgs {
		select {
		case <-free:
		case err := <-r.failed:
			b.Fatal(err)
		}
		for _, q := range group {
			q <- floorDelivery // never blocks: a queue holds at most floorWindow frames
		}
	}
	r.await(done)
	r.stop(msgs*floorMembers, "deliveries/s", "cpu-µs/delivery")
}

// writeFloorQueue writes the frames queued on q to c, back to back, until
// stop is closed. With a batchConn, all written in one go leave in one
// system call.
func writeFloorQueue(c *websocket.Conn, bc *batchConn, q <-chan []byte, stop <-chan struct{}) error {
	for {
		var frame []byte
		select {
		case frame = <-q:
		case <-stop:
			return nil
		}
		for more := true; more; {
			if err := c.Write(context.Background(), websocket.MessageText, frame); err != nil {
				return err
			}
			select {
			case frame = <-q:
			default:
				more = false
			}
		}
		if bc != nil {
			if err := bc.flush(); err != nil {
				return err
			}
		}
	}
}

// floorRun is one benchmark's loopback server and clients, and the first
// error any of their goroutines hit.
type floorRun struct {
	b       *testing.B
	srv     *httptest.Server
	served  sync.WaitGroup // server handlers
	clients sync.WaitGroup // client goroutines
	conns   []*websocket.Conn
	pending []func() error // client goroutines that start launches
	ending  atomic.Bool    // set once errors are expected: the run is torn down
	failed  chan error
	cpu0    time.Duration
}

// newFloorRun starts a loopback server that accepts each WebSocket and
// serves it until serve returns. With batch, server sockets write through
// a batchConn.
func newFloorRun(b *testing.B, batch bool, serve func(c *websocket.Conn, bc *batchConn, r *http.Request) error) *floorRun {
	r := &floorRun{b: b, failed: make(chan error, 1)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.served.Add(1)
		defer r.served.Done()
		bw := &batchResponse{ResponseWriter: w}
		if batch {
			w = bw
		}
		c, err := websocket.Accept(w, req, nil)
		if err != nil {
			r.fail(fmt.Errorf("accept: %w", err))
			return
		}
		defer c.CloseNow()
		if err := serve(c, bw.conn, req); err != nil {
			r.fail(fmt.Errorf("server: %w", err))
		}
	}))
	return r
}

func (r *floorRun) dial(path string) *websocket.Conn {
	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(r.srv.URL, "http")+path, nil)
	if err != nil {
		r.b.Fatal(err)
	}
	r.conns = append(r.conns, c)
	return c
}

func (r *floorRun) goClient(fn func() error) {
	r.clients.Go(func() {
		if err := fn(); err != nil {
			r.fail(fmt.Errorf("client: %w", err))
		}
	})
}

func (r *floorRun) fail(err error) {
	if r.ending.Load() {
		return
	}
	select {
	case r.failed <- err:
	default:
	}
}

// await waits for cd, failing on the first error of any goroutine.
func (r *floorRun) await(cd *countdown) {
	select {
	case <-cd.done:
	case err := <-r.failed:
		r.b.Fatal(err)
	}
}

// start starts the timer, the CPU count and the pending clients.
func (r *floorRun) start() {
	r.b.ReportAllocs()
	r.b.ResetTimer()
	r.cpu0 = processCPU(r.b)
	for _, fn := range r.pending {
		r.goClient(fn)
	}
}

// stop stops the timer and reports ops per second and process CPU (user
// plus system, both ends) per op.
func (r *floorRun) stop(ops int, rate, cpu string) {
	used := processCPU(r.b) - r.cpu0
	r.b.StopTimer()
	select {
	case err := <-r.failed:
		r.b.Fatal(err)
	default:
	}
	r.b.ReportMetric(float64(ops)/r.b.Elapsed().Seconds(), rate)
	r.b.ReportMetric(float64(used.Microseconds())/float64(ops), cpu)
}

// close closes every client socket, which ends the clients and the server
// handlers, waits for both, and closes the server.
func (r *floorRun) close() {
	r.ending.Store(true)
	for _, c := range r.conns {
		c.CloseNow()
	}
	r.clients.Wait()
	r.served.Wait()
	r.srv.Close()
}

func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// countdown closes done once counted n (> 0) times.
type countdown struct {
	left atomic.Int64
	done chan struct{}
}

func newCountdown(n int) *countdown {
	cd := &countdown{done: make(chan struct{})}
	cd.left.Store(int64(n))
	return cd
}

func (cd *countdown) count() {
	if cd.left.Add(-1) == 0 {
		close(cd.done)
	}
}

// expectFloorFrame reads one message into buf (sparing the allocation of
// websocket.Conn.Read) and checks that it is want.
func expectFloorFrame(c *websocket.Conn, buf, want []byte) error {
	_, rd, err := c.Reader(context.Background())
	if err != nil {
		return err
	}
	n, err := io.ReadFull(rd, buf)
	if err != io.ErrUnexpectedEOF && err != io.EOF {
		return fmt.Errorf("read message: %v", err) // nil: longer than buf
	}
	if !bytes.Equal(buf[:n], want) {
		return fmt.Errorf("unexpected %d-byte message, want %d bytes of %q", n, len(want), want[:1])
	}
	return nil
}

// batchResponse lets websocket.Accept hijack the connection, and hands it
// a batchConn to write through.
type batchResponse struct {
	http.ResponseWriter
	conn *batchConn // set by Hijack
}

// Hijack takes over the connection from net/http.
func (w *batchResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	w.conn = &batchConn{Conn: conn}
	return w.conn, bufio.NewReadWriter(brw.Reader, bufio.NewWriter(w.conn)), nil
}

// batchConn keeps everything written to it until flush, control frames
// included: fine here, where nobody pings and sockets close without a
// handshake.
type batchConn struct {
	net.Conn
	mu  sync.Mutex
	buf []byte
}

// Write implements net.Conn.
func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.buf = append(c.buf, p...)
	c.mu.Unlock()
	return len(p), nil
}

func (c *batchConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}
