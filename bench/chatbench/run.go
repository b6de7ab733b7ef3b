package chatbench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"parley/bench/host"
	"parley/bench/latency"
	"parley/bench/wire"
)

// Timing of the end of a step.
const (
	// ackDrainTimeout is how long the run waits, after sending stops, for
	// the answers to the sends still outstanding. A send still without one
	// then is an error.
	ackDrainTimeout = 10 * time.Second
	// deliveryQuiet is how long deliveries may pause before the run takes
	// them as settled and counts what is missing as lost.
	deliveryQuiet = time.Second
	// deliveryDrainTimeout bounds the wait for deliveries.
	deliveryDrainTimeout = 10 * time.Second
	// drainPoll is how often the drains look.
	drainPoll = 10 * time.Millisecond
	// progressInterval is the period of the progress line.
	progressInterval = time.Second
)

// Reporting thresholds.
const (
	// maxErrorSamples is how many distinct error messages a report keeps.
	maxErrorSamples = 5
	// benchBoundShare is the share of its CPU budget (every core Go may
	// use) above which the generator counts as the bottleneck.
	benchBoundShare = 0.9
	// fdReserve is how many file descriptors the generator needs besides
	// its WebSockets.
	fdReserve = 100
)

// runner holds the state of one run.
type runner struct {
	cfg    *Config
	plan   *plan
	api    *wire.Client
	dialer *wire.Dialer
	base   time.Time // clock zero; send times are measured from it

	adminMu sync.Mutex
	admin   string
	adminAt time.Time

	key       *wire.APIKey
	createdMu sync.Mutex
	created   []bool // which of plan.allMembers() exist
	tokens    map[string]string
	convs     []*conversation

	connsMu sync.Mutex
	conns   []*conn

	idleMu   sync.Mutex
	idle     []*websocket.Conn
	idleDone []context.Context // done when the idle connection ended
	slow     []*websocket.Conn // never read; see slow.go

	stats   counters
	ack     *latency.Recorder
	e2e     *latency.Recorder
	closing atomic.Bool // the run is closing its sockets on purpose

	errMu      sync.Mutex
	errSamples []string
	sampled    map[string]bool // codes (or messages) already in errSamples
	warnings   []string
}

// clock is the time since the run's base, on the monotonic clock.
func (r *runner) clock() time.Duration { return time.Since(r.base) }

// phase writes one line about what the run is doing.
func (r *runner) phase(format string, args ...any) {
	if r.cfg.Progress != nil {
		fmt.Fprintf(r.cfg.Progress, "parley bench: "+format+"\n", args...)
	}
}

// warn records something the report should mention that does not fail
// the run.
func (r *runner) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.errMu.Lock()
	r.warnings = append(r.warnings, msg)
	r.errMu.Unlock()
	r.phase("warning: %s", msg)
}

// recordError counts one error; code is the server's error code, if any.
func (r *runner) recordError(code, msg string) { r.recordErrors(1, code, msg) }

// recordErrors counts n errors described by one message.
func (r *runner) recordErrors(n int64, code, msg string) {
	r.stats.errors.Add(n)
	if code == wire.CodeRateLimited {
		r.stats.rateLimited.Add(n)
	}
	r.errMu.Lock()
	defer r.errMu.Unlock()
	// One sample per server error code keeps a flood of one kind (say,
	// rate_limited) from hiding the others.
	key := code
	if key == "" {
		key = msg
	}
	if len(r.errSamples) < maxErrorSamples && !r.sampled[key] {
		if r.sampled == nil {
			r.sampled = map[string]bool{}
		}
		r.sampled[key] = true
		r.errSamples = append(r.errSamples, msg)
	}
}

