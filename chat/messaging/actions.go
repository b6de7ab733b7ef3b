package messaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"parley/chat/conversation"
	"parley/chat/msglog"
	"parley/chat/urgent"
	"parley/storage"
)

// Actions on messages already sent: recalling one, forwarding some to
// another conversation, and the flags a send may carry (confidential,
// urgent). The log is immutable, so a recall and a forward are new
// entries; the recalled entry itself stays as it was, and clients apply
// the recall entry to it.

// Entry types written by this file.
const (
	// TypeRecall marks an earlier entry as recalled; its body is a
	// RecallBody.
	TypeRecall = "recall"
	// TypeForward carries copies of messages from another conversation;
	// its body is a ForwardBody.
	TypeForward = "forward"
)

// FrameUrgent reminds a member of an urgent message they have not read.
// Its data is an urgent.Notice.
const FrameUrgent = "chat.urgent"

// MaxForwardItems caps the messages one forward carries.
const MaxForwardItems = 100

// RecallClientMsgIDPrefix starts the client message id of every recall
// entry ("recall:<seq>"). Members may not use it for their own messages,
// so a recall can never be mistaken for a resend of one.
const RecallClientMsgIDPrefix = "recall:"

// Body keys of the flags a send may carry, stored at the top level of the
// message's body beside its own fields.
const (
	flagConfidential = "confidential"
	flagUrgent       = "urgent"
)

// UrgentSpec asks for reminders of an urgent message. Zero fields take the
// server's defaults (Limits.UrgentInterval, Limits.UrgentMaxRepeats); the
// stored body holds the values in force.
type UrgentSpec struct {
	IntervalMinutes int `json:"interval_minutes,omitempty"`
	MaxRepeats      int `json:"max_repeats,omitempty"`
}

// RecallBody is the body of a "recall" entry: which entry was recalled,
// and by whom (its sender, or a group's owner or admin).
type RecallBody struct {
	Seq uint64 `json:"seq"`
	By  string `json:"by"`
}

// ForwardBody is the body of a "forward" entry.
type ForwardBody struct {
	FromConversationID string        `json:"from_conversation_id"`
	Items              []ForwardItem `json:"items"`
}

// ForwardItem is one forwarded message as it was in its conversation,
// without its confidential and urgent flags.
type ForwardItem struct {
	Seq       uint64          `json:"seq"`
	SenderID  string          `json:"sender_id"`
	Type      string          `json:"type"`
	Body      json.RawMessage `json:"body"`
	CreatedAt time.Time       `json:"created_at"`
}

// urgentScheduler is the part of *urgent.Scheduler the service uses.
type urgentScheduler interface {
	Stage(b *storage.Batch, it urgent.Item) error
	Wake()
}

// SetUrgent lets the service accept urgent messages, whose reminders u
// schedules. It is a setter rather than a Deps field because the scheduler
// in turn notifies through the service. Call it before the service is
// used; without it urgent sends are refused.
func (s *Service) SetUrgent(u *urgent.Scheduler) {
	if u != nil { // a nil *Scheduler in the interface would not compare nil
		s.urgent = u
	}
}

// checkReservedID refuses a member's client message id in the recall
// entries' namespace. It runs before anything else, so such an id is never
// answered as a resend of a recall.
func checkReservedID(clientMsgID string) error {
	if strings.HasPrefix(clientMsgID, RecallClientMsgIDPrefix) {
		return fmt.Errorf("%w: client_msg_id must not start with %q", ErrInvalid, RecallClientMsgIDPrefix)
	}
	return nil
}

// draft turns a checked send into a log draft: the canonical body with
// the send's flags merged in and, for an urgent message, the first
// reminder staged in the same commit. A member's message counts as
// unread for the others (see unreadFor).
func (s *Service) draft(req SendRequest, sender string, body json.RawMessage) (msglog.Draft, error) {
	d := msglog.Draft{ConversationID: req.ConversationID, SenderID: sender, ClientMsgID: req.ClientMsgID, Type: req.Type, Body: body, Counted: true}
	if !req.Confidential && req.Urgent == nil {
		return d, nil
	}
	var flags struct {
		Confidential bool        `json:"confidential,omitempty"`
		Urgent       *UrgentSpec `json:"urgent,omitempty"`
	}
	flags.Confidential = req.Confidential
	if req.Urgent != nil {
		spec, err := s.checkUrgent(req.ConversationID, sender, *req.Urgent)
		if err != nil {
			return d, err
		}
		flags.Urgent = &spec
		sched := s.urgent
		d.OnCommit = func(b *storage.Batch, e msglog.Entry) error {
			return sched.Stage(b, urgent.Item{
				ConversationID: e.ConversationID, Seq: e.Seq, SenderID: e.SenderID,
				Repeat: 1, MaxRepeats: spec.MaxRepeats, Interval: time.Duration(spec.IntervalMinutes) * time.Minute,
			})
		}
	}
	raw, err := marshal(flags)
	if err != nil {
		return d, fmt.Errorf("encode message flags: %w", err)
	}
	d.Body, err = mergeObjects(body, raw)
	return d, err
}

