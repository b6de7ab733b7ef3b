package wire

import (
	"context"
	"math"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// ServerProcess reads the media forwarding histogram as Prometheus
// writes it, by service.
func TestServerProcessReadsForwardLatency(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "parley_media_forward_latency_seconds", Help: "test", Buckets: []float64{0.001, 0.005},
	}, []string{"service"})
	reg.MustRegister(h)
	h.WithLabelValues("live").Observe(0.0005)
	h.WithLabelValues("live").Observe(0.003)
	h.WithLabelValues("live").Observe(2)
	h.WithLabelValues("meeting").Observe(0.004)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	c, err := NewClient(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p, err := c.ServerProcess(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	live := p.ForwardLatency["live"]
	if !slices.Equal(live.Bounds, []float64{0.001, 0.005, math.Inf(1)}) || !slices.Equal(live.Cumulative, []uint64{1, 2, 3}) {
		t.Fatalf("live histogram %+v", live)
	}
	if m := p.ForwardLatency["meeting"]; !slices.Equal(m.Cumulative, []uint64{0, 1, 1}) {
		t.Fatalf("meeting histogram %+v", m)
	}
}
