package live

import (
	"errors"
	"slices"
	"time"
)

// Errors. Each is wrapped with what failed; match them with errors.Is.
var (
	// ErrNotFound is an unknown live, stream key, link token or viewer
	// record.
	ErrNotFound = errors.New("live not found")
	// ErrInvalid is a malformed argument.
	ErrInvalid = errors.New("invalid argument")
	// ErrState is a change the live's status does not allow.
	ErrState = errors.New("not allowed in the live's status")
	// ErrLimit is a change that would pass one of the named limits.
	ErrLimit = errors.New("limit reached")
)

// Limits. Each is enforced with ErrInvalid or ErrLimit naming the field.
const (
	MaxTitleRunes       = 128
	MaxDescriptionRunes = 4000
	// MaxGuests bounds Live.Guests, the members who co-present.
	MaxGuests = 50
	// MaxScopeDepartments and MaxScopeTags bound an internal scope.
	MaxScopeDepartments = 100
	MaxScopeTags        = 100
	// MaxPasswordHashBytes bounds Scope.PasswordHash (a PHC string).
	MaxPasswordHashBytes = 512
	// MaxSessions bounds Live.Sessions: an encoder that reconnects in a
	// loop cannot grow the record without bound.
	MaxSessions = 1000
	// MaxViewerRecords bounds the joins recorded for one live, so Stats
	// stays one bounded scan.
	MaxViewerRecords = 200_000
	// MaxInteractionKinds bounds the distinct kinds CountInteraction
	// keeps per live.
	MaxInteractionKinds = 32
	// MaxIDBytes bounds ids (member, viewer, department, tag): they are
	// key components.
	MaxIDBytes = 128
	// MaxNameRunes bounds a viewer's display name.
	MaxNameRunes = 64
	// DefaultFlushInterval is how often counters are written when
	// Options.FlushInterval is zero.
	DefaultFlushInterval = 5 * time.Second
	// StreamKeyPrefix starts every stream key, so one is recognized in a
	// config file or a leaked log line.
	StreamKeyPrefix = "sk_"
	// streamKeyBytes is a stream key's entropy (192 bits).
	streamKeyBytes = 24
	// linkTokenBytes is the entropy of a viewer link token (128 bits).
	linkTokenBytes = 16
)

// Status is where a live is in its life.
type Status string

// Statuses. A live is scheduled until its encoder first publishes, live
// while on air, and ended when the encoder stops. An encoder that
// reconnects takes an ended live back on air, as a new Session.
const (
	StatusScheduled Status = "scheduled"
	StatusLive      Status = "live"
	StatusEnded     Status = "ended"
)

// ScopeKind says who a live is for.
type ScopeKind string

// Scope kinds.
const (
	// ScopeInternal: members of the directory, as the Scope's fields say.
	ScopeInternal ScopeKind = "internal"
	// ScopeExternal: anyone with the viewer link (and the password, when
	// there is one), through a restricted viewer token.
	ScopeExternal ScopeKind = "external"
)

// Scope is who may watch a live. For an internal live: every member
// (AllMembers), or the members of Departments (with their
// sub-departments) or of Tags. Host and guests may always watch. An
// external live has none of these, and may have a password.
type Scope struct {
	Kind        ScopeKind `json:"kind"`
	AllMembers  bool      `json:"all_members"`
	Departments []string  `json:"departments"`
	Tags        []string  `json:"tags"`
	// PasswordHash is the argon2id PHC string of an external live's
	// password, or empty. The store never sees the password.
	PasswordHash string `json:"password_hash,omitempty"`
}

// Session is one span on air. End is zero while it lasts.
type Session struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
}

// Live is one live broadcast as stored. The stream key is not part of it.
type Live struct {
	ID             string    `json:"id"`
	Title          string    `json:"title"`
	Description    string    `json:"description,omitempty"`
	ScheduledStart time.Time `json:"scheduled_start,omitzero"`
	HostID         string    `json:"host_id"`
	Guests         []string  `json:"guests"`
	Scope          Scope     `json:"scope"`
	Status         Status    `json:"status"`
	// Record asks for the live to be recorded for replay.
	Record    bool      `json:"record"`
	CreatedAt time.Time `json:"created_at"`
	// StartedAt is when the live first went on air; EndedAt when it last
	// ended (zero while on air again).
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// LinkToken is the secret of an external live's viewer link.
	LinkToken string    `json:"link_token,omitempty"`
	Sessions  []Session `json:"sessions"`
}

// Presents reports whether memberID is the host or one of the guests.
func (l Live) Presents(memberID string) bool {
	return memberID != "" && (memberID == l.HostID || slices.Contains(l.Guests, memberID))
}

// NewLive is what Create needs. HostID is set by the caller from the
// authenticated member.
type NewLive struct {
	Title          string
	Description    string
	ScheduledStart time.Time
	HostID         string
	Guests         []string
	Scope          Scope
	Record         *bool // nil means true
}

// Patch changes a live. Nil fields stay as they are; Scope replaces the
// whole scope, password hash included.
type Patch struct {
	Title          *string
	Description    *string
	ScheduledStart *time.Time
	Guests         *[]string
	Scope          *Scope
	Record         *bool
}

// Viewer is who watches: a member (MemberID set), or an anonymous or
// external viewer. ID tells viewers apart; for a member it is usually the
// member id, for others a guest id from their viewer token.
type Viewer struct {
	ID       string `json:"id"`
	MemberID string `json:"member_id,omitempty"`
	Name     string `json:"name"`
}

// ViewerRecord is one join and, once known, its leave.
type ViewerRecord struct {
	ID       string    `json:"id"`
	LiveID   string    `json:"live_id"`
	Viewer   Viewer    `json:"viewer"`
	JoinedAt time.Time `json:"joined_at"`
	LeftAt   time.Time `json:"left_at,omitzero"`
}

// Open reports whether the record has no leave yet.
func (r ViewerRecord) Open() bool { return r.LeftAt.IsZero() }
