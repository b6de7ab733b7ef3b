package chatbench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/coder/websocket"

	"parley/bench/provision"
	"parley/bench/wire"
)

// Slow consumers (--slow N). The chat issue requires that one client that
// stops reading does not raise the others' p99 by more than MaxSlowImpact
// and that server memory stays bounded. A run with Slow set sends the same
// load twice: first as usual, then with N more connections that never
// read, opened as extra devices of the first N members, so every frame
// for those members is also pushed at a socket nobody drains.
const (
	// MaxSlowImpact is the most the others' p99 (ack and end to end) may
	// grow with the slow connections; more fails the run.
	MaxSlowImpact = 2.0
	// slowDrainTimeout bounds the read, after the step, that looks for
	// the close frame the server sent a slow connection.
	slowDrainTimeout = 3 * time.Second
	// rssSampleInterval is how often a step samples the server's
	// resident memory for its peak.
	rssSampleInterval = time.Second
	// slowReceiveBuffer is the socket receive buffer of a slow
	// connection: small, so the server meets a client that stopped
	// reading within seconds instead of after megabytes of kernel
	// buffers.
	slowReceiveBuffer = 8 << 10
)

// SlowImpact compares the step with slow connections to the step without.
type SlowImpact struct {
	SlowConns int `json:"slow_conns"`
	// ClosedByServer counts the slow connections the server had closed
	// by the end of the step; TooSlow4008 those of them whose close frame
	// (4008, send queue overflow) made it into the socket. A server that
	// drops a client whose buffers are full often cannot send it a close
	// frame at all.
	ClosedByServer int `json:"closed_by_server"`
	TooSlow4008    int `json:"too_slow_4008"`
	// Ratios of the others' p99 latencies, with over without.
	AckP99Ratio float64 `json:"ack_p99_ratio"`
	E2EP99Ratio float64 `json:"e2e_p99_ratio"`
	// Server resident memory: the highest sample of each step.
	RSSPeakWithoutBytes int64 `json:"rss_peak_without_bytes"`
	RSSPeakWithBytes    int64 `json:"rss_peak_with_bytes"`
}

// openSlow opens the slow connections. They never read.
func (r *runner) openSlow(ctx context.Context) error {
	n := r.cfg.Slow
	r.phase("opening %d connections that never read", n)
	r.slow = make([]*websocket.Conn, n)
	dialer, err := wire.NewDialer(r.cfg.URL)
	if err != nil {
		return err
	}
	dialer.ReceiveBuffer = slowReceiveBuffer
	return provision.ForEach(ctx, n, dialWorkers, func(ctx context.Context, i int) error {
		member := r.plan.active[i%len(r.plan.active)]
		c, err := dialer.Dial(ctx, r.tokens[member])
		if err != nil {
			return fmt.Errorf("slow connection %d (%s): %w", i, member, err)
		}
		r.idleMu.Lock()
		r.slow[i] = c
		r.idleMu.Unlock()
		return nil
	})
}

// slowClosed reads what each slow connection was sent, for up to
// slowDrainTimeout, and counts those that end (the server closed them)
// and those that end with the server's 4008 close frame.
func (r *runner) slowClosed() (closed, tooSlow int) {
	var mu sync.Mutex
	_ = provision.ForEach(context.Background(), len(r.slow), closeWorkers, func(_ context.Context, i int) error {
		ctx, cancel := context.WithTimeout(context.Background(), slowDrainTimeout)
		defer cancel()
		for {
			_, _, err := r.slow[i].Read(ctx)
			if err == nil {
				continue
			}
			if ctx.Err() != nil {
				return nil // still open
			}
			mu.Lock()
			closed++
			if websocket.CloseStatus(err) == wire.CloseTooSlow {
				tooSlow++
			}
			mu.Unlock()
			return nil
		}
	})
	return closed, tooSlow
}

// compareSlow fills rep.Slow from the two steps.
func (r *runner) compareSlow(rep *Report) {
	if len(rep.Steps) != 2 {
		return
	}
	without, with := rep.Steps[0], rep.Steps[1]
	closed, tooSlow := r.slowClosed()
	rep.Slow = &SlowImpact{
		SlowConns:           r.cfg.Slow,
		ClosedByServer:      closed,
		TooSlow4008:         tooSlow,
		AckP99Ratio:         ratio(with.AckMs.P99, without.AckMs.P99),
		E2EP99Ratio:         ratio(with.E2EMs.P99, without.E2EMs.P99),
		RSSPeakWithoutBytes: without.Server.RSSPeakBytes,
		RSSPeakWithBytes:    with.Server.RSSPeakBytes,
	}
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// sampleRSS records the server's highest resident memory until the
// returned function is called, which returns it.
func (r *runner) sampleRSS(ctx context.Context) (stop func() int64) {
	done := make(chan struct{})
	var peak int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(rssSampleInterval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if p, err := r.api.ServerProcess(ctx); err == nil {
				peak = max(peak, p.RSSBytes)
			}
		}
	}()
	return func() int64 { close(done); wg.Wait(); return peak }
}
