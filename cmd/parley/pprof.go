//go:build pprof

package main

import (
	"log/slog"
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof on http.DefaultServeMux
	"os"
)

// A build with -tags pprof serves Go's profiler on PARLEY_PPROF_ADDR (for
// example 127.0.0.1:6060), apart from the server's own listener, so that
// `parley bench` runs can be profiled. Release builds leave it out.
func init() {
	addr := os.Getenv("PARLEY_PPROF_ADDR")
	if addr == "" {
		return
	}
	go func() {
		if err := http.ListenAndServe(addr, nil); err != nil {
			slog.Error("pprof listener", "addr", addr, "err", err)
		}
	}()
}
