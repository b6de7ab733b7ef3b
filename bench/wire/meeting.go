package wire

import "encoding/json"

// Meeting signaling over the WebSocket ("Meetings over the WebSocket" in
// signaling/PROTOCOL.md): the requests the generator sends and the
// records it reads. Meeting frames are few (a handful per participant
// and per track), so they go through encoding/json.

// Meeting message types.
const (
	TypeMeetingJoin             = "meeting.join"
	TypeMeetingJoined           = "meeting.joined"
	TypeMeetingPublish          = "meeting.publish"
	TypeMeetingPublished        = "meeting.published"
	TypeMeetingSubscribe        = "meeting.subscribe"
	TypeMeetingSubscriberOffer  = "meeting.subscriber_offer"
	TypeMeetingSubscriberAnswer = "meeting.subscriber_answer"
	TypeMeetingTrackPublished   = "meeting.track_published"
	TypeMeetingHostEnd          = "meeting.host.end"
	TypeMeetingHostRecord       = "meeting.host.record"
	TypeMeetingRecording        = "meeting.recording"
	TypeMeetingOK               = "meeting.ok"
	TypeMeetingEnded            = "meeting.ended"
	TypeMeetingRemoved          = "meeting.removed"
)

// Meeting sources (what a published track carries).
const (
	SourceMicrophone = "microphone"
	SourceCamera     = "camera"
)

// Message is the envelope of every WebSocket message (PROTOCOL.md,
// section 6).
type Message struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// ErrorData is the data of an error message.
type ErrorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// MeetingTrack is a published track.
type MeetingTrack struct {
	TrackID       string   `json:"track_id"`
	ParticipantID string   `json:"participant_id"`
	Source        string   `json:"source"`
	Kind          string   `json:"kind"`
	MimeType      string   `json:"mime_type"`
	Muted         bool     `json:"muted"`
	Layers        []string `json:"layers"`
}

// MeetingParticipant is a participant as the others see it.
type MeetingParticipant struct {
	ParticipantID string         `json:"participant_id"`
	UserID        string         `json:"user_id"`
	Role          string         `json:"role"`
	State         string         `json:"state"`
	Tracks        []MeetingTrack `json:"tracks"`
}

// MeetingSnapshot is the room as a participant sees it on joining.
type MeetingSnapshot struct {
	MeetingID     string               `json:"meeting_id"`
	Self          MeetingParticipant   `json:"self"`
	Participants  []MeetingParticipant `json:"participants"`
	Subscriptions []string             `json:"subscriptions"`
}

// MeetingJoin is the data of meeting.join.
type MeetingJoin struct {
	MeetingID     string `json:"meeting_id"`
	AutoSubscribe bool   `json:"auto_subscribe"`
}

// PublishTrack declares one sending section of a publisher offer.
type PublishTrack struct {
	Mid    string `json:"mid"`
	Source string `json:"source"`
}

// MeetingPublish is the data of meeting.publish.
type MeetingPublish struct {
	SDP    string         `json:"sdp"`
	Tracks []PublishTrack `json:"tracks"`
}

// MeetingPublished is the data of meeting.published.
type MeetingPublished struct {
	SDP    string         `json:"sdp"`
	Tracks []MeetingTrack `json:"tracks"`
}

// SDP is the data of meeting.subscriber_offer and
// meeting.subscriber_answer.
type SDP struct {
	SDP string `json:"sdp"`
}

// MeetingSubscribe is the data of meeting.subscribe.
type MeetingSubscribe struct {
	TrackID string `json:"track_id"`
}

// MeetingHostRecord is the data of meeting.host.record.
type MeetingHostRecord struct {
	Recording bool `json:"recording"`
}

// MeetingRecordingState is the data of the meeting.ok that answers
// meeting.host.record, and of the meeting.recording push.
type MeetingRecordingState struct {
	RecordingID string `json:"recording_id"`
	State       string `json:"state"`
	By          string `json:"by"`
	Reason      string `json:"reason"`
}

// Recording states and stop reasons of meeting.recording.
const (
	RecordingStarted      = "started"
	RecordingStopped      = "stopped"
	RecordingRequested    = "requested"
	RecordingMeetingClose = "meeting_closed"
)
