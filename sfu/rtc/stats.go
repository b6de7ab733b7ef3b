package rtc

import (
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
	// Media counts the node's forwarding since the manager started.
	Media media.ForwardCounters
	// ForwardLatency is how long forwarded packets spent in the server,
	// read from the publisher to written to a subscriber, since the
	// manager started.
	ForwardLatency media.LatencySnapshot
	// EventQueueOverflows counts, since the manager started, the
	// participants whose queue of room events overflowed: clients too
	// slow to take them, whose connection was then given up.
	EventQueueOverflows uint64
}

// Stats sums over the rooms, participants, tracks and subscriptions of
// this node. Its cost grows with them, not with traffic: it reads
// counters the forwarding keeps anyway, and holds each room's lock only
// to list the room's tracks.
func (m *Manager) Stats() Stats {
	st := Stats{ForwardLatency: m.latency.Snapshot(), EventQueueOverflows: m.eventOverflows.Load()}
	st.Media = m.totals.Sum(func(c *media.ForwardCounters) {
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
				c.AddReceiver(t.recv)
				for _, l := range t.recv.Layers() {
					if l.Active {
						st.IngestBitrate += l.Bitrate
					}
				}
				st.Subscriptions += t.track.addDownStats(c)
			}
		}
	})
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
func (t *publishedTrack) addDownStats(c *media.ForwardCounters) int {
	t.downs.mu.Lock()
	defer t.downs.mu.Unlock()
	for d := range t.downs.set {
		c.AddDownTrack(d)
	}
	return len(t.downs.set)
}
