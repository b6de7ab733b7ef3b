package msglog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"parley/chat/jsonenc"
	"parley/storage"
)

// Limits on drafts and reads. Each is enforced with ErrInvalid or
// ErrTooLarge naming the field at fault.
const (
	// MaxConversationIDBytes bounds Draft.ConversationID.
	MaxConversationIDBytes = 128
	// MaxSenderIDBytes bounds Draft.SenderID.
	MaxSenderIDBytes = 128
	// MaxClientMsgIDBytes bounds Draft.ClientMsgID.
	MaxClientMsgIDBytes = 64
	// MaxTypeBytes bounds Draft.Type.
	MaxTypeBytes = 32
	// DefaultMaxBodyBytes is Options.MaxBodyBytes when it is zero.
	DefaultMaxBodyBytes = 64 << 10
	// DefaultReadLimit is the page size of Read and ReadBefore when the
	// limit passed is zero or negative.
	DefaultReadLimit = 100
	// MaxReadLimit caps the limit of Read and ReadBefore.
	MaxReadLimit = 1000
)

// TypeSystem is the one entry type the log itself knows: system entries
// (member joined, group renamed) are written by the server, so they may
// carry no client message id.
const TypeSystem = "system"

// Errors returned by the log. Validation errors wrap ErrInvalid or
// ErrTooLarge with the field at fault.
var (
	// ErrInvalid reports a malformed draft or id.
	ErrInvalid = errors.New("msglog: invalid")
	// ErrTooLarge reports a body over Options.MaxBodyBytes.
	ErrTooLarge = errors.New("msglog: body too large")
	// ErrClosed is returned by every method once Close was called.
	ErrClosed = errors.New("msglog: closed")
	// ErrNotFound is returned by Get for a sequence number that is not
	// (durably) stored.
	ErrNotFound = errors.New("msglog: not found")
)

// Entry is one immutable log record. JSON tags are the wire format clients
// see, and the stored form.
type Entry struct {
	ConversationID string          `json:"conversation_id"`
	Seq            uint64          `json:"seq"`
	SenderID       string          `json:"sender_id"`
	ClientMsgID    string          `json:"client_msg_id,omitempty"`
	Type           string          `json:"type"`       // "text", "file", "link", "system", "recall", ... opaque to the log
	Body           json.RawMessage `json:"body"`       // type-specific payload, opaque to the log
	CreatedAt      time.Time       `json:"created_at"` // server time, millisecond precision, set by Append
}

// Draft is a message on its way into the log.
type Draft struct {
	ConversationID string
	SenderID       string
	ClientMsgID    string // required unless Type == "system"
	Type           string
	Body           json.RawMessage
	// OnCommit, when set, adds more writes to the same batch as the entry
	// (indexes, counters, markers), with the assigned seq. It runs on the
	// committer goroutine: it must be quick and must not call back into
	// the Log. Returning an error (or panicking) fails this draft alone.
	// It may run more than once for one draft, with a different seq,
	// when another draft of the same batch fails and the batch is
	// rebuilt; only the writes of the last call are committed.
	OnCommit func(b *storage.Batch, e Entry) error
	// Counted marks an entry readers count as unread: a member's message,
	// as opposed to a system entry or a recall marker, which the log
	// cannot tell apart by type. For each counted entry the log writes,
	// in the entry's commit, the running number of counted entries of the
	// conversation and of the sender, which Counted reads (see count.go).
	Counted bool
}

