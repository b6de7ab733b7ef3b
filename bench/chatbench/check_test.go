package chatbench

import "testing"

func TestReceiveLogVerdicts(t *testing.T) {
	var l receiveLog
	for _, step := range []struct {
		seq  uint64
		want verdict
	}{
		{2, inOrder}, {3, inOrder}, {5, inOrder}, // a gap is not a violation by itself
		{3, duplicate}, {4, outOfOrder}, {4, duplicate}, {200, inOrder}, {6, outOfOrder},
	} {
		if got := l.receive(step.seq); got != step.want {
			t.Fatalf("receive(%d) = %v, want %v", step.seq, got, step.want)
		}
	}
}

func TestLostCountsAckedSeqsEachConnectionMissed(t *testing.T) {
	a, b := &conn{}, &conn{}
	cv := &conversation{conns: []*conn{a, b}}
	for seq := uint64(2); seq <= 130; seq++ {
		cv.markAcked(seq)
		if seq != 70 {
			a.recv.receive(seq)
		}
		if seq != 64 && seq != 129 {
			b.recv.receive(seq)
		}
	}
	// Received but never acked (the ack timed out) is not lost.
	a.recv.receive(131)
	if got := lost([]*conversation{cv}); got != 3 {
		t.Fatalf("lost = %d, want 3", got)
	}
	if cv.markAcked(5) {
		t.Fatal("a second ack of seq 5 counted as new")
	}
}

func TestBitmapHas(t *testing.T) {
	var b bitmap
	if b.has(0) || b.has(1000) {
		t.Fatal("empty bitmap has a seq")
	}
	b.set(1000)
	if !b.has(1000) || b.has(999) {
		t.Fatal("has after set(1000) is wrong")
	}
}
