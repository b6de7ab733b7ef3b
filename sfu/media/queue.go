package media

import (
	"sync"

	"github.com/pion/rtcp"
)

// entry points at one packet in a layer's cache, or carries a sender
// report for a sink. Queues hold entries rather than packets, so putting a
// packet in front of a hundred subscribers copies nothing.
type entry struct {
	layer    *layer
	sn       uint16
	keyframe bool
	at       int64 // when the receiver read the packet, unix nanoseconds
	sr       *rtcp.SenderReport
}

// queue is a bounded FIFO between a receiver's read loop and one consumer
// (a downtrack or a sink). push never blocks: a full queue drops the
// entry, so a slow consumer loses its own packets and delays nobody.
type queue struct {
	mu      sync.Mutex
	ring    []entry
	head, n int
	dropped uint64
	wake    chan struct{}
}

func newQueue(size int) *queue {
	return &queue{ring: make([]entry, size), wake: make(chan struct{}, 1)}
}

func (q *queue) push(e entry) bool {
	q.mu.Lock()
	if q.n == len(q.ring) {
		q.dropped++
		q.mu.Unlock()
		return false
	}
	q.ring[(q.head+q.n)%len(q.ring)] = e
	q.n++
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return true
}

// drain moves every queued entry to dst and returns it.
func (q *queue) drain(dst []entry) []entry {
	q.mu.Lock()
	for ; q.n > 0; q.n-- {
		dst = append(dst, q.ring[q.head])
		q.ring[q.head] = entry{}
		q.head = (q.head + 1) % len(q.ring)
	}
	q.mu.Unlock()
	return dst
}

func (q *queue) droppedCount() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.dropped
}