// checkUrgent checks that sender may send an urgent message in convID
// (anyone in a direct conversation, the owner and admins in a group) and
// returns spec with the defaults filled in.
func (s *Service) checkUrgent(convID, sender string, spec UrgentSpec) (UrgentSpec, error) {
	if s.urgent == nil {
		return spec, fmt.Errorf("%w: urgent messages are not enabled on this server", ErrInvalid)
	}
	conv, err := s.convs.Get(convID)
	if err != nil {
		return spec, err
	}
	if conv.Kind == conversation.KindGroup {
		if err := s.convs.CanManage(convID, sender); err != nil {
			return spec, fmt.Errorf("%w: only the owner and admins of a group may send urgent messages", conversation.ErrForbidden)
		}
	}
	if spec.IntervalMinutes == 0 {
		spec.IntervalMinutes = urgentIntervalMinutes(s.limits.UrgentInterval)
	}
	if spec.MaxRepeats == 0 {
		spec.MaxRepeats = s.limits.UrgentMaxRepeats
	}
	lo, hi := int(urgent.MinInterval/time.Minute), int(urgent.MaxInterval/time.Minute)
	if spec.IntervalMinutes < lo || spec.IntervalMinutes > hi {
		return spec, fmt.Errorf("%w: urgent interval_minutes must be %d to %d", ErrInvalid, lo, hi)
	}
	if spec.MaxRepeats < 1 || spec.MaxRepeats > urgent.MaxRepeats {
		return spec, fmt.Errorf("%w: urgent max_repeats must be 1 to %d", ErrInvalid, urgent.MaxRepeats)
	}
	return spec, nil
}

// mergeObjects appends the fields of the JSON object extra to the JSON
// object body, both compact, keeping body's fields first and in order.
func mergeObjects(body, extra json.RawMessage) (json.RawMessage, error) {
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' || len(extra) < 2 || extra[0] != '{' {
		return nil, fmt.Errorf("merge message flags: body is not a JSON object")
	}
	if len(extra) == 2 {
		return body, nil
	}
	out := make([]byte, 0, len(body)+len(extra))
	out = append(out, body[:len(body)-1]...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	return append(out, extra[1:]...), nil
}

// stripFlags returns body without its confidential and urgent fields,
// the other fields in their order. A body without them is returned as is.
func stripFlags(body json.RawMessage) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return body, nil // not an object: no flags to strip
	}
	_, c := fields[flagConfidential]
	_, u := fields[flagUrgent]
	if !c && !u {
		return body, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if _, err := dec.Token(); err != nil { // the opening brace
		return nil, err
	}
	out := []byte{'{'}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		if key == flagConfidential || key == flagUrgent {
			continue
		}
		k, err := marshal(key)
		if err != nil {
			return nil, err
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(append(append(out, k...), ':'), v...)
	}
	return append(out, '}'), nil
}

// isConfidential reports whether a stored body carries the confidential
// flag.
func isConfidential(body json.RawMessage) (bool, error) {
	var f struct {
		Confidential bool `json:"confidential"`
	}
	if len(body) == 0 || body[0] != '{' {
		return false, nil
	}
	if err := json.Unmarshal(body, &f); err != nil {
		return false, fmt.Errorf("decode message body: %w", err)
	}
	return f.Confidential, nil
}

// NotifyUrgent reminds memberIDs' devices of an urgent message with one
// chat.urgent frame each. The urgent scheduler calls it for the members
// who have not read the message.
func (s *Service) NotifyUrgent(memberIDs []string, n urgent.Notice) {
	f, err := frame(FrameUrgent, n)
	if err != nil {
		s.logger.Warn("chat: encode urgent reminder", "conversation", n.ConversationID, "seq", n.Seq, "err", err)
		return
	}
	for _, m := range memberIDs {
		if err := s.fan.SendToMember(m, f); err != nil {
			s.logger.Warn("chat: send urgent reminder", "member", m, "conversation", n.ConversationID, "seq", n.Seq, "err", err)
		}
	}
}

// recalledKey is storage.PrefixChatRecalled + conv + "/" + seq (BE8).
func recalledKey(convID string, seq uint64) []byte {
	return storage.AppendUint64(storage.KeyPrefix(storage.PrefixChatRecalled, convID), seq)
}

// keyID reports whether id is safe as a key component: not empty, no '/'
// and no control bytes.
func keyID(id string) bool {
	for i := 0; i < len(id); i++ {
		if c := id[i]; c == '/' || c < 0x20 || c == 0x7f {
			return false
		}
	}
	return id != ""
}

