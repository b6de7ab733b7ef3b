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

// InboxSubject is "parley.inbox.<encoded id>": frames for every device of
// one member and no one else, such as read-receipt updates for a sender.
// Nodes subscribe while the member has a session there.
func InboxSubject(memberID string) string {
	return inboxPrefix + subjectToken.EncodeToString([]byte(memberID))
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
