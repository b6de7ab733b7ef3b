package presence

import (
	"encoding/json"
	"time"

	"github.com/nats-io/nats.go"

	"parley/chat/bus"
)

// Message types on a node's presence subject. An unknown type is ignored,
// so newer nodes can add types.
const (
	TypeChange    = "change"
	TypeHeartbeat = "heartbeat"
)

// Change is published on the node's subject when a member's session count
// on that node goes from zero to one (Online) or back to zero.
type Change struct {
	Type     string `json:"type"` // TypeChange
	Node     string `json:"node"`
	MemberID string `json:"member_id"`
	Online   bool   `json:"online"`
	// LastSeen is set when Online is false: when the member's last session
	// on the node closed, to the millisecond.
	LastSeen time.Time `json:"last_seen,omitzero"`
}

// Heartbeat is published by every node each HeartbeatInterval: the
// members online on the node, at most MaxHeartbeatMembers per message.
// It refreshes the other nodes' entries, which expire without it.
type Heartbeat struct {
	Type    string   `json:"type"` // TypeHeartbeat
	Node    string   `json:"node"`
	Members []string `json:"members"`
	// Hello is set on a node's first heartbeat: the other nodes answer
	// with their own heartbeats at once.
	Hello bool `json:"hello,omitempty"`
}

// publishLocked sends a change on this node's subject. Callers hold t.mu,
// so changes and heartbeats leave in the order the state changed. A
// failed publish is logged: the next heartbeat, or expiry, repairs the
// other nodes' view.
func (t *Tracker) publishLocked(c Change) {
	data, err := json.Marshal(c)
	if err == nil {
		err = t.nc.Publish(bus.PresenceSubject(t.node), data)
	}
	if err != nil {
		t.log.Warn("publish presence change", "member", c.MemberID, "online", c.Online, "err", err)
	}
}

// publishHeartbeat sends this node's online set. It holds t.mu while
// publishing, so no change can be published between the snapshot and the
// heartbeat and then be overtaken by it.
func (t *Tracker) publishHeartbeat(hello bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	members := make([]string, 0, len(t.local))
	for m := range t.local {
		members = append(members, m)
	}
	for first := true; first || len(members) > 0; first = false {
		n := min(len(members), MaxHeartbeatMembers)
		hb := Heartbeat{Type: TypeHeartbeat, Node: t.node, Members: members[:n], Hello: hello && first}
		members = members[n:]
		data, err := json.Marshal(hb)
		if err == nil {
			err = t.nc.Publish(bus.PresenceSubject(t.node), data)
		}
		if err != nil {
			t.log.Warn("publish presence heartbeat", "err", err)
			return
		}
	}
}

// heartbeatLoop publishes the heartbeat and expires silent entries, every
// HeartbeatInterval until Close.
func (t *Tracker) heartbeatLoop() {
	defer t.wg.Done()
	tick := time.NewTicker(t.opts.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			t.publishHeartbeat(false)
			t.sweep(t.now())
		}
	}
}

// receive applies another node's presence message. The node's own
// messages come back too and are ignored: it applied them when it sent
// them.
func (t *Tracker) receive(msg *nats.Msg) {
	var head struct {
		Type string `json:"type"`
		Node string `json:"node"`
	}
	if err := json.Unmarshal(msg.Data, &head); err != nil {
		t.log.Warn("bad presence message", "subject", msg.Subject, "err", err)
		return
	}
	if head.Node == "" || head.Node == t.node {
		return
	}
	switch head.Type {
	case TypeChange:
		var c Change
		if err := json.Unmarshal(msg.Data, &c); err != nil || c.MemberID == "" {
			t.log.Warn("bad presence change", "node", head.Node, "err", err)
			return
		}
		t.applyChange(c)
	case TypeHeartbeat:
		var hb Heartbeat
		if err := json.Unmarshal(msg.Data, &hb); err != nil {
			t.log.Warn("bad presence heartbeat", "node", head.Node, "err", err)
			return
		}
		t.applyHeartbeat(hb)
		if hb.Hello {
			t.publishHeartbeat(false)
		}
	}
}

func (t *Tracker) applyChange(c Change) {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := t.onlineLocked(c.MemberID)
	if c.Online {
		t.heardLocked(c.MemberID, c.Node, t.now())
	} else {
		t.forgetLocked(c.MemberID, c.Node)
		if !c.LastSeen.IsZero() {
			t.recordLastSeenLocked(c.MemberID, c.LastSeen)
		}
	}
	switch is := t.onlineLocked(c.MemberID); {
	case is && !was:
		t.pushLocked(State{MemberID: c.MemberID, Online: true})
	case !is && was:
		t.pushLocked(State{MemberID: c.MemberID, LastSeen: t.pending[c.MemberID]})
	}
}

func (t *Tracker) applyHeartbeat(hb Heartbeat) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, m := range hb.Members {
		if m == "" {
			continue
		}
		was := t.onlineLocked(m)
		t.heardLocked(m, hb.Node, now)
		if !was {
			t.pushLocked(State{MemberID: m, Online: true})
		}
	}
}

// heardLocked notes that node reported member online at now.
func (t *Tracker) heardLocked(member, node string, now time.Time) {
	nodes := t.remote[member]
	if nodes == nil {
		nodes = map[string]time.Time{}
		t.remote[member] = nodes
	}
	nodes[node] = now
}

// forgetLocked drops node's entry for member.
func (t *Tracker) forgetLocked(member, node string) {
	nodes := t.remote[member]
	delete(nodes, node)
	if len(nodes) == 0 {
		delete(t.remote, member)
	}
}

// sweep expires the entries of other nodes not heard from since
// now - ExpireAfter. A member whose last entry expires goes offline, last
// seen when the entry was last refreshed.
func (t *Tracker) sweep(now time.Time) {
	cutoff := now.Add(-t.opts.ExpireAfter)
	t.mu.Lock()
	defer t.mu.Unlock()
	for member, nodes := range t.remote {
		var latest time.Time
		for node, heard := range nodes {
			if heard.Before(cutoff) {
				delete(nodes, node)
				if heard.After(latest) {
					latest = heard
				}
			}
		}
		if latest.IsZero() {
			continue
		}
		t.log.Debug("presence entries expired", "member", member, "last_heard", latest)
		if len(nodes) == 0 {
			delete(t.remote, member)
		}
		t.recordLastSeenLocked(member, latest)
		if !t.onlineLocked(member) {
			t.pushLocked(State{MemberID: member, LastSeen: t.pending[member]})
		}
	}
}
