package livews

import (
	"strings"

	"parley/chat/directory"
	"parley/signaling/auth"
	"parley/signaling/ws"
)

// Directory gives members' display names for the viewer statistics.
// *directory.Directory satisfies it.
type Directory interface {
	GetMember(id string) (directory.Member, error)
}

// Identifier says who sessions speak for: members of the member hub, by
// their directory name, and guests of the viewer endpoint, by their
// token. Pass its Identify as Deps.Identify.
type Identifier struct {
	Directory Directory
	Viewers   *ViewerEndpoint
}

// Identify returns who s speaks for; ok is false for a guest whose token
// this node no longer knows.
func (i Identifier) Identify(s *ws.Session) (Identity, bool) {
	id := s.MemberID()
	if strings.HasPrefix(id, auth.GuestSubjectPrefix) {
		if i.Viewers == nil {
			return Identity{}, false
		}
		return i.Viewers.identify(s)
	}
	name := id
	if m, err := i.Directory.GetMember(id); err == nil && m.Name != "" {
		name = m.Name
	}
	return Identity{ViewerID: id, MemberID: id, Name: name}, true
}
