package bustest

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

func TestPairCarriesMessagesBothWays(t *testing.T) {
	a, b := Pair(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
	got := make(chan string, 1)
	sub, err := a.Conn().Subscribe("back", func(m *nats.Msg) { got <- string(m.Data) })
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	a.Conn().Flush()
	deadline := time.After(RouteTimeout)
	for {
		b.Conn().Publish("back", []byte("hello"))
		select {
		case s := <-got:
			if s != "hello" {
				t.Fatalf("got %q", s)
			}
			return
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("b to a never arrived")
		}
	}
}
