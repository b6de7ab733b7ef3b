package meeting

import (
	"errors"
	"slices"
	"time"
)

// Errors. Each is wrapped with what failed; match them with errors.Is.
var (
	// ErrNotFound is an unknown meeting or attendance record, or a wrong
	// link token: the two are not told apart.
	ErrNotFound = errors.New("meeting not found")
	// ErrInvalid is a malformed argument: an empty title, a schedule that
	// ends before it starts, settings out of range.
	ErrInvalid = errors.New("invalid argument")
	// ErrState is a change the meeting's status does not allow, such as
	// editing an ended meeting or cancelling one that is running.
	ErrState = errors.New("not allowed in the meeting's status")
	// ErrLimit is a change that would pass one of the named limits.
	ErrLimit = errors.New("limit reached")
	// ErrBanned is a join by someone banned from the meeting.
	ErrBanned = errors.New("banned from this meeting")
)

// Limits. Each is enforced with ErrInvalid or ErrLimit naming the field.
const (
	// DefaultMaxParticipants is Settings.MaxParticipants when not set.
	DefaultMaxParticipants = 300
	// MaxParticipantsCap is the most Settings.MaxParticipants may be: what
	// one SFU room is sized for.
	MaxParticipantsCap = 1000
	// MaxTitleRunes bounds Meeting.Title.
	MaxTitleRunes = 128
	// MaxInvitees bounds Meeting.Invitees.
	MaxInvitees = 1000
	// MaxCoHosts bounds Meeting.CoHosts.
	MaxCoHosts = 50
	// MaxBanned bounds Meeting.Banned.
	MaxBanned = 1000
	// MaxScheduledDuration is the longest a scheduled meeting may be
	// planned for.
	MaxScheduledDuration = 24 * time.Hour
	// MaxIDBytes bounds member, guest and meeting ids: they are key
	// components.
	MaxIDBytes = 128
	// MaxNameRunes bounds an attendee's display name.
	MaxNameRunes = 64
	// MaxReasonBytes bounds a leave reason.
	MaxReasonBytes = 64
	// MaxAttendanceRecords bounds the joins recorded for one meeting, so
	// a client that rejoins in a loop cannot grow storage without bound
	// and Stats stays one bounded scan.
	MaxAttendanceRecords = 100_000
	// DefaultListLimit is ListForMember's page size when limit is 0, and
	// MaxListLimit the largest page.
	DefaultListLimit = 50
	MaxListLimit     = 200
	// linkTokenBytes is the entropy of a join link token (128 bits).
	linkTokenBytes = 16
)

// Status is where a meeting is in its life.
type Status string

// Statuses. A meeting starts scheduled (an instant meeting too, until its
// first participant arrives), becomes active when it starts, and ends
// once; a scheduled meeting may be cancelled instead. Ended and cancelled
// are final.
const (
	StatusScheduled Status = "scheduled"
	StatusActive    Status = "active"
	StatusEnded     Status = "ended"
	StatusCancelled Status = "cancelled"
)

// Leave reasons recorded by RecordLeave and MarkEnded. Callers may record
// other short reasons of their own.
const (
	ReasonLeft         = "left"
	ReasonDisconnected = "disconnected"
	ReasonRemoved      = "removed"
	ReasonMeetingEnded = "meeting_ended"
)

// Role is what a member is to a meeting.
type Role string

// Roles, from most to least powerful. RoleNone is a member the meeting
// does not name (who may still join with the link, as a guest would).
const (
	RoleHost    Role = "host"
	RoleCoHost  Role = "cohost"
	RoleInvitee Role = "invitee"
	RoleNone    Role = ""
)

// Settings are the host's choices for a meeting.
type Settings struct {
	// Locked refuses new participants, the host and co-hosts excepted.
	Locked bool `json:"locked"`
	// WaitingRoom holds newcomers until a host admits them.
	WaitingRoom bool `json:"waiting_room"`
	// MuteOnEntry mutes participants' microphones as they join.
	MuteOnEntry bool `json:"mute_on_entry"`
	// AllowScreenShare lets participants other than hosts share a screen.
	AllowScreenShare bool `json:"allow_screen_share"`
	// AllowGuests lets people outside the directory join with the link.
	AllowGuests bool `json:"allow_guests"`
	// AutoRecord starts recording when the meeting starts.
	AutoRecord bool `json:"auto_record"`
	// MaxParticipants caps who may be in the meeting at once, 1 to
	// MaxParticipantsCap.
	MaxParticipants int `json:"max_participants"`
}

// DefaultSettings are a new meeting's settings when its creator says
// nothing: screen sharing allowed, DefaultMaxParticipants, all else off.
func DefaultSettings() Settings {
	return Settings{AllowScreenShare: true, MaxParticipants: DefaultMaxParticipants}
}

