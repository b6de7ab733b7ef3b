package rtc

import (
	"errors"
	"fmt"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/meeting"
)

// Errors. Each is wrapped with what failed; match them with errors.Is.
var (
	// ErrNotFound is an unknown meeting, participant or track.
	ErrNotFound = errors.New("not found")
	// ErrForbidden is a request the participant's role does not allow.
	ErrForbidden = errors.New("forbidden")
	// ErrLocked is a join to a locked meeting.
	ErrLocked = errors.New("the meeting is locked")
	// ErrBanned is a join by someone banned from the meeting. It wraps
	// meeting.ErrBanned, so either matches.
	ErrBanned = fmt.Errorf("banned: %w", meeting.ErrBanned)
	// ErrEnded is a join to a meeting that has ended or was cancelled, or
	// a request in a room that is closing.
	ErrEnded = errors.New("the meeting has ended")
	// ErrLimit is a request that would pass one of the named limits.
	ErrLimit = errors.New("limit reached")
	// ErrInvalid is a malformed request: bad SDP, an unknown source, a
	// track declared twice.
	ErrInvalid = errors.New("invalid argument")
	// ErrState is a request the participant's state does not allow, such
	// as publishing from the waiting room or answering an offer that was
	// never made.
	ErrState = errors.New("not allowed in this state")
	// ErrResume is a resume that cannot be honoured: a wrong token, or a
	// participant whose grace period has passed.
	ErrResume = errors.New("cannot resume")
)

// Role is what a participant may do in a room.
type Role string

// Roles, from most to least powerful. Hosts and co-hosts come from the
// meeting record; everyone else who signed in is a member, and anyone
// who joined with a guest token a guest.
const (
	RoleHost   Role = "host"
	RoleCoHost Role = "cohost"
	RoleMember Role = "member"
	RoleGuest  Role = "guest"
)

// rank orders roles for host controls: an action on a participant needs
// a rank above theirs.
func (r Role) rank() int {
	switch r {
	case RoleHost:
		return 3
	case RoleCoHost:
		return 2
	}
	return 1
}

// IsHost reports whether the role manages the meeting (host or co-host).
func (r Role) IsHost() bool { return r == RoleHost || r == RoleCoHost }

// State is where a participant is in a room.
type State string

// States. A participant waits (when the waiting room is on) until a host
// admits it, is joined, and while its signaling connection is gone is
// reconnecting until it resumes or its grace period ends.
const (
	StateWaiting      State = "waiting"
	StateJoined       State = "joined"
	StateReconnecting State = "reconnecting"
	stateLeft         State = "left"
)

// Source is what a published track carries.
type Source string

// Sources. A participant publishes at most one track of each.
const (
	SourceMicrophone       Source = "microphone"
	SourceCamera           Source = "camera"
	SourceScreenShare      Source = "screen_share"
	SourceScreenShareAudio Source = "screen_share_audio"
)

// Kind is the media kind a source carries: "audio" or "video".
func (s Source) Kind() string {
	switch s {
	case SourceMicrophone, SourceScreenShareAudio:
		return "audio"
	case SourceCamera, SourceScreenShare:
		return "video"
	}
	return ""
}

// IsScreenShare reports whether the source is part of a screen share,
// which the host may disallow.
func (s Source) IsScreenShare() bool {
	return s == SourceScreenShare || s == SourceScreenShareAudio
}

// Leave reasons, sent in participant_left events and recorded in
// attendance.
const (
	ReasonLeft          = meeting.ReasonLeft
	ReasonDisconnected  = meeting.ReasonDisconnected
	ReasonRemoved       = meeting.ReasonRemoved
	ReasonEnded         = meeting.ReasonMeetingEnded
	ReasonDenied        = "denied"
	ReasonReplaced      = "joined_elsewhere"
	ReasonShutdown      = "server_shutdown"
	ReasonScreenBlocked = "screen_share_disabled"
	ReasonUnpublished   = "unpublished"
)

// Config holds the limits and timings of every room on the node.
type Config struct {
	// ReconnectGrace is how long a participant whose connection dropped
	// keeps its place and its tracks, waiting to resume.
	ReconnectGrace time.Duration
	// MaxTracksPerParticipant caps the tracks one participant publishes
	// at once (one per source in any case).
	MaxTracksPerParticipant int
	// MaxPublishBitrate caps, in bits per second, what a participant may
	// send over all its tracks. The server's answer tells the client so
	// (b=TIAS and b=AS on each media section, split between its tracks).
	MaxPublishBitrate int
	// MaxWaiting caps the waiting room of one meeting.
	MaxWaiting int
	// SpeakerInterval is how often the active speakers are ranked; an
	// event goes out only when the ranking changes.
	SpeakerInterval time.Duration
	// MaxSpeakers is how many active speakers an event names.
	MaxSpeakers int
	// EventQueue caps the events queued for one participant. A client
	// that falls this far behind is treated as disconnected.
	EventQueue int
}

