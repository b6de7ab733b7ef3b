package presence

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"parley/chat/bus"
	"parley/storage"
)

// Timing defaults; Options can shorten them for tests.
const (
	// DefaultHeartbeatInterval is how often a node republishes its online
	// set, and checks other nodes' entries for expiry.
	DefaultHeartbeatInterval = 30 * time.Second
	// DefaultExpireAfter is how long another node's entry for a member
	// lives without a change or heartbeat refreshing it.
	DefaultExpireAfter = 90 * time.Second
)

// Limits.
const (
	// MaxQueryMembers bounds the member ids of one States call (the REST
	// query).
	MaxQueryMembers = 200
	// MaxWatchMembers bounds the member ids one session watches.
	MaxWatchMembers = 500
	// MaxHeartbeatMembers bounds the member ids in one heartbeat message;
	// a larger online set is sent as several messages, so a message stays
	// well below the NATS payload limit.
	MaxHeartbeatMembers = 1000
	// MaxMemberIDBytes is the longest member id presence accepts, the
	// directory's limit.
	MaxMemberIDBytes = 64
)

// ErrInvalid is returned for a malformed or oversized list of member ids.
var ErrInvalid = errors.New("invalid")

// State is what presence knows of one member.
type State struct {
	MemberID string `json:"member_id"`
	Online   bool   `json:"online"`
	// LastSeen is when the member was last online, to the millisecond.
	// It is zero (and left out of JSON) while the member is online, and
	// for a member this node has never seen leave.
	LastSeen time.Time `json:"last_seen,omitzero"`
}

