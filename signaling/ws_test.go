package signaling

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/chat/directory"
)

func dialWS(t *testing.T, baseURL, token string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, strings.Replace(baseURL, "http", "ws", 1)+"/ws?access_token="+token, nil)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial /ws: %v (status %d)", err, status)
	}
	conn.SetReadLimit(1 << 20) // like a browser, which has no small limit
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

type wsMsg struct {
	Type string          `json:"type"`
	ID   string          `json:"id"`
	Data json.RawMessage `json:"data"`
}

func wsSend(t *testing.T, c *websocket.Conn, frame string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte(frame)); err != nil {
		t.Fatalf("ws write: %v", err)
	}
}

func wsRead(t *testing.T, c *websocket.Conn) wsMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, raw, err := c.Read(ctx)
	if err != nil {
		t.Fatalf("ws read: %v", err)
	}
	var m wsMsg
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("ws frame %q: %v", raw, err)
	}
	return m
}

// wsCloseStatus reads until the server closes the socket and returns the
// close code, failing if that takes longer than within.
func wsCloseStatus(t *testing.T, c *websocket.Conn, within time.Duration) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("socket still open after %s", within)
			}
			return websocket.CloseStatus(err)
		}
	}
}

func TestWebSocketEnvelope(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Limits.WSReadLimit = 4096
	srv := startServer(t, cfg)
	tok := login(t, srv.URL, "admin", testAdminPassword).AccessToken
	c := dialWS(t, srv.URL, tok)

	wsSend(t, c, `{"type":"ping","id":"r1"}`)
	if m := wsRead(t, c); m.Type != "pong" || m.ID != "r1" {
		t.Fatalf("ping answered with %+v", m)
	}
	wsSend(t, c, `{"type":"no.such.thing","id":"r2"}`)
	if m := wsRead(t, c); m.Type != "error" || m.ID != "r2" || !strings.Contains(string(m.Data), "unknown_type") {
		t.Fatalf("unknown type answered with %+v", m)
	}
	wsSend(t, c, `{not json`)
	if m := wsRead(t, c); m.Type != "error" || !strings.Contains(string(m.Data), "bad_message") {
		t.Fatalf("bad json answered with %+v", m)
	}
	if n := srv.Hub().Count(); n != 1 {
		t.Fatalf("hub counts %d sessions, want 1", n)
	}
	// Over the read limit: the server closes with 1009 (message too big).
	wsSend(t, c, `{"type":"ping","id":"`+strings.Repeat("x", 5000)+`"}`)
	if code := wsCloseStatus(t, c, 5*time.Second); code != websocket.StatusMessageTooBig {
		t.Fatalf("oversized frame closed with %d, want 1009", code)
	}
}

func TestWebSocketRejectsBadTokens(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	for _, q := range []string{"", "?access_token=garbage"} {
		resp, err := http.Get(srv.URL + "/ws" + q)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("/ws%s: got %d, want 401", q, resp.StatusCode)
		}
	}
}

// TestDisabledMemberIsCutOff: disabling a member closes their WebSockets
// within a second and refuses their tokens and sign-in.
func TestDisabledMemberIsCutOff(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	admin := login(t, srv.URL, "admin", testAdminPassword).AccessToken
	if status, raw := call(t, "POST", srv.URL+"/api/v1/members", admin, map[string]any{
		"id": "han.meimei", "name": "韩梅梅", "departments": []string{"1"}, "password": "han-meimei-pw",
	}, nil); status != 201 {
		t.Fatalf("create member: %d %s", status, raw)
	}
	tok := login(t, srv.URL, "han.meimei", "han-meimei-pw")
	phone := dialWS(t, srv.URL, tok.AccessToken)
	laptop := dialWS(t, srv.URL, tok.AccessToken)
	wsSend(t, phone, `{"type":"ping"}`)
	wsRead(t, phone)

	start := time.Now()
	if status, raw := call(t, "POST", srv.URL+"/api/v1/members/han.meimei/disable", admin, nil, nil); status != 200 {
		t.Fatalf("disable: %d %s", status, raw)
	}
	for name, c := range map[string]*websocket.Conn{"phone": phone, "laptop": laptop} {
		if code := wsCloseStatus(t, c, time.Second); code != 4003 {
			t.Fatalf("%s closed with %d, want 4003", name, code)
		}
	}
	t.Logf("sockets closed %s after the disable request began", time.Since(start))

	// Revocation refuses the token before its member is even looked up.
	if status, raw := call(t, "GET", srv.URL+"/api/v1/me", tok.AccessToken, nil, nil); status != 401 {
		t.Fatalf("disabled member's token: %d %s", status, raw)
	}
	if status, raw := call(t, "POST", srv.URL+"/api/v1/auth/refresh", "", map[string]string{"refresh_token": tok.RefreshToken}, nil); status != 401 {
		t.Fatalf("disabled member's refresh: %d %s", status, raw)
	}
	if status, raw := call(t, "POST", srv.URL+"/api/v1/auth/login", "", map[string]string{"username": "han.meimei", "password": "han-meimei-pw"}, nil); status != 403 || errorCode(raw) != "member_disabled" {
		t.Fatalf("disabled member's login: %d %s", status, raw)
	}
	resp, err := http.Get(srv.URL + "/ws?access_token=" + tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("disabled member's /ws: %d", resp.StatusCode)
	}

	// Re-enabled, the member signs in again; old tokens stay revoked.
	if status, raw := call(t, "POST", srv.URL+"/api/v1/members/han.meimei/enable", admin, nil, nil); status != 200 {
		t.Fatalf("enable: %d %s", status, raw)
	}
	if status, _ := call(t, "GET", srv.URL+"/api/v1/me", tok.AccessToken, nil, nil); status != 401 {
		t.Fatalf("pre-disable token works again after enable: %d", status)
	}
	login(t, srv.URL, "han.meimei", "han-meimei-pw")
}

