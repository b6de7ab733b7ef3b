package messaging

import (
	"time"

	"parley/chat/conversation"
	"parley/chat/files"
	"parley/chat/msglog"
)

// ClientLimits are the limits a client needs before it sends, so its UI
// can hold back what the server would refuse (a text too long, a file too
// big, a recall past the window) instead of learning it from an error.
// The server enforces every one of them regardless. The values are the
// ones this server runs with, Limits and the stores' options included;
// GET /api/v1/chat/limits and chat.sync.done carry them.
type ClientLimits struct {
	// MaxTextBytes caps a text message's text, and a link's fields
	// together.
	MaxTextBytes int `json:"max_text_bytes"`
	// MaxFileBytes caps one uploaded file; 0 when this server takes no
	// files.
	MaxFileBytes int64 `json:"max_file_bytes"`
	// MaxFileNameBytes caps an uploaded file's name.
	MaxFileNameBytes int `json:"max_file_name_bytes"`
	// MaxGroupMembers caps a group's members, the owner included.
	MaxGroupMembers int `json:"max_group_members"`
	// MaxMentions caps the mentions of one message.
	MaxMentions int `json:"max_mentions"`
	// MaxForwardItems caps the messages one forward carries.
	MaxForwardItems int `json:"max_forward_items"`
	// MaxClientMsgIDBytes caps a client message id.
	MaxClientMsgIDBytes int `json:"max_client_msg_id_bytes"`
	// RecallWindowSeconds is how long after sending a member may recall
	// their own message (Limits.RecallWindow). A group's owner and admins
	// may recall any message at any time.
	RecallWindowSeconds int64 `json:"recall_window_seconds"`
	// MaxGroupNameChars, MaxAnnouncementChars and MaxWelcomeMessageChars
	// cap a group's settings, in characters (Unicode code points).
	MaxGroupNameChars      int `json:"max_group_name_chars"`
	MaxAnnouncementChars   int `json:"max_announcement_chars"`
	MaxWelcomeMessageChars int `json:"max_welcome_message_chars"`
	// UrgentIntervalMinutes and UrgentMaxRepeats are what an urgent
	// message that does not say gets.
	UrgentIntervalMinutes int `json:"urgent_interval_minutes"`
	UrgentMaxRepeats      int `json:"urgent_max_repeats"`
}

// ClientLimits returns the limits in force on this server.
func (s *Service) ClientLimits() ClientLimits {
	l := ClientLimits{
		MaxTextBytes:           s.limits.MaxTextBytes,
		MaxFileNameBytes:       files.MaxNameBytes,
		MaxGroupMembers:        s.convs.MaxGroupMembers(),
		MaxMentions:            MaxMentions,
		MaxForwardItems:        MaxForwardItems,
		MaxClientMsgIDBytes:    msglog.MaxClientMsgIDBytes,
		RecallWindowSeconds:    int64(s.limits.RecallWindow / time.Second),
		MaxGroupNameChars:      conversation.MaxNameRunes,
		MaxAnnouncementChars:   conversation.MaxAnnouncementRunes,
		MaxWelcomeMessageChars: conversation.MaxWelcomeMessageRunes,
		UrgentIntervalMinutes:  urgentIntervalMinutes(s.limits.UrgentInterval),
		UrgentMaxRepeats:       s.limits.UrgentMaxRepeats,
	}
	if s.files != nil {
		l.MaxFileBytes = s.files.MaxBytes()
	}
	return l
}

// urgentIntervalMinutes is d in whole minutes, rounded up, at least one:
// the interval an urgent message gets when it names none.
func urgentIntervalMinutes(d time.Duration) int {
	return max(1, int((d+time.Minute-1)/time.Minute))
}
