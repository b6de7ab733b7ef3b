package rtc

import (
	"sync"
	"sync/atomic"

	"github.com/pion/webrtc/v3"

	"parley/sfu/media"
)

// Stats is a snapshot of the meetings on this node, for metrics. The
// counts describe the moment of the call; Media counts since the manager
// started.
type Stats struct {
	// Rooms is the meetings in progress on this node.
	Rooms int
	// Joined, Reconnecting and Waiting count participants by state.
	Joined, Reconnecting, Waiting int
	// AudioTracks and VideoTracks count the published tracks whose media
	// has arrived.
	AudioTracks, VideoTracks int
	// Subscriptions counts the tracks forwarded to subscribers: one per
	// subscriber per track.
	Subscriptions int
	// Recordings counts the rooms that are recording.
	Recordings int
	// IngestBitrate adds up the measured bitrate of every active layer
	// of every published track, in bits per second.
	IngestBitrate int
	Media         MediaCounters
	// ForwardLatency is how long forwarded packets spent in the server,
	// read from the publisher to written to a subscriber, since the
	// manager started.
	ForwardLatency media.LatencySnapshot
}

// MediaCounters count what the node's forwarding did. They only grow:
// subscriptions and tracks that end leave their counts behind.
type MediaCounters struct {
	// Packets and Bytes are the media packets forwarded to subscribers,
	// retransmissions not counted.
	Packets, Bytes uint64
	// Retransmits counts packets resent from the cache for subscribers'
	// NACKs; NACKMisses those asked for that could not be resent.
	Retransmits, NACKMisses uint64
	// QueueDrops counts packets dropped because a subscriber's queue was
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
// have closed, so the totals Stats reports never go down as
// subscriptions and tracks come and go.
//
// A downtrack or receiver is retired after it is taken out of the room
// (and Stats reads the retired counts before it walks the rooms), so it
// is never counted twice; one retired while Stats walks may be missed
// by that call, which is why Stats also never reports less than it
// reported before.
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

// Stats sums over the rooms, participants, tracks and subscriptions of
// this node. Its cost grows with them, not with traffic: it reads
// counters the forwarding keeps anyway, and holds each room's lock only
// to list the room's tracks.
func (m *Manager) Stats() Stats {
	m.stats.mu.Lock()
	defer m.stats.mu.Unlock()
	st := Stats{Media: m.stats.retired(), ForwardLatency: m.latency.Snapshot()}

	m.mu.Lock()
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()

	var tracks []trackRef
	for _, r := range rooms {
		tracks = r.addStats(&st, tracks[:0])
		for _, t := range tracks {
			if t.kind == webrtc.RTPCodecTypeAudio {
				st.AudioTracks++
			} else {
				st.VideoTracks++
			}
			st.Media.KeyframeRequests += t.recv.KeyframeRequests()
			for _, l := range t.recv.Layers() {
				if l.Active {
					st.IngestBitrate += l.Bitrate
				}
			}
			st.Subscriptions += t.track.addDownStats(&st.Media)
		}
	}
	st.Media.atLeast(m.stats.last)
	m.stats.last = st.Media
	return st
}

// trackRef is a live track and its receiver, as read under the room's
// lock.
type trackRef struct {
	track *publishedTrack
	recv  *media.Receiver
	kind  webrtc.RTPCodecType
}

// addStats counts the room, its participants and its recording into st,
// unless it has closed, and appends its live tracks to tracks.
func (r *Room) addStats(st *Stats, tracks []trackRef) []trackRef {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return tracks
	}
	st.Rooms++
	for _, p := range r.participants {
		if p.state == StateReconnecting {
			st.Reconnecting++
		} else {
			st.Joined++
		}
	}
	st.Waiting += len(r.waiting)
	if r.recording.info != nil {
		st.Recordings++
	}
	for _, t := range r.tracks {
		if t.live && t.recv != nil {
			tracks = append(tracks, trackRef{track: t, recv: t.recv, kind: t.recv.Kind()})
		}
	}
	return tracks
}

// addDownStats adds the counters of the track's downtracks to c and
// returns how many there are.
func (t *publishedTrack) addDownStats(c *MediaCounters) int {
	t.downs.mu.Lock()
	defer t.downs.mu.Unlock()
	for d := range t.downs.set {
		c.addDown(d.Stats())
	}
	return len(t.downs.set)
}
