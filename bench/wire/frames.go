package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Message types the generator sends and reads (signaling/PROTOCOL.md,
// sections 6 and 7).
const (
	TypeChatSend    = "chat.send"
	TypeChatAck     = "chat.ack"
	TypeChatMessage = "chat.message"
	TypeError       = "error"
)

// Error codes of the WebSocket error message the generator tells apart.
const (
	CodeRateLimited = "rate_limited"
)

// CloseTooSlow is the close code (4008) of a socket the server dropped
// because its client did not read fast enough (PROTOCOL.md, close codes).
const CloseTooSlow = 4008

// AppendChatSend appends a chat.send request for a text message to buf and
// returns the extended buffer. The request id is id in decimal. The
// conversation id, client message id and text must need no JSON escaping
// (the generator makes them from letters, digits, '-', '_' and spaces);
// this is what lets the frame be built without encoding/json.
func AppendChatSend(buf []byte, id uint64, conversationID string, clientMsgID, text []byte) []byte {
	buf = append(buf, `{"type":"chat.send","id":"`...)
	buf = strconv.AppendUint(buf, id, 10)
	buf = append(buf, `","data":{"conversation_id":"`...)
	buf = append(buf, conversationID...)
	buf = append(buf, `","client_msg_id":"`...)
	buf = append(buf, clientMsgID...)
	buf = append(buf, `","type":"text","body":{"text":"`...)
	buf = append(buf, text...)
	buf = append(buf, `"}}}`...)
	return buf
}

// typePrefix is how the server begins every frame: it encodes the
// envelope's fields in order, type first.
var typePrefix = []byte(`{"type":"`)

// FrameType returns the type of an incoming frame, reading only its first
// bytes when the frame starts the way the server writes it, and decoding
// the envelope otherwise. It returns "" for a frame with no type.
func FrameType(frame []byte) string {
	if rest, ok := bytes.CutPrefix(frame, typePrefix); ok {
		if end := bytes.IndexByte(rest, '"'); end > 0 && bytes.IndexByte(rest[:end], '\\') < 0 {
			return string(rest[:end])
		}
	}
	var env struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(frame, &env)
	return env.Type
}

// Inbound holds the fields the generator reads from the three frame types
// it cares about, decoded in one pass by a scanner (see scan.go) that
// costs a fraction of encoding/json:
//
//   - chat.message: Data is an entry (conversation_id, seq, sender_id,
//     client_msg_id, type, body.text);
//   - chat.ack: ID echoes the request; Data is an ack (conversation_id,
//     client_msg_id, seq, duplicate);
//   - error: ID echoes the request, if the server could read it; Data has
//     code and message.
type Inbound struct {
	Type string      `json:"type"`
	ID   string      `json:"id"`
	Data InboundData `json:"data"`
}

// InboundData is the union of the data fields Inbound reads.
type InboundData struct {
	ConversationID string `json:"conversation_id"`
	Seq            uint64 `json:"seq"`
	SenderID       string `json:"sender_id"`
	ClientMsgID    string `json:"client_msg_id"`
	Type           string `json:"type"`
	Body           struct {
		Text string `json:"text"`
	} `json:"body"`
	Duplicate bool   `json:"duplicate"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

// DecodeInbound decodes a chat.message, chat.ack or error frame.
func DecodeInbound(frame []byte, in *Inbound) error {
	*in = Inbound{}
	s := scanner{b: frame}
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "type":
			in.Type, err = s.str()
		case "id":
			in.ID, err = s.str()
		case "data":
			err = s.object(func(key []byte) error { return decodeData(&s, key, &in.Data) })
		default:
			err = s.skip()
		}
		return err
	})
	if err == nil && s.peek() != 0 {
		err = errSyntax
	}
	if err != nil {
		return fmt.Errorf("decode %s frame: %w at byte %d", in.Type, err, s.i)
	}
	return nil
}

func decodeData(s *scanner, key []byte, d *InboundData) error {
	var err error
	switch string(key) {
	case "conversation_id":
		d.ConversationID, err = s.str()
	case "seq":
		d.Seq, err = s.uint()
	case "sender_id":
		d.SenderID, err = s.str()
	case "client_msg_id":
		d.ClientMsgID, err = s.str()
	case "type":
		d.Type, err = s.str()
	case "duplicate":
		d.Duplicate, err = s.literal()
	case "code":
		d.Code, err = s.str()
	case "message":
		d.Message, err = s.str()
	case "body":
		if s.peek() != '{' {
			return s.skip()
		}
		err = s.object(func(key []byte) error {
			if string(key) == "text" {
				var err error
				d.Body.Text, err = s.str()
				return err
			}
			return s.skip()
		})
	default:
		err = s.skip()
	}
	return err
}
