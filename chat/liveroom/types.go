package liveroom

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"parley/chat/msglog"
	"parley/storage"
)

// ConversationPrefix starts the conversation id of every live.
const ConversationPrefix = "live:"

// ConversationID is the chat log conversation that holds a live's
// interactions.
func ConversationID(liveID string) string { return ConversationPrefix + liveID }

// Entry types this package writes to a live's conversation. Each is also
// the type of the frame viewers get when such an entry is stored.
const (
	TypeComment      = "live.comment"      // CommentBody
	TypeQuestion     = "live.question"     // CommentBody
	TypeAnswer       = "live.answer"       // AnswerBody
	TypeAnnouncement = "live.announcement" // CommentBody
	TypeDelete       = "live.delete"       // DeleteBody
	TypeMute         = "live.mute"         // MuteBody
	TypePoll         = "live.poll"         // PollBody: a poll was opened
	TypePollClosed   = "live.poll.closed"  // PollClosedBody
	TypeLottery      = "live.lottery"      // Draw without its id
)

// Frames that carry no log entry: tallies flushed every TallyInterval.
const (
	FrameLikes     = "live.likes"      // LikesTally
	FramePollTally = "live.poll.tally" // PollTally
	FrameViewers   = "live.viewers"    // ViewerCount
	// FrameStatus is sent when the live goes on air or ends: StatusChange.
	FrameStatus = "live.status"
)

// Statuses a FrameStatus announces. They match sfu/live's Status values,
// which this package cannot import.
const (
	StatusLive  = "live"
	StatusEnded = "ended"
)

// Limits that are not configuration. Each is enforced with ErrInvalid or
// ErrTooLarge naming what is at fault.
const (
	// MaxIDBytes bounds live and viewer ids, which are key components.
	MaxIDBytes = 128
	// MaxSenderNameBytes bounds the sender_name stored with an entry.
	MaxSenderNameBytes = 256
	// MaxAnnouncementBytes bounds announcements and answers.
	MaxAnnouncementBytes = 2000
	// MaxLikesPerRequest caps the likes one Like call adds: clients batch
	// a burst of taps into one request.
	MaxLikesPerRequest = 100
	// MaxPollOptions and MinPollOptions bound the options of a poll.
	MaxPollOptions = 10
	MinPollOptions = 2
	// MaxPollQuestionBytes and MaxPollOptionBytes bound a poll's texts.
	MaxPollQuestionBytes = 500
	MaxPollOptionBytes   = 200
	// MaxOpenPolls caps the polls open at once in one live.
	MaxOpenPolls = 5
	// MaxWinners caps the winners of one draw.
	MaxWinners = 1000
	// MaxExclude caps the viewer ids a draw request excludes by name.
	MaxExclude = 1000
	// SeedBytes is the size of a draw's seed.
	SeedBytes = 32
)

// Config holds the limits an operator tunes. Zero fields take the
// DefaultConfig values.
type Config struct {
	// MaxCommentBytes caps the text of one comment or question.
	MaxCommentBytes int
	// TallyInterval is how often, at most, like and poll tallies and the
	// viewer count are flushed and published per live.
	TallyInterval time.Duration
}

// DefaultConfig is the configuration of a stock server.
func DefaultConfig() Config {
	return Config{MaxCommentBytes: 500, TallyInterval: 500 * time.Millisecond}
}

// Errors returned by the service. Validation errors wrap ErrInvalid or
// ErrTooLarge with what is at fault.
var (
	ErrInvalid      = errors.New("invalid")
	ErrTooLarge     = errors.New("too large")
	ErrNotFound     = errors.New("not found")
	ErrMuted        = errors.New("muted by the host")
	ErrAlreadyVoted = errors.New("already voted in this poll")
	ErrPollClosed   = errors.New("poll is closed")
	ErrLimit        = errors.New("limit reached")
	ErrNoneEligible = errors.New("no viewer is eligible")
	ErrClosed       = errors.New("liveroom: closed")
)

// Ack answers a request that stored an entry, once it is durable.
type Ack struct {
	LiveID      string    `json:"live_id"`
	ClientMsgID string    `json:"client_msg_id"`
	Seq         uint64    `json:"seq"`
	CreatedAt   time.Time `json:"created_at"`
	Duplicate   bool      `json:"duplicate"` // a resend: the original ack
}

func ackOf(liveID string, e msglog.Entry, dup bool) Ack {
	return Ack{LiveID: liveID, ClientMsgID: e.ClientMsgID, Seq: e.Seq, CreatedAt: e.CreatedAt, Duplicate: dup}
}

// CommentBody is the body of comments, questions and announcements.
// SenderName is the sender's display name when they posted, kept with the
// entry because viewers with a viewer token cannot look names up.
type CommentBody struct {
	Text       string `json:"text"`
	SenderName string `json:"sender_name,omitempty"`
}

// AnswerBody answers a question. An empty Text only marks the question
// answered (it was answered on stream).
type AnswerBody struct {
	QuestionSeq uint64 `json:"question_seq"`
	Text        string `json:"text,omitempty"`
	SenderName  string `json:"sender_name,omitempty"`
}

// DeleteBody marks a comment or question as deleted by a moderator.
type DeleteBody struct {
	Seq uint64 `json:"seq"`
	By  string `json:"by"`
}

