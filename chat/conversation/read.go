package conversation

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Get returns the conversation id, dissolved or not, or ErrNotFound.
func (s *Store) Get(id string) (Conversation, error) {
	if err := checkID("conversation id", id); err != nil {
		return Conversation{}, err
	}
	return s.load(id)
}

// Membership returns memberID's membership of convID: ErrNotFound if there
// is no such conversation, ErrNotMember if they do not belong to it.
func (s *Store) Membership(convID, memberID string) (Membership, error) {
	if err := checkID("conversation id", convID); err != nil {
		return Membership{}, err
	}
	if err := checkID("member id", memberID); err != nil {
		return Membership{}, err
	}
	if e, err := s.cachedAccess(convID, memberID); err == nil {
		return e.member, nil
	}
	m, err := s.loadMember(convID, memberID)
	if err == nil {
		return m, nil
	}
	if _, lerr := s.load(convID); lerr != nil {
		return Membership{}, lerr
	}
	return Membership{}, err
}

// Members returns every membership of convID in member id order, or
// ErrNotFound.
func (s *Store) Members(convID string) ([]Membership, error) {
	if err := checkID("conversation id", convID); err != nil {
		return nil, err
	}
	c, err := s.load(convID)
	if err != nil {
		return nil, err
	}
	out := make([]Membership, 0, c.MemberCount)
	var bad error
	err = s.db.ScanPrefix(memberPrefix(convID), func(k, v []byte) bool {
		var m Membership
		if err := json.Unmarshal(v, &m); err != nil {
			bad = fmt.Errorf("decode %q: %w", k, err)
			return false
		}
		out = append(out, m)
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, fmt.Errorf("members of %s: %w", convID, err)
	}
	return out, nil
}

// MemberIDs returns the ids of convID's members in id order, or
// ErrNotFound. It is the fan-out list of every message, so it scans the
// compact cursor records (one per member, the same set as the
// memberships) rather than decoding memberships.
func (s *Store) MemberIDs(convID string) ([]string, error) {
	if err := checkID("conversation id", convID); err != nil {
		return nil, err
	}
	c, err := s.load(convID)
	if err != nil {
		return nil, err
	}
	ids, err := s.suffixes(cursorPrefix(convID), c.MemberCount)
	if err != nil {
		return nil, fmt.Errorf("member ids of %s: %w", convID, err)
	}
	return ids, nil
}

// DirectPeer returns the other member of the direct conversation convID,
// as memberID sees it: ErrInvalid for a group, ErrNotFound or
// ErrNotMember as Membership. Summaries name the peer with it, computed
// per viewer because one stored conversation serves both members. It
// reads the two compact cursor records, not the conversation.
func (s *Store) DirectPeer(convID, memberID string) (string, error) {
	if err := checkID("conversation id", convID); err != nil {
		return "", err
	}
	if err := checkID("member id", memberID); err != nil {
		return "", err
	}
	if !strings.HasPrefix(convID, DirectIDPrefix) {
		return "", invalidf("conversation id", "%s is not a direct conversation", convID)
	}
	ids, err := s.suffixes(cursorPrefix(convID), 2)
	if err != nil {
		return "", fmt.Errorf("members of %s: %w", convID, err)
	}
	if len(ids) != 2 || (ids[0] != memberID && ids[1] != memberID) {
		if _, err := s.Membership(convID, memberID); err != nil {
			return "", err
		}
		return "", fmt.Errorf("direct conversation %s has %d members, want 2", convID, len(ids))
	}
	if ids[0] == memberID {
		return ids[1], nil
	}
	return ids[0], nil
}

// ListForMember returns the ids of the conversations memberID belongs to,
// dissolved groups included (their history stays readable), in id order.
func (s *Store) ListForMember(memberID string) ([]string, error) {
	if err := checkID("member id", memberID); err != nil {
		return nil, err
	}
	ids, err := s.suffixes(indexPrefix(memberID), 0)
	if err != nil {
		return nil, fmt.Errorf("conversations of %s: %w", memberID, err)
	}
	return ids, nil
}

// suffixes returns the rest of every key under prefix, in key order.
func (s *Store) suffixes(prefix []byte, sizeHint int) ([]string, error) {
	out := make([]string, 0, sizeHint)
	err := s.db.ScanPrefix(prefix, func(k, _ []byte) bool {
		out = append(out, string(k[len(prefix):]))
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// access loads the conversation and memberID's membership of it, the
// first step of every permission check.
func (s *Store) access(convID, memberID string) (Conversation, Membership, error) {
	if err := checkID("conversation id", convID); err != nil {
		return Conversation{}, Membership{}, err
	}
	if err := checkID("member id", memberID); err != nil {
		return Conversation{}, Membership{}, err
	}
	c, err := s.load(convID)
	if err != nil {
		return Conversation{}, Membership{}, err
	}
	m, err := s.loadMember(convID, memberID)
	if err != nil {
		return Conversation{}, Membership{}, err
	}
	return c, m, nil
}

// CanSend reports whether memberID may post in convID: ErrNotFound,
// ErrNotMember, ErrDissolved, or ErrForbidden when the member is muted or
// the group is muted for all (the owner and admins are exempt from
// mute-all, not from their own mute).
func (s *Store) CanSend(convID, memberID string) error {
	e, err := s.cachedAccess(convID, memberID)
	if err != nil {
		return err
	}
	m := e.member
	if e.dissolved {
		return fmt.Errorf("conversation %s: %w", convID, ErrDissolved)
	}
	if m.Muted {
		return fmt.Errorf("%w: %s is muted in %s", ErrForbidden, memberID, convID)
	}
	if e.muteAll && m.Role != RoleOwner && m.Role != RoleAdmin {
		return fmt.Errorf("%w: %s is muted for all members", ErrForbidden, convID)
	}
	return nil
}

// CanManage reports whether memberID may change convID's settings and
// membership: nil for the owner and admins of a group, else ErrForbidden
// (or ErrNotFound, ErrNotMember). Direct conversations have no managers.
func (s *Store) CanManage(convID, memberID string) error {
	_, m, err := s.access(convID, memberID)
	if err != nil {
		return err
	}
	if m.Role != RoleOwner && m.Role != RoleAdmin {
		return fmt.Errorf("%w: %s is not an owner or admin of %s", ErrForbidden, memberID, convID)
	}
	return nil
}

// RequireOwner reports whether memberID owns convID: nil for the owner,
// else ErrForbidden (or ErrNotFound, ErrNotMember). Dissolving, ownership
// transfer and naming admins are the owner's alone.
func (s *Store) RequireOwner(convID, memberID string) error {
	_, m, err := s.access(convID, memberID)
	if err != nil {
		return err
	}
	if m.Role != RoleOwner {
		return fmt.Errorf("%w: %s is not the owner of %s", ErrForbidden, memberID, convID)
	}
	return nil
}

// CanModerate reports whether actorID may remove or mute targetID in
// convID: the actor must be the owner or an admin and outrank the target
// (the owner acts on anyone else, an admin on plain members). Leaving is
// not moderation; callers let a member remove themselves without it.
// It returns ErrForbidden, or ErrNotFound / ErrNotMember for either id.
func (s *Store) CanModerate(convID, actorID, targetID string) error {
	if err := checkID("target member id", targetID); err != nil {
		return err
	}
	_, actor, err := s.access(convID, actorID)
	if err != nil {
		return err
	}
	target, err := s.loadMember(convID, targetID)
	if err != nil {
		return err
	}
	if actor.Role != RoleOwner && actor.Role != RoleAdmin {
		return fmt.Errorf("%w: %s is not an owner or admin of %s", ErrForbidden, actorID, convID)
	}
	if actor.Role.rank() <= target.Role.rank() {
		return fmt.Errorf("%w: %s (%s) does not outrank %s (%s)", ErrForbidden, actorID, actor.Role, targetID, target.Role)
	}
	return nil
}
