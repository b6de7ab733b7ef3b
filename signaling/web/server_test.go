package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"parley/signaling"
)

const adminPassword = "correct-horse-battery"

// startServer runs a real Parley node on loopback: Pebble in a temp dir,
// the embedded NATS, a real listener. It returns the base URL.
func startServer(t *testing.T) string {
	t.Helper()
	cfg := signaling.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.MediaPort = 0 // a free UDP port, so test servers never share one
	cfg.Auth.AdminPassword = adminPassword
	cfg.Auth.LoginPerIPPerMinute = 10000 // every browser signs in from 127.0.0.1
	srv, err := signaling.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		srv.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("server did not shut down")
		}
	})
	return "http://" + ln.Addr().String()
}

// call makes one JSON request and decodes the answer into out.
func call(t *testing.T, method, url, token string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, url, raw, err)
		}
	}
	return resp.StatusCode
}

// The web client is mounted at "/", beside the API, the WebSocket and the
// operational endpoints; none of them may be shadowed by the page.
func TestWebClientBesideTheOtherRoutes(t *testing.T) {
	base := startServer(t)
	cases := []struct {
		method, path string
		status       int
		contentType  string
		bodyHas      string
	}{
		{"GET", "/", 200, "text/html", "<!doctype html>"},
		{"GET", "/chat/g_abc", 200, "text/html", "<!doctype html>"},
		{"GET", "/healthz", 200, "text/plain", "ok"},
		{"GET", "/readyz", 200, "text/plain", "ready"},
		{"GET", "/metrics", 200, "text/plain", "parley_http_requests_total"},
		{"GET", "/api/v1/openapi.yaml", 200, "application/yaml", "openapi"},
		{"GET", "/api/v1/nope", 404, "application/json", `"not_found"`},
		{"GET", "/api/v1/me", 401, "application/json", `"unauthenticated"`},
		{"GET", "/ws", 401, "application/json", `"unauthenticated"`},
		{"POST", "/healthz", 404, "text/plain", ""},
		{"GET", "/api/v2/members", 404, "application/json", `"not_found"`},
		{"GET", "/favicon.ico", 404, "text/plain", ""},
	}
	for _, c := range cases {
		req, _ := http.NewRequest(c.method, base+c.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), c.contentType) || !strings.Contains(string(body), c.bodyHas) {
			t.Errorf("%s %s: %d %q %.80q; want %d %q containing %q", c.method, c.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, c.status, c.contentType, c.bodyHas)
		}
	}
}
