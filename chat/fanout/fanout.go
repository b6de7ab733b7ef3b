package fanout

import (
	"fmt"
	"hash/maphash"
	"log/slog"
	"runtime"
	"sync"

	"github.com/nats-io/nats.go"

	"parley/chat/bus"
)

// Deliverer hands one encoded frame to every local session of a member.
// It must not block: the WebSocket hub queues the frame per session and
// drops a session that cannot keep up.
type Deliverer interface {
	DeliverToMember(memberID string, frame []byte)
}

// Memberships lists the conversations a member belongs to, so a node can
// take interest in them when the member comes online.
type Memberships interface {
	ListForMember(memberID string) ([]string, error)
}

// DispatchQueue is how many bus messages one dispatcher may have waiting.
// Past it NATS drops messages for that dispatcher (a slow consumer); a
// dispatcher only hands frames to session queues, which never block, so
// it falls that far behind only when the node is starved of CPU, and
// clients then fill the gap from the log.
const DispatchQueue = 1 << 15

// Fanout is one node's side of chat delivery.
//
// Bus messages reach it through channel subscriptions drained by a fixed
// set of dispatcher goroutines, one per core, not through nats.go's
// callback subscriptions, which park a goroutine per subscription: with
// one inbox per online member that was a goroutine per idle socket. Each
// subscription feeds one dispatcher, so its messages keep their order.
type Fanout struct {
	nc       *nats.Conn
	deliver  Deliverer
	members  Memberships
	log      *slog.Logger
	seed     maphash.Seed
	queues   []chan *nats.Msg // one per dispatcher
	counters counters         // see Stats

	mu      sync.Mutex
	online  map[string]*localMember       // member id → its local state
	convs   map[string]*localConversation // conversation id → local members
	inboxes [bus.InboxShards]inboxShard   // by bus.InboxShard of the member id
	routes  map[*nats.Subscription]route  // where a subscription's messages go
}

// route is the target of one subscription: a conversation, or a shard of
// the members' inboxes.
type route struct {
	conv  string
	inbox bool
}

type localMember struct {
	sessions int
	convs    map[string]struct{} // nil until the member has one
}

// inboxShard is this node's interest in one shard of the members' inboxes:
// subscribed while at least one member of the shard is online here.
type inboxShard struct {
	members int
	sub     *nats.Subscription
}

type localConversation struct {
	sub     *nats.Subscription
	members map[string]struct{}
}

// New creates a node's fanout over the bus connection nc. Its dispatchers
// stop when nc is closed.
func New(nc *nats.Conn, d Deliverer, m Memberships, logger *slog.Logger) *Fanout {
	f := &Fanout{
		nc:      nc,
		deliver: d,
		members: m,
		log:     logger,
		seed:    maphash.MakeSeed(),
		queues:  make([]chan *nats.Msg, runtime.GOMAXPROCS(0)),
		online:  map[string]*localMember{},
		convs:   map[string]*localConversation{},
		routes:  map[*nats.Subscription]route{},
	}
	closed := nc.StatusChanged(nats.CLOSED)
	for i := range f.queues {
		f.queues[i] = make(chan *nats.Msg, DispatchQueue)
		go f.dispatchLoop(f.queues[i], closed)
	}
	return f
}

// dispatchLoop delivers the messages of one queue until the bus
// connection closes.
func (f *Fanout) dispatchLoop(q chan *nats.Msg, closed chan nats.Status) {
	if f.nc.IsClosed() {
		return
	}
	for {
		select {
		case msg := <-q:
			f.route(msg)
		case <-closed:
			// Every dispatcher shares the one listener: pass it on.
			select {
			case closed <- nats.CLOSED:
			default:
			}
			return
		}
	}
}

// subscribeLocked subscribes to subject for rt, on the dispatcher the
// subject hashes to.
func (f *Fanout) subscribeLocked(subject string, rt route) (*nats.Subscription, error) {
	q := f.queues[maphash.String(f.seed, subject)%uint64(len(f.queues))]
	sub, err := f.nc.ChanSubscribe(subject, q)
	if err != nil {
		return nil, err
	}
	f.routes[sub] = rt
	return sub, nil
}

// unsubscribeLocked ends sub; messages of it still queued are dropped.
func (f *Fanout) unsubscribeLocked(sub *nats.Subscription) {
	delete(f.routes, sub)
	_ = sub.Unsubscribe()
}

// route hands one bus message to the local sessions it is for.
func (f *Fanout) route(msg *nats.Msg) {
	f.counters.received.Add(1)
	f.mu.Lock()
	rt, ok := f.routes[msg.Sub]
	f.mu.Unlock()
	switch {
	case !ok: // unsubscribed since
	case rt.inbox:
		f.deliverInbox(msg)
	default:
		f.dispatch(rt.conv, msg.Data)
	}
}

// deliverInbox hands an inbox frame to its member's local sessions. The
// shard's subscription also brings frames for members online only on
// other nodes; those are dropped here.
func (f *Fanout) deliverInbox(msg *nats.Msg) {
	memberID, err := bus.MemberIDFromInboxSubject(msg.Subject)
	if err != nil {
		f.log.Warn("dropping an inbox frame with a malformed subject", "subject", msg.Subject, "err", err)
		return
	}
	f.mu.Lock()
	local := f.online[memberID] != nil
	f.mu.Unlock()
	if !local {
		f.counters.inboxElsewhere.Add(1)
		return
	}
	f.deliver.DeliverToMember(memberID, msg.Data)
}

