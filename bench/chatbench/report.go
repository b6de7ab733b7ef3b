package chatbench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"parley/bench/chart"
	"parley/bench/latency"
)

// Result is what one step measured. Its JSON form is documented field by
// field because scripts read it.
type Result struct {
	Mode          string  `json:"mode"`          // "closed_loop" or "open_loop"
	Conversations string  `json:"conversations"` // "pairs" (direct) or "groups"
	Conns         int     `json:"conns"`
	Groups        int     `json:"groups"`
	GroupSize     int     `json:"group_size,omitempty"`
	OfferedRate   float64 `json:"offered_rate,omitempty"` // open loop: messages/s asked for
	Inflight      int     `json:"inflight,omitempty"`     // closed loop: sends outstanding per connection
	Size          int     `json:"size"`                   // text bytes per message
	// DurationSeconds is the sending time; WallSeconds adds the drains,
	// and is the window the CPU figures cover.
	DurationSeconds float64 `json:"duration_seconds"`
	WallSeconds     float64 `json:"wall_seconds"`

	Sent               int64 `json:"sent"`                // chat.send frames written
	Acked              int64 `json:"acked"`               // chat.ack received
	Delivered          int64 `json:"delivered"`           // distinct chat.message arrivals of the run's messages
	ExpectedDeliveries int64 `json:"expected_deliveries"` // acks × connections of the conversation
	Lost               int64 `json:"lost"`                // acked seqs a connection of the conversation never got
	Duplicates         int64 `json:"duplicates"`          // a conversation's seq twice on one connection
	OutOfOrder         int64 `json:"out_of_order"`        // a seq below one already received, on one connection
	Errors             int64 `json:"errors"`              // error frames, unanswered sends, broken sockets
	RateLimited        int64 `json:"rate_limited"`        // errors with code rate_limited (included in errors)

	SendRate     float64         `json:"send_rate"`     // acks a second
	DeliveryRate float64         `json:"delivery_rate"` // deliveries a second
	AckMs        latency.Summary `json:"ack_ms"`        // send (or intended send) to chat.ack
	E2EMs        latency.Summary `json:"e2e_ms"`        // send (or intended send) to each chat.message

	Server     ServerUsage `json:"server"`
	Client     ClientUsage `json:"client"`
	BenchBound bool        `json:"bench_bound"` // the generator used ≥ 90 % of its cores
}

// ServerUsage is the server's process as its /metrics reported it.
type ServerUsage struct {
	CPUSeconds float64 `json:"cpu_seconds"` // used during the step
	RSSBytes   int64   `json:"rss_bytes"`   // resident memory at the end of the step
	// RSSPeakBytes is the highest resident memory sampled during the
	// step, once a second, and at its end.
	RSSPeakBytes int64 `json:"rss_peak_bytes"`
}

// ClientUsage is the generator's own process during the step.
type ClientUsage struct {
	CPUSeconds float64 `json:"cpu_seconds"`
	Cores      int     `json:"cores"` // GOMAXPROCS: the cores it could use
}

// Report is the outcome of a run: one Result per step, and what concerns
// the run as a whole.
type Report struct {
	RunID           string `json:"run_id"`
	URL             string `json:"url"`
	OpenFilesLimit  uint64 `json:"open_files_limit"`
	LoopbackSources bool   `json:"loopback_sources"` // connections spread over 127.0.0.2-254
	IdleConns       int    `json:"idle_conns,omitempty"`
	// ServerRSSPerConnBytes is the growth of the server's resident memory
	// while the idle connections opened, per connection. The Go runtime
	// reuses memory it freed before touching new pages, so on a server
	// that has run for a while this reads low; ServerGoPerConnBytes, the
	// growth of Go heap and stacks in use, does not have that bias.
	ServerRSSPerConnBytes *int64 `json:"server_rss_per_conn_bytes,omitempty"`
	ServerGoPerConnBytes  *int64 `json:"server_go_inuse_per_conn_bytes,omitempty"`
	// Slow compares the two steps of a run with --slow.
	Slow         *SlowImpact `json:"slow_consumers,omitempty"`
	ErrorSamples []string    `json:"error_samples,omitempty"`
	Warnings     []string    `json:"warnings,omitempty"`
	// Problems are failures outside the steps' counters: an idle socket
	// the server closed, a failed cleanup, an interrupt.
	Problems []string `json:"problems,omitempty"`

	Steps []Result `json:"-"`

	// Set by WriteSweepFiles.
	ChartFile string `json:"chart_file,omitempty"`
	JSONFile  string `json:"json_file,omitempty"`

	cfg Config
}

