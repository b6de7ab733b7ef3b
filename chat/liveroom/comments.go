package liveroom

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"parley/chat/msglog"
	"parley/storage"
)

// DeleteClientMsgIDPrefix starts the client message id of every delete
// entry ("delete:<seq>"), which makes deleting one comment twice store
// one entry. Viewers may not use it for their own messages.
const DeleteClientMsgIDPrefix = "delete:"

// TextRequest is a comment, question or announcement.
type TextRequest struct {
	LiveID      string `json:"live_id"`
	ClientMsgID string `json:"client_msg_id"`
	Text        string `json:"text"`
	// SenderName is the sender's display name, stored in the entry's
	// body. The caller sets it from who the session is; it is never
	// decoded from a client's request.
	SenderName string `json:"-"`
}

// Comment stores viewerID's comment and returns once it is durable. A
// muted viewer is refused with ErrMuted. A resend with the same client
// message id returns the original ack and stores nothing. Rate limits are
// the caller's: it knows the viewer's session.
func (s *Service) Comment(ctx context.Context, viewerID string, req TextRequest) (Ack, error) {
	return s.postText(ctx, viewerID, req, TypeComment, KindComment, s.cfg.MaxCommentBytes)
}

// Ask stores viewerID's question, as Comment does a comment.
func (s *Service) Ask(ctx context.Context, viewerID string, req TextRequest) (Ack, error) {
	return s.postText(ctx, viewerID, req, TypeQuestion, KindQuestion, s.cfg.MaxCommentBytes)
}

// Announce stores a host announcement. The caller checked that actor may.
func (s *Service) Announce(ctx context.Context, actor string, req TextRequest) (Ack, error) {
	return s.postText(ctx, actor, req, TypeAnnouncement, "", MaxAnnouncementBytes)
}

// postText appends a text entry of typ; kind, when set, records the
// sender's participation in the same commit. Muted senders are refused.
func (s *Service) postText(ctx context.Context, sender string, req TextRequest, typ, kind string, maxBytes int) (Ack, error) {
	if err := s.checkRequest(req.LiveID, sender, req.ClientMsgID); err != nil {
		return Ack{}, err
	}
	if err := checkText("text", req.Text, maxBytes); err != nil {
		if e, ok := s.original(req.LiveID, sender, req.ClientMsgID); ok {
			return ackOf(req.LiveID, e, true), nil
		}
		return Ack{}, err
	}
	if err := checkName(req.SenderName); err != nil {
		return Ack{}, err
	}
	if kind != "" {
		muted, err := s.IsMuted(req.LiveID, sender)
		if err != nil {
			return Ack{}, err
		}
		if muted {
			if e, ok := s.original(req.LiveID, sender, req.ClientMsgID); ok {
				return ackOf(req.LiveID, e, true), nil // sent before the mute
			}
			return Ack{}, ErrMuted
		}
	}
	body, err := marshal(CommentBody{Text: req.Text, SenderName: req.SenderName})
	if err != nil {
		return Ack{}, err
	}
	d := msglog.Draft{
		ConversationID: ConversationID(req.LiveID), SenderID: sender, ClientMsgID: req.ClientMsgID,
		Type: typ, Body: body,
	}
	if kind != "" {
		d.OnCommit = func(b *storage.Batch, e msglog.Entry) error {
			b.Set(partKey(req.LiveID, kind, sender), nil)
			return nil
		}
	}
	return s.append(ctx, req.LiveID, d)
}

// checkRequest validates the ids every stored request carries.
func (s *Service) checkRequest(liveID, sender, clientMsgID string) error {
	if err := checkID("live_id", liveID); err != nil {
		return err
	}
	if err := checkID("sender", sender); err != nil {
		return err
	}
	if clientMsgID == "" {
		return invalidf("client_msg_id is required")
	}
	if len(clientMsgID) > msglog.MaxClientMsgIDBytes {
		return invalidf("client_msg_id is longer than %d bytes", msglog.MaxClientMsgIDBytes)
	}
	if strings.HasPrefix(clientMsgID, DeleteClientMsgIDPrefix) || strings.HasPrefix(clientMsgID, closeClientMsgIDPrefix) {
		return invalidf("client_msg_id must not start with %q or %q", DeleteClientMsgIDPrefix, closeClientMsgIDPrefix)
	}
	return nil
}

