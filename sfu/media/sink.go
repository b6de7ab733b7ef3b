package media

import (
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// SinkQueuePackets bounds the packets waiting for one sink. A sink that
// falls this far behind loses packets; the forwarding never waits.
const SinkQueuePackets = 1024

// Sink consumes one layer of a track in-process: a recorder, a live
// re-streamer. It gets the publisher's packets as they arrived, before
// any munging, and the publisher's sender reports for that layer, which
// map RTP timestamps to wall-clock time (for A/V sync). Each sink has a
// goroutine and a queue of its own, so a slow sink drops its own packets
// and stalls nobody. The packet and report are valid only during the
// call; copy what must be kept. To ask for a keyframe (when starting a
// file, or after a loss), call the receiver's RequestKeyframe.
type Sink interface {
	WriteRTP(p *rtp.Packet)
	WriteSenderReport(sr *rtcp.SenderReport)
}

// AddSink attaches s to the layer at quality index (HighestLayer for the
// best one at the time of the call) and returns the function that
// detaches it. The sink stays on that layer. When the receiver stops,
// sinks get nothing more; Done tells when.
func (r *Receiver) AddSink(s Sink, quality int) (remove func()) {
	l := r.layerAt(quality)
	if l == nil {
		return func() {}
	}
	p := &sinkPump{sink: s, layer: l, q: newQueue(SinkQueuePackets), done: make(chan struct{})}
	r.mu.Lock()
	list := append(append([]*sinkPump(nil), *l.sinks.Load()...), p)
	l.sinks.Store(&list)
	if r.closed {
		p.close()
	}
	r.mu.Unlock()
	go p.run()
	return func() {
		r.mu.Lock()
		var kept []*sinkPump
		for _, x := range *l.sinks.Load() {
			if x != p {
				kept = append(kept, x)
			}
		}
		l.sinks.Store(&kept)
		r.mu.Unlock()
		p.close()
	}
}

type sinkPump struct {
	sink  Sink
	layer *layer
	q     *queue
	once  sync.Once
	done  chan struct{}
}

func (p *sinkPump) close() { p.once.Do(func() { close(p.done) }) }

func (p *sinkPump) run() {
	buf := make([]byte, MaxPacketSize)
	var pkt rtp.Packet
	var batch []entry
	for {
		select {
		case <-p.done:
			return
		case <-p.q.wake:
		}
		batch = p.q.drain(batch[:0])
		for _, e := range batch {
			if e.sr != nil {
				p.sink.WriteSenderReport(e.sr)
				continue
			}
			n, ok := p.layer.cache.get(e.sn, buf)
			if !ok || pkt.Unmarshal(buf[:n]) != nil {
				continue
			}
			p.sink.WriteRTP(&pkt)
		}
	}
}
