package ws

import (
	"encoding/json"

	"github.com/coder/websocket"
)

// Message is the envelope of every WebSocket frame, in both directions.
// ID, when a client sets it on a request, is echoed on the reply so the
// client can match them.
type Message struct {
	Type string          `json:"type"`
	ID   string          `json:"id,omitempty"`
	Data json.RawMessage `json:"data,omitempty"`
}

// Close codes the server uses. They are documented in signaling/PROTOCOL.md;
// clients decide from them whether to reconnect. Besides these, a session
// closes with 1008 when its ping goes unanswered, and the WebSocket library
// closes with 1009 when a client's message is over the read limit.
const (
	// CloseGoingAway (1001): the server is shutting down; reconnect with
	// backoff.
	CloseGoingAway = websocket.StatusGoingAway
	// CloseTokenExpired (4001): the access token expired or was revoked;
	// refresh it, then reconnect.
	CloseTokenExpired websocket.StatusCode = 4001
	// CloseMemberDisabled (4003): the account was disabled; do not
	// reconnect.
	CloseMemberDisabled websocket.StatusCode = 4003
	// CloseTooSlow (4008): the client did not read fast enough and its send
	// queue overflowed; reconnect and resync.
	CloseTooSlow websocket.StatusCode = 4008
)

// Error codes carried in "error" messages.
const (
	ErrCodeBadMessage  = "bad_message"
	ErrCodeUnknownType = "unknown_type"
	ErrCodeUnauth      = "unauthenticated"
)

// errorData is the data of an "error" message.
type errorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Encode marshals a message envelope. Callers that send one message to
// many sessions encode it once and pass the bytes to each Session.Send.
func Encode(typ, id string, data any) ([]byte, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	return json.Marshal(Message{Type: typ, ID: id, Data: raw})
}

// DecodeMessage parses one inbound frame. It rejects frames without a type.
func DecodeMessage(frame []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(frame, &m); err != nil {
		return Message{}, err
	}
	if m.Type == "" {
		return Message{}, errMissingType
	}
	return m, nil
}

type decodeError string

func (e decodeError) Error() string { return string(e) }

const errMissingType = decodeError(`message has no "type"`)
