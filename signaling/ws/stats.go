package ws

import (
	"sync"
	"sync/atomic"
)

// UnknownType is the message type Stats counts a message under when no
// handler serves its type, or it did not decode: clients choose types,
// and only the registered ones may become metric labels.
const UnknownType = "unknown"

// Stats counts what a hub did since it was made, for metrics.
type Stats struct {
	// Sessions is the open sessions now.
	Sessions int
	// Requests counts inbound messages by type: every registered type,
	// and UnknownType.
	Requests map[string]uint64
	// Errors counts the error replies by the type of the request they
	// answer and their code. Codes come from the handlers' constants.
	Errors map[ErrorKey]uint64
	// Delivered counts the frames DeliverToMember queued on sessions,
	// one per session.
	Delivered uint64
	// TooSlow counts the sessions closed because their send queue
	// overflowed (CloseTooSlow); their clients resync on reconnecting.
	TooSlow uint64
}

// ErrorKey is a request type and an error code.
type ErrorKey struct {
	Type, Code string
}

// hubStats holds the counters of Stats. requests is filled by NewHub
// and Handle before the hub serves, and only read afterwards.
type hubStats struct {
	requests  map[string]*atomic.Uint64
	errors    sync.Map // ErrorKey → *atomic.Uint64
	delivered atomic.Uint64
	tooSlow   atomic.Uint64
}

// register makes the request counter of a message type.
func (st *hubStats) register(typ string) {
	if st.requests == nil {
		st.requests = map[string]*atomic.Uint64{UnknownType: new(atomic.Uint64)}
	}
	if st.requests[typ] == nil {
		st.requests[typ] = new(atomic.Uint64)
	}
}

// label is typ if a handler serves it, else UnknownType.
func (st *hubStats) label(typ string) string {
	if _, ok := st.requests[typ]; ok {
		return typ
	}
	return UnknownType
}

// countRequest counts one inbound message.
func (st *hubStats) countRequest(typ string) {
	st.requests[st.label(typ)].Add(1)
}

// countError counts one error reply to a request of type typ.
func (st *hubStats) countError(typ, code string) {
	key := ErrorKey{Type: st.label(typ), Code: code}
	c, ok := st.errors.Load(key)
	if !ok {
		c, _ = st.errors.LoadOrStore(key, new(atomic.Uint64))
	}
	c.(*atomic.Uint64).Add(1)
}

// Stats reports the hub's sessions and counters.
func (h *Hub) Stats() Stats {
	st := Stats{
		Sessions:  h.Count(),
		Requests:  make(map[string]uint64, len(h.stats.requests)),
		Errors:    map[ErrorKey]uint64{},
		Delivered: h.stats.delivered.Load(),
		TooSlow:   h.stats.tooSlow.Load(),
	}
	for typ, c := range h.stats.requests {
		st.Requests[typ] = c.Load()
	}
	h.stats.errors.Range(func(k, c any) bool {
		st.Errors[k.(ErrorKey)] = c.(*atomic.Uint64).Load()
		return true
	})
	return st
}