// Recalled reports whether entry seq of convID was recalled, and if so the
// seq of the recall entry. The original entry stays in the log unchanged.
func (s *Service) Recalled(convID string, seq uint64) (recallSeq uint64, recalled bool, err error) {
	if s.db == nil {
		return 0, false, nil
	}
	if !keyID(convID) {
		return 0, false, fmt.Errorf("%w: conversation id %q", ErrInvalid, convID)
	}
	raw, err := s.db.Get(recalledKey(convID, seq))
	if errors.Is(err, storage.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("look up recall of %s seq %d: %w", convID, seq, err)
	}
	if len(raw) != 8 {
		return 0, false, fmt.Errorf("recall marker of %s seq %d is %d bytes, want 8", convID, seq, len(raw))
	}
	return storage.Uint64At(raw, 0), true, nil
}

// liveEntry returns entry seq of convID unless it was recalled: what a
// reply may quote and a forward may copy.
func (s *Service) liveEntry(convID string, seq uint64) (msglog.Entry, error) {
	e, err := s.log.Get(convID, seq)
	if err != nil {
		return msglog.Entry{}, err
	}
	if _, recalled, err := s.Recalled(convID, seq); err != nil {
		return msglog.Entry{}, err
	} else if recalled {
		return msglog.Entry{}, fmt.Errorf("message %d was recalled", seq)
	}
	return e, nil
}

// Recall recalls message seq of convID: its sender may within
// Limits.RecallWindow, a group's owner and admins at any time. It appends
// a "recall" entry naming seq, and in the same commit marks seq recalled
// (see Recalled). Recalling a recalled message again returns the ack of
// the recall entry with Duplicate set, whoever recalled it.
func (s *Service) Recall(ctx context.Context, actor, convID string, seq uint64) (Ack, error) {
	if s.db == nil {
		return Ack{}, fmt.Errorf("%w: recall is not enabled on this server", ErrInvalid)
	}
	unlock := s.convs.Lock(convID) // one recall of a message, even by two members at once
	e, dup, err := s.recallLocked(ctx, actor, convID, seq)
	unlock()
	if err != nil {
		return Ack{}, err
	}
	return Ack{ConversationID: e.ConversationID, ClientMsgID: e.ClientMsgID, Seq: e.Seq, CreatedAt: e.CreatedAt, Duplicate: dup}, nil
}

func (s *Service) recallLocked(ctx context.Context, actor, convID string, seq uint64) (msglog.Entry, bool, error) {
	me, err := s.member(convID, actor)
	if err != nil {
		return msglog.Entry{}, false, err
	}
	if seq < me.JoinedSeq {
		return msglog.Entry{}, false, fmt.Errorf("%w: message %d is from before you joined", ErrInvalid, seq)
	}
	orig, err := s.log.Get(convID, seq)
	if err != nil {
		return msglog.Entry{}, false, err
	}
	if orig.Type == msglog.TypeSystem || orig.Type == TypeRecall {
		return msglog.Entry{}, false, fmt.Errorf("%w: %s entries cannot be recalled", ErrInvalid, orig.Type)
	}
	manager := me.Role == conversation.RoleOwner || me.Role == conversation.RoleAdmin
	if orig.SenderID != actor && !manager {
		return msglog.Entry{}, false, fmt.Errorf("%w: only the sender, or a group's owner and admins, may recall a message", conversation.ErrForbidden)
	}
	if recallSeq, recalled, err := s.Recalled(convID, seq); err != nil {
		return msglog.Entry{}, false, err
	} else if recalled {
		e, err := s.log.Get(convID, recallSeq)
		return e, true, err
	}
	if !manager && time.Since(orig.CreatedAt) > s.limits.RecallWindow {
		return msglog.Entry{}, false, fmt.Errorf("%w: messages can be recalled only within %s of sending", conversation.ErrForbidden, s.limits.RecallWindow)
	}
	conv, err := s.convs.Get(convID)
	if err != nil {
		return msglog.Entry{}, false, err
	}
	if conv.Dissolved {
		return msglog.Entry{}, false, fmt.Errorf("conversation %s: %w", convID, conversation.ErrDissolved)
	}
	body, err := marshal(RecallBody{Seq: seq, By: actor})
	if err != nil {
		return msglog.Entry{}, false, fmt.Errorf("encode recall: %w", err)
	}
	e, dup, err := s.log.Append(ctx, msglog.Draft{
		ConversationID: convID,
		SenderID:       actor,
		ClientMsgID:    RecallClientMsgIDPrefix + strconv.FormatUint(seq, 10),
		Type:           TypeRecall,
		Body:           body,
		OnCommit: func(b *storage.Batch, e msglog.Entry) error {
			b.Set(recalledKey(convID, seq), storage.AppendUint64(nil, e.Seq))
			return nil
		},
	})
	if err != nil {
		return msglog.Entry{}, false, fmt.Errorf("recall %s seq %d: %w", convID, seq, err)
	}
	if dup && e.Type != TypeRecall {
		// Members cannot use the prefix (see draft), so only an entry
		// stored before that rule could hold this id.
		return msglog.Entry{}, false, fmt.Errorf("recall %s seq %d: client msg id %s is taken by entry %d", convID, seq, e.ClientMsgID, e.Seq)
	}
	return e, dup, nil
}

