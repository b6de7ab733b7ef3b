package wire

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Process is what the server's /metrics says about its own process.
type Process struct {
	CPUSeconds float64 // process_cpu_seconds_total
	RSSBytes   int64   // process_resident_memory_bytes
	// GoInUseBytes is the Go heap and goroutine stacks in use
	// (go_memstats_heap_inuse_bytes + go_memstats_stack_inuse_bytes), 0 if
	// the server does not export them. Unlike RSS it falls when memory is
	// freed, so its growth is a steadier measure on a server that has run
	// for a while.
	GoInUseBytes int64
	// ForwardLatency is the server's histogram of the time a media packet
	// spends inside it (parley_media_forward_latency_seconds), by its
	// service label ("meeting", "live"); empty if it exports none.
	ForwardLatency map[string]Histogram
}

// Histogram is a Prometheus histogram as scraped: cumulative counts of
// observations at most each upper bound, in seconds, ascending; the last
// bound is +Inf.
type Histogram struct {
	Bounds     []float64
	Cumulative []uint64
}

// forwardLatencyBucket starts each bucket line of the server's media
// forwarding latency histogram.
const forwardLatencyBucket = "parley_media_forward_latency_seconds_bucket{"

// ServerProcess reads the server's process CPU time and resident memory
// from /metrics (Prometheus text format). Both metrics come from the
// process collector, which exists on Linux; a server without them is an
// error.
func (c *Client) ServerProcess(ctx context.Context) (Process, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/metrics", nil)
	if err != nil {
		return Process{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return Process{}, fmt.Errorf("read /metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Process{}, fmt.Errorf("read /metrics: status %d", resp.StatusCode)
	}
	var p Process
	var haveCPU, haveRSS bool
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if labels, ok := strings.CutPrefix(name, forwardLatencyBucket); ok {
			p.addForwardLatencyBucket(strings.TrimSuffix(labels, "}"), strings.TrimSpace(value))
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			p.CPUSeconds, err = strconv.ParseFloat(strings.TrimSpace(value), 64)
			haveCPU = err == nil
		case "process_resident_memory_bytes":
			var f float64
			f, err = strconv.ParseFloat(strings.TrimSpace(value), 64)
			p.RSSBytes, haveRSS = int64(f), err == nil
		case "go_memstats_heap_inuse_bytes", "go_memstats_stack_inuse_bytes":
			if f, err := strconv.ParseFloat(strings.TrimSpace(value), 64); err == nil {
				p.GoInUseBytes += int64(f)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Process{}, fmt.Errorf("read /metrics: %w", err)
	}
	if !haveCPU || !haveRSS {
		return Process{}, fmt.Errorf("read /metrics: no process_cpu_seconds_total or process_resident_memory_bytes")
	}
	return p, nil
}

// addForwardLatencyBucket adds one bucket line (its labels, without
// braces, and its value); a line that does not parse is skipped.
func (p *Process) addForwardLatencyBucket(labels, value string) {
	var service, le string
	for _, kv := range strings.Split(labels, ",") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "service":
			service = strings.Trim(v, `"`)
		case "le":
			le = strings.Trim(v, `"`)
		}
	}
	bound, err1 := strconv.ParseFloat(le, 64)
	count, err2 := strconv.ParseFloat(value, 64)
	if service == "" || err1 != nil || err2 != nil {
		return
	}
	if p.ForwardLatency == nil {
		p.ForwardLatency = map[string]Histogram{}
	}
	h := p.ForwardLatency[service]
	h.Bounds = append(h.Bounds, bound)
	h.Cumulative = append(h.Cumulative, uint64(count))
	p.ForwardLatency[service] = h
}