// SettingsPatch changes some settings. Nil fields stay as they are. Its
// JSON names are Settings', so a client can send a partial object.
type SettingsPatch struct {
	Locked           *bool `json:"locked"`
	WaitingRoom      *bool `json:"waiting_room"`
	MuteOnEntry      *bool `json:"mute_on_entry"`
	AllowScreenShare *bool `json:"allow_screen_share"`
	AllowGuests      *bool `json:"allow_guests"`
	AutoRecord       *bool `json:"auto_record"`
	MaxParticipants  *int  `json:"max_participants"`
}

// Apply returns s with the patch's set fields changed.
func (p SettingsPatch) Apply(s Settings) Settings {
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&s.Locked, p.Locked)
	set(&s.WaitingRoom, p.WaitingRoom)
	set(&s.MuteOnEntry, p.MuteOnEntry)
	set(&s.AllowScreenShare, p.AllowScreenShare)
	set(&s.AllowGuests, p.AllowGuests)
	set(&s.AutoRecord, p.AutoRecord)
	if p.MaxParticipants != nil {
		s.MaxParticipants = *p.MaxParticipants
	}
	return s
}

// Meeting is one meeting as stored.
type Meeting struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	HostID   string   `json:"host_id"`
	CoHosts  []string `json:"cohosts"`
	Invitees []string `json:"invitees"`
	// ScheduledStart and ScheduledEnd are zero for an instant meeting;
	// ScheduledEnd may be zero when only the start is planned.
	ScheduledStart time.Time `json:"scheduled_start,omitzero"`
	ScheduledEnd   time.Time `json:"scheduled_end,omitzero"`
	Settings       Settings  `json:"settings"`
	// LinkToken is the secret of the join link; whoever has it may ask
	// for a guest token (when Settings.AllowGuests). It is never empty.
	LinkToken string    `json:"link_token,omitempty"`
	Status    Status    `json:"status"`
	CreatedAt time.Time `json:"created_at"`
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at,omitzero"`
	// Banned lists member and guest ids that may not join again.
	Banned []string `json:"banned"`
}

// RoleOf is what memberID is to the meeting.
func (m Meeting) RoleOf(memberID string) Role {
	switch {
	case memberID == "":
		return RoleNone
	case memberID == m.HostID:
		return RoleHost
	case slices.Contains(m.CoHosts, memberID):
		return RoleCoHost
	case slices.Contains(m.Invitees, memberID):
		return RoleInvitee
	}
	return RoleNone
}

// IsHost reports whether memberID is the host or a co-host: those who
// manage the meeting.
func (m Meeting) IsHost(memberID string) bool {
	r := m.RoleOf(memberID)
	return r == RoleHost || r == RoleCoHost
}

// Finished reports whether the meeting has ended or was cancelled.
func (m Meeting) Finished() bool {
	return m.Status == StatusEnded || m.Status == StatusCancelled
}

// participants is everyone the member index lists the meeting under.
func (m Meeting) participants() []string {
	out := make([]string, 0, 1+len(m.CoHosts)+len(m.Invitees))
	out = append(out, m.HostID)
	out = append(out, m.CoHosts...)
	return append(out, m.Invitees...)
}

// NewMeeting is what Create needs. HostID is set by the caller from the
// authenticated member, never from a client's body.
type NewMeeting struct {
	Title          string        `json:"title"`
	HostID         string        `json:"-"`
	Invitees       []string      `json:"invitees"`
	ScheduledStart time.Time     `json:"scheduled_start"`
	ScheduledEnd   time.Time     `json:"scheduled_end"`
	Settings       SettingsPatch `json:"settings"` // applied to DefaultSettings
}

// Patch changes a meeting. Nil fields stay as they are. The schedule can
// change only before the meeting starts.
type Patch struct {
	Title          *string        `json:"title"`
	ScheduledStart *time.Time     `json:"scheduled_start"`
	ScheduledEnd   *time.Time     `json:"scheduled_end"`
	Settings       *SettingsPatch `json:"settings"`
	Invitees       *[]string      `json:"invitees"`
}

// Attendee is who joined: a member, or a guest with a guest id.
type Attendee struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Guest bool   `json:"guest,omitempty"`
}

// Record is one join and, once known, its leave. A record whose leave was
// never recorded (the server stopped) is closed at the meeting's end by
// MarkEnded; until then it is open.
type Record struct {
	ID          string    `json:"id"`
	MeetingID   string    `json:"meeting_id"`
	Attendee    Attendee  `json:"attendee"`
	JoinedAt    time.Time `json:"joined_at"`
	LeftAt      time.Time `json:"left_at,omitzero"`
	LeaveReason string    `json:"leave_reason,omitempty"`
}

// Open reports whether the record has no leave yet.
func (r Record) Open() bool { return r.LeftAt.IsZero() }
