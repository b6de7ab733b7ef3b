package usage

import (
	"context"
	"errors"
	"runtime"
	"time"

	"parley/bench/host"
	"parley/bench/wire"
)

// BenchBoundShare is the share of its CPU budget (every core Go may use)
// above which the generator counts as the bottleneck of a window.
const BenchBoundShare = 0.9

// Server is the server's process over one window.
type Server struct {
	CPUSeconds    float64 `json:"cpu_seconds"`     // CPU time used during the window
	RSSBytes      int64   `json:"rss_bytes"`       // resident memory at the end
	RSSStartBytes int64   `json:"rss_start_bytes"` // resident memory at the start
	// ForwardLatency is the server-added latency of media packets over
	// the window, by service ("meeting", "live"), when the server
	// measures it.
	ForwardLatency map[string]ForwardLatency `json:"forward_latency,omitempty"`
}

// Client is the generator's own process over one window.
type Client struct {
	CPUSeconds float64 `json:"cpu_seconds"`
	Cores      int     `json:"cores"` // GOMAXPROCS: the cores it could use
}

// Window is what a window cost on both sides.
type Window struct {
	Server      Server
	Client      Client
	WallSeconds float64
	// BenchBound is set when the generator used at least BenchBoundShare
	// of its cores: the figures then say as much about it as about the
	// server.
	BenchBound bool
	// ServerErr is set when /metrics could not be read at the start or
	// the end; Server is then zero.
	ServerErr error
}

// Meter reads a window's costs. Start it, run the load, then call End.
type Meter struct {
	api    *wire.Client
	start  time.Time
	srv0   wire.Process
	srvErr error
	cpu0   time.Duration
	cpuErr error
}

// Start reads the server's and the generator's counters now.
func Start(ctx context.Context, api *wire.Client) *Meter {
	m := &Meter{api: api}
	m.srv0, m.srvErr = api.ServerProcess(ctx)
	m.cpu0, m.cpuErr = host.CPUTime()
	m.start = time.Now()
	return m
}

// End reads the counters again and returns the window's costs. It does
// not use ctx's cancellation, so a window cut short by an interrupt is
// still measured.
func (m *Meter) End(ctx context.Context) Window {
	wall := time.Since(m.start)
	cpu1, cpuErr := host.CPUTime()
	srv1, srvErr := m.api.ServerProcess(context.WithoutCancel(ctx))
	w := Window{WallSeconds: wall.Seconds(), Client: Client{Cores: runtime.GOMAXPROCS(0)}}
	if err := errors.Join(m.srvErr, srvErr); err != nil {
		w.ServerErr = err
	} else {
		w.Server = Server{CPUSeconds: srv1.CPUSeconds - m.srv0.CPUSeconds, RSSBytes: srv1.RSSBytes, RSSStartBytes: m.srv0.RSSBytes,
			ForwardLatency: forwardLatencies(m.srv0, srv1)}
	}
	if m.cpuErr == nil && cpuErr == nil {
		w.Client.CPUSeconds = (cpu1 - m.cpu0).Seconds()
	}
	w.BenchBound = w.Client.CPUSeconds >= BenchBoundShare*float64(w.Client.Cores)*w.WallSeconds
	return w
}
