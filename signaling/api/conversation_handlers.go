package api

import (
	"encoding/json"
	"net/http"
	"strconv"

	"parley/chat/conversation"
	"parley/chat/messaging"
	"parley/chat/msglog"
)

// Chat conversations. Every route is open to any signed-in member; who may
// do what inside a conversation (membership, owner, admin) is decided by
// the chat service, whose errors errors.go maps. The handlers only decode,
// call the service once and shape the answer.

type createDirectRequest struct {
	PeerID string `json:"peer_id"`
}

// createDirect answers with the caller's direct conversation with peer_id,
// creating it on first use: asking again returns the same conversation.
func (a *API) createDirect(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req createDirectRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	conv, err := a.chat.CreateDirect(r.Context(), p.Member.ID, req.PeerID)
	if err != nil {
		return err
	}
	return a.writeSummary(w, http.StatusOK, conv.ID, p.Member.ID)
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var spec messaging.GroupSpec
	if err := decodeJSON(r, body, &spec); err != nil {
		return err
	}
	conv, err := a.chat.CreateGroup(r.Context(), p.Member.ID, spec)
	if err != nil {
		return err
	}
	return a.writeSummary(w, http.StatusCreated, conv.ID, p.Member.ID)
}

// writeSummary answers with convID as memberID sees it.
func (a *API) writeSummary(w http.ResponseWriter, status int, convID, memberID string) error {
	sum, err := a.chat.Summary(convID, memberID)
	if err != nil {
		return err
	}
	writeJSON(w, status, sum)
	return nil
}

// chatLimits answers with the chat limits in force on this server (the
// same object chat.sync.done carries), so clients hold back in their UI
// what the server would refuse.
func (a *API) chatLimits(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	writeJSON(w, http.StatusOK, a.chat.ClientLimits())
	return nil
}

func (a *API) listConversations(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	sums, err := a.chat.Summaries(p.Member.ID)
	if err != nil {
		return err
	}
	if sums == nil {
		sums = []messaging.Summary{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": sums})
	return nil
}

func (a *API) getConversation(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	return a.writeSummary(w, http.StatusOK, r.PathValue("id"), p.Member.ID)
}

func (a *API) updateConversation(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var patch conversation.Patch
	if err := decodeJSON(r, body, &patch); err != nil {
		return err
	}
	conv, err := a.chat.UpdateGroup(r.Context(), p.Member.ID, r.PathValue("id"), patch)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, conv)
	return nil
}

func (a *API) listConversationMembers(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	members, err := a.chat.Members(r.PathValue("id"), p.Member.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": members})
	return nil
}

type addMembersRequest struct {
	Members []string `json:"members"`
}

func (a *API) addConversationMembers(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req addMembersRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if len(req.Members) == 0 {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, "members must name at least one member")
	}
	added, err := a.chat.AddMembers(r.Context(), p.Member.ID, r.PathValue("id"), req.Members)
	if err != nil {
		return err
	}
	if added == nil {
		added = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"added": added})
	return nil
}

