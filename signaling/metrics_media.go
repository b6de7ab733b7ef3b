package signaling

import (
	"github.com/prometheus/client_golang/prometheus"

	"parley/sfu/live"
	"parley/sfu/media"
	"parley/sfu/rtc"
)

// forwardingDescs are the counters of one forwarding side (meetings, or
// lives to their viewers), the same six for both.
type forwardingDescs struct {
	packets, bytes, retransmits, nackMisses, queueDrops, keyframeRequests *prometheus.Desc
}

func newForwardingDescs(prefix, to string) forwardingDescs {
	return forwardingDescs{
		packets: prometheus.NewDesc(prefix+"_forwarded_packets_total",
			"Media packets forwarded to "+to+", retransmissions not counted.", nil, nil),
		bytes: prometheus.NewDesc(prefix+"_forwarded_bytes_total",
			"Bytes of the media packets forwarded to "+to+".", nil, nil),
		retransmits: prometheus.NewDesc(prefix+"_retransmitted_packets_total",
			"Packets resent from the cache in answer to NACKs from "+to+".", nil, nil),
		nackMisses: prometheus.NewDesc(prefix+"_nack_misses_total",
			"Packets NACKed by "+to+" that were no longer cached and could not be resent.", nil, nil),
		queueDrops: prometheus.NewDesc(prefix+"_queue_dropped_packets_total",
			"Packets dropped because the send queue toward one of the "+to+" was full.", nil, nil),
		keyframeRequests: prometheus.NewDesc(prefix+"_keyframe_requests_total",
			"Keyframe requests (PLIs) sent to publishers.", nil, nil),
	}
}

func (d forwardingDescs) describe(ch chan<- *prometheus.Desc) {
	for _, x := range []*prometheus.Desc{d.packets, d.bytes, d.retransmits, d.nackMisses, d.queueDrops, d.keyframeRequests} {
		ch <- x
	}
}

func (d forwardingDescs) collect(ch chan<- prometheus.Metric, packets, bytes, retransmits, nackMisses, queueDrops, keyframeRequests uint64) {
	for _, x := range []struct {
		desc *prometheus.Desc
		n    uint64
	}{
		{d.packets, packets}, {d.bytes, bytes}, {d.retransmits, retransmits},
		{d.nackMisses, nackMisses}, {d.queueDrops, queueDrops}, {d.keyframeRequests, keyframeRequests},
	} {
		ch <- prometheus.MustNewConstMetric(x.desc, prometheus.CounterValue, float64(x.n))
	}
}

// mediaCollector exports the meeting rooms' and the live broadcasts'
// state and forwarding counters. Each scrape takes one snapshot of each
// (rtc.Manager.Stats, live.Broadcasts.Stats), whose cost grows with the
// rooms, participants, tracks and viewers, not with the traffic.
type mediaCollector struct {
	rooms      *rtc.Manager
	broadcasts *live.Broadcasts

	meetingRooms, meetingParticipants, meetingTracks *prometheus.Desc
	meetingSubscriptions, meetingRecordings          *prometheus.Desc
	meetingIngest, meetingEventOverflows             *prometheus.Desc
	meetingForwarding                                forwardingDescs

	liveBroadcasts, liveOnAir, liveViewers, liveRecordings, liveIngest *prometheus.Desc
	liveForwarding                                                     forwardingDescs

	forwardLatency *prometheus.Desc
}

