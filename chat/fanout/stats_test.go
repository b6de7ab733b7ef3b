package fanout

import (
	"io"
	"log/slog"
	"testing"

	"parley/chat/bus"
)

// Stats counts each publish and each frame the node receives back, and
// reports the node's interest.
func TestStatsCountPublishesAndArrivals(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	b, err := bus.Start(bus.Config{}, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	rec := &recorder{}
	node := New(b.Conn(), rec, memberships{"alice": {"g1", "g2"}, "bob": {"g1"}}, quiet)
	if st := node.Stats(); st != (Stats{}) {
		t.Fatalf("stats of an idle node: %+v", st)
	}
	for _, id := range []string{"alice", "bob"} {
		if err := node.SessionOpened(id); err != nil {
			t.Fatal(err)
		}
	}
	for _, frame := range []string{"m1", "m2", "m3"} {
		if err := node.Publish("g1", []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	if err := node.SendToMember("alice", []byte("receipt")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the frames back", func() bool { return node.Stats().Received == 4 })
	st := node.Stats()
	if st.Conversations != 2 || st.Members != 2 || st.Published != 4 || st.PublishErrors != 0 || st.Backlog != 0 {
		t.Fatalf("stats after 4 publishes: %+v", st)
	}
	if got := len(rec.frames("alice")) + len(rec.frames("bob")); got != 7 {
		t.Fatalf("%d frames handed to members, want 3 to each and 1 to alice", got)
	}

	// A publish the bus refuses counts as an error.
	b.Conn().Close()
	if err := node.Publish("g1", []byte("late")); err == nil {
		t.Fatal("publish on a closed connection succeeded")
	}
	if st := node.Stats(); st.PublishErrors != 1 || st.Published != 4 {
		t.Fatalf("stats after a refused publish: %+v", st)
	}
}
