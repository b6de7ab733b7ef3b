package presence

import (
	"encoding/json"
)

// FramePresence is the type of the frame pushed to a watching session
// when a watched member goes online or offline; its data is a State.
const FramePresence = "presence"

// Watcher is a session that watches members. *ws.Session satisfies it.
// Send must not block: the hub queues the frame, and closes a session
// that cannot keep up.
type Watcher interface {
	Send(frame []byte) bool
}

// Watch replaces the members w watches (at most MaxWatchMembers; none
// stops the pushes) and calls reply with their current states. reply runs
// under the tracker's lock, so no change about these members reaches w
// before the reply, and none after it is missed; it must not block.
// Unwatch w when its session ends.
func (t *Tracker) Watch(w Watcher, members []string, reply func([]State)) error {
	var ids []string
	if len(members) > 0 {
		var err error
		if ids, err = checkMembers(members, MaxWatchMembers); err != nil {
			return err
		}
	}
	stored, err := t.storedLastSeen(ids)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unwatchLocked(w)
	if len(ids) > 0 {
		t.watching[w] = ids
		for _, id := range ids {
			set := t.watchers[id]
			if set == nil {
				set = map[Watcher]struct{}{}
				t.watchers[id] = set
			}
			set[w] = struct{}{}
		}
	}
	reply(t.statesLocked(ids, stored))
	return nil
}

// Unwatch drops everything w watches.
func (t *Tracker) Unwatch(w Watcher) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unwatchLocked(w)
}

func (t *Tracker) unwatchLocked(w Watcher) {
	for _, id := range t.watching[w] {
		set := t.watchers[id]
		delete(set, w)
		if len(set) == 0 {
			delete(t.watchers, id)
		}
	}
	delete(t.watching, w)
}

// pushLocked sends s to every session watching its member. It runs under
// t.mu, so pushes about one member leave in the order of the changes.
// The frame is encoded once for all of them.
func (t *Tracker) pushLocked(s State) {
	set := t.watchers[s.MemberID]
	if len(set) == 0 {
		return
	}
	frame, err := encodeFrame(s)
	if err != nil {
		t.log.Error("encode presence frame", "member", s.MemberID, "err", err)
		return
	}
	for w := range set {
		w.Send(frame)
	}
}

// encodeFrame builds the WebSocket envelope of a presence push.
func encodeFrame(s State) ([]byte, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}{FramePresence, data})
}