// original returns the entry sender already stored under clientMsgID, so
// a resend is answered with its ack even when a fresh request would now
// be refused.
func (s *Service) original(liveID, sender, clientMsgID string) (msglog.Entry, bool) {
	e, ok, err := s.log.Original(ConversationID(liveID), sender, clientMsgID)
	return e, err == nil && ok
}

// append stores d and maps the log's errors to this package's.
func (s *Service) append(ctx context.Context, liveID string, d msglog.Draft) (Ack, error) {
	if s.closed() {
		return Ack{}, ErrClosed
	}
	e, dup, err := s.log.Append(ctx, d)
	if err != nil {
		return Ack{}, logError(err)
	}
	return ackOf(liveID, e, dup), nil
}

func logError(err error) error {
	switch {
	case errors.Is(err, msglog.ErrTooLarge):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	case errors.Is(err, msglog.ErrInvalid):
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	case errors.Is(err, msglog.ErrNotFound):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}

// entry returns entry seq of liveID's conversation, or ErrNotFound.
func (s *Service) entry(liveID string, seq uint64) (msglog.Entry, error) {
	e, err := s.log.Get(ConversationID(liveID), seq)
	if err != nil {
		return msglog.Entry{}, logError(err)
	}
	return e, nil
}

// AnswerRequest answers a question, or with no text marks it answered.
type AnswerRequest struct {
	LiveID      string `json:"live_id"`
	ClientMsgID string `json:"client_msg_id"`
	QuestionSeq uint64 `json:"question_seq"`
	Text        string `json:"text"`
	// SenderName is set by the caller, as in TextRequest.
	SenderName string `json:"-"`
}

// Answer stores an answer to a question and marks the question answered.
// The caller checked that actor may answer.
func (s *Service) Answer(ctx context.Context, actor string, req AnswerRequest) (Ack, error) {
	if err := s.checkRequest(req.LiveID, actor, req.ClientMsgID); err != nil {
		return Ack{}, err
	}
	if req.Text != "" {
		if err := checkText("text", req.Text, MaxAnnouncementBytes); err != nil {
			return Ack{}, err
		}
	}
	if err := checkName(req.SenderName); err != nil {
		return Ack{}, err
	}
	q, err := s.entry(req.LiveID, req.QuestionSeq)
	if err != nil {
		return Ack{}, err
	}
	if q.Type != TypeQuestion {
		return Ack{}, invalidf("seq %d is a %s, not a question", req.QuestionSeq, q.Type)
	}
	body, err := marshal(AnswerBody{QuestionSeq: req.QuestionSeq, Text: req.Text, SenderName: req.SenderName})
	if err != nil {
		return Ack{}, err
	}
	return s.append(ctx, req.LiveID, msglog.Draft{
		ConversationID: ConversationID(req.LiveID), SenderID: actor, ClientMsgID: req.ClientMsgID,
		Type: TypeAnswer, Body: body,
		OnCommit: func(b *storage.Batch, e msglog.Entry) error {
			b.Set(answeredKey(req.LiveID, req.QuestionSeq), be8(e.Seq))
			return nil
		},
	})
}

// IsAnswered reports whether question seq of liveID was answered.
func (s *Service) IsAnswered(liveID string, seq uint64) (bool, error) {
	return s.db.Has(answeredKey(liveID, seq))
}

// Delete marks a comment or question as deleted by actor. The entry stays
// in the log, like a recalled chat message; clients hide it when they see
// the delete entry. Deleting it again returns the first delete's ack with
// Duplicate set. The caller checked that actor may moderate.
func (s *Service) Delete(ctx context.Context, liveID, actor string, seq uint64) (Ack, error) {
	if err := checkID("live_id", liveID); err != nil {
		return Ack{}, err
	}
	if err := checkID("actor", actor); err != nil {
		return Ack{}, err
	}
	target, err := s.entry(liveID, seq)
	if err != nil {
		return Ack{}, err
	}
	if target.Type != TypeComment && target.Type != TypeQuestion {
		return Ack{}, invalidf("seq %d is a %s; only comments and questions can be deleted", seq, target.Type)
	}
	if raw, err := s.db.Get(deletedKey(liveID, seq)); err == nil && len(raw) == 8 {
		prev, err := s.entry(liveID, storage.Uint64At(raw, 0))
		if err != nil {
			return Ack{}, err
		}
		return ackOf(liveID, prev, true), nil
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return Ack{}, fmt.Errorf("check delete of live %s seq %d: %w", liveID, seq, err)
	}
	body, err := marshal(DeleteBody{Seq: seq, By: actor})
	if err != nil {
		return Ack{}, err
	}
	return s.append(ctx, liveID, msglog.Draft{
		ConversationID: ConversationID(liveID), SenderID: actor,
		ClientMsgID: DeleteClientMsgIDPrefix + strconv.FormatUint(seq, 10),
		Type:        TypeDelete, Body: body,
		OnCommit: func(b *storage.Batch, e msglog.Entry) error {
			b.Set(deletedKey(liveID, seq), be8(e.Seq))
			return nil
		},
	})
}

// IsDeleted reports whether comment or question seq of liveID was deleted.
func (s *Service) IsDeleted(liveID string, seq uint64) (bool, error) {
	return s.db.Has(deletedKey(liveID, seq))
}

// MuteRequest mutes or unmutes a viewer.
type MuteRequest struct {
	LiveID      string `json:"live_id"`
	ClientMsgID string `json:"client_msg_id"`
	ViewerID    string `json:"viewer_id"`
	Muted       bool   `json:"muted"`
}

// Mute stops (or lets again) a viewer comment and ask in a live. The
// change is an entry, so every viewer and the history see it, and a key
// written in the same commit that Comment reads. The caller checked that
// actor may moderate.
func (s *Service) Mute(ctx context.Context, actor string, req MuteRequest) (Ack, error) {
	if err := s.checkRequest(req.LiveID, actor, req.ClientMsgID); err != nil {
		return Ack{}, err
	}
	if err := checkID("viewer_id", req.ViewerID); err != nil {
		return Ack{}, err
	}
	body, err := marshal(MuteBody{ViewerID: req.ViewerID, Muted: req.Muted})
	if err != nil {
		return Ack{}, err
	}
	return s.append(ctx, req.LiveID, msglog.Draft{
		ConversationID: ConversationID(req.LiveID), SenderID: actor, ClientMsgID: req.ClientMsgID,
		Type: TypeMute, Body: body,
		OnCommit: func(b *storage.Batch, e msglog.Entry) error {
			if req.Muted {
				b.Set(mutedKey(req.LiveID, req.ViewerID), be8(e.Seq))
			} else {
				b.Delete(mutedKey(req.LiveID, req.ViewerID))
			}
			return nil
		},
	})
}

// IsMuted reports whether viewerID is muted in liveID.
func (s *Service) IsMuted(liveID, viewerID string) (bool, error) {
	ok, err := s.db.Has(mutedKey(liveID, viewerID))
	if err != nil {
		return false, fmt.Errorf("check mute of %s in live %s: %w", viewerID, liveID, err)
	}
	return ok, nil
}

// History returns up to limit entries of liveID before beforeSeq (0: the
// newest), newest first. Limits work as in msglog.
func (s *Service) History(liveID string, beforeSeq uint64, limit int) ([]msglog.Entry, error) {
	if err := checkID("live_id", liveID); err != nil {
		return nil, err
	}
	es, err := s.log.ReadBefore(ConversationID(liveID), beforeSeq, limit)
	return es, logError(err)
}

// Pull returns up to limit entries of liveID from fromSeq on, ascending:
// how a viewer fills a gap.
func (s *Service) Pull(liveID string, fromSeq uint64, limit int) ([]msglog.Entry, error) {
	if err := checkID("live_id", liveID); err != nil {
		return nil, err
	}
	es, err := s.log.Read(ConversationID(liveID), fromSeq, limit)
	return es, logError(err)
}

// LastSeq is the seq of liveID's newest durable entry, 0 when it has none.
func (s *Service) LastSeq(liveID string) (uint64, error) {
	if err := checkID("live_id", liveID); err != nil {
		return 0, err
	}
	seq, err := s.log.LastSeq(ConversationID(liveID))
	return seq, logError(err)
}