// Failures lists everything that makes the run fail: errors and
// correctness violations of each step, and the run's Problems.
func (rep *Report) Failures() []string {
	var out []string
	for i, s := range rep.Steps {
		at := ""
		if len(rep.Steps) > 1 {
			at = fmt.Sprintf("step %d (%.0f/s): ", i+1, s.OfferedRate)
		}
		if rep.Slow != nil && i == 1 {
			at = "step 2 (with slow connections): "
		}
		if s.Errors > 0 {
			out = append(out, fmt.Sprintf("%s%d errors", at, s.Errors))
		}
		if s.Lost > 0 {
			out = append(out, fmt.Sprintf("%s%d deliveries lost", at, s.Lost))
		}
		if s.Duplicates > 0 {
			out = append(out, fmt.Sprintf("%s%d duplicate deliveries", at, s.Duplicates))
		}
		if s.OutOfOrder > 0 && !rep.cfg.AllowReorder {
			out = append(out, fmt.Sprintf("%s%d deliveries out of order", at, s.OutOfOrder))
		}
	}
	if sl := rep.Slow; sl != nil && (sl.AckP99Ratio > MaxSlowImpact || sl.E2EP99Ratio > MaxSlowImpact) {
		out = append(out, fmt.Sprintf("%d slow connections raised the others' p99 by more than %gx (ack %.2fx, end to end %.2fx)",
			sl.SlowConns, MaxSlowImpact, sl.AckP99Ratio, sl.E2EP99Ratio))
	}
	return append(out, rep.Problems...)
}

// JSONValue is what --json prints: the run's fields, plus the one step's
// fields at the top level, or a "steps" array for a sweep, and
// "failures", the list Failures returns (absent when the run passed).
func (rep *Report) JSONValue() any {
	failures := rep.Failures()
	if len(rep.Steps) > 1 {
		return struct {
			*Report
			Steps    []Result `json:"steps"`
			Failures []string `json:"failures,omitempty"`
		}{rep, rep.Steps, failures}
	}
	if len(rep.Steps) == 0 { // idle connections only
		return struct {
			*Report
			Failures []string `json:"failures,omitempty"`
		}{rep, failures}
	}
	return struct {
		*Report
		Result
		Failures []string `json:"failures,omitempty"`
	}{rep, rep.Steps[0], failures}
}

// WriteSweepFiles writes the sweep's JSON and an SVG chart of ack latency
// against offered rate into dir, as chat-sweep-<run id>.json and .svg.
func (rep *Report) WriteSweepFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sweep output: %w", err)
	}
	base := filepath.Join(dir, "chat-sweep-"+rep.RunID)
	rep.JSONFile, rep.ChartFile = base+".json", base+".svg"

	c := chart.Chart{
		Title:  fmt.Sprintf("parley bench chat: ack latency vs offered rate (run %s, %d connections)", rep.RunID, rep.cfg.Conns),
		XLabel: "offered rate (messages/s)",
		YLabel: "ack latency (ms)",
		LogY:   true,
	}
	for _, q := range []struct {
		name string
		get  func(latency.Summary) float64
	}{
		{"p50", func(s latency.Summary) float64 { return s.P50 }},
		{"p99", func(s latency.Summary) float64 { return s.P99 }},
		{"p99.9", func(s latency.Summary) float64 { return s.P999 }},
	} {
		s := chart.Series{Name: q.name}
		for _, st := range rep.Steps {
			s.Points = append(s.Points, chart.Point{X: st.OfferedRate, Y: q.get(st.AckMs)})
		}
		c.Series = append(c.Series, s)
	}
	svg, err := os.Create(rep.ChartFile)
	if err != nil {
		return fmt.Errorf("sweep chart: %w", err)
	}
	if err := c.WriteSVG(svg); err != nil {
		svg.Close()
		return fmt.Errorf("sweep chart: %w", err)
	}
	if err := svg.Close(); err != nil {
		return fmt.Errorf("sweep chart: %w", err)
	}
	raw, err := json.MarshalIndent(rep.JSONValue(), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(rep.JSONFile, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("sweep json: %w", err)
	}
	return nil
}

