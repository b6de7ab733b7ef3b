package messaging

import (
	"errors"
	"strings"
	"sync/atomic"

	"parley/chat/conversation"
	"parley/chat/msglog"
)

// Stats counts what the service did since it started, for metrics. Every
// label it uses comes from a fixed list, so the number of series stays
// small whatever members send.
type Stats struct {
	// Stored counts the entries the log stored, by StoredKey: messages,
	// system entries, recalls and forwards alike.
	Stored map[StoredKey]uint64
	// SendRefusals counts refused sends by reason: one of SendRefusalReasons.
	SendRefusals map[string]uint64
}

// StoredKey is the kind of conversation an entry was stored in (one of
// StoredKinds) and the entry's type (one of StoredTypes).
type StoredKey struct {
	Kind, Type string
}

// StoredKinds are the conversation kinds of Stats.Stored. "other" is any
// conversation that is neither a direct one nor a group, such as a
// live's interactions, which share the log.
var StoredKinds = [...]string{kindDirect: string(conversation.KindDirect), kindGroup: string(conversation.KindGroup), kindOther: "other"}

// StoredTypes are the entry types of Stats.Stored; "other" is any type
// not listed before it.
var StoredTypes = [...]string{TypeText, TypeLink, TypeFile, TypeImage, TypeForward, TypeRecall, msglog.TypeSystem, "other"}

// SendRefusalReasons are the reasons of Stats.SendRefusals. They are the
// error codes the WebSocket answers a refused chat.send with.
var SendRefusalReasons = [...]string{
	refusedInvalid:   "invalid_argument",
	refusedTooLarge:  "too_large",
	refusedForbidden: "forbidden",
	refusedNotMember: "not_member",
	refusedDissolved: "dissolved",
	refusedLimit:     "limit_reached",
	refusedInternal:  "internal",
}

// Indexes in StoredKinds.
const (
	kindDirect = iota
	kindGroup
	kindOther
)

// Indexes in SendRefusalReasons.
const (
	refusedInvalid = iota
	refusedTooLarge
	refusedForbidden
	refusedNotMember
	refusedDissolved
	refusedLimit
	refusedInternal
)

// serviceStats holds the counters of Stats: fixed arrays, so counting is
// one atomic add.
type serviceStats struct {
	stored   [len(StoredKinds)][len(StoredTypes)]atomic.Uint64 // by index in StoredKinds, StoredTypes
	refusals [len(SendRefusalReasons)]atomic.Uint64            // by index in SendRefusalReasons
}

// countStored counts one stored entry.
func (st *serviceStats) countStored(e msglog.Entry) {
	kind := kindOther
	switch {
	case strings.HasPrefix(e.ConversationID, conversation.DirectIDPrefix):
		kind = kindDirect
	case strings.HasPrefix(e.ConversationID, conversation.GroupIDPrefix):
		kind = kindGroup
	}
	typ := len(StoredTypes) - 1 // "other"
	for i, t := range StoredTypes[:typ] {
		if e.Type == t {
			typ = i
			break
		}
	}
	st.stored[kind][typ].Add(1)
}

// countSend counts a send's refusal, if err is one.
func (st *serviceStats) countSend(err error) {
	if err != nil {
		st.refusals[refusalReason(err)].Add(1)
	}
}

// refusalReason is the index in SendRefusalReasons of why a send failed,
// as the WebSocket's chat handlers map the same errors.
func refusalReason(err error) int {
	switch {
	case errors.Is(err, conversation.ErrNotMember), errors.Is(err, conversation.ErrNotFound):
		return refusedNotMember
	case errors.Is(err, conversation.ErrForbidden):
		return refusedForbidden
	case errors.Is(err, conversation.ErrDissolved):
		return refusedDissolved
	case errors.Is(err, conversation.ErrLimit):
		return refusedLimit
	case errors.Is(err, ErrTooLarge), errors.Is(err, msglog.ErrTooLarge):
		return refusedTooLarge
	case errors.Is(err, ErrInvalid), errors.Is(err, conversation.ErrInvalid), errors.Is(err, msglog.ErrInvalid):
		return refusedInvalid
	}
	return refusedInternal
}

// Stats returns the service's counters. Every known label combination is
// present, zero or not.
func (s *Service) Stats() Stats {
	out := Stats{Stored: map[StoredKey]uint64{}, SendRefusals: map[string]uint64{}}
	for k, kind := range StoredKinds {
		for t, typ := range StoredTypes {
			out.Stored[StoredKey{Kind: kind, Type: typ}] = s.stats.stored[k][t].Load()
		}
	}
	for i, reason := range SendRefusalReasons {
		out.SendRefusals[reason] = s.stats.refusals[i].Load()
	}
	return out
}
