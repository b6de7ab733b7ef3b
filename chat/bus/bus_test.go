package bus_test

import (
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parley/chat/bus"
)

// waitTimeout bounds every wait for a message in these tests. It is a
// ceiling against hangs, not a speed assertion.
const waitTimeout = 5 * time.Second

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startBus starts a bus and closes it when the test ends.
func startBus(t *testing.T, cfg bus.Config) *bus.Bus {
	t.Helper()
	b, err := bus.Start(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("start bus: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close bus: %v", err)
		}
	})
	return b
}

// roundTrip publishes on pub and expects the message on sub, which must
// already be subscribed and flushed.
func roundTrip(t *testing.T, pub *nats.Conn, sub *nats.Subscription, data string) {
	t.Helper()
	if err := pub.Publish(sub.Subject, []byte(data)); err != nil {
		t.Fatalf("publish: %v", err)
	}
	msg, err := sub.NextMsg(waitTimeout)
	if err != nil {
		t.Fatalf("receive on %s: %v", sub.Subject, err)
	}
	if string(msg.Data) != data {
		t.Fatalf("received %q, want %q", msg.Data, data)
	}
}

func TestZeroConfigIsInProcessOnly(t *testing.T) {
	b := startBus(t, bus.Config{})

	if got := b.ClientURL(); got != "" {
		t.Errorf("ClientURL() = %q, want empty", got)
	}
	s := b.EmbeddedServer()
	if s == nil {
		t.Fatal("zero config did not embed a server")
	}
	if addr := s.Addr(); addr != nil {
		t.Errorf("client listener open on %s, want none", addr)
	}
	if addr := s.ClusterAddr(); addr != nil {
		t.Errorf("route listener open on %s, want none", addr)
	}
	if !b.Ready() {
		t.Error("Ready() = false after Start")
	}

	sub, err := b.Conn().SubscribeSync("test.zero")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	roundTrip(t, b.Conn(), sub, "hello")
}

func TestListenOpensClientPort(t *testing.T) {
	b := startBus(t, bus.Config{Listen: "127.0.0.1:0"})

	url := b.ClientURL()
	if url == "" || strings.HasSuffix(url, ":0") {
		t.Fatalf("ClientURL() = %q, want a URL with the chosen port", url)
	}
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	defer nc.Close()
	sub, err := nc.SubscribeSync("test.listen")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	// After the flush the server has registered the subscription.
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	roundTrip(t, b.Conn(), sub, "over tcp")
}

func TestExternalURL(t *testing.T) {
	server := startBus(t, bus.Config{Listen: "127.0.0.1:0"})
	client := startBus(t, bus.Config{URL: server.ClientURL()})

	if client.EmbeddedServer() != nil {
		t.Error("a bus with URL set embedded a server")
	}
	if !client.Ready() {
		t.Error("Ready() = false after Start")
	}
	sub, err := server.Conn().SubscribeSync("test.external")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := server.Conn().Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	roundTrip(t, client.Conn(), sub, "from outside")
}

func TestClusterOverLoopbackRoutes(t *testing.T) {
	a := startBus(t, bus.Config{
		ServerName: "node-a",
		Cluster:    bus.ClusterConfig{Listen: "127.0.0.1:0"},
	})
	routeAddr := a.EmbeddedServer().ClusterAddr()
	if routeAddr == nil {
		t.Fatal("node A has no route listener")
	}
	b := startBus(t, bus.Config{
		ServerName: "node-b",
		Cluster: bus.ClusterConfig{
			Listen: "127.0.0.1:0",
			Routes: []string{"nats-route://" + routeAddr.String()},
		},
	})

	// Clustering without Listen keeps a private client port on loopback,
	// which ClientURL does not report.
	if got := a.ClientURL(); got != "" {
		t.Errorf("ClientURL() = %q, want empty without Listen", got)
	}
	addr, ok := a.EmbeddedServer().Addr().(*net.TCPAddr)
	if !ok || !addr.IP.IsLoopback() {
		t.Errorf("clustered node's client listener = %v, want loopback", a.EmbeddedServer().Addr())
	}

	sub, err := b.Conn().SubscribeSync("test.cluster")
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := b.Conn().Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	// The route and B's interest reach A asynchronously, and core NATS drops
	// what A publishes before then, so publish until one arrives.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if err := a.Conn().Publish(sub.Subject, []byte("across")); err != nil {
			t.Fatalf("publish: %v", err)
		}
		msg, err := sub.NextMsg(50 * time.Millisecond)
		if err == nil {
			if string(msg.Data) != "across" {
				t.Fatalf("received %q, want %q", msg.Data, "across")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message crossed the route (routes: A=%d, B=%d): %v",
				a.EmbeddedServer().NumRoutes(), b.EmbeddedServer().NumRoutes(), err)
		}
	}
}

func TestCloseDrainsAndIsIdempotent(t *testing.T) {
	b, err := bus.Start(bus.Config{}, testLogger(t))
	if err != nil {
		t.Fatalf("start bus: %v", err)
	}
	received := make(chan string, 1)
	if _, err := b.Conn().Subscribe("test.close", func(m *nats.Msg) {
		received <- string(m.Data)
	}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if err := b.Conn().Publish("test.close", []byte("last words")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	// Draining lets the handler finish before the connection closes, so the
	// message must be there the moment Close returns.
	select {
	case got := <-received:
		if got != "last words" {
			t.Errorf("received %q, want %q", got, "last words")
		}
	default:
		t.Fatal("message published before Close was not delivered")
	}
	if b.Ready() {
		t.Error("Ready() = true after Close")
	}
	if b.EmbeddedServer().Running() {
		t.Error("embedded server still running after Close")
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  bus.Config
		want string
	}{
		{"url with listen", bus.Config{URL: "nats://127.0.0.1:4222", Listen: "127.0.0.1:0"}, "external"},
		{"url with cluster", bus.Config{URL: "nats://127.0.0.1:4222", Cluster: bus.ClusterConfig{Listen: "127.0.0.1:0"}}, "external"},
		{"routes without cluster listen", bus.Config{Cluster: bus.ClusterConfig{Routes: []string{"nats-route://127.0.0.1:6222"}}}, "cluster.listen is empty"},
		{"listen without port", bus.Config{Listen: "127.0.0.1"}, "listen"},
		{"listen port out of range", bus.Config{Listen: "127.0.0.1:70000"}, "0..65535"},
		{"cluster listen not a port", bus.Config{Cluster: bus.ClusterConfig{Listen: "127.0.0.1:route"}}, "cluster.listen"},
		{"route with wrong scheme", bus.Config{Cluster: bus.ClusterConfig{Listen: "127.0.0.1:0", Routes: []string{"http://127.0.0.1:6222"}}}, "scheme"},
		{"route without port", bus.Config{Cluster: bus.ClusterConfig{Listen: "127.0.0.1:0", Routes: []string{"nats-route://127.0.0.1"}}}, "host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := bus.Start(tt.cfg, testLogger(t))
			if err == nil {
				b.Close()
				t.Fatal("Start succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}
