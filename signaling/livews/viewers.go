package livews

import (
	"log/slog"

	"parley/signaling/auth"
	"parley/signaling/guestws"
	"parley/signaling/ws"
)

// ViewerPath is where viewer tokens open their WebSocket. Members use the
// ordinary /ws.
const ViewerPath = "/ws/live"

// ViewerEndpoint is the WebSocket of external viewers: a hub of its own
// (guestws) that admits only restricted tokens scoped to a live, and on
// which only the live.* requests are registered. A viewer token can
// therefore send nothing but live requests, and live.join admits it to
// its own live only. The member's hub (/ws) refuses these tokens, as
// every member route does. A viewer keeps its socket past its token's 15
// minutes with auth.renew and auth.refresh (see guestws).
type ViewerEndpoint struct {
	*guestws.Endpoint
}

// NewViewerEndpoint creates the endpoint with the same socket limits as
// the member hub.
func NewViewerEndpoint(cfg ws.Config, tokens guestws.Tokens, logger *slog.Logger) (*ViewerEndpoint, error) {
	e, err := guestws.New(guestws.Config{
		WS: cfg, Kind: auth.ScopeKindLive, Path: ViewerPath, Describe: "viewer tokens of a live",
	}, tokens, logger)
	if err != nil {
		return nil, err
	}
	return &ViewerEndpoint{Endpoint: e}, nil
}

// identify returns a guest session's identity from its verified token.
func (e *ViewerEndpoint) identify(s *ws.Session) (Identity, bool) {
	g, ok := e.Guest(s.MemberID())
	if !ok {
		return Identity{}, false
	}
	return Identity{ViewerID: g.ID, Name: g.Name, LiveID: g.ScopeID}, true
}
