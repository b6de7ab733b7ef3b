package bus

// MemberEvent is the payload published on MemberEventsSubject. Nodes act on
// it to close a member's sessions; an unknown Type is ignored, so newer
// nodes may add types without breaking older ones.
type MemberEvent struct {
	Type string `json:"type"`
	// ConversationID is set on MemberJoinedConversation and
	// MemberLeftConversation.
	ConversationID string `json:"conversation_id,omitempty"`
}

// Member event types.
const (
	// MemberDisabled: the account was disabled; close its sessions for good.
	MemberDisabled = "disabled"
	// MemberRevoked: the member's tokens were revoked (password change or
	// reset); close its sessions so they sign in again.
	MemberRevoked = "revoked"
	// MemberJoinedConversation: the member joined ConversationID; a node
	// where the member is online starts delivering that conversation.
	MemberJoinedConversation = "conversation.joined"
	// MemberLeftConversation: the member left ConversationID.
	MemberLeftConversation = "conversation.left"
)
