package bus

// MemberEvent is the payload published on MemberEventsSubject. Nodes act on
// it to close a member's sessions; an unknown Type is ignored, so newer
// nodes may add types without breaking older ones.
type MemberEvent struct {
	Type string `json:"type"`
}

// Member event types.
const (
	// MemberDisabled: the account was disabled; close its sessions for good.
	MemberDisabled = "disabled"
	// MemberRevoked: the member's tokens were revoked (password change or
	// reset); close its sessions so they sign in again.
	MemberRevoked = "revoked"
)
