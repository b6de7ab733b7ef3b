package live

import (
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v3"

	"parley/sfu/media"
)

// MediaStats is a snapshot of the live media on this node, for metrics.
// The counts describe the moment of the call; Media counts since the
// node's Broadcasts started. (Stats, by contrast, is one live's viewer
// statistics, kept in the store.)
type MediaStats struct {
	// Broadcasts counts the lives whose publisher is connected to this
	// node, or is within its disconnect grace; OnAir those of them with
	// media viewers can play.
	Broadcasts, OnAir int
	// WHEPViewers and WebSocketViewers count the viewer sessions, by how
	// they were opened: a WHEP player's offer, or live.watch on the
	// WebSocket.
	WHEPViewers, WebSocketViewers int
	// Recordings counts the broadcasts being recorded.
	Recordings int
	// IngestBitrate adds up the measured bitrate of every active layer
	// of every published track, in bits per second.
	IngestBitrate int
	Media         MediaCounters
	// ForwardLatency is how long packets sent to viewers spent in the
	// server, read from the publisher to written to a viewer, since the
	// node started.
	ForwardLatency media.LatencySnapshot
}

// MediaCounters count what the node's forwarding to viewers did. They
// only grow: viewer sessions and tracks that end leave their counts
// behind.
type MediaCounters struct {
	// Packets and Bytes are the media packets forwarded to viewers,
	// retransmissions not counted.
	Packets, Bytes uint64
	// Retransmits counts packets resent from the cache for viewers'
	// NACKs; NACKMisses those asked for that could not be resent.
	Retransmits, NACKMisses uint64
	// QueueDrops counts packets dropped because a viewer's queue was
	// full.
	QueueDrops uint64
	// KeyframeRequests counts the PLIs sent to publishers.
	KeyframeRequests uint64
}

// atLeast raises each counter of c to prev's where prev is larger.
func (c *MediaCounters) atLeast(prev MediaCounters) {
	c.Packets = max(c.Packets, prev.Packets)
	c.Bytes = max(c.Bytes, prev.Bytes)
	c.Retransmits = max(c.Retransmits, prev.Retransmits)
	c.NACKMisses = max(c.NACKMisses, prev.NACKMisses)
	c.QueueDrops = max(c.QueueDrops, prev.QueueDrops)
	c.KeyframeRequests = max(c.KeyframeRequests, prev.KeyframeRequests)
}

func (c *MediaCounters) addDown(s media.DownTrackStats) {
	c.Packets += s.Packets
	c.Bytes += s.Bytes
	c.Retransmits += s.Retransmits
	c.NACKMisses += s.NACKMisses
	c.QueueDrops += s.QueueDrops
}

// mediaStats keeps the counters of the downtracks and receivers that
// have closed, so the totals MediaStats reports never go down as viewers
// and tracks come and go.
//
// A downtrack or receiver is retired once it can no longer be reached
// from the broadcasts (a closed playback, a replaced track, an ended
// broadcast), and Stats reads the retired counts before it walks them,
// so nothing is counted twice; one retired while Stats walks may be
// missed by that call, which is why Stats also never reports less than
// it reported before.
type mediaStats struct {
	packets, bytes, retransmits, nackMisses, queueDrops, keyframeRequests atomic.Uint64

	mu   sync.Mutex // serializes Stats, and guards last
	last MediaCounters
}

// retireDown keeps the counts of a closed downtrack.
func (s *mediaStats) retireDown(d *media.DownTrack) {
	st := d.Stats()
	s.packets.Add(st.Packets)
	s.bytes.Add(st.Bytes)
	s.retransmits.Add(st.Retransmits)
	s.nackMisses.Add(st.NACKMisses)
	s.queueDrops.Add(st.QueueDrops)
}

// retireReceiver keeps the counts of a closed receiver.
func (s *mediaStats) retireReceiver(r *media.Receiver) {
	s.keyframeRequests.Add(r.KeyframeRequests())
}

func (s *mediaStats) retired() MediaCounters {
	return MediaCounters{
		Packets: s.packets.Load(), Bytes: s.bytes.Load(),
		Retransmits: s.retransmits.Load(), NACKMisses: s.nackMisses.Load(),
		QueueDrops: s.queueDrops.Load(), KeyframeRequests: s.keyframeRequests.Load(),
	}
}

// Stats sums over the broadcasts, their tracks and their viewers on this
// node. Its cost grows with them, not with traffic: it reads counters
// the forwarding keeps anyway, and holds each broadcast's and each
// viewer's lock only to list what it has.
func (b *Broadcasts) Stats() MediaStats {
	b.stats.mu.Lock()
	defer b.stats.mu.Unlock()
	st := MediaStats{Media: b.stats.retired(), ForwardLatency: b.latency.Snapshot()}

	b.mu.Lock()
	lives := make([]*Broadcast, 0, len(b.lives))
	for _, bc := range b.lives {
		lives = append(lives, bc)
	}
	b.mu.Unlock()

	var recvs []*media.Receiver
	var viewers []*Playback
	for _, bc := range lives {
		recvs, viewers = bc.addStats(&st, recvs[:0], viewers[:0])
		for _, r := range recvs {
			st.Media.KeyframeRequests += r.KeyframeRequests()
			for _, l := range r.Layers() {
				if l.Active {
					st.IngestBitrate += l.Bitrate
				}
			}
		}
		for _, p := range viewers {
			// offerer was set before the playback joined bc.viewers,
			// under bc.mu, and never changes after.
			if p.offerer {
				st.WebSocketViewers++
			} else {
				st.WHEPViewers++
			}
			p.addDownStats(&st.Media)
		}
	}
	st.Media.atLeast(b.stats.last)
	b.stats.last = st.Media
	return st
}

// addStats counts the broadcast into st, unless it has ended, and
// appends its receivers and viewer sessions to recvs and viewers.
func (bc *Broadcast) addStats(st *MediaStats, recvs []*media.Receiver, viewers []*Playback) ([]*media.Receiver, []*Playback) {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if bc.ended {
		return recvs, viewers
	}
	st.Broadcasts++
	if bc.onAir && len(bc.tracks) > 0 {
		st.OnAir++
	}
	if bc.rec != nil {
		st.Recordings++
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if t := bc.tracks[kind]; t != nil {
			recvs = append(recvs, t.recv)
		}
	}
	for p := range bc.viewers {
		viewers = append(viewers, p)
	}
	return recvs, viewers
}

// addDownStats adds the counters of the session's downtracks to c.
func (p *Playback) addDownStats(c *MediaCounters) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, vt := range p.tracks {
		c.addDown(vt.dt.Stats())
	}
}
