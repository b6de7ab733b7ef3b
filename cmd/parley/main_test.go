package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// parleyBin is the binary built once for the tests that run it as a
// process, the way an operator does.
var parleyBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "parley-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	parleyBin = filepath.Join(dir, "parley")
	build := exec.Command("go", "build", "-race", "-o", parleyBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build parley:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess runs `parley serve` and waits for /healthz to answer 200,
// failing if that takes longer than the 10 s the README promises.
func startProcess(t *testing.T, dataDir string, env ...string) (addr string, cmd *exec.Cmd, stderr *bytes.Buffer) {
	t.Helper()
	addr = freePort(t)
	cmd = exec.Command(parleyBin, "serve", "--data", dataDir, "--http", addr, "--media-port", "0", "--log-format", "json")
	cmd.Env = append(os.Environ(), env...)
	stderr = &bytes.Buffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return addr, cmd, stderr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer 200 within 10s; stderr:\n%s", stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestServeAnswersHealthAndAdminSignsIn(t *testing.T) {
	dataDir := t.TempDir()
	addr, cmd, stderr := startProcess(t, dataDir, "PARLEY_ADMIN_PASSWORD=s3cret-admin-pw")

	body := strings.NewReader(`{"username":"admin","password":"s3cret-admin-pw"}`)
	resp, err := http.Post("http://"+addr+"/api/v1/auth/login", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("admin login: %d", resp.StatusCode)
	}

	// A second server on the same data directory fails at once, clearly.
	second := exec.Command(parleyBin, "serve", "--data", dataDir, "--http", freePort(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, second.Path, second.Args[1:]...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatal("second server did not exit")
	}
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 1 {
		t.Fatalf("second server: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "in use by another parley process") || !strings.Contains(string(out), "parley.lock") {
		t.Fatalf("second server's error is not clear:\n%s", out)
	}

	// SIGTERM shuts down cleanly, in order.
	cmd.Process.Signal(os.Interrupt)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("server exited with %v; stderr:\n%s", err, stderr)
	}
	if !strings.Contains(stderr.String(), "shutting down") {
		t.Fatalf("no shutdown log:\n%s", stderr)
	}
}

func TestAdminResetPasswordOffline(t *testing.T) {
	dataDir := t.TempDir()
	addr, cmd, _ := startProcess(t, dataDir, "PARLEY_ADMIN_PASSWORD=first-admin-pw")

	// Refused while the server runs.
	out, err := exec.Command(parleyBin, "admin", "reset-password", "--data", dataDir, "--user", "admin", "--password", "second-admin-pw").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "in use by another parley process") {
		t.Fatalf("reset while running: %v\n%s", err, out)
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()

	out, err = exec.Command(parleyBin, "admin", "reset-password", "--data", dataDir, "--user", "admin", "--password", "second-admin-pw").CombinedOutput()
	if err != nil {
		t.Fatalf("reset: %v\n%s", err, out)
	}
	out, err = exec.Command(parleyBin, "admin", "reset-password", "--data", dataDir, "--user", "nobody").CombinedOutput()
	if err == nil || !strings.Contains(string(out), `no member "nobody"`) {
		t.Fatalf("reset of unknown member: %v\n%s", err, out)
	}

	addr, _, _ = startProcess(t, dataDir)
	for pw, want := range map[string]int{"first-admin-pw": 401, "second-admin-pw": 200} {
		resp, err := http.Post("http://"+addr+"/api/v1/auth/login", "application/json",
			strings.NewReader(`{"username":"admin","password":"`+pw+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("login with %s: %d, want %d", pw, resp.StatusCode, want)
		}
	}
}

func TestSubcommands(t *testing.T) {
	out, err := exec.Command(parleyBin, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "parley ") {
		t.Fatalf("version: %v %s", err, out)
	}
	out, err = exec.Command(parleyBin, "frobnicate").CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 || !strings.Contains(string(out), "unknown command") {
		t.Fatalf("unknown command: %v %s", err, out)
	}
	out, err = exec.Command(parleyBin, "serve", "--media-port", "x").CombinedOutput()
	if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 || !strings.Contains(string(out), "--media-port") {
		t.Fatalf("bad flag: %v %s", err, out)
	}
}