// Forward copies messages seqs of fromConv into one new "forward" entry
// of toConv, sent by actor. actor must be in both conversations and may
// send in toConv; each message must be one actor can see (not from before
// they joined), a message rather than a system or recall entry, not
// recalled, and not confidential (conversation.ErrForbidden). Like a send
// it is idempotent by clientMsgID.
//
// Bodies are copied as stored, minus their confidential and urgent flags.
// Files a copied body refers to are not copied or shared with toConv.
func (s *Service) Forward(ctx context.Context, actor, fromConv string, seqs []uint64, toConv, clientMsgID string) (Ack, error) {
	if clientMsgID == "" {
		return Ack{}, fmt.Errorf("%w: client_msg_id is required", ErrInvalid)
	}
	if err := checkReservedID(clientMsgID); err != nil {
		return Ack{}, err
	}
	body, err := s.checkForward(actor, fromConv, seqs, toConv)
	if err != nil {
		// As in Send: a resend gets its original ack even if the forward
		// would be refused now.
		if _, memberErr := s.member(toConv, actor); memberErr == nil {
			if e, ok, lookErr := s.log.Original(toConv, actor, clientMsgID); lookErr == nil && ok {
				return Ack{ConversationID: e.ConversationID, ClientMsgID: e.ClientMsgID, Seq: e.Seq, CreatedAt: e.CreatedAt, Duplicate: true}, nil
			}
		}
		return Ack{}, err
	}
	e, dup, err := s.log.Append(ctx, msglog.Draft{
		ConversationID: toConv, SenderID: actor, ClientMsgID: clientMsgID, Type: TypeForward, Body: body, Counted: true,
	})
	if err != nil {
		if errors.Is(err, msglog.ErrTooLarge) {
			return Ack{}, fmt.Errorf("%w: %v", ErrTooLarge, err)
		}
		return Ack{}, err
	}
	return Ack{ConversationID: e.ConversationID, ClientMsgID: e.ClientMsgID, Seq: e.Seq, CreatedAt: e.CreatedAt, Duplicate: dup}, nil
}

// checkForward checks a forward and returns the body of its entry.
func (s *Service) checkForward(actor, fromConv string, seqs []uint64, toConv string) (json.RawMessage, error) {
	if len(seqs) == 0 {
		return nil, fmt.Errorf("%w: seqs must name at least one message", ErrInvalid)
	}
	if len(seqs) > MaxForwardItems {
		return nil, fmt.Errorf("%w: at most %d messages per forward", ErrInvalid, MaxForwardItems)
	}
	me, err := s.member(fromConv, actor)
	if err != nil {
		return nil, err
	}
	if err := s.convs.CanSend(toConv, actor); err != nil {
		return nil, err
	}
	items := make([]ForwardItem, 0, len(seqs))
	seen := make(map[uint64]bool, len(seqs))
	for _, seq := range seqs {
		if seen[seq] {
			continue
		}
		seen[seq] = true
		if seq < me.JoinedSeq {
			return nil, fmt.Errorf("%w: message %d is from before you joined", ErrInvalid, seq)
		}
		e, err := s.liveEntry(fromConv, seq)
		if err != nil {
			return nil, fmt.Errorf("%w: forward message %d: %v", ErrInvalid, seq, err)
		}
		if e.Type == msglog.TypeSystem || e.Type == TypeRecall {
			return nil, fmt.Errorf("%w: %s entries cannot be forwarded", ErrInvalid, e.Type)
		}
		secret, err := isConfidential(e.Body)
		if err != nil {
			return nil, fmt.Errorf("forward message %d: %w", seq, err)
		}
		if secret {
			return nil, fmt.Errorf("%w: confidential messages cannot be forwarded (message %d)", conversation.ErrForbidden, seq)
		}
		body, err := stripFlags(e.Body)
		if err != nil {
			return nil, fmt.Errorf("forward message %d: %w", seq, err)
		}
		items = append(items, ForwardItem{Seq: e.Seq, SenderID: e.SenderID, Type: e.Type, Body: body, CreatedAt: e.CreatedAt})
	}
	return marshal(ForwardBody{FromConversationID: fromConv, Items: items})
}