// Options configure a Tracker. The zero value is what production uses,
// apart from NodeName.
type Options struct {
	// NodeName names this node in presence messages and logs. A random
	// suffix is appended, so names stay unique across restarts and
	// misconfigured clusters.
	NodeName string
	// HeartbeatInterval defaults to DefaultHeartbeatInterval.
	HeartbeatInterval time.Duration
	// ExpireAfter defaults to DefaultExpireAfter.
	ExpireAfter time.Duration
	// Now is the clock; nil means time.Now. Tests move it forward to
	// expire entries.
	Now func() time.Time
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Tracker is one node's view of presence. It is safe for concurrent use.
type Tracker struct {
	nc   *nats.Conn
	db   *storage.DB
	node string
	opts Options
	log  *slog.Logger

	mu sync.Mutex
	// local counts this node's sessions per member.
	local map[string]int
	// remote holds, per member, the other nodes that reported the member
	// online and when this node last heard so.
	remote map[string]map[string]time.Time
	// watchers and watching are the two directions of the watch lists.
	watchers map[string]map[Watcher]struct{}
	watching map[Watcher][]string
	// pending holds last-seen times not yet committed, so reads see them
	// before the writer has stored them.
	pending map[string]time.Time

	sub       *nats.Subscription
	wake      chan struct{} // signals the last-seen writer
	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// Start creates the tracker, subscribes to every node's presence subject
// and says hello, then starts the heartbeat and the last-seen writer.
// Close stops them.
func Start(nc *nats.Conn, db *storage.DB, opts Options) (*Tracker, error) {
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if opts.ExpireAfter <= 0 {
		opts.ExpireAfter = DefaultExpireAfter
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	t := &Tracker{
		nc:       nc,
		db:       db,
		node:     nodeName(opts.NodeName),
		opts:     opts,
		log:      log.With("component", "presence"),
		local:    map[string]int{},
		remote:   map[string]map[string]time.Time{},
		watchers: map[string]map[Watcher]struct{}{},
		watching: map[Watcher][]string{},
		pending:  map[string]time.Time{},
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
	}
	sub, err := nc.Subscribe(bus.PresenceWildcard, t.receive)
	if err != nil {
		return nil, fmt.Errorf("subscribe to presence: %w", err)
	}
	t.sub = sub
	if err := nc.Flush(); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("flush presence subscription: %w", err)
	}
	t.publishHeartbeat(true)
	t.wg.Add(2)
	go t.heartbeatLoop()
	go t.writeLoop()
	return t, nil
}

// nodeName appends a random suffix to the configured name.
func nodeName(base string) string {
	buf := make([]byte, 5)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails on supported platforms
	suffix := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(buf)
	if base == "" {
		return suffix
	}
	return base + "-" + suffix
}

// Node is this node's name in presence messages.
func (t *Tracker) Node() string { return t.node }

// Close stops the heartbeat, stops listening and stores the last-seen
// times still pending. It is safe to call more than once.
func (t *Tracker) Close() {
	t.closeOnce.Do(func() {
		_ = t.sub.Unsubscribe()
		close(t.stop)
		t.wg.Wait()
	})
}

// now is the tracker's clock in UTC.
func (t *Tracker) now() time.Time { return t.opts.Now().UTC() }

// SessionOpened records a new session of memberID on this node. Pair
// every call with one SessionClosed.
func (t *Tracker) SessionOpened(memberID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	was := t.onlineLocked(memberID)
	t.local[memberID]++
	if t.local[memberID] == 1 {
		t.publishLocked(Change{Type: TypeChange, Node: t.node, MemberID: memberID, Online: true})
	}
	if !was {
		t.pushLocked(State{MemberID: memberID, Online: true})
	}
}

// SessionClosed records the end of a session of memberID on this node.
// The member's last session here records the last seen time, and tells
// the other nodes.
func (t *Tracker) SessionClosed(memberID string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.local[memberID]
	switch {
	case n == 0:
		return // unpaired; nothing to undo
	case n > 1:
		t.local[memberID] = n - 1
		return
	}
	delete(t.local, memberID)
	seen := t.now().Truncate(time.Millisecond)
	t.publishLocked(Change{Type: TypeChange, Node: t.node, MemberID: memberID, LastSeen: seen})
	t.recordLastSeenLocked(memberID, seen)
	if !t.onlineLocked(memberID) {
		t.pushLocked(State{MemberID: memberID, LastSeen: t.pending[memberID]})
	}
}

// onlineLocked reports whether any node has the member online.
func (t *Tracker) onlineLocked(memberID string) bool {
	return t.local[memberID] > 0 || len(t.remote[memberID]) > 0
}

// States returns the state of each member, in the order given, duplicates
// dropped. At most MaxQueryMembers ids are allowed.
func (t *Tracker) States(members []string) ([]State, error) {
	ids, err := checkMembers(members, MaxQueryMembers)
	if err != nil {
		return nil, err
	}
	stored, err := t.storedLastSeen(ids)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.statesLocked(ids, stored), nil
}

// statesLocked combines the live state with the stored last-seen times.
func (t *Tracker) statesLocked(ids []string, stored map[string]time.Time) []State {
	out := make([]State, len(ids))
	for i, id := range ids {
		out[i] = State{MemberID: id}
		if t.onlineLocked(id) {
			out[i].Online = true
			continue
		}
		seen := stored[id]
		if p := t.pending[id]; p.After(seen) {
			seen = p
		}
		out[i].LastSeen = seen
	}
	return out
}

// checkMembers validates a list of member ids and drops duplicates. Ids
// become key components, so '/' and control bytes are refused like the
// directory refuses them.
func checkMembers(members []string, maxIDs int) ([]string, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("%w members: name at least one member", ErrInvalid)
	}
	ids := make([]string, 0, len(members))
	seen := make(map[string]struct{}, len(members))
	for _, id := range members {
		if err := checkMemberID(id); err != nil {
			return nil, err
		}
		if _, dup := seen[id]; dup {
			continue
		}
		seen[id] = struct{}{}
		ids = append(ids, id)
	}
	if len(ids) > maxIDs {
		return nil, fmt.Errorf("%w members: at most %d members at once, got %d", ErrInvalid, maxIDs, len(ids))
	}
	return ids, nil
}

func checkMemberID(id string) error {
	if id == "" || len(id) > MaxMemberIDBytes || !utf8.ValidString(id) {
		return fmt.Errorf("%w member id %q: must be 1 to %d bytes of UTF-8", ErrInvalid, id, MaxMemberIDBytes)
	}
	if slices.ContainsFunc([]byte(id), func(c byte) bool { return c == '/' || c < 0x20 || c == 0x7f }) {
		return fmt.Errorf("%w member id %q: must not hold '/' or control characters", ErrInvalid, id)
	}
	return nil
}
