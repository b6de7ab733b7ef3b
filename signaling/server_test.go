package signaling

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"parley/storage"
)

func TestBootstrapAdminCanSignIn(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	tok := login(t, srv.URL, "admin", testAdminPassword)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.ExpiresIn != 15*60 || tok.TokenType != "Bearer" {
		t.Fatalf("unexpected tokens: %+v", tok)
	}
	var me struct {
		ID          string   `json:"id"`
		Role        string   `json:"role"`
		Departments []string `json:"departments"`
	}
	if status, raw := call(t, "GET", srv.URL+"/api/v1/me", tok.AccessToken, nil, &me); status != 200 {
		t.Fatalf("GET /me: %d %s", status, raw)
	}
	if me.ID != "admin" || me.Role != "super_admin" || len(me.Departments) != 1 || me.Departments[0] != "1" {
		t.Fatalf("bootstrap admin is %+v", me)
	}
	if status, raw := call(t, "POST", srv.URL+"/api/v1/auth/login", "", map[string]string{"username": "admin", "password": "wrong-password"}, nil); status != 401 || errorCode(raw) != "invalid_credentials" {
		t.Fatalf("wrong password: %d %s", status, raw)
	}
}

func TestGeneratedAdminPasswordIsLoggedOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Auth.AdminPassword = ""
	var logs bytes.Buffer
	srv, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	out := logs.String()
	i := strings.Index(out, "password=")
	if i < 0 {
		t.Fatalf("generated password not logged: %s", out)
	}
	password := strings.Fields(out[i+len("password="):])[0]
	if len(password) < 16 {
		t.Fatalf("generated password %q is too short", password)
	}

	logs.Reset()
	again, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
	if strings.Contains(logs.String(), "password=") {
		t.Fatalf("password logged again on second start: %s", logs.String())
	}
	ts := startServer(t, cfg)
	login(t, ts.URL, "admin", password)
}

func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	srv := startServer(t, cfg)
	tok := login(t, srv.URL, "admin", testAdminPassword).AccessToken
	var dept struct{ ID string }
	if status, raw := call(t, "POST", srv.URL+"/api/v1/departments", tok, map[string]any{"name": "Sales", "parent_id": "1"}, &dept); status != 201 {
		t.Fatalf("create department: %d %s", status, raw)
	}
	if status, raw := call(t, "POST", srv.URL+"/api/v1/members", tok, map[string]any{
		"id": "li.lei", "name": "李雷", "departments": []string{dept.ID}, "password": "li-lei-password",
	}, nil); status != 201 {
		t.Fatalf("create member: %d %s", status, raw)
	}
	srv.stop()

	cfg.Auth.AdminPassword = "a-different-password" // ignored: not the first start
	srv = startServer(t, cfg)
	tok = login(t, srv.URL, "admin", testAdminPassword).AccessToken
	var m struct {
		Name        string   `json:"name"`
		Departments []string `json:"departments"`
	}
	if status, raw := call(t, "GET", srv.URL+"/api/v1/members/li.lei", tok, nil, &m); status != 200 {
		t.Fatalf("member after restart: %d %s", status, raw)
	}
	if m.Name != "李雷" || len(m.Departments) != 1 || m.Departments[0] != dept.ID {
		t.Fatalf("member after restart: %+v", m)
	}
	login(t, srv.URL, "li.lei", "li-lei-password")
}