// removeConversationMember is leaving when the member named is the caller,
// and a removal by the owner or an admin otherwise.
func (a *API) removeConversationMember(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	if err := a.chat.RemoveMember(r.Context(), p.Member.ID, r.PathValue("id"), r.PathValue("member")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type conversationRoleRequest struct {
	Role conversation.Role `json:"role"`
}

func (a *API) setConversationRole(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req conversationRoleRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if req.Role != conversation.RoleAdmin && req.Role != conversation.RoleMember {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, `role must be "admin" or "member"; ownership moves with POST .../owner`)
	}
	if err := a.chat.SetRole(r.Context(), p.Member.ID, r.PathValue("id"), r.PathValue("member"), req.Role); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type muteRequest struct {
	Muted *bool `json:"muted"`
}

func (a *API) setConversationMute(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req muteRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if req.Muted == nil {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, "muted is required: true or false")
	}
	if err := a.chat.SetMuted(r.Context(), p.Member.ID, r.PathValue("id"), r.PathValue("member"), *req.Muted); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type transferOwnerRequest struct {
	MemberID string `json:"member_id"`
}

func (a *API) transferConversationOwner(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req transferOwnerRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if err := a.chat.TransferOwner(r.Context(), p.Member.ID, r.PathValue("id"), req.MemberID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) dissolveConversation(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	if err := a.chat.Dissolve(r.Context(), p.Member.ID, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// entriesResponse is a page of a conversation's log, the same shape as the
// WebSocket's chat.entries.
type entriesResponse struct {
	ConversationID string         `json:"conversation_id"`
	Entries        []msglog.Entry `json:"entries"`
}

// listMessages reads a page of the log: with from_seq, ascending from that
// seq (a pull, to fill a gap); otherwise newest first, before before_seq
// when given (history). Entries from before the caller joined are never
// returned.
func (a *API) listMessages(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	q := r.URL.Query()
	if q.Has("from_seq") && q.Has("before_seq") {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, "give from_seq or before_seq, not both")
	}
	limit := 0
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return errorf(http.StatusBadRequest, CodeInvalidArgument, "limit must be a positive whole number")
		}
		limit = n
	}
	id := r.PathValue("id")
	var (
		entries []msglog.Entry
		err     error
	)
	if q.Has("from_seq") {
		from, perr := parseSeq(q.Get("from_seq"), "from_seq")
		if perr != nil {
			return perr
		}
		entries, err = a.chat.Pull(p.Member.ID, id, from, limit)
	} else {
		var before uint64
		if q.Has("before_seq") {
			if before, err = parseSeq(q.Get("before_seq"), "before_seq"); err != nil {
				return err
			}
		}
		entries, err = a.chat.History(p.Member.ID, id, before, limit)
	}
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []msglog.Entry{}
	}
	writeJSON(w, http.StatusOK, entriesResponse{ConversationID: id, Entries: entries})
	return nil
}

func parseSeq(s, name string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, errorf(http.StatusBadRequest, CodeInvalidArgument, name+" must be a whole number")
	}
	return n, nil
}

type sendRequest struct {
	ClientMsgID  string                `json:"client_msg_id"`
	Type         string                `json:"type"`
	Body         json.RawMessage       `json:"body"`
	Confidential bool                  `json:"confidential"`
	Urgent       *messaging.UrgentSpec `json:"urgent"`
}

// sendMessage is chat.send for integrations and bots: the same checks and
// the same idempotency by client_msg_id as the WebSocket. The answer comes
// once the message is durable.
func (a *API) sendMessage(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req sendRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	ack, err := a.chat.Send(r.Context(), p.Member.ID, messaging.SendRequest{
		ConversationID: r.PathValue("id"),
		ClientMsgID:    req.ClientMsgID,
		Type:           req.Type,
		Body:           req.Body,
		Confidential:   req.Confidential,
		Urgent:         req.Urgent,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ack)
	return nil
}

func (a *API) messageReceipts(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	seq, err := parseSeq(r.PathValue("seq"), "seq")
	if err != nil {
		return err
	}
	rc, err := a.chat.Receipts(p.Member.ID, r.PathValue("id"), seq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rc)
	return nil
}

type markReadRequest struct {
	Seq *uint64 `json:"seq"`
}

// cursorsResponse is the caller's cursors in a conversation, the same
// shape as the WebSocket's chat.cursors.
type cursorsResponse struct {
	ConversationID string `json:"conversation_id"`
	ReadSeq        uint64 `json:"read_seq"`
	DeliveredSeq   uint64 `json:"delivered_seq"`
}

func (a *API) markRead(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req markReadRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if req.Seq == nil {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, "seq is required")
	}
	id := r.PathValue("id")
	cur, err := a.chat.MarkRead(p.Member.ID, id, *req.Seq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cursorsResponse{ConversationID: id, ReadSeq: cur.Read, DeliveredSeq: cur.Delivered})
	return nil
}
