package signaling

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics is the node's Prometheus registry. It has its own registry
// rather than the global one, so two servers in one test process do not
// collide.
type metrics struct {
	reg          *prometheus.Registry
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	wsSessions   prometheus.Gauge
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_http_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "parley_http_request_duration_seconds",
			Help:    "HTTP request latency by route pattern (WebSocket upgrades excluded).",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		wsSessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "parley_ws_sessions",
			Help: "Open client WebSocket sessions on this node.",
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.wsSessions,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "parley_storage_disk_bytes",
			Help: "Bytes Pebble uses on disk (sstables and WAL).",
		}, func() float64 { return float64(s.db.Metrics().DiskSpaceUsage()) }),
	)
	return m
}

// registerServices adds the collectors that read the services' own
// counters at scrape time (metrics_chat.go, metrics_media.go). It runs
// once every service exists.
func (m *metrics) registerServices(s *Server) {
	m.reg.MustRegister(
		newChatCollector(s.chat, s.msgs, s.fan, s.hub, s.liveViewers.Hub(), s.meetingGuests.Hub()),
		newMediaCollector(s.rooms, s.broadcasts),
	)
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// instrument counts requests by the pattern that served them. ServeMux
// records the pattern on the request, and the API's inner mux overwrites
// it with the precise route, so labels stay few and meaningful.
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		m.httpRequests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		if route != "GET /ws" {
			m.httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}
	})
}

// statusWriter remembers the status code. Its Unwrap lets the WebSocket
// upgrade and http.ResponseController reach the connection's Hijack and
// Flush.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
