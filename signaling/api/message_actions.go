package api

import (
	"net/http"
)

// Actions on messages already sent: recall and forward. Like the other
// conversation routes they are open to any signed-in member, and the chat
// service decides what the caller may do in the conversation.

// recallMessage recalls one message: its sender within the recall window,
// a group's owner or admin at any time. The answer is the ack of the
// recall entry; recalling again returns it with duplicate set.
func (a *API) recallMessage(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	seq, err := parseSeq(r.PathValue("seq"), "seq")
	if err != nil {
		return err
	}
	ack, err := a.chat.Recall(r.Context(), p.Member.ID, r.PathValue("id"), seq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ack)
	return nil
}

type forwardRequest struct {
	FromConversationID string   `json:"from_conversation_id"`
	Seqs               []uint64 `json:"seqs"`
	ClientMsgID        string   `json:"client_msg_id"`
}

// forwardMessages copies messages of from_conversation_id into one
// "forward" entry of the conversation in the path, idempotent by
// client_msg_id like a send.
func (a *API) forwardMessages(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req forwardRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	ack, err := a.chat.Forward(r.Context(), p.Member.ID, req.FromConversationID, req.Seqs, r.PathValue("id"), req.ClientMsgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ack)
	return nil
}
