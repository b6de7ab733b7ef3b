package web_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// chromiumPath is Debian's Chromium; the tests never download a browser.
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds one run of the Node driver. The run takes about
// 25 s on the 2-core machine.
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
	usersJSON, err := json.Marshal(users)
	if err != nil {
		t.Fatal(err)
	}

	artifacts, err := filepath.Abs(filepath.Join("e2e", "artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "chat.mjs")
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
		t.Fatalf("browser test failed (%v); screenshots in %s\n%s", err, artifacts, out)
	}
	t.Logf("%s", out)
	for _, name := range []string{"login-zh", "conversations-unread", "chat-direct", "contacts", "group-chat", "group-receipts", "group-confidential-watermark", "phone-chat-zh", "admin-members", "admin-audit"} {
		if !exists(filepath.Join(artifacts, name+".png")) {
			t.Errorf("screenshot %s.png was not written", name)
		}
	}
}
