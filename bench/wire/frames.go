package wire

import (
	"errors"
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

// Inbound holds the fields the generator reads from the three frame types
// it cares about, decoded in one pass by a scanner (see scan.go) that
// costs a fraction of encoding/json and allocates nothing:
//
//   - chat.message: Data is an entry (conversation_id, seq, sender_id,
//     client_msg_id, type, body.text);
//   - chat.ack: ID echoes the request; Data is an ack (conversation_id,
//     client_msg_id, seq, duplicate);
//   - error: ID echoes the request, if the server could read it; Data has
//     code and message.
//
// The byte slices point into the decoded frame (or, for a string with
// escapes, at an unquoted copy), so they are valid as long as the frame's
// bytes are: a reader that reuses its buffer must copy what it keeps.
type Inbound struct {
	Type []byte
	ID   []byte
	Data InboundData
}

// InboundData is the union of the data fields Inbound reads. Data of
// other frame types is checked but not kept.
type InboundData struct {
	ConversationID []byte
	Seq            uint64
	SenderID       []byte
	ClientMsgID    []byte
	Type           []byte
	Text           []byte // body.text
	Duplicate      bool
	Code           []byte
	Message        []byte
}

// hasData reports whether Inbound keeps the data of frames of type typ.
func hasData(typ []byte) bool {
	switch string(typ) {
	case TypeChatMessage, TypeChatAck, TypeError:
		return true
	}
	return false
}

// DecodeInbound decodes a frame: every frame must be a JSON object with a
// string type; the data of a chat.message, chat.ack or error frame is
// kept in in, and that of any other type only checked. Any frame that is
// not well-formed JSON, or whose kept fields have the wrong kind of value,
// is an error.
func DecodeInbound(frame []byte, in *Inbound) error {
	*in = Inbound{}
	if decodeAsWritten(frame, in) {
		return nil
	}
	*in = Inbound{}
	s := scanner{b: frame}
	data := -1 // where data starts, when it came before type
	err := s.object(func(key []byte) error {
		var err error
		switch string(key) {
		case "type":
			in.Type, err = s.str()
		case "id":
			in.ID, err = s.str()
		case "data":
			// The server writes type first; in another order the data
			// is read once the type is known.
			if in.Type == nil {
				data = s.i
				return s.skip()
			}
			err = decodeData(&s, in)
		default:
			err = s.skip()
		}
		return err
	})
	if s.space(); err == nil && s.i != len(s.b) {
		err = errSyntax // something after the object
	}
	if err == nil && in.Type == nil {
		err = errors.New("no type")
	}
	if err == nil && data >= 0 {
		s.i = data
		err = decodeData(&s, in)
	}
	if err != nil {
		return fmt.Errorf("decode %s frame: %w at byte %d", in.Type, err, s.i)
	}
	return nil
}

// decodeData reads the value of the envelope's data field.
func decodeData(s *scanner, in *Inbound) error {
	if !hasData(in.Type) {
		return s.skip()
	}
	d := &in.Data
	return s.object(func(key []byte) error {
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
					d.Text, err = s.str()
					return err
				}
				return s.skip()
			})
		default:
			err = s.skip()
		}
		return err
	})
}

// Where a chat.message frame's type lies, as the server writes it.
const (
	messageTypeStart = len(`{"type":"`)
	messageTypeEnd   = messageTypeStart + len(TypeChatMessage)
)

// decodeAsWritten is DecodeInbound's fast path for the frame that makes
// up nearly all of a chat run's traffic: a chat.message of a text entry
// laid out exactly as the server writes it (chat/messaging wraps the
// entry's JSON from chat/msglog's Entry.AppendJSON): fields in that order,
// no spaces, no escapes, a body of only text. It compares the fixed parts
// whole instead of walking them token by token, which makes it several
// times faster than the scanner. It reports false for any other frame,
// leaving in partly filled, and the scanner then reads it; what it
// accepts is valid JSON that the scanner reads the same way.
func decodeAsWritten(frame []byte, in *Inbound) bool {
	s := scanner{b: frame}
	d := &in.Data
	ok := s.lit(`{"type":"chat.message","data":{"conversation_id":`) && s.plainStr(&d.ConversationID) &&
		s.lit(`,"seq":`) && s.digits(&d.Seq) &&
		s.lit(`,"sender_id":`) && s.plainStr(&d.SenderID) &&
		s.lit(`,"client_msg_id":`) && s.plainStr(&d.ClientMsgID) &&
		s.lit(`,"type":`) && s.plainStr(&d.Type) &&
		s.lit(`,"body":{"text":`) && s.plainStr(&d.Text) &&
		s.lit(`},"created_at":`) && s.plainStr(nil) &&
		s.lit(`}}`) && s.i == len(frame)
	if ok {
		in.Type = frame[messageTypeStart:messageTypeEnd]
	}
	return ok
}