// TestTokensExpire: an expired access token is refused over HTTP, and a
// WebSocket opened with it is closed with 4001 when it runs out, unless the
// client refreshes it on the socket.
func TestTokensExpire(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	short, err := srv.Auth().IssueAccess("admin", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := call(t, "GET", srv.URL+"/api/v1/me", short.AccessToken, nil, nil); status != 200 {
		t.Fatalf("fresh token refused: %d", status)
	}
	expiring := dialWS(t, srv.URL, short.AccessToken)
	refreshed := dialWS(t, srv.URL, short.AccessToken)

	long, err := srv.Auth().IssueAccess("admin", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	wsSend(t, refreshed, `{"type":"auth.refresh","id":"x","data":{"access_token":"`+long.AccessToken+`"}}`)
	if m := wsRead(t, refreshed); m.Type != "auth.refreshed" || m.ID != "x" {
		t.Fatalf("auth.refresh answered with %+v", m)
	}
	if code := wsCloseStatus(t, expiring, 5*time.Second); code != 4001 {
		t.Fatalf("expired socket closed with %d, want 4001", code)
	}
	if status, raw := call(t, "GET", srv.URL+"/api/v1/me", short.AccessToken, nil, nil); status != 401 || errorCode(raw) != "token_expired" {
		t.Fatalf("expired token: %d %s", status, raw)
	}
	wsSend(t, refreshed, `{"type":"ping","id":"still-here"}`)
	if m := wsRead(t, refreshed); m.Type != "pong" {
		t.Fatalf("refreshed socket answered %+v", m)
	}
}

func TestLoginRateLimit(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Auth.LoginPerIPPerMinute = 8
	srv := startServer(t, cfg)
	for _, id := range []string{"u1", "u2"} {
		if _, err := srv.Directory().CreateMember(directory.Actor{ID: "test"}, directory.Member{ID: id, Name: id, Departments: []string{"1"}}); err != nil {
			t.Fatal(err)
		}
		if err := srv.Auth().SetPassword(id, "password-"+id); err != nil {
			t.Fatal(err)
		}
	}
	try := func(user, pw string) (int, string, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/auth/login", strings.NewReader(`{"username":"`+user+`","password":"`+pw+`"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Error.Code, resp.Header.Get("Retry-After")
	}
	// Per account: five attempts a minute, then even the right password waits.
	for i := 0; i < 5; i++ {
		if status, code, _ := try("u1", "wrong-password"); status != 401 {
			t.Fatalf("attempt %d: %d %s", i+1, status, code)
		}
	}
	if status, code, retry := try("u1", "password-u1"); status != 429 || code != "rate_limited" || retry == "" {
		t.Fatalf("6th attempt on u1: %d %s Retry-After=%q", status, code, retry)
	}
	// Per IP: 8 a minute across accounts; 6 used, so two more, then 429.
	for i := 0; i < 2; i++ {
		if status, code, _ := try("u2", "password-u2"); status != 200 {
			t.Fatalf("u2 attempt %d: %d %s", i+1, status, code)
		}
	}
	if status, code, _ := try("u2", "password-u2"); status != 429 || code != "rate_limited" {
		t.Fatalf("9th attempt from this IP: %d %s", status, code)
	}
}

// TestWebSocketPingClosesDeadClients: a client that stops answering pings
// (here: one that never reads, so its library never sends a pong) is
// closed with 1008, while one that reads stays connected.
func TestWebSocketPingClosesDeadClients(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Limits.WSPingInterval = time.Second
	srv := startServer(t, cfg)
	tok := login(t, srv.URL, "admin", testAdminPassword).AccessToken
	dead := dialWS(t, srv.URL, tok)
	alive := dialWS(t, srv.URL, tok)
	aliveErr := make(chan error, 1)
	go func() {
		_, _, err := alive.Read(context.Background()) // answers pings while it waits
		aliveErr <- err
	}()
	time.Sleep(3500 * time.Millisecond)
	if code := wsCloseStatus(t, dead, 2*time.Second); code != websocket.StatusPolicyViolation {
		t.Fatalf("silent client closed with %d, want 1008", code)
	}
	select {
	case err := <-aliveErr:
		t.Fatalf("responsive client was closed: %v", err)
	default:
	}
	// The server finishes its side of the close handshake just after.
	deadline := time.Now().Add(2 * time.Second)
	for srv.Hub().Count() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("hub has %d sessions, want 1", srv.Hub().Count())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
