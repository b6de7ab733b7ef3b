package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"parley/signaling"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "parley.yaml")
	os.WriteFile(file, []byte(`
data: /from/yaml
http: ":9000"
media_port: 9001
log:
  level: debug
auth:
  access_ttl: 30m
nats:
  cluster:
    routes: ["nats-route://a:6222"]
`), 0o600)

	// YAML over defaults.
	cfg, err := loadConfig([]string{"--config", file}, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/from/yaml" || cfg.HTTPAddr != ":9000" || cfg.MediaPort != 9001 || cfg.Log.Level != "debug" ||
		cfg.Auth.AccessTTL != 30*time.Minute || len(cfg.NATS.Cluster.Routes) != 1 || cfg.Log.Format != "text" {
		t.Fatalf("yaml not applied over defaults: %+v", cfg)
	}

	// Env over YAML, flags over env.
	env := envMap(map[string]string{
		"PARLEY_CONFIG":      file,
		"PARLEY_DATA":        "/from/env",
		"PARLEY_HTTP":        ":9100",
		"PARLEY_NATS_ROUTES": "nats-route://b:6222, nats-route://c:6222",
	})
	cfg, err = loadConfig([]string{"--http", "127.0.0.1:9200", "--access-ttl", "5m"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "/from/env" {
		t.Errorf("env did not override yaml: data=%q", cfg.DataDir)
	}
	if cfg.HTTPAddr != "127.0.0.1:9200" || cfg.Auth.AccessTTL != 5*time.Minute {
		t.Errorf("flags did not override: http=%q access_ttl=%s", cfg.HTTPAddr, cfg.Auth.AccessTTL)
	}
	if cfg.MediaPort != 9001 {
		t.Errorf("untouched yaml value lost: media_port=%d", cfg.MediaPort)
	}
	if got := strings.Join(cfg.NATS.Cluster.Routes, " "); got != "nats-route://b:6222 nats-route://c:6222" {
		t.Errorf("list from env: %q", got)
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(nil, envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "./parley-data" || cfg.HTTPAddr != ":8080" || cfg.MediaPort != 7882 {
		t.Fatalf("defaults: data=%q http=%q media_port=%d", cfg.DataDir, cfg.HTTPAddr, cfg.MediaPort)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.yaml")
	os.WriteFile(typo, []byte("htp: \":8080\"\n"), 0o600)
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--config", typo}, nil, "field htp not found"},
		{[]string{"--media-port", "seventy"}, nil, `--media-port: "seventy" is not a whole number`},
		{[]string{"--media-port", "70000"}, nil, "media_port: 70000 is not a port number"},
		{nil, map[string]string{"PARLEY_ACCESS_TTL": "soon"}, "PARLEY_ACCESS_TTL"},
		{[]string{"--log-format", "xml"}, nil, "log.format"},
		{[]string{"--chat-known-client-ids", "0"}, nil, "chat.known_client_ids: must be at least 1"},
		{[]string{"--tls-cert", "a.pem"}, nil, "cert and key must be set together"},
		{[]string{"--config", filepath.Join(dir, "missing.yaml")}, nil, "read config"},
		{[]string{"stray"}, nil, `unexpected argument "stray"`},
	}
	for _, c := range cases {
		_, err := loadConfig(c.args, envMap(c.env))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("loadConfig(%v, %v) = %v, want error containing %q", c.args, c.env, err, c.want)
		}
	}
}

// TestSampleConfigDocumentsEveryOption keeps deploy/parley.yaml honest: it
// parses strictly, sets every option (to its default, with a comment), and
// names each option's environment variable.
func TestSampleConfigDocumentsEveryOption(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/parley.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sample := signaling.DefaultConfig()
	if err := decodeYAML(raw, &sample); err != nil {
		t.Fatalf("deploy/parley.yaml does not parse: %v", err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	defaults := signaling.DefaultConfig()
	sampleOpts := options(&sample)
	for i, o := range options(&defaults) {
		var node any = doc
		for _, part := range strings.Split(o.yaml, ".") {
			m, _ := node.(map[string]any)
			node = m[part]
		}
		if _, isMap := node.(map[string]any); isMap || !hasKey(doc, o.yaml) {
			t.Errorf("deploy/parley.yaml does not set %s (--%s)", o.yaml, o.flag)
		}
		if !strings.Contains(string(raw), o.env) {
			t.Errorf("deploy/parley.yaml does not name %s for %s", o.env, o.yaml)
		}
		if o.yaml != "auth.admin_password" && formatValue(o.ptr) != formatValue(sampleOpts[i].ptr) {
			t.Errorf("deploy/parley.yaml sets %s to %s; the default is %s", o.yaml, formatValue(sampleOpts[i].ptr), formatValue(o.ptr))
		}
	}
}

func hasKey(doc map[string]any, path string) bool {
	parts := strings.Split(path, ".")
	m := doc
	for i, part := range parts {
		v, ok := m[part]
		if !ok {
			return false
		}
		if i == len(parts)-1 {
			return true
		}
		if m, ok = v.(map[string]any); !ok {
			return false
		}
	}
	return false
}
