package bus_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"parley/chat/bus"
)

// syncBuffer is a bytes.Buffer safe for the server's logging goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// logsOf runs one publish through a bus whose logger is at level and
// returns what was logged.
func logsOf(t *testing.T, level slog.Level) string {
	t.Helper()
	var out syncBuffer
	logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: level}))
	b, err := bus.Start(bus.Config{ServerName: "log-test"}, logger)
	if err != nil {
		t.Fatalf("start bus: %v", err)
	}
	sub, err := b.Conn().SubscribeSync("test.log")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	roundTrip(t, b.Conn(), sub, "secret-payload")
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return out.String()
}

func TestServerLogsGoToSlog(t *testing.T) {
	logs := logsOf(t, slog.LevelInfo)
	if !strings.Contains(logs, "level=INFO") || !strings.Contains(logs, "component=nats") {
		t.Errorf("no info line tagged component=nats in:\n%s", logs)
	}
	if strings.Contains(logs, "level=DEBUG") || strings.Contains(logs, "secret-payload") {
		t.Errorf("debug or trace output at info level:\n%s", logs)
	}
}

func TestTracesOnlyAtTraceLevel(t *testing.T) {
	if logs := logsOf(t, slog.LevelDebug); strings.Contains(logs, "secret-payload") {
		t.Errorf("payload traced at debug level:\n%s", logs)
	}
	if logs := logsOf(t, bus.LevelTrace); !strings.Contains(logs, "secret-payload") {
		t.Errorf("no payload trace at LevelTrace:\n%s", logs)
	}
}
