package meetingws

import (
	"errors"
	"log/slog"
	"strings"

	"parley/chat/directory"
	"parley/sfu/rtc"
	"parley/signaling/auth"
	"parley/signaling/guestws"
	"parley/signaling/ws"
)

// GuestPath is where meeting guests open their WebSocket, with the guest
// token from the meeting's join link. Members use the ordinary /ws.
const GuestPath = "/ws/meeting"

// GuestEndpoint is the WebSocket of meeting guests: a hub of its own
// (guestws) that admits only guest tokens scoped to a meeting, and on
// which only the meeting.* requests are registered. A guest can
// therefore send nothing but meeting requests, and meeting.join admits
// it to its own meeting only. The member hub (/ws) refuses guest tokens,
// as every member route does. A guest keeps its guest id, and its
// socket, past its token's 15 minutes with auth.renew and auth.refresh,
// for as long as the meeting would still let it join (Manager.AdmitsGuest).
type GuestEndpoint struct {
	*guestws.Endpoint
}

// NewGuestEndpoint creates the endpoint with the member hub's socket
// limits. rooms decides whether a guest may renew its token.
func NewGuestEndpoint(cfg ws.Config, tokens guestws.Tokens, rooms *rtc.Manager, logger *slog.Logger) (*GuestEndpoint, error) {
	if rooms == nil {
		return nil, errors.New("meetingws: the guest endpoint needs the room manager")
	}
	e, err := guestws.New(guestws.Config{
		WS: cfg, Kind: auth.ScopeKindMeeting, Path: GuestPath, Describe: "meeting guest tokens",
		MayRenew: func(g guestws.Guest) error { return rooms.AdmitsGuest(g.ScopeID, g.ID) },
	}, tokens, logger)
	if err != nil {
		return nil, err
	}
	return &GuestEndpoint{Endpoint: e}, nil
}

// Identifier says who a session speaks for: a member on /ws, by the
// directory, or a guest on the guest endpoint, by its token.
type Identifier struct {
	Directory *directory.Directory
	Guests    *GuestEndpoint
}

// Identify returns who s speaks for; ok is false for a guest whose token
// this node no longer knows, or a member the directory does not.
func (i Identifier) Identify(s *ws.Session) (Identity, bool) {
	id := s.MemberID()
	if strings.HasPrefix(id, auth.GuestSubjectPrefix) {
		if i.Guests == nil {
			return Identity{}, false
		}
		g, ok := i.Guests.Guest(id)
		if !ok {
			return Identity{}, false
		}
		return Identity{UserID: g.ID, Name: g.Name, Guest: true, MeetingID: g.ScopeID}, true
	}
	m, err := i.Directory.GetMember(id)
	if err != nil {
		return Identity{}, false
	}
	name := m.Name
	if name == "" {
		name = id
	}
	return Identity{UserID: id, Name: name}, true
}