func invalidf(field, format string, args ...any) error {
	return fmt.Errorf("%w %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}

// checkID validates a string used as a key component: non-empty, valid
// UTF-8 (JSON would silently rewrite anything else), at most max bytes,
// and free of '/' and control bytes so that keys split unambiguously.
func checkID(field, id string, max int) error {
	if id == "" {
		return invalidf(field, "is empty")
	}
	if len(id) > max {
		return invalidf(field, "is %d bytes, more than %d", len(id), max)
	}
	if !utf8.ValidString(id) {
		return invalidf(field, "%q is not valid UTF-8", id)
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == '/' || c < 0x20 || c == 0x7f {
			return invalidf(field, "%q contains '/' or a control character", id)
		}
	}
	return nil
}

// prepare validates d and returns it with its body compacted, so that the
// entry Append returns is byte for byte what later reads return.
func prepare(d Draft, maxBody int) (Draft, error) {
	if err := checkID("conversation_id", d.ConversationID, MaxConversationIDBytes); err != nil {
		return d, err
	}
	if err := checkID("sender_id", d.SenderID, MaxSenderIDBytes); err != nil {
		return d, err
	}
	if err := checkID("type", d.Type, MaxTypeBytes); err != nil {
		return d, err
	}
	if d.ClientMsgID != "" || d.Type != TypeSystem {
		if err := checkID("client_msg_id", d.ClientMsgID, MaxClientMsgIDBytes); err != nil {
			return d, err
		}
	}
	if len(d.Body) > maxBody {
		return d, fmt.Errorf("%w: %d bytes, more than %d", ErrTooLarge, len(d.Body), maxBody)
	}
	if len(d.Body) == 0 {
		d.Body = json.RawMessage("null")
		return d, nil
	}
	var buf bytes.Buffer
	buf.Grow(len(d.Body))
	if err := json.Compact(&buf, d.Body); err != nil {
		return d, invalidf("body", "not JSON: %v", err)
	}
	d.Body = buf.Bytes()
	return d, nil
}

// millisNow is the creation time stamped on entries: UTC, whole
// milliseconds, no monotonic reading, so it survives a JSON round trip
// unchanged.
func millisNow() time.Time {
	return time.UnixMilli(time.Now().UnixMilli()).UTC()
}

// Keys. See storage/keys.go for the table and doc.go for the reasons.

// msgKey is storage.PrefixChatMessage + conv + "/" + seq (8 bytes BE).
func msgKey(conv string, seq uint64) []byte {
	k := make([]byte, 0, len(storage.PrefixChatMessage)+len(conv)+1+8)
	k = append(k, storage.PrefixChatMessage...)
	k = append(k, conv...)
	k = append(k, '/')
	return storage.AppendUint64(k, seq)
}

// msgPrefix is the scan prefix of every entry of conv.
func msgPrefix(conv string) []byte {
	return storage.KeyPrefix(storage.PrefixChatMessage, conv)
}

// dedupKey is storage.PrefixChatDedup + conv + "/" + sender + "/" +
// client msg id; its value is the assigned seq, 8 bytes BE.
func dedupKey(conv, sender, clientMsgID string) []byte {
	return storage.Key(storage.PrefixChatDedup, conv, sender, clientMsgID)
}

// seqFromKey decodes the seq that ends a message key.
func seqFromKey(k []byte) (uint64, error) {
	if len(k) < 8 {
		return 0, fmt.Errorf("message key %q is too short", k)
	}
	return storage.Uint64At(k, len(k)-8), nil
}

// AppendJSON appends e's JSON, its stored form and what clients receive:
// byte for byte what encoding/json writes with HTML escaping off (which
// would rewrite every <, > and & of a body into six bytes), without its
// reflection. Body is copied as it is: the log stores it compacted, as
// encoding/json would write it, and writes null for an empty one.
func (e Entry) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"conversation_id":`...)
	dst = jsonenc.AppendString(dst, e.ConversationID)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, e.Seq, 10)
	dst = append(dst, `,"sender_id":`...)
	dst = jsonenc.AppendString(dst, e.SenderID)
	if e.ClientMsgID != "" {
		dst = append(dst, `,"client_msg_id":`...)
		dst = jsonenc.AppendString(dst, e.ClientMsgID)
	}
	dst = append(dst, `,"type":`...)
	dst = jsonenc.AppendString(dst, e.Type)
	dst = append(dst, `,"body":`...)
	if len(e.Body) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, e.Body...)
	}
	dst = append(dst, `,"created_at":`...)
	dst = jsonenc.AppendTime(dst, e.CreatedAt)
	return append(dst, '}')
}

// entryJSONOverhead is what an entry's JSON adds to its body, ids and
// type at most (field names, quotes, a 20-digit seq, a UTC time), for
// sizing buffers.
const entryJSONOverhead = 160
