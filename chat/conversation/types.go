package conversation

import (
	"errors"
	"time"
)

// Errors returned by Store methods. Callers match them with errors.Is; the
// wrapped message names the conversation, member or field at fault.
var (
	// ErrNotFound reports a conversation that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrNotMember reports a member who does not belong to the conversation.
	ErrNotMember = errors.New("not a member")
	// ErrInvalid reports a malformed id or field, or an operation that does
	// not apply to the conversation's kind.
	ErrInvalid = errors.New("invalid")
	// ErrLimit reports a change that would exceed a named limit.
	ErrLimit = errors.New("limit exceeded")
	// ErrConflict reports a change the current state does not allow, such
	// as the owner leaving without first transferring ownership.
	ErrConflict = errors.New("conflict")
	// ErrForbidden reports a member who may not do what they asked.
	ErrForbidden = errors.New("forbidden")
	// ErrDissolved reports a change to, or a send in, a dissolved group.
	ErrDissolved = errors.New("group dissolved")
)

// Limits. Each is enforced with ErrInvalid or ErrLimit naming the field.
const (
	// DefaultMaxGroupMembers is Options.MaxGroupMembers when it is zero.
	DefaultMaxGroupMembers = 2000
	// MaxIDBytes bounds conversation and member ids. It matches the
	// message log's bound on conversation and sender ids.
	MaxIDBytes = 128
	// MaxNameRunes bounds a group's name.
	MaxNameRunes = 64
	// MaxAnnouncementRunes bounds a group's announcement.
	MaxAnnouncementRunes = 2000
	// MaxWelcomeMessageRunes bounds a group's welcome message.
	MaxWelcomeMessageRunes = 500
	// MaxAvatarURLBytes bounds a group's avatar URL.
	MaxAvatarURLBytes = 2048
)

// Id prefixes. Direct ids are derived from the pair of members; group ids
// are random. The prefix alone tells the two kinds apart.
const (
	DirectIDPrefix = "d_"
	GroupIDPrefix  = "g_"
)

// Kind says whether a conversation is between two people or a group.
type Kind string

// Conversation kinds.
const (
	KindDirect Kind = "direct"
	KindGroup  Kind = "group"
)

// Role is a member's standing in a group. Both members of a direct
// conversation are RoleMember.
type Role string

// Roles, from most to least privileged. A group has exactly one owner.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// rank orders roles for moderation: a higher rank may remove or mute a
// lower one.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// Conversation is a direct conversation or a group. It is stored as JSON
// at chat/conv/<id>; the JSON tags are also what clients see.
type Conversation struct {
	ID             string    `json:"id"`
	Kind           Kind      `json:"kind"`
	Name           string    `json:"name,omitempty"`
	AvatarURL      string    `json:"avatar_url,omitempty"`
	OwnerID        string    `json:"owner_id,omitempty"`
	Announcement   string    `json:"announcement,omitempty"`
	WelcomeMessage string    `json:"welcome_message,omitempty"`
	MuteAll        bool      `json:"mute_all"`
	Dissolved      bool      `json:"dissolved"`
	MemberCount    int       `json:"member_count"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Membership is one member's place in a conversation, stored as JSON at
// chat/conv-member/<conv>/<member>.
type Membership struct {
	MemberID string `json:"member_id"`
	Role     Role   `json:"role"`
	Muted    bool   `json:"muted"`
	// JoinedSeq is the seq of the system log entry that added the member.
	// The member sees the log from this seq on.
	JoinedSeq uint64    `json:"joined_seq"`
	JoinedAt  time.Time `json:"joined_at"`
}

// Cursors are one member's positions in a conversation's log. Both only
// move forward.
type Cursors struct {
	// Read is the highest seq the member has read. It starts at
	// JoinedSeq-1: what came before the member joined counts as seen.
	Read uint64 `json:"read"`
	// Delivered is the highest seq a device of the member acknowledged.
	// Reading implies delivery, so it is never below Read.
	Delivered uint64 `json:"delivered"`
	// JoinedSeq copies Membership.JoinedSeq so that unread counts and read
	// receipts need only this record.
	JoinedSeq uint64 `json:"joined_seq"`
}

// Seen is the highest seq that counts as seen: the read cursor, or the
// entry before the member joined if that is higher (entries before the
// member joined never count as unread).
func (c Cursors) Seen() uint64 {
	if c.JoinedSeq > 0 && c.JoinedSeq-1 > c.Read {
		return c.JoinedSeq - 1
	}
	return c.Read
}

// Unread is how many entries of any kind up to lastSeq, the
// conversation's last seq, follow Seen. The unread count clients see
// counts messages only (messaging.Summary.Unread); this is its upper
// bound.
func (c Cursors) Unread(lastSeq uint64) uint64 {
	seen := c.Seen()
	if lastSeq <= seen {
		return 0
	}
	return lastSeq - seen
}

// Patch is a change to a group's settings. Nil fields are left alone; a
// non-nil empty string clears an optional field (the name cannot be
// cleared).
type Patch struct {
	Name           *string `json:"name,omitempty"`
	AvatarURL      *string `json:"avatar_url,omitempty"`
	Announcement   *string `json:"announcement,omitempty"`
	WelcomeMessage *string `json:"welcome_message,omitempty"`
	MuteAll        *bool   `json:"mute_all,omitempty"`
}

// Options tune a Store. The zero value uses the defaults.
type Options struct {
	// MaxGroupMembers bounds a group's members, the owner included. Zero
	// means DefaultMaxGroupMembers.
	MaxGroupMembers int
}
