package signaling

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"

	"parley/chat/bus"
	"parley/chat/fanout"
	"parley/signaling/ws"
)

// memberEvents publishes events about one member on the bus, where every
// node hears them. It is the chat service's messaging.Events.
type memberEvents struct{ nc *nats.Conn }

func (e memberEvents) publish(memberID string, ev bus.MemberEvent) error {
	data, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("encode member event: %w", err)
	}
	return e.nc.Publish(bus.MemberEventsSubject(memberID), data)
}

func (e memberEvents) MemberJoined(memberID, convID string) error {
	return e.publish(memberID, bus.MemberEvent{Type: bus.MemberJoinedConversation, ConversationID: convID})
}

func (e memberEvents) MemberLeft(memberID, convID string) error {
	return e.publish(memberID, bus.MemberEvent{Type: bus.MemberLeftConversation, ConversationID: convID})
}

// subscribeMemberEvents applies every node's member events here: account
// events close the member's sockets, membership events move this node's
// chat interest.
func subscribeMemberEvents(nc *nats.Conn, hub *ws.Hub, fan *fanout.Fanout, log *slog.Logger) (*nats.Subscription, error) {
	sub, err := nc.Subscribe(bus.MemberEventsWildcard, func(msg *nats.Msg) {
		id, err := bus.MemberIDFromSubject(msg.Subject)
		if err != nil {
			log.Warn("bad member event subject", "subject", msg.Subject, "err", err)
			return
		}
		var ev bus.MemberEvent
		if err := json.Unmarshal(msg.Data, &ev); err != nil {
			log.Warn("bad member event", "subject", msg.Subject, "err", err)
			return
		}
		switch ev.Type {
		case bus.MemberDisabled:
			hub.CloseMember(id, ws.CloseMemberDisabled, "account disabled")
		case bus.MemberRevoked:
			hub.CloseMember(id, ws.CloseTokenExpired, "sessions revoked; sign in again")
		case bus.MemberJoinedConversation:
			if err := fan.Joined(id, ev.ConversationID); err != nil {
				log.Warn("chat: take interest", "member", id, "conversation", ev.ConversationID, "err", err)
			}
		case bus.MemberLeftConversation:
			fan.Left(id, ev.ConversationID)
		}
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe to member events: %w", err)
	}
	return sub, nil
}