// WriteSummary writes the report for people.
func (rep *Report) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "parley bench chat: run %s against %s\n", rep.RunID, rep.URL)
	fmt.Fprintf(w, "  open-file limit %d", rep.OpenFilesLimit)
	if rep.LoopbackSources {
		fmt.Fprint(w, "; connections spread over source addresses 127.0.0.2-254")
	}
	fmt.Fprintln(w)
	if rep.IdleConns > 0 && rep.ServerRSSPerConnBytes != nil {
		fmt.Fprintf(w, "  idle connections: %d; server memory per connection: RSS %s, Go heap and stacks in use %s\n",
			rep.IdleConns, bytesIEC(*rep.ServerRSSPerConnBytes), bytesIEC(*rep.ServerGoPerConnBytes))
	}
	for i, s := range rep.Steps {
		if len(rep.Steps) > 1 {
			fmt.Fprintf(w, "\nstep %d of %d\n", i+1, len(rep.Steps))
		}
		topo := fmt.Sprintf("%d connections in %d direct pairs", s.Conns, s.Conns/2)
		if s.Conversations == "groups" {
			topo = fmt.Sprintf("%d connections in %d groups of %d members", s.Conns, s.Groups, s.GroupSize)
		}
		load := fmt.Sprintf("closed loop, %d in flight per connection", s.Inflight)
		if s.Mode == "open_loop" {
			load = fmt.Sprintf("open loop at %.0f messages/s offered (latency from intended send time)", s.OfferedRate)
		}
		fmt.Fprintf(w, "  %s; %s; %d-byte texts; sent for %.1fs\n", topo, load, s.Size, s.DurationSeconds)
		fmt.Fprintf(w, "  sent %d  acked %d  delivered %d of %d expected\n", s.Sent, s.Acked, s.Delivered, s.ExpectedDeliveries)
		fmt.Fprintf(w, "  send rate %.0f acks/s   delivery rate %.0f deliveries/s\n", s.SendRate, s.DeliveryRate)
		fmt.Fprintf(w, "  %-16s %9s %9s %9s %9s %9s\n", "latency (ms)", "p50", "p90", "p99", "p99.9", "max")
		for _, l := range []struct {
			name string
			s    latency.Summary
		}{{"ack", s.AckMs}, {"end-to-end", s.E2EMs}} {
			fmt.Fprintf(w, "  %-16s %9.3f %9.3f %9.3f %9.3f %9.3f\n", l.name, l.s.P50, l.s.P90, l.s.P99, l.s.P999, l.s.Max)
		}
		wall := max(s.WallSeconds, 1e-9)
		fmt.Fprintf(w, "  server: %.2f CPU seconds (%.2f cores), RSS %s at the end\n",
			s.Server.CPUSeconds, s.Server.CPUSeconds/wall, bytesIEC(s.Server.RSSBytes))
		fmt.Fprintf(w, "  client: %.2f CPU seconds (%.2f of %d cores)\n", s.Client.CPUSeconds, s.Client.CPUSeconds/wall, s.Client.Cores)
		if s.BenchBound {
			fmt.Fprintln(w, "  the load generator itself was the bottleneck: it used at least 90% of its cores")
		} else if rep.LoopbackSources {
			fmt.Fprintf(w, "  generator and server share this machine: together %.2f of its %d cores\n",
				(s.Client.CPUSeconds+s.Server.CPUSeconds)/wall, s.Client.Cores)
		}
		reorderOK := s.OutOfOrder == 0 || rep.cfg.AllowReorder
		switch {
		case s.Lost == 0 && s.Duplicates == 0 && s.OutOfOrder == 0:
			fmt.Fprintln(w, "  correctness: no loss, no duplicates, every connection in seq order")
		case s.Lost == 0 && s.Duplicates == 0 && reorderOK:
			fmt.Fprintf(w, "  correctness: no loss, no duplicates; %d deliveries (%.2f %%) arrived below a seq already received (allowed by --allow-reorder)\n",
				s.OutOfOrder, 100*float64(s.OutOfOrder)/float64(max(s.Delivered, 1)))
		default:
			fmt.Fprintf(w, "  CORRECTNESS VIOLATED: lost %d, duplicates %d, out of order %d\n", s.Lost, s.Duplicates, s.OutOfOrder)
		}
		fmt.Fprintf(w, "  errors: %d\n", s.Errors)
		if s.RateLimited > 0 {
			fmt.Fprintf(w, "  %d sends were refused with rate_limited: the server's per-member send limit "+
				"(chat.send_per_second, chat.send_burst) is below the offered load; raise it on the server, or use more --conns\n", s.RateLimited)
		}
	}
	if sl := rep.Slow; sl != nil {
		fmt.Fprintf(w, "\nslow consumers: step 2 added %d connections that never read; the server closed %d of them (%d with a 4008 frame)\n",
			sl.SlowConns, sl.ClosedByServer, sl.TooSlow4008)
		fmt.Fprintf(w, "  the others' p99 with them over without: ack %.2fx, end to end %.2fx (at most %gx passes)\n",
			sl.AckP99Ratio, sl.E2EP99Ratio, MaxSlowImpact)
		fmt.Fprintf(w, "  server RSS peak: %s without, %s with\n", bytesIEC(sl.RSSPeakWithoutBytes), bytesIEC(sl.RSSPeakWithBytes))
	}
	if rep.ChartFile != "" {
		fmt.Fprintf(w, "\nsweep written to %s and %s\n", rep.JSONFile, rep.ChartFile)
	}
	for _, e := range rep.ErrorSamples {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
	for _, wn := range rep.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", wn)
	}
	if f := rep.Failures(); len(f) > 0 {
		fmt.Fprintf(w, "FAILED: %s\n", strings.Join(f, "; "))
	} else {
		fmt.Fprintln(w, "OK")
	}
}

// bytesIEC formats a byte count briefly, in KiB or MiB where it helps.
func bytesIEC(n int64) string {
	switch a := max(n, -n); {
	case a >= 10<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case a >= 10<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}