// SessionOpened records a new local session of memberID; pair every call,
// successful or not, with one SessionClosed. The first one
// subscribes the node to the member's inbox and conversations. It returns
// once the subscriptions are live at the server, so a client that syncs
// from the log after connecting misses nothing published afterwards.
func (f *Fanout) SessionOpened(memberID string) error {
	f.mu.Lock()
	if lm := f.online[memberID]; lm != nil {
		lm.sessions++
		f.mu.Unlock()
		return f.flush()
	}
	// Register the member before reading its conversations, so a Joined
	// that lands meanwhile is applied rather than lost.
	n := bus.InboxShard(memberID)
	shard := &f.inboxes[n]
	if shard.members == 0 {
		sub, err := f.subscribeLocked(bus.InboxShardWildcard(n), route{inbox: true})
		if err != nil {
			f.mu.Unlock()
			return fmt.Errorf("subscribe to the inbox shard of %s: %w", memberID, err)
		}
		shard.sub = sub
	}
	shard.members++
	lm := &localMember{sessions: 1}
	f.online[memberID] = lm
	f.mu.Unlock()

	convs, err := f.members.ListForMember(memberID)
	if err != nil {
		return fmt.Errorf("list conversations of %s: %w", memberID, err)
	}
	f.mu.Lock()
	if f.online[memberID] == lm { // not closed meanwhile
		for _, c := range convs {
			if err := f.addLocked(memberID, lm, c); err != nil {
				f.mu.Unlock()
				return err
			}
		}
	}
	f.mu.Unlock()
	return f.flush()
}

// flush waits until the server has processed this connection's
// subscriptions.
func (f *Fanout) flush() error {
	if err := f.nc.Flush(); err != nil {
		return fmt.Errorf("flush subscriptions: %w", err)
	}
	return nil
}

// SessionClosed records the end of a local session. The last one drops the
// member's interest; conversations with no local member left are
// unsubscribed.
func (f *Fanout) SessionClosed(memberID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	lm := f.online[memberID]
	if lm == nil {
		return
	}
	if lm.sessions--; lm.sessions > 0 {
		return
	}
	for c := range lm.convs {
		f.removeLocked(memberID, lm, c)
	}
	delete(f.online, memberID)
	shard := &f.inboxes[bus.InboxShard(memberID)]
	if shard.members--; shard.members == 0 {
		f.unsubscribeLocked(shard.sub)
		shard.sub = nil
	}
}

// Joined tells this node that memberID joined convID. It matters only if
// the member is online here; the chat service publishes membership changes
// so every node hears them.
func (f *Fanout) Joined(memberID, convID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	lm := f.online[memberID]
	if lm == nil {
		return nil
	}
	return f.addLocked(memberID, lm, convID)
}

// Left tells this node that memberID left convID.
func (f *Fanout) Left(memberID, convID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if lm := f.online[memberID]; lm != nil {
		f.removeLocked(memberID, lm, convID)
	}
}

func (f *Fanout) addLocked(memberID string, lm *localMember, convID string) error {
	if _, ok := lm.convs[convID]; ok {
		return nil
	}
	lc := f.convs[convID]
	if lc == nil {
		lc = &localConversation{members: map[string]struct{}{}}
		sub, err := f.subscribeLocked(bus.ConversationSubject(convID), route{conv: convID})
		if err != nil {
			return fmt.Errorf("subscribe to conversation %s: %w", convID, err)
		}
		lc.sub = sub
		f.convs[convID] = lc
	}
	lc.members[memberID] = struct{}{}
	if lm.convs == nil {
		lm.convs = map[string]struct{}{}
	}
	lm.convs[convID] = struct{}{}
	return nil
}

func (f *Fanout) removeLocked(memberID string, lm *localMember, convID string) {
	delete(lm.convs, convID)
	lc := f.convs[convID]
	if lc == nil {
		return
	}
	delete(lc.members, memberID)
	if len(lc.members) == 0 {
		f.unsubscribeLocked(lc.sub)
		delete(f.convs, convID)
	}
}

// dispatch hands a conversation frame to every local member. It copies the
// member set under the lock and delivers outside it, so a slow Deliverer
// cannot hold up sessions opening and closing.
func (f *Fanout) dispatch(convID string, frame []byte) {
	f.mu.Lock()
	lc := f.convs[convID]
	if lc == nil {
		f.mu.Unlock()
		return
	}
	recipients := make([]string, 0, len(lc.members))
	for m := range lc.members {
		recipients = append(recipients, m)
	}
	f.mu.Unlock()
	for _, m := range recipients {
		f.deliver.DeliverToMember(m, frame)
	}
}

// Publish sends an encoded frame to every online member of convID, on
// every node.
func (f *Fanout) Publish(convID string, frame []byte) error {
	err := f.nc.Publish(bus.ConversationSubject(convID), frame)
	f.counters.countPublish(err)
	if err != nil {
		return fmt.Errorf("publish to conversation %s: %w", convID, err)
	}
	return nil
}

// SendToMember sends an encoded frame to every device of one member, on
// every node.
func (f *Fanout) SendToMember(memberID string, frame []byte) error {
	err := f.nc.Publish(bus.InboxSubject(memberID), frame)
	f.counters.countPublish(err)
	if err != nil {
		return fmt.Errorf("publish to inbox of %s: %w", memberID, err)
	}
	return nil
}

// Interest reports how many conversations this node subscribes to and how
// many members are online here, for metrics and tests.
func (f *Fanout) Interest() (conversations, members int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.convs), len(f.online)
}
