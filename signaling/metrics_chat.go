package signaling

import (
	"github.com/prometheus/client_golang/prometheus"

	"parley/chat/fanout"
	"parley/chat/messaging"
	"parley/chat/msglog"
	"parley/signaling/ws"
)

// chatCollector exports the chat service's, the fanout's and the
// WebSocket hubs' counters. It reads their Stats at scrape time: the
// services count with atomic adds where things happen and know nothing
// of Prometheus.
type chatCollector struct {
	chat *messaging.Service
	log  *msglog.Log
	fan  *fanout.Fanout
	hubs []*ws.Hub // the member hub, the live viewers' and the meeting guests'

	stored, refusals                   *prometheus.Desc
	published, publishErrors, received *prometheus.Desc
	inboxElsewhere, deliveries         *prometheus.Desc
	online, conversations, backlog     *prometheus.Desc
	wsRequests, wsErrors, wsSlowCloses *prometheus.Desc
	commits, committed, commitTime     *prometheus.Desc
	commitFailures                     *prometheus.Desc
	dedupLookups, dedupLoadErrors      *prometheus.Desc
}

func newChatCollector(chat *messaging.Service, log *msglog.Log, fan *fanout.Fanout, hubs ...*ws.Hub) *chatCollector {
	return &chatCollector{
		chat: chat, log: log, fan: fan, hubs: hubs,
		commits: prometheus.NewDesc("parley_chat_log_commits_total",
			"Synced batches the message log committed. Entries over commits is how many sends share one fsync.", nil, nil),
		committed: prometheus.NewDesc("parley_chat_log_entries_total",
			"Entries those batches stored (resends not included).", nil, nil),
		commitTime: prometheus.NewDesc("parley_chat_log_commit_seconds_total",
			"Time the committed batches took, building to synced commit; over commits, the disk's share of each send's ack latency.", nil, nil),
		commitFailures: prometheus.NewDesc("parley_chat_log_commit_failures_total",
			"Batches whose synced commit failed (the disk is failing or full); their senders got an error.", nil, nil),
		dedupLookups: prometheus.NewDesc("parley_chat_log_dedup_lookups_total",
			"Client message ids looked up on disk to tell a resend from a new send. A busy conversation keeps its known ids in memory "+
				"and looks up only resends (and hash collisions); the rest are sends to conversations without such a set.", nil, nil),
		dedupLoadErrors: prometheus.NewDesc("parley_chat_log_dedup_load_errors_total",
			"Sets of a conversation's known client message ids that failed to load from disk; its sends are looked up instead.", nil, nil),
		stored: prometheus.NewDesc("parley_chat_messages_stored_total",
			"Entries stored in the message log, by conversation kind (direct, group, other: live interactions) and entry type.",
			[]string{"kind", "type"}, nil),
		refusals: prometheus.NewDesc("parley_chat_send_refusals_total",
			"Message sends refused by the chat service (WebSocket and REST), by reason. Rate limiting happens before the service: see parley_ws_request_errors_total{type=\"chat.send\",code=\"rate_limited\"}.",
			[]string{"reason"}, nil),
		published: prometheus.NewDesc("parley_chat_bus_published_total",
			"Chat frames this node published on the bus, to conversations and to members' inboxes.", nil, nil),
		publishErrors: prometheus.NewDesc("parley_chat_bus_publish_errors_total",
			"Chat frames the bus refused to publish; clients fill the gap from the log.", nil, nil),
		received: prometheus.NewDesc("parley_chat_bus_received_total",
			"Chat frames this node received from the bus for its local members.", nil, nil),
		inboxElsewhere: prometheus.NewDesc("parley_chat_bus_inbox_elsewhere_total",
			"Inbox frames this node received for a member with no session here: nodes subscribe to whole shards of the members' inboxes, so they also hear their shards' members online on other nodes.", nil, nil),
		deliveries: prometheus.NewDesc("parley_chat_deliveries_total",
			"Chat frames queued on local WebSocket sessions, one per session.", nil, nil),
		online: prometheus.NewDesc("parley_chat_online_members",
			"Members with at least one WebSocket session on this node.", nil, nil),
		conversations: prometheus.NewDesc("parley_chat_subscribed_conversations",
			"Conversations this node subscribes to on the bus (those with a member online here).", nil, nil),
		backlog: prometheus.NewDesc("parley_chat_dispatch_backlog",
			"Bus messages waiting for a dispatcher; growth means the node falls behind, and past the queue limit NATS drops messages.", nil, nil),
		wsRequests: prometheus.NewDesc("parley_ws_requests_total",
			"WebSocket messages received, by type; types no handler serves count as \"unknown\".",
			[]string{"type"}, nil),
		wsErrors: prometheus.NewDesc("parley_ws_request_errors_total",
			"WebSocket error replies, by request type and error code.",
			[]string{"type", "code"}, nil),
		wsSlowCloses: prometheus.NewDesc("parley_ws_slow_closes_total",
			"WebSocket sessions closed because their send queue overflowed (close 4008); the client resyncs on reconnecting.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *chatCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.stored, c.refusals, c.published, c.publishErrors, c.received, c.inboxElsewhere, c.deliveries,
		c.online, c.conversations, c.backlog, c.wsRequests, c.wsErrors, c.wsSlowCloses,
		c.commits, c.committed, c.commitTime, c.commitFailures, c.dedupLookups, c.dedupLoadErrors,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *chatCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.chat.Stats()
	for k, n := range st.Stored {
		ch <- prometheus.MustNewConstMetric(c.stored, prometheus.CounterValue, float64(n), k.Kind, k.Type)
	}
	for reason, n := range st.SendRefusals {
		ch <- prometheus.MustNewConstMetric(c.refusals, prometheus.CounterValue, float64(n), reason)
	}

	ls := c.log.Stats()
	ch <- prometheus.MustNewConstMetric(c.commits, prometheus.CounterValue, float64(ls.Commits))
	ch <- prometheus.MustNewConstMetric(c.committed, prometheus.CounterValue, float64(ls.Entries))
	ch <- prometheus.MustNewConstMetric(c.commitTime, prometheus.CounterValue, ls.CommitTime.Seconds())
	ch <- prometheus.MustNewConstMetric(c.commitFailures, prometheus.CounterValue, float64(ls.Failed))
	ch <- prometheus.MustNewConstMetric(c.dedupLookups, prometheus.CounterValue, float64(ls.DedupLookups))
	ch <- prometheus.MustNewConstMetric(c.dedupLoadErrors, prometheus.CounterValue, float64(ls.DedupLoadErrors))

	fs := c.fan.Stats()
	ch <- prometheus.MustNewConstMetric(c.published, prometheus.CounterValue, float64(fs.Published))
	ch <- prometheus.MustNewConstMetric(c.publishErrors, prometheus.CounterValue, float64(fs.PublishErrors))
	ch <- prometheus.MustNewConstMetric(c.received, prometheus.CounterValue, float64(fs.Received))
	ch <- prometheus.MustNewConstMetric(c.inboxElsewhere, prometheus.CounterValue, float64(fs.InboxElsewhere))
	ch <- prometheus.MustNewConstMetric(c.online, prometheus.GaugeValue, float64(fs.Members))
	ch <- prometheus.MustNewConstMetric(c.conversations, prometheus.GaugeValue, float64(fs.Conversations))
	ch <- prometheus.MustNewConstMetric(c.backlog, prometheus.GaugeValue, float64(fs.Backlog))

	// The hubs serve overlapping types (live.* on the member and the
	// viewer hub): their counts add up.
	requests := map[string]uint64{}
	errs := map[ws.ErrorKey]uint64{}
	var delivered, tooSlow uint64
	for _, h := range c.hubs {
		hs := h.Stats()
		for typ, n := range hs.Requests {
			requests[typ] += n
		}
		for k, n := range hs.Errors {
			errs[k] += n
		}
		delivered += hs.Delivered
		tooSlow += hs.TooSlow
	}
	ch <- prometheus.MustNewConstMetric(c.deliveries, prometheus.CounterValue, float64(delivered))
	ch <- prometheus.MustNewConstMetric(c.wsSlowCloses, prometheus.CounterValue, float64(tooSlow))
	for typ, n := range requests {
		ch <- prometheus.MustNewConstMetric(c.wsRequests, prometheus.CounterValue, float64(n), typ)
	}
	for k, n := range errs {
		ch <- prometheus.MustNewConstMetric(c.wsErrors, prometheus.CounterValue, float64(n), k.Type, k.Code)
	}
}
