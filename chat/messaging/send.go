package messaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"parley/chat/conversation"
	"parley/chat/jsonenc"
	"parley/chat/msglog"
)

// Message types a member may send. "system" entries are the server's own.
const (
	TypeText = "text"
	TypeLink = "link"
)

// MentionAll in TextBody.Mentions notifies everyone; only the owner and
// admins of a group may use it.
const MentionAll = "@all"

// MaxMentions caps the mentions of one message.
const MaxMentions = 100

// TextBody is the body of a "text" message.
type TextBody struct {
	Text     string   `json:"text"`
	Mentions []string `json:"mentions,omitempty"`
	ReplyTo  uint64   `json:"reply_to,omitempty"` // seq of the quoted message
}

// textBodyOverhead is about what a text body's JSON adds to its text.
const textBodyOverhead = 16

// appendJSON appends b's canonical JSON, what marshal(b) writes, without
// reflection: it is the body of nearly every message.
func (b TextBody) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"text":`...)
	dst = jsonenc.AppendString(dst, b.Text)
	if len(b.Mentions) > 0 {
		dst = append(dst, `,"mentions":[`...)
		for i, m := range b.Mentions {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonenc.AppendString(dst, m)
		}
		dst = append(dst, ']')
	}
	if b.ReplyTo != 0 {
		dst = append(dst, `,"reply_to":`...)
		dst = strconv.AppendUint(dst, b.ReplyTo, 10)
	}
	return append(dst, '}')
}

// LinkBody is the body of a "link" (rich link) message.
type LinkBody struct {
	URL         string `json:"url"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	ImageURL    string `json:"image_url,omitempty"`
}

// SendRequest is one message from a member.
type SendRequest struct {
	ConversationID string          `json:"conversation_id"`
	ClientMsgID    string          `json:"client_msg_id"`
	Type           string          `json:"type"`
	Body           json.RawMessage `json:"body"`
	// Confidential (保密消息) marks a message that may not be forwarded.
	Confidential bool `json:"confidential,omitempty"`
	// Urgent (强制提醒) makes the message remind the members who have not
	// read it; see UrgentSpec.
	Urgent *UrgentSpec `json:"urgent,omitempty"`
}

// Ack answers a send once the message is durable.
type Ack struct {
	ConversationID string    `json:"conversation_id"`
	ClientMsgID    string    `json:"client_msg_id"`
	Seq            uint64    `json:"seq"`
	CreatedAt      time.Time `json:"created_at"`
	Duplicate      bool      `json:"duplicate"` // a resend: the original ack
}

