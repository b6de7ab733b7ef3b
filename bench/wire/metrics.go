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
}

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