func newMediaCollector(rooms *rtc.Manager, broadcasts *live.Broadcasts) *mediaCollector {
	return &mediaCollector{
		rooms: rooms, broadcasts: broadcasts,
		meetingRooms: prometheus.NewDesc("parley_meeting_rooms",
			"Meetings in progress on this node.", nil, nil),
		meetingParticipants: prometheus.NewDesc("parley_meeting_participants",
			"Meeting participants on this node, by state (joined, reconnecting, waiting).", []string{"state"}, nil),
		meetingTracks: prometheus.NewDesc("parley_meeting_published_tracks",
			"Published tracks whose media is flowing, by kind (audio, video).", []string{"kind"}, nil),
		meetingSubscriptions: prometheus.NewDesc("parley_meeting_subscriptions",
			"Tracks forwarded to subscribers: one per subscriber per track.", nil, nil),
		meetingRecordings: prometheus.NewDesc("parley_meeting_recordings",
			"Meetings being recorded on this node.", nil, nil),
		meetingIngest: prometheus.NewDesc("parley_meeting_ingest_bytes_per_second",
			"Measured media rate of every published track's active layers, together.", nil, nil),
		meetingEventOverflows: prometheus.NewDesc("parley_meeting_event_queue_overflows_total",
			"Participants whose queue of room events overflowed: clients too slow to take them, "+
				"whose connection was given up (they resume and get a fresh snapshot).", nil, nil),
		meetingForwarding: newForwardingDescs("parley_meeting", "meeting subscribers"),

		liveBroadcasts: prometheus.NewDesc("parley_live_broadcasts",
			"Lives whose publisher is connected to this node, or within its disconnect grace.", nil, nil),
		liveOnAir: prometheus.NewDesc("parley_live_broadcasts_on_air",
			"Lives on this node with media viewers can play.", nil, nil),
		liveViewers: prometheus.NewDesc("parley_live_viewers",
			"Live viewer media sessions, by protocol (whep: a WHEP player; websocket: live.watch).", []string{"protocol"}, nil),
		liveRecordings: prometheus.NewDesc("parley_live_recordings",
			"Lives being recorded on this node.", nil, nil),
		liveIngest: prometheus.NewDesc("parley_live_ingest_bytes_per_second",
			"Measured media rate of every live's published tracks' active layers, together.", nil, nil),
		liveForwarding: newForwardingDescs("parley_live", "live viewers"),

		forwardLatency: prometheus.NewDesc("parley_media_forward_latency_seconds",
			"Time a media packet spends in the server, from its receiver reading it off the publisher's connection "+
				"to the write to a subscriber's connection returning, by service (meeting, live). Retransmissions not counted.",
			[]string{"service"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *mediaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.meetingRooms, c.meetingParticipants, c.meetingTracks, c.meetingSubscriptions, c.meetingRecordings, c.meetingIngest,
		c.meetingEventOverflows, c.liveBroadcasts, c.liveOnAir, c.liveViewers, c.liveRecordings, c.liveIngest, c.forwardLatency,
	} {
		ch <- d
	}
	c.meetingForwarding.describe(ch)
	c.liveForwarding.describe(ch)
}

// Collect implements prometheus.Collector.
func (c *mediaCollector) Collect(ch chan<- prometheus.Metric) {
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}

	ms := c.rooms.Stats()
	gauge(c.meetingRooms, ms.Rooms)
	gauge(c.meetingParticipants, ms.Joined, string(rtc.StateJoined))
	gauge(c.meetingParticipants, ms.Reconnecting, string(rtc.StateReconnecting))
	gauge(c.meetingParticipants, ms.Waiting, string(rtc.StateWaiting))
	gauge(c.meetingTracks, ms.AudioTracks, "audio")
	gauge(c.meetingTracks, ms.VideoTracks, "video")
	gauge(c.meetingSubscriptions, ms.Subscriptions)
	gauge(c.meetingRecordings, ms.Recordings)
	gauge(c.meetingIngest, ms.IngestBitrate/8)
	ch <- prometheus.MustNewConstMetric(c.meetingEventOverflows, prometheus.CounterValue, float64(ms.EventQueueOverflows))
	m := ms.Media
	c.meetingForwarding.collect(ch, m.Packets, m.Bytes, m.Retransmits, m.NACKMisses, m.QueueDrops, m.KeyframeRequests)
	ch <- latencyHistogram(c.forwardLatency, ms.ForwardLatency, "meeting")

	ls := c.broadcasts.Stats()
	gauge(c.liveBroadcasts, ls.Broadcasts)
	gauge(c.liveOnAir, ls.OnAir)
	gauge(c.liveViewers, ls.WHEPViewers, "whep")
	gauge(c.liveViewers, ls.WebSocketViewers, "websocket")
	gauge(c.liveRecordings, ls.Recordings)
	gauge(c.liveIngest, ls.IngestBitrate/8)
	l := ls.Media
	c.liveForwarding.collect(ch, l.Packets, l.Bytes, l.Retransmits, l.NACKMisses, l.QueueDrops, l.KeyframeRequests)
	ch <- latencyHistogram(c.forwardLatency, ls.ForwardLatency, "live")
}

// latencyHistogram turns a media.LatencySnapshot into a Prometheus
// histogram: cumulative counts at each of media.LatencyBuckets, in
// seconds.
func latencyHistogram(d *prometheus.Desc, s media.LatencySnapshot, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(media.LatencyBuckets))
	var cum uint64
	for i, bound := range media.LatencyBuckets {
		cum += s.Counts[i]
		buckets[bound.Seconds()] = cum
	}
	return prometheus.MustNewConstHistogram(d, s.Count(), s.Sum.Seconds(), buckets, labels...)
}