// Run provisions, runs and tears down one chat benchmark. It returns an
// error when the run could not measure (bad configuration, provisioning
// failed); a report whose Problems are not empty is a run that measured
// and found errors or violations. Cleanup runs in every case once
// provisioning started, also when ctx is cancelled.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	api, err := wire.NewClient(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	dialer, err := wire.NewDialer(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	rep := &Report{URL: cfg.URL, LoopbackSources: dialer.SpreadsSources(), cfg: cfg}
	limit, err := host.RaiseOpenFiles()
	if err == nil {
		rep.OpenFilesLimit = limit
		if need := uint64(cfg.Conns + cfg.Idle + cfg.Slow + fdReserve); need > limit {
			return nil, fmt.Errorf("%w: %d connections need about %d open files, and the limit (RLIMIT_NOFILE, hard) is %d",
				ErrConfig, cfg.Conns+cfg.Idle+cfg.Slow, need, limit)
		}
	}
	r := &runner{
		cfg:    &cfg,
		plan:   newPlan(&cfg, newRunID()),
		api:    api,
		dialer: dialer,
		base:   time.Now(),
		ack:    latency.NewRecorder(),
		e2e:    latency.NewRecorder(),
	}
	rep.RunID = r.plan.runID
	if err != nil {
		r.warn("open-file limit: %v", err)
	}
	r.phase("run %s against %s (open-file limit %d)", r.plan.runID, cfg.URL, rep.OpenFilesLimit)

	err = r.execute(ctx, rep)
	rep.Problems = append(rep.Problems, r.closeAll()...)
	if cerr := r.cleanup(); cerr != nil {
		rep.Problems = append(rep.Problems, cerr.Error())
	}
	if err == nil && ctx.Err() != nil {
		rep.Problems = append(rep.Problems, "interrupted before the end")
	}
	r.errMu.Lock()
	rep.ErrorSamples, rep.Warnings = r.errSamples, r.warnings
	r.errMu.Unlock()
	return rep, err
}

func (r *runner) execute(ctx context.Context, rep *Report) error {
	if err := r.provision(ctx); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	if r.cfg.Idle > 0 {
		rss, goInUse, err := r.measureIdle(ctx)
		if err != nil {
			return fmt.Errorf("idle connections: %w", err)
		}
		rep.IdleConns, rep.ServerRSSPerConnBytes, rep.ServerGoPerConnBytes = r.cfg.Idle, &rss, &goInUse
	}
	if r.cfg.Conns == 0 {
		return nil
	}
	if err := r.connect(ctx); err != nil {
		return err
	}
	rates := r.cfg.Sweep
	if len(rates) == 0 {
		rates = []float64{r.cfg.Rate}
	}
	for _, rate := range rates {
		if ctx.Err() != nil {
			break
		}
		rep.Steps = append(rep.Steps, r.runStep(ctx, rate))
	}
	if r.cfg.Slow > 0 && ctx.Err() == nil {
		if err := r.openSlow(ctx); err != nil {
			return err
		}
		rep.Steps = append(rep.Steps, r.runStep(ctx, r.cfg.Rate))
		r.compareSlow(rep)
	}
	return nil
}