// AppendJSON appends a's JSON, the bytes encoding/json writes for it with
// HTML escaping off, without its reflection: every durable send is
// answered with one.
func (a Ack) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"conversation_id":`...)
	dst = jsonenc.AppendString(dst, a.ConversationID)
	dst = append(dst, `,"client_msg_id":`...)
	dst = jsonenc.AppendString(dst, a.ClientMsgID)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendUint(dst, a.Seq, 10)
	dst = append(dst, `,"created_at":`...)
	dst = jsonenc.AppendTime(dst, a.CreatedAt)
	dst = append(dst, `,"duplicate":`...)
	dst = strconv.AppendBool(dst, a.Duplicate)
	return append(dst, '}')
}

// Send stores a member's message and fans it out. It returns once the
// message is synced to disk. A resend with the same client_msg_id returns
// the original ack and stores nothing.
func (s *Service) Send(ctx context.Context, sender string, req SendRequest) (_ Ack, err error) {
	defer func() { s.stats.countSend(err) }()
	if req.ClientMsgID == "" {
		return Ack{}, fmt.Errorf("%w: client_msg_id is required", ErrInvalid)
	}
	if err := checkReservedID(req.ClientMsgID); err != nil {
		return Ack{}, err
	}
	body, err := s.checkSend(req, sender)
	var d msglog.Draft
	if err == nil {
		d, err = s.draft(req, sender, body) // merges the confidential and urgent flags
	}
	if err != nil {
		// A resend of a stored message gets its original ack even if the
		// sender could not send it now (muted since, limits lowered).
		if _, memberErr := s.member(req.ConversationID, sender); memberErr == nil {
			if e, ok, lookErr := s.log.Original(req.ConversationID, sender, req.ClientMsgID); lookErr == nil && ok {
				return Ack{ConversationID: e.ConversationID, ClientMsgID: e.ClientMsgID, Seq: e.Seq, CreatedAt: e.CreatedAt, Duplicate: true}, nil
			}
		}
		return Ack{}, err
	}
	e, dup, err := s.log.Append(ctx, d)
	if err != nil {
		if errors.Is(err, msglog.ErrTooLarge) {
			return Ack{}, fmt.Errorf("%w: %v", ErrTooLarge, err)
		}
		return Ack{}, err
	}
	if !dup {
		if req.Urgent != nil {
			s.urgent.Wake() // its first reminder may be due before the scheduler's next
		}
	}
	return Ack{ConversationID: e.ConversationID, ClientMsgID: e.ClientMsgID, Seq: e.Seq, CreatedAt: e.CreatedAt, Duplicate: dup}, nil
}

// checkSend checks that sender may post req now and returns its body in
// canonical form.
func (s *Service) checkSend(req SendRequest, sender string) (json.RawMessage, error) {
	if err := s.convs.CanSend(req.ConversationID, sender); err != nil {
		return nil, err
	}
	return s.checkBody(req, sender)
}

// checkBody validates a message body for its type and returns it in
// canonical form: what is stored is what the server understood.
func (s *Service) checkBody(req SendRequest, sender string) (json.RawMessage, error) {
	switch req.Type {
	case TypeText:
		b, canonical, err := decodeText(req.Body)
		if err != nil {
			return nil, err
		}
		if b.Text == "" {
			return nil, fmt.Errorf("%w: text must not be empty", ErrInvalid)
		}
		if len(b.Text) > s.limits.MaxTextBytes {
			return nil, fmt.Errorf("%w: text is %d bytes; the limit is %d", ErrTooLarge, len(b.Text), s.limits.MaxTextBytes)
		}
		if err := checkText(b.Text); err != nil {
			return nil, err
		}
		if err := s.checkMentions(req.ConversationID, sender, b.Mentions); err != nil {
			return nil, err
		}
		if b.ReplyTo != 0 {
			if err := s.checkReply(req.ConversationID, sender, b.ReplyTo); err != nil {
				return nil, err
			}
		}
		if canonical != nil {
			return canonical, nil
		}
		return b.appendJSON(make([]byte, 0, len(b.Text)+textBodyOverhead)), nil
	case TypeLink:
		var b LinkBody
		if err := strictJSON(req.Body, &b); err != nil {
			return nil, err
		}
		for _, u := range []struct{ name, v string }{{"url", b.URL}, {"image_url", b.ImageURL}} {
			if u.v == "" && u.name == "image_url" {
				continue
			}
			if p, err := url.Parse(u.v); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				return nil, fmt.Errorf("%w: %s must be an http or https URL", ErrInvalid, u.name)
			}
		}
		if len(b.URL)+len(b.Title)+len(b.Description)+len(b.ImageURL) > s.limits.MaxTextBytes {
			return nil, fmt.Errorf("%w: link is larger than %d bytes", ErrTooLarge, s.limits.MaxTextBytes)
		}
		return marshal(b)
	case TypeFile, TypeImage:
		return s.checkFileBody(req, sender)
	}
	return nil, fmt.Errorf("%w: message type %q is not one of %s, %s, %s, %s", ErrInvalid, req.Type, TypeText, TypeLink, TypeFile, TypeImage)
}

func (s *Service) checkMentions(convID, sender string, mentions []string) error {
	if len(mentions) > MaxMentions {
		return fmt.Errorf("%w: at most %d mentions", ErrInvalid, MaxMentions)
	}
	for _, m := range mentions {
		if m == MentionAll {
			if err := s.convs.CanManage(convID, sender); err != nil {
				return fmt.Errorf("%w: only the owner and admins may mention @all", conversation.ErrForbidden)
			}
			continue
		}
		if _, err := s.convs.Membership(convID, m); err != nil {
			return fmt.Errorf("%w: mentioned %s is not a member of this conversation", ErrInvalid, m)
		}
	}
	return nil
}

func (s *Service) checkReply(convID, sender string, seq uint64) error {
	me, err := s.convs.Membership(convID, sender)
	if err != nil {
		return err
	}
	if seq < me.JoinedSeq {
		return fmt.Errorf("%w: reply_to %d is before you joined", ErrInvalid, seq)
	}
	if _, err := s.liveEntry(convID, seq); err != nil {
		return fmt.Errorf("%w: reply_to %d: %v", ErrInvalid, seq, err)
	}
	return nil
}

// decodeText decodes a text body strictly, as strictJSON does. Nearly
// every client sends the body in canonical form, {"text":...} as
// TextBody.appendJSON writes it; such a body cannot hold an unknown field
// or trailing data, so a plain decode whose re-encoding gives back the
// same bytes needs no strict pass, and those bytes are returned as
// canonical. Any other body is decoded strictly and canonical is nil.
func decodeText(raw json.RawMessage) (b TextBody, canonical []byte, err error) {
	if json.Unmarshal(raw, &b) == nil {
		if c := b.appendJSON(make([]byte, 0, len(b.Text)+textBodyOverhead)); bytes.Equal(c, raw) {
			return b, c, nil
		}
	}
	b = TextBody{}
	if err := strictJSON(raw, &b); err != nil {
		return b, nil, err
	}
	return b, nil, nil
}

// strictJSON decodes one JSON object with no unknown fields and nothing
// after it.
func strictJSON(raw json.RawMessage, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: body: unexpected data after the JSON object", ErrInvalid)
	}
	return nil
}

// checkText refuses invalid UTF-8 and control characters other than tab
// and line breaks, which no client means to send and which JSON would
// inflate sixfold.
func checkText(text string) error {
	if !utf8.ValidString(text) {
		return fmt.Errorf("%w: text is not valid UTF-8", ErrInvalid)
	}
	for _, r := range text {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f {
			return fmt.Errorf("%w: text contains control character %U", ErrInvalid, r)
		}
	}
	return nil
}

// member returns memberID's membership of convID, the gate of every read.
func (s *Service) member(convID, memberID string) (conversation.Membership, error) {
	return s.convs.Membership(convID, memberID)
}

// Pull returns entries from fromSeq on, never from before the member
// joined. It is how a client fills a gap.
func (s *Service) Pull(memberID, convID string, fromSeq uint64, limit int) ([]msglog.Entry, error) {
	me, err := s.member(convID, memberID)
	if err != nil {
		return nil, err
	}
	return s.log.Read(convID, max(fromSeq, me.JoinedSeq), limit)
}

// History returns up to limit entries before beforeSeq (0: the newest),
// newest first, stopping where the member joined.
func (s *Service) History(memberID, convID string, beforeSeq uint64, limit int) ([]msglog.Entry, error) {
	me, err := s.member(convID, memberID)
	if err != nil {
		return nil, err
	}
	es, err := s.log.ReadBefore(convID, beforeSeq, limit)
	if err != nil {
		return nil, err
	}
	for i, e := range es {
		if e.Seq < me.JoinedSeq {
			return es[:i], nil
		}
	}
	return es, nil
}

// SyncPage is one page of entries a sync pushes.
type SyncPage struct {
	ConversationID string         `json:"conversation_id"`
	Entries        []msglog.Entry `json:"entries"`
}

// Sync brings a device up to date. cursors holds, per conversation, the
// last seq the device has; a conversation the device does not mention gets
// its most recent entries only. emit receives the missing entries in
// pages, in seq order per conversation, with no gaps; after at most
// SyncMaxEntries the remaining conversations are marked HasMore with the
// NextSeq to pull from. The summaries of every conversation come back.
func (s *Service) Sync(memberID string, cursors map[string]uint64, emit func(SyncPage) error) ([]Summary, error) {
	sums, err := s.Summaries(memberID)
	if err != nil {
		return nil, err
	}
	budget := s.limits.SyncMaxEntries
	for i := range sums {
		sum := &sums[i]
		id := sum.Conversation.ID
		from, ok := cursors[id]
		if ok {
			from++
		} else if sum.LastSeq >= uint64(s.limits.NewDeviceEntries) {
			from = sum.LastSeq - uint64(s.limits.NewDeviceEntries) + 1
		}
		from = max(from, sum.JoinedSeq)
		for from <= sum.LastSeq {
			if budget <= 0 {
				sum.HasMore, sum.NextSeq = true, from
				break
			}
			page, err := s.log.Read(id, from, min(s.limits.SyncPageSize, budget))
			if err != nil {
				return nil, err
			}
			if len(page) == 0 {
				break
			}
			page = cutToBytes(page, s.limits.SyncPageBytes)
			if err := emit(SyncPage{ConversationID: id, Entries: page}); err != nil {
				return nil, err
			}
			budget -= len(page)
			from = page[len(page)-1].Seq + 1
		}
	}
	return sums, nil
}

// Typing tells a conversation's online members that memberID is typing.
// Nothing is stored.
func (s *Service) Typing(memberID, convID string) error {
	if err := s.convs.CanSend(convID, memberID); err != nil {
		return err
	}
	f, err := frame(FrameTyping, map[string]string{"conversation_id": convID, "member_id": memberID})
	if err != nil {
		return err
	}
	return s.fan.Publish(convID, f)
}

// entryOverhead approximates the JSON of an entry besides its body.
const entryOverhead = 200

// cutToBytes keeps the longest prefix of page whose encoding stays within
// limit, and always at least one entry.
func cutToBytes(page []msglog.Entry, limit int) []msglog.Entry {
	size := 0
	for i, e := range page {
		size += len(e.Body) + len(e.ClientMsgID) + entryOverhead
		if size > limit && i > 0 {
			return page[:i]
		}
	}
	return page
}