func TestSecondServerOnSameDataDirFails(t *testing.T) {
	dir := t.TempDir()
	startServer(t, testConfig(t, dir))
	_, err := New(testConfig(t, dir), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if !errors.Is(err, storage.ErrLocked) {
		t.Fatalf("second server: got %v, want storage.ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "in use by another parley process") {
		t.Fatalf("error is not clear: %v", err)
	}
}

func TestHealthReadyMetrics(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, raw := call(t, "GET", srv.URL+path, "", nil, nil); status != 200 {
			t.Fatalf("%s: %d %s", path, status, raw)
		}
	}
	call(t, "GET", srv.URL+"/api/v1/me", "", nil, nil) // one 401 to count
	status, raw := call(t, "GET", srv.URL+"/metrics", "", nil, nil)
	if status != 200 {
		t.Fatalf("/metrics: %d", status)
	}
	for _, want := range []string{
		"go_goroutines", "process_cpu_seconds_total", "process_resident_memory_bytes",
		`parley_http_requests_total{code="401",route="GET /api/v1/me"} 1`,
		"parley_ws_sessions 0", "parley_storage_disk_bytes",
	} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestAPIErrorShapes(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Limits.MaxBodyBytes = 2048
	srv := startServer(t, cfg)
	tok := login(t, srv.URL, "admin", testAdminPassword).AccessToken

	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		code                                  string
	}{
		{"unknown route", "GET", "/api/v1/nope", "", "", 404, "not_found"},
		{"wrong method", "DELETE", "/api/v1/departments", "", "", 405, "method_not_allowed"},
		{"unknown field", "POST", "/api/v1/tags", "application/json", `{"name":"x","colour":"red"}`, 400, "bad_request"},
		{"malformed json", "POST", "/api/v1/tags", "application/json", `{"name":`, 400, "bad_request"},
		{"wrong type", "POST", "/api/v1/tags", "application/json", `{"name":7}`, 400, "invalid_argument"},
		{"empty body", "POST", "/api/v1/tags", "application/json", ``, 400, "bad_request"},
		{"not json", "POST", "/api/v1/tags", "text/plain", `name=x`, 415, "unsupported_media_type"},
		{"trailing brace", "POST", "/api/v1/tags", "application/json", `{"name":"x"}}`, 400, "bad_request"},
		{"trailing object", "POST", "/api/v1/tags", "application/json", `{"name":"x"} {}`, 400, "bad_request"},
		{"scoped route, wrong type", "POST", "/api/v1/members", "application/json", `{"id":"x","name":"X","departments":"1"}`, 400, "invalid_argument"},
		{"scoped route, not json", "POST", "/api/v1/members", "text/plain", `id=x`, 415, "unsupported_media_type"},
		{"too large", "POST", "/api/v1/tags", "application/json", `{"name":"` + strings.Repeat("x", 4096) + `"}`, 413, "body_too_large"},
		{"no token", "GET", "/api/v1/me", "", "", 401, "unauthenticated"},
		{"garbage token", "GET", "/api/v1/me", "", "", 401, "unauthenticated"},
		{"missing member", "GET", "/api/v1/members/nobody", "", "", 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			switch c.name {
			case "no token":
			case "garbage token":
				req.Header.Set("Authorization", "Bearer not.a.jwt")
			default:
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || errorCode(raw) != c.code {
				t.Fatalf("got %d %s, want %d %s", resp.StatusCode, raw, c.status, c.code)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("error Content-Type %q", ct)
			}
			if c.status == 405 && resp.Header.Get("Allow") != "GET, POST" {
				t.Fatalf("Allow header %q", resp.Header.Get("Allow"))
			}
		})
	}
}

func TestStaleTokenDoesNotBlockRefresh(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	tok := login(t, srv.URL, "admin", testAdminPassword)
	var fresh tokenPair
	status, raw := call(t, "POST", srv.URL+"/api/v1/auth/refresh", "expired.or.garbage", map[string]string{"refresh_token": tok.RefreshToken}, &fresh)
	if status != 200 || fresh.AccessToken == "" || fresh.RefreshToken == tok.RefreshToken {
		t.Fatalf("refresh with stale bearer: %d %s", status, raw)
	}
	// The old refresh token was rotated out.
	if status, raw := call(t, "POST", srv.URL+"/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}, nil); status != 401 {
		t.Fatalf("reused refresh token: %d %s", status, raw)
	}
}

// TestAnonymousBodiesAreNotRead: a route that needs a token refuses an
// anonymous request before reading its body, whatever its size.
func TestAnonymousBodiesAreNotRead(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	big := strings.Repeat("x", 4<<20) // far over the 1 MiB body limit
	status, raw := call(t, "POST", srv.URL+"/api/v1/tags", "", `{"name":"`+big+`"}`, nil)
	if status != 401 || errorCode(raw) != "unauthenticated" {
		t.Fatalf("anonymous oversized body: %d %s", status, raw)
	}
}