// runStep sends at rate (0: closed loop) for the configured duration,
// drains, checks, and returns the step's figures.
func (r *runner) runStep(ctx context.Context, rate float64) Result {
	if openLoop(rate) {
		r.phase("sending %.0f messages/s for %v", rate, r.cfg.Duration)
	} else {
		r.phase("sending in closed loop, %d in flight per connection, for %v", r.cfg.Inflight, r.cfg.Duration)
	}
	before := r.snapshot()
	lostBefore := lost(r.convs)
	r.ack.Reset()
	r.e2e.Reset()
	srv0, srvErr0 := r.api.ServerProcess(ctx)
	cpu0, _ := host.CPUTime()
	start := r.clock()
	stopRSS := r.sampleRSS(ctx)

	stepCtx, cancel := context.WithTimeout(ctx, r.cfg.Duration)
	defer cancel()
	stopProgress := r.progress(start)
	var wg sync.WaitGroup
	n := len(r.conns)
	for i, c := range r.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !openLoop(rate) {
				c.closedLoop(stepCtx)
				return
			}
			// Each connection sends rate/n a second; their schedules
			// are staggered evenly over one interval.
			interval := float64(time.Second) * float64(n) / rate
			first := start + time.Duration(interval*float64(i)/float64(n))
			c.openLoop(stepCtx, first, interval, start+r.cfg.Duration)
		}()
	}
	wg.Wait()
	sendEnd := r.clock()
	cancel()

	if unanswered := r.waitAcks(); unanswered > 0 {
		r.recordErrors(int64(unanswered), "", fmt.Sprintf("%d sends got no chat.ack or error within %v of the end of sending", unanswered, ackDrainTimeout))
	}
	r.waitDeliveries(before)
	stopProgress()
	rssPeak := stopRSS()
	end := r.clock()
	cpu1, cpuErr := host.CPUTime()
	srv1, srvErr1 := r.api.ServerProcess(context.WithoutCancel(ctx))

	s := r.snapshot().minus(before)
	res := Result{
		Mode:               "closed_loop",
		Conversations:      "pairs",
		Conns:              n,
		Groups:             r.cfg.Groups,
		Inflight:           r.cfg.Inflight,
		Size:               r.cfg.Size,
		DurationSeconds:    seconds(sendEnd - start),
		Sent:               s.sent,
		Acked:              s.acked,
		Delivered:          s.delivered,
		ExpectedDeliveries: s.expected,
		Lost:               max(0, lost(r.convs)-lostBefore),
		Duplicates:         s.duplicates,
		OutOfOrder:         s.outOfOrder,
		Errors:             s.errors,
		RateLimited:        s.rateLimited,
		AckMs:              r.ack.Summary(),
		E2EMs:              r.e2e.Summary(),
	}
	if openLoop(rate) {
		res.Mode, res.OfferedRate, res.Inflight = "open_loop", rate, 0
	}
	if r.cfg.Groups > 0 {
		res.Conversations, res.GroupSize = "groups", r.cfg.GroupSize
	}
	ackEnd := max(time.Duration(r.stats.lastAck.Load()), sendEnd)
	deliveryEnd := max(r.lastDelivery(), sendEnd)
	res.SendRate = perSecond(s.acked, ackEnd-start)
	res.DeliveryRate = perSecond(s.delivered, deliveryEnd-start)
	if srvErr0 == nil && srvErr1 == nil {
		res.Server = ServerUsage{CPUSeconds: srv1.CPUSeconds - srv0.CPUSeconds, RSSBytes: srv1.RSSBytes, RSSPeakBytes: max(rssPeak, srv1.RSSBytes)}
	} else {
		r.warn("server usage unknown: %v", errors.Join(srvErr0, srvErr1))
	}
	res.Client.Cores = runtime.GOMAXPROCS(0)
	if cpuErr == nil {
		res.Client.CPUSeconds = seconds(cpu1 - cpu0)
	}
	res.WallSeconds = seconds(end - start)
	res.BenchBound = res.Client.CPUSeconds >= benchBoundShare*float64(res.Client.Cores)*res.WallSeconds
	return res
}

// progress prints a line a second until the returned function is called.
func (r *runner) progress(start time.Duration) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		prev, prevAt := r.snapshot(), r.clock()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			now, at := r.snapshot(), r.clock()
			d, dt := now.minus(prev), (at - prevAt).Seconds()
			fmt.Fprintf(r.cfg.Progress, "%6.1fs  sent %8.0f/s  acked %8.0f/s  delivered %9.0f/s  errors %d\n",
				(at - start).Seconds(), float64(d.sent)/dt, float64(d.acked)/dt, float64(d.delivered)/dt, now.errors)
			prev, prevAt = now, at
		}
	}()
	return func() { close(done); wg.Wait() }
}

// waitAcks waits until every send has its answer, or ackDrainTimeout, and
// returns how many are still without one. A connection that ended will
// not answer, so its sends are not waited for.
func (r *runner) waitAcks() int {
	deadline := time.Now().Add(ackDrainTimeout)
	for {
		waiting, dead := 0, 0
		for _, c := range r.conns {
			select {
			case <-c.done:
				dead += c.outstanding()
			default:
				waiting += c.outstanding()
			}
		}
		if waiting == 0 || time.Now().After(deadline) {
			return waiting + dead
		}
		time.Sleep(drainPoll)
	}
}

// waitDeliveries waits until every acked message reached every connection
// of its conversation, or deliveries pause for deliveryQuiet, or
// deliveryDrainTimeout passes.
func (r *runner) waitDeliveries(before snapshot) {
	deadline := time.Now().Add(deliveryDrainTimeout)
	last, lastChange := int64(-1), time.Now()
	for {
		s := r.snapshot().minus(before)
		if s.delivered >= s.expected {
			return
		}
		if s.delivered != last {
			last, lastChange = s.delivered, time.Now()
		}
		if time.Since(lastChange) >= deliveryQuiet || time.Now().After(deadline) {
			return
		}
		time.Sleep(drainPoll)
	}
}

func seconds(d time.Duration) float64 { return d.Seconds() }

// perSecond is n per second over d, zero for an empty interval.
func perSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}
