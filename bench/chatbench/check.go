package chatbench

import (
	"math/bits"
	"sync"
)

// bitmap is a growable set of seqs. Seqs start at 1 and have no gaps, so a
// bitmap is the smallest exact record of which ones were seen.
type bitmap struct {
	words []uint64
}

// set adds seq and reports whether it was already there.
func (b *bitmap) set(seq uint64) (was bool) {
	w, bit := seq/64, uint64(1)<<(seq%64)
	if w >= uint64(len(b.words)) {
		b.words = append(b.words, make([]uint64, int(w)+1-len(b.words)+len(b.words)/2)...)
	}
	was = b.words[w]&bit != 0
	b.words[w] |= bit
	return was
}

func (b *bitmap) has(seq uint64) bool {
	w := seq / 64
	return w < uint64(len(b.words)) && b.words[w]&(1<<(seq%64)) != 0
}

// missing counts the seqs in want that are not in have.
func missing(want, have *bitmap) int64 {
	var n int
	for i, w := range want.words {
		if i < len(have.words) {
			w &^= have.words[i]
		}
		n += bits.OnesCount64(w)
	}
	return int64(n)
}

// conversation is a conversation on the server as the run tracks it: its
// connections, and every seq a chat.ack named.
type conversation struct {
	id    string
	conns []*conn

	mu    sync.Mutex
	acked bitmap
}

// markAcked records an acked seq and reports whether it was new.
func (cv *conversation) markAcked(seq uint64) bool {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	return !cv.acked.set(seq)
}

// receiveLog is what one connection received of its conversation. Only
// the connection's reader writes it; the final check reads it under mu.
type receiveLog struct {
	mu     sync.Mutex
	seen   bitmap
	maxSeq uint64
}

// verdict of one received seq.
type verdict int

const (
	inOrder verdict = iota
	duplicate
	outOfOrder
)

// receive records seq and says whether it was new and in order.
func (l *receiveLog) receive(seq uint64) verdict {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen.set(seq) {
		return duplicate
	}
	if seq < l.maxSeq {
		return outOfOrder
	}
	l.maxSeq = seq
	return inOrder
}

// lost counts, over every connection of every conversation, the acked
// seqs that connection never received.
func lost(convs []*conversation) int64 {
	var n int64
	for _, cv := range convs {
		cv.mu.Lock()
		for _, c := range cv.conns {
			c.recv.mu.Lock()
			n += missing(&cv.acked, &c.recv.seen)
			c.recv.mu.Unlock()
		}
		cv.mu.Unlock()
	}
	return n
}
