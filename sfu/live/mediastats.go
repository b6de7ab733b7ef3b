package live

import (
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
	// Media counts the forwarding to viewers since the node's Broadcasts
	// started.
	Media media.ForwardCounters
	// ForwardLatency is how long packets sent to viewers spent in the
	// server, read from the publisher to written to a viewer, since the
	// node started.
	ForwardLatency media.LatencySnapshot
}

// Stats sums over the broadcasts, their tracks and their viewers on this
// node. Its cost grows with them, not with traffic: it reads counters
// the forwarding keeps anyway, and holds each broadcast's and each
// viewer's lock only to list what it has.
func (b *Broadcasts) Stats() MediaStats {
	st := MediaStats{ForwardLatency: b.latency.Snapshot()}
	st.Media = b.totals.Sum(func(c *media.ForwardCounters) {
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
				c.AddReceiver(r)
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
				p.addDownStats(c)
			}
		}
	})
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
func (p *Playback) addDownStats(c *media.ForwardCounters) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, vt := range p.tracks {
		c.AddDownTrack(vt.dt)
	}
}
