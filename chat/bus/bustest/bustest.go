package bustest

import (
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"parley/chat/bus"
)

// RouteTimeout bounds how long Pair waits for its route to carry messages.
const RouteTimeout = 10 * time.Second

// Pair starts two embedded NATS servers, "a" and "b", joined by a loopback
// route, and returns once a message published on a reaches a subscriber on
// b. Both are closed when the test ends.
func Pair(t testing.TB, logger *slog.Logger) (*bus.Bus, *bus.Bus) {
	t.Helper()
	routeA := freeAddr(t)
	a, err := bus.Start(bus.Config{ServerName: "a", Cluster: bus.ClusterConfig{Listen: routeA}}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err := bus.Start(bus.Config{ServerName: "b", Cluster: bus.ClusterConfig{Listen: "127.0.0.1:0", Routes: []string{"nats-route://" + routeA}}}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })

	probe := make(chan struct{}, 1)
	sub, err := b.Conn().Subscribe("bustest.probe", func(*nats.Msg) {
		select {
		case probe <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	b.Conn().Flush()
	deadline := time.Now().Add(RouteTimeout)
	for {
		a.Conn().Publish("bustest.probe", nil)
		select {
		case <-probe:
			return a, b
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("bustest: the route between the two nodes did not come up")
		}
	}
}

// freeAddr is a loopback address with a port that was free a moment ago.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
