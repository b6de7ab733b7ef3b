package bus

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// Subjects used on the bus. Every subject Parley publishes is built here,
// because subjects are a wire contract between nodes that may run different
// versions: change one and old and new nodes stop hearing each other.
//
// Ids inside a subject are encoded as one token with unpadded base64url
// (RFC 4648 §5, alphabet A-Z a-z 0-9 '-' '_'). Ids may contain '.', which
// NATS reads as a token separator, and could contain '*', '>' or spaces,
// which NATS reserves; base64url has none of these, so any id becomes
// exactly one literal token, and the encoding is one-to-one, so the id can
// be read back from the subject. "zhang.san@corp-1" travels as
// "parley.member.emhhbmcuc2FuQGNvcnAtMQ".

// memberEventsPrefix starts every member-events subject.
const memberEventsPrefix = "parley.member."

// MemberEventsWildcard matches the events subject of every member.
const MemberEventsWildcard = memberEventsPrefix + "*"

// subjectToken is the encoding of ids into single subject tokens. Strict
// decoding rejects non-zero trailing bits, so each token decodes from
// exactly one spelling.
var subjectToken = base64.RawURLEncoding.Strict()

// MemberEventsSubject is "parley.member.<encoded id>", the subject of events
// about one member (for example that the member was disabled). Every node
// holding sessions of that member subscribes to it. memberID must not be
// empty.
func MemberEventsSubject(memberID string) string {
	return memberEventsPrefix + subjectToken.EncodeToString([]byte(memberID))
}

// MemberIDFromSubject returns the member id of a subject built by
// MemberEventsSubject, such as the subject of a message received on
// MemberEventsWildcard.
func MemberIDFromSubject(subject string) (string, error) {
	token, ok := strings.CutPrefix(subject, memberEventsPrefix)
	if !ok {
		return "", fmt.Errorf("subject %q is not a member events subject", subject)
	}
	if token == "" {
		return "", errors.New("member events subject has no member id")
	}
	id, err := subjectToken.DecodeString(token)
	if err != nil {
		return "", fmt.Errorf("decode member id in subject %q: %w", subject, err)
	}
	return string(id), nil
}

// conversationPrefix starts every conversation subject.
const conversationPrefix = "parley.conv."

// ConversationSubject is "parley.conv.<encoded id>". Everything that every
// online member of a conversation must see (messages, typing, membership
// changes) is published here once; each node with members of the
// conversation online subscribes, and hands the frame to its local
// sessions.
func ConversationSubject(convID string) string {
	return conversationPrefix + subjectToken.EncodeToString([]byte(convID))
}

// inboxPrefix starts every member inbox subject.
const inboxPrefix = "parley.inbox."

// InboxShards is how many shards the members' inboxes are spread over. A
// node subscribes to a whole shard (InboxShardWildcard) while at least one
// member of it has a session there, rather than to each member's inbox:
// one subscription per online member cost about 1 KB of memory per idle
// connection (in nats.go and in the server's sublist) and one SUB per
// connect that every route had to learn. The price is that a node also
// receives, and drops, the inbox frames of its shards' members who are
// online elsewhere; inbox frames are receipts and membership notices, a
// small share of the traffic. Changing the number, or the hash below,
// changes every inbox subject: all nodes must agree on it.
const InboxShards = 256

// InboxShard returns the shard of memberID's inbox: the 32-bit FNV-1a
// hash of the id, modulo InboxShards. The hash is spelled out here rather
// than taken from a library so that it can never change under a node.
func InboxShard(memberID string) int {
	h := uint32(2166136261)
	for i := 0; i < len(memberID); i++ {
		h ^= uint32(memberID[i])
		h *= 16777619
	}
	return int(h % InboxShards)
}

// InboxSubject is "parley.inbox.<shard>.<encoded id>", with the shard as
// two lowercase hex digits: frames for every device of one member and no
// one else, such as read-receipt updates for a sender.
func InboxSubject(memberID string) string {
	return inboxShardPrefix(InboxShard(memberID)) + subjectToken.EncodeToString([]byte(memberID))
}

// InboxShardWildcard is "parley.inbox.<shard>.*", matching the inbox of
// every member of one shard. shard must be in [0, InboxShards).
func InboxShardWildcard(shard int) string {
	return inboxShardPrefix(shard) + "*"
}

func inboxShardPrefix(shard int) string {
	const hex = "0123456789abcdef"
	return inboxPrefix + string([]byte{hex[shard>>4&0xf], hex[shard&0xf]}) + "."
}

// MemberIDFromInboxSubject returns the member id of a subject built by
// InboxSubject, such as one received on an InboxShardWildcard.
func MemberIDFromInboxSubject(subject string) (string, error) {
	rest, ok := strings.CutPrefix(subject, inboxPrefix)
	if !ok {
		return "", fmt.Errorf("subject %q is not an inbox subject", subject)
	}
	_, token, ok := strings.Cut(rest, ".")
	if !ok || token == "" {
		return "", fmt.Errorf("inbox subject %q has no member id", subject)
	}
	id, err := subjectToken.DecodeString(token)
	if err != nil {
		return "", fmt.Errorf("decode member id in subject %q: %w", subject, err)
	}
	if !strings.HasPrefix(subject, inboxShardPrefix(InboxShard(string(id)))) {
		return "", fmt.Errorf("inbox subject %q names the wrong shard for its member", subject)
	}
	return string(id), nil
}

// presencePrefix starts every presence subject.
const presencePrefix = "parley.presence."

// PresenceWildcard matches the presence subject of every node.
const PresenceWildcard = presencePrefix + "*"

// PresenceSubject is "parley.presence.<encoded node>": the presence
// changes and heartbeats of one node (chat/presence). Every node
// subscribes to PresenceWildcard. Both kinds travel on the node's one
// subject because NATS keeps one publisher's messages in order only per
// subscription: a heartbeat must never overtake the "offline" change that
// followed it. node must not be empty.
func PresenceSubject(node string) string {
	return presencePrefix + subjectToken.EncodeToString([]byte(node))
}