// MuteBody records that a viewer was muted or unmuted.
type MuteBody struct {
	ViewerID string `json:"viewer_id"`
	Muted    bool   `json:"muted"`
}

// PollBody opens a poll; the poll's id is the seq of this entry.
type PollBody struct {
	Question string   `json:"question"`
	Options  []string `json:"options"`
}

// PollClosedBody closes a poll with its final counts.
type PollClosedBody struct {
	PollID uint64   `json:"poll_id"`
	Counts []uint64 `json:"counts"`
	Votes  uint64   `json:"votes"`
}

// LikesTally is the data of a FrameLikes frame.
type LikesTally struct {
	LiveID string `json:"live_id"`
	Total  uint64 `json:"total"`
	Added  uint64 `json:"added"` // since this node's previous tally
}

// PollTally is the data of a FramePollTally frame.
type PollTally struct {
	LiveID string   `json:"live_id"`
	PollID uint64   `json:"poll_id"`
	Counts []uint64 `json:"counts"`
	Votes  uint64   `json:"votes"`
}

// StatusChange is the data of a FrameStatus frame.
type StatusChange struct {
	LiveID string    `json:"live_id"`
	Status string    `json:"status"` // StatusLive or StatusEnded
	At     time.Time `json:"at"`
}

// ViewerCount is the data of a FrameViewers frame.
type ViewerCount struct {
	LiveID string `json:"live_id"`
	Count  int    `json:"count"`
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// checkID validates an id used as a key component: non-empty, valid UTF-8,
// at most MaxIDBytes, free of '/' and control bytes.
func checkID(field, id string) error {
	if id == "" {
		return invalidf("%s is empty", field)
	}
	if len(id) > MaxIDBytes {
		return invalidf("%s is %d bytes, more than %d", field, len(id), MaxIDBytes)
	}
	if !utf8.ValidString(id) {
		return invalidf("%s is not valid UTF-8", field)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == '/' || c < 0x20 || c == 0x7f {
			return invalidf("%s %q contains '/' or a control character", field, id)
		}
	}
	return nil
}

// checkText refuses empty, oversized or malformed text: invalid UTF-8, or
// control characters other than tab and line breaks.
func checkText(field, text string, maxBytes int) error {
	if text == "" {
		return invalidf("%s must not be empty", field)
	}
	if len(text) > maxBytes {
		return fmt.Errorf("%w: %s is %d bytes; the limit is %d", ErrTooLarge, field, len(text), maxBytes)
	}
	if !utf8.ValidString(text) {
		return invalidf("%s is not valid UTF-8", field)
	}
	for _, r := range text {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return invalidf("%s contains control character %U", field, r)
		}
	}
	return nil
}

// checkName validates a sender's display name: empty (none), or valid
// UTF-8 of at most MaxSenderNameBytes without control characters.
func checkName(name string) error {
	if len(name) > MaxSenderNameBytes {
		return fmt.Errorf("%w: sender_name is %d bytes; the limit is %d", ErrTooLarge, len(name), MaxSenderNameBytes)
	}
	if !utf8.ValidString(name) {
		return invalidf("sender_name is not valid UTF-8")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return invalidf("sender_name contains control character %U", r)
		}
	}
	return nil
}

// Participation kinds: what a viewer did, as a lottery condition.
const (
	KindComment  = "comment"  // posted a comment
	KindQuestion = "question" // asked a question
	KindLike     = "like"     // liked
	KindWatch    = "watch"    // joined the live room
)

// Keys. See storage/keys.go for the table.

func seqKey(prefix, liveID string, seq uint64) []byte {
	return storage.AppendUint64(storage.KeyPrefix(prefix, liveID), seq)
}

func mutedKey(liveID, viewerID string) []byte {
	return storage.Key(storage.PrefixLiveRoomMuted, liveID, viewerID)
}

func deletedKey(liveID string, seq uint64) []byte {
	return seqKey(storage.PrefixLiveRoomDeleted, liveID, seq)
}

func answeredKey(liveID string, seq uint64) []byte {
	return seqKey(storage.PrefixLiveRoomAnswered, liveID, seq)
}

func pollKey(liveID string, pollID uint64) []byte {
	return seqKey(storage.PrefixLiveRoomPoll, liveID, pollID)
}

// votePrefix covers every vote of one poll.
func votePrefix(liveID string, pollID uint64) []byte {
	return append(seqKey(storage.PrefixLiveRoomVote, liveID, pollID), '/')
}

func voteKey(liveID string, pollID uint64, viewerID string) []byte {
	return append(votePrefix(liveID, pollID), viewerID...)
}

func likesKey(liveID string) []byte {
	return storage.Key(storage.PrefixLiveRoomLikes, liveID)
}

// partPrefix covers every viewer who did kind in liveID.
func partPrefix(liveID, kind string) []byte {
	return storage.KeyPrefix(storage.PrefixLiveRoomPart, liveID, kind)
}

func partKey(liveID, kind, viewerID string) []byte {
	return storage.Key(storage.PrefixLiveRoomPart, liveID, kind, viewerID)
}

func drawKey(liveID string, seq uint64) []byte {
	return seqKey(storage.PrefixLiveRoomDraw, liveID, seq)
}

func be8(v uint64) []byte { return storage.AppendUint64(nil, v) }
