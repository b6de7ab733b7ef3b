package fanout

import "sync/atomic"

// Stats is a snapshot of this node's chat delivery, for metrics. The
// counts describe the moment of the call; the counters count since New.
type Stats struct {
	// Conversations is how many conversation subjects this node
	// subscribes to; Members how many members have a session here.
	Conversations, Members int
	// Backlog is how many bus messages wait in the dispatch queues. It
	// nears DispatchQueue times the number of dispatchers only when the
	// node falls behind, and past that NATS drops messages.
	Backlog int
	// Published counts the frames this node published, to conversations
	// and to members' inboxes; PublishErrors those the bus refused.
	Published, PublishErrors uint64
	// Received counts the frames that reached this node's dispatchers
	// from the bus.
	Received uint64
	// InboxElsewhere counts the inbox frames received for a member with
	// no session here. A node subscribes to whole shards of the inboxes
	// (bus.InboxShards), so in a cluster it also hears its shards'
	// members who are online on other nodes; a high rate relative to
	// Received says the shards are too coarse for the cluster.
	InboxElsewhere uint64
}

// counters are the Stats counters, kept where the events happen.
type counters struct {
	published, publishErrors, received, inboxElsewhere atomic.Uint64
}

// countPublish counts one publish and its outcome.
func (c *counters) countPublish(err error) {
	if err != nil {
		c.publishErrors.Add(1)
		return
	}
	c.published.Add(1)
}

// Stats reports the node's delivery state and counters. Its cost is one
// short lock and a look at each dispatch queue.
func (f *Fanout) Stats() Stats {
	st := Stats{
		Published:      f.counters.published.Load(),
		PublishErrors:  f.counters.publishErrors.Load(),
		Received:       f.counters.received.Load(),
		InboxElsewhere: f.counters.inboxElsewhere.Load(),
	}
	st.Conversations, st.Members = f.Interest()
	for _, q := range f.queues {
		st.Backlog += len(q)
	}
	return st
}