// Defaults of Config.
const (
	DefaultReconnectGrace          = 30 * time.Second
	DefaultMaxTracksPerParticipant = 4
	DefaultMaxPublishBitrate       = 6_000_000
	DefaultMaxWaiting              = 200
	DefaultSpeakerInterval         = 300 * time.Millisecond
	DefaultMaxSpeakers             = 3
	DefaultEventQueue              = 1024
)

// Fixed limits.
const (
	// MaxCandidateBytes bounds one trickled ICE candidate.
	MaxCandidateBytes = 1024
	// MaxNameRunes bounds a participant's display name.
	MaxNameRunes = meeting.MaxNameRunes
	// minPublishBitrate is the smallest MaxPublishBitrate that still
	// carries audio and a small video.
	minPublishBitrate = 100_000
)

// DefaultConfig is the configuration of a bare `parley serve`.
func DefaultConfig() Config {
	return Config{
		ReconnectGrace:          DefaultReconnectGrace,
		MaxTracksPerParticipant: DefaultMaxTracksPerParticipant,
		MaxPublishBitrate:       DefaultMaxPublishBitrate,
		MaxWaiting:              DefaultMaxWaiting,
		SpeakerInterval:         DefaultSpeakerInterval,
		MaxSpeakers:             DefaultMaxSpeakers,
		EventQueue:              DefaultEventQueue,
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.ReconnectGrace < 100*time.Millisecond:
		return fmt.Errorf("reconnect grace %s is shorter than 100ms", c.ReconnectGrace)
	case c.MaxTracksPerParticipant < 1 || c.MaxTracksPerParticipant > 4:
		return fmt.Errorf("max tracks per participant %d is outside 1..4 (one per source)", c.MaxTracksPerParticipant)
	case c.MaxPublishBitrate < minPublishBitrate:
		return fmt.Errorf("max publish bitrate %d is below %d bits/s", c.MaxPublishBitrate, minPublishBitrate)
	case c.MaxWaiting < 1:
		return fmt.Errorf("max waiting %d is below 1", c.MaxWaiting)
	case c.SpeakerInterval < 50*time.Millisecond:
		return fmt.Errorf("speaker interval %s is shorter than 50ms", c.SpeakerInterval)
	case c.MaxSpeakers < 1:
		return fmt.Errorf("max speakers %d is below 1", c.MaxSpeakers)
	case c.EventQueue < 16:
		return fmt.Errorf("event queue %d is below 16", c.EventQueue)
	}
	return nil
}

// ParticipantInfo is a participant as the others see it.
type ParticipantInfo struct {
	ID string `json:"participant_id"`
	// UserID is the member id, or for a guest the guest id.
	UserID   string      `json:"user_id"`
	Name     string      `json:"name"`
	Role     Role        `json:"role"`
	State    State       `json:"state"`
	JoinedAt time.Time   `json:"joined_at"`
	Tracks   []TrackInfo `json:"tracks"`
	// Muted lists the sources muted, whether published or not, so a
	// microphone published later starts muted.
	Muted []Source `json:"muted"`
}

// TrackInfo is a published track as subscribers see it.
type TrackInfo struct {
	ID            string `json:"track_id"`
	ParticipantID string `json:"participant_id"`
	Source        Source `json:"source"`
	Kind          string `json:"kind"`
	MimeType      string `json:"mime_type,omitempty"`
	Muted         bool   `json:"muted"`
	// Layers are the simulcast layers ("q", "h", "f" or whatever rids
	// the client chose), empty for a single-layer track.
	Layers []string `json:"layers,omitempty"`
	Width  int      `json:"width,omitempty"`
	Height int      `json:"height,omitempty"`
}

// Snapshot is a room as one participant sees it on joining, on being
// admitted and on resuming: enough to rebuild all state it keeps.
type Snapshot struct {
	MeetingID string          `json:"meeting_id"`
	Title     string          `json:"title"`
	Self      ParticipantInfo `json:"self"`
	// ResumeToken lets this participant resume after its connection
	// drops. Keep it secret; it is as good as the participant.
	ResumeToken string `json:"resume_token"`
	// Participants are the others joined or reconnecting, with their
	// tracks.
	Participants []ParticipantInfo `json:"participants"`
	Settings     meeting.Settings  `json:"settings"`
	// Waiting is the waiting room, sent to hosts and co-hosts only.
	Waiting []ParticipantInfo `json:"waiting,omitempty"`
	// Subscriptions lists the tracks this participant receives.
	Subscriptions []string `json:"subscriptions"`
	// ICEServers are the STUN and TURN servers the client's peer
	// connections should use; empty when the server needs none.
	ICEServers []webrtc.ICEServer `json:"ice_servers"`
	// Recording is the meeting's recording in progress, if any (not sent
	// to a waiting participant).
	Recording *RecordingInfo `json:"recording,omitempty"`
	// RecordingAvailable says this server can record meetings (it has a
	// recording folder), so a client shows a record control to hosts.
	RecordingAvailable bool `json:"recording_available"`
}
