package web_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// chromiumPath is Debian's Chromium; the tests never download a browser.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds one run of a Node driver. Each script takes 25 to
// 45 s on the 2-core machine.
const browserTimeout = 2 * time.Minute

// needBrowser skips (or, with PARLEY_REQUIRE_MEDIA=1, fails) when node,
// Chromium or the npm driver is missing. It returns node's path.
func needBrowser(t *testing.T) string {
	t.Helper()
	missing := ""
	node, err := exec.LookPath("node")
	switch {
	case err != nil:
		missing = "node"
	case !exists(chromiumPath):
		missing = chromiumPath
	case !exists(filepath.Join("e2e", "node_modules", "playwright-core", "package.json")):
		missing = "signaling/web/e2e/node_modules (run: npm ci --prefix signaling/web/e2e)"
	}
	if missing == "" {
		return node
	}
	if os.Getenv("PARLEY_REQUIRE_MEDIA") == "1" {
		t.Fatalf("browser test needs %s (PARLEY_REQUIRE_MEDIA=1)", missing)
	}
	t.Skipf("browser test skipped: %s missing", missing)
	return ""
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

type user struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Password string `json:"password"`
}

// TestBrowserChat drives the web client in Chromium: two members chat both
// ways, the sender sees "Read" once the other opens the chat, and a group
// shows "1/2 read" naming the reader. It leaves screenshots of every main
// screen in e2e/artifacts/.
func TestBrowserChat(t *testing.T) {
	node := needBrowser(t)
	base := startServer(t)

	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if st := call(t, "POST", base+"/api/v1/auth/login", "", map[string]string{"username": "admin", "password": adminPassword}, &tok); st != 200 {
		t.Fatalf("admin login: %d", st)
	}
	var rd struct {
		ID string `json:"id"`
	}
	if st := call(t, "POST", base+"/api/v1/departments", tok.AccessToken, map[string]any{"name": "R&D", "parent_id": "1"}, &rd); st != 201 {
		t.Fatalf("create department: %d", st)
	}
	var sales struct {
		ID string `json:"id"`
	}
	call(t, "POST", base+"/api/v1/departments", tok.AccessToken, map[string]any{"name": "Sales", "parent_id": "1"}, &sales)
	users := map[string]user{
		"alice": {"alice", "Alice Chen", "alice-password-1"},
		"bob":   {"bob", "Bob Li", "bob-password-1"},
		"carol": {"carol", "Carol Wang", "carol-password-1"},
		"admin": {"admin", "Administrator", adminPassword},
	}
	for _, k := range []string{"alice", "bob", "carol"} {
		u := users[k]
		dept := rd.ID
		if k == "carol" {
			dept = sales.ID
		}
		body := map[string]any{"id": u.ID, "name": u.Name, "departments": []string{dept}, "password": u.Password, "position": "Engineer"}
		if st := call(t, "POST", base+"/api/v1/members", tok.AccessToken, body, nil); st != 201 {
			t.Fatalf("create member %s: %d", u.ID, st)
		}
	}
	var tag struct {
		ID string `json:"id"`
	}
	if st := call(t, "POST", base+"/api/v1/tags", tok.AccessToken, map[string]any{"name": "On call"}, &tag); st != 201 {
		t.Fatalf("create tag: %d", st)
	}
	if st := call(t, "POST", base+"/api/v1/tags/"+tag.ID+"/members", tok.AccessToken, map[string]any{"add": []string{"bob"}}, nil); st != 200 {
		t.Fatalf("tag bob: %d", st)
	}
	runScript(t, node, "chat.mjs", base, users, []string{"login-zh", "conversations-unread", "chat-direct", "contacts", "group-chat",
		"group-receipts", "group-confidential-watermark", "phone-chat-zh", "admin-members", "admin-audit"})
}

// TestBrowserMeeting drives meetings in Chromium with fake devices: two
// members join and each decodes the other's video, the host mutes all
// and the other's audio stops reaching her, a dropped connection resumes
// with ICE restarts, a third joins at phone width, and the host ends the
// meeting and reads its attendance.
func TestBrowserMeeting(t *testing.T) {
	node := needBrowser(t)
	base := startServer(t)
	users := provisionTrio(t, base)
	runScript(t, node, "meeting.mjs", base, users, []string{"meeting-card", "meeting-lobby", "meeting-grid", "meeting-screen-share", "meeting-phone-zh", "meeting-attendance"})
}

// TestBrowserLive drives a live in Chromium: the host sees the OBS panel
// and goes live from the browser over WHIP; a member watches (decodes
// the video), comments, likes, asks and votes; the host sees the viewer
// count, the comment and the likes, answers and draws the lottery; a
// phone viewer watches in Chinese; the live ends and its replay plays.
func TestBrowserLive(t *testing.T) {
	node := needBrowser(t)
	base := startServer(t)
	users := provisionTrio(t, base)
	runScript(t, node, "live.mjs", base, users, []string{"live-obs-panel", "live-viewer", "live-viewer-phone-zh", "live-studio"})
}

// provisionTrio creates alice, bob and carol in one department.
func provisionTrio(t *testing.T, base string) map[string]user {
	t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if st := call(t, "POST", base+"/api/v1/auth/login", "", map[string]string{"username": "admin", "password": adminPassword}, &tok); st != 200 {
		t.Fatalf("admin login: %d", st)
	}
	users := map[string]user{
		"alice": {"alice", "Alice Chen", "alice-password-1"},
		"bob":   {"bob", "Bob Li", "bob-password-1"},
		"carol": {"carol", "Carol Wang", "carol-password-1"},
	}
	for _, u := range users {
		body := map[string]any{"id": u.ID, "name": u.Name, "departments": []string{"1"}, "password": u.Password}
		if st := call(t, "POST", base+"/api/v1/members", tok.AccessToken, body, nil); st != 201 {
			t.Fatalf("create member %s: %d", u.ID, st)
		}
	}
	return users
}

// runScript runs one Node driver in e2e/ against the server at base and
// checks it wrote the named screenshots into e2e/artifacts/. Each script
// removes only its own screenshots, so the tests may run in any order.
func runScript(t *testing.T, node, script, base string, users map[string]user, screenshots []string) {
	t.Helper()
	usersJSON, err := json.Marshal(users)
	if err != nil {
		t.Fatal(err)
	}
	artifacts, err := filepath.Abs(filepath.Join("e2e", "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	stale, _ := filepath.Glob(filepath.Join(artifacts, strings.TrimSuffix(script, ".mjs")+"-failure-*.png"))
	for _, name := range screenshots {
		stale = append(stale, filepath.Join(artifacts, name+".png"))
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = "e2e"
	cmd.Env = append(os.Environ(),
		"PARLEY_URL="+base,
		"PARLEY_USERS="+string(usersJSON),
		"PARLEY_ARTIFACTS="+artifacts,
		"PARLEY_CHROMIUM="+chromiumPath,
		"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("browser test %s failed (%v); screenshots in %s\n%s", script, err, artifacts, out)
	}
	t.Logf("%s", out)
	for _, name := range screenshots {
		if !exists(filepath.Join(artifacts, name+".png")) {
			t.Errorf("screenshot %s.png was not written", name)
		}
	}
}
