package conversation

import (
	"fmt"
	"time"

	"parley/storage"
)

// Group settings and roles. As in members.go, each change has a plan that
// Check* runs alone and Stage* runs before writing. The Check* functions
// also say whether the change would change anything, so the caller can
// skip logging a no-op; the matching Stage* then writes nothing.
// Every staged change moves the group's UpdatedAt.

// planUpdate returns the group with p applied and whether that differs
// from what is stored.
func (s *Store) planUpdate(convID string, p Patch) (Conversation, bool, error) {
	c, err := s.loadGroup(convID)
	if err != nil {
		return Conversation{}, false, err
	}
	if p.Name == nil && p.AvatarURL == nil && p.Announcement == nil && p.WelcomeMessage == nil && p.MuteAll == nil {
		return Conversation{}, false, invalidf("patch", "sets no field")
	}
	next := c
	if p.Name != nil {
		next.Name = *p.Name
	}
	if p.AvatarURL != nil {
		next.AvatarURL = *p.AvatarURL
	}
	if p.Announcement != nil {
		next.Announcement = *p.Announcement
	}
	if p.WelcomeMessage != nil {
		next.WelcomeMessage = *p.WelcomeMessage
	}
	if p.MuteAll != nil {
		next.MuteAll = *p.MuteAll
	}
	if err := cleanSettings(&next); err != nil {
		return Conversation{}, false, err
	}
	return next, next != c, nil
}

// CheckUpdate validates p against the group convID and reports whether it
// changes anything. A patch that sets no field is ErrInvalid.
func (s *Store) CheckUpdate(convID string, p Patch) (changed bool, err error) {
	_, changed, err = s.planUpdate(convID, p)
	return changed, err
}

// StageUpdate adds to b the group convID with p applied (name, avatar,
// announcement, welcome message, mute-all) and returns it.
func (s *Store) StageUpdate(b *storage.Batch, convID string, p Patch, now time.Time) (Conversation, error) {
	c, changed, err := s.planUpdate(convID, p)
	if err != nil || !changed {
		return c, err
	}
	c.UpdatedAt = now.UTC()
	if err := s.stageConv(b, c); err != nil {
		return Conversation{}, err
	}
	return c, nil
}

// planMember loads the group and one of its members, the start of every
// per-member change.
func (s *Store) planMember(convID, memberID string) (Conversation, Membership, error) {
	c, err := s.loadGroup(convID)
	if err != nil {
		return Conversation{}, Membership{}, err
	}
	if err := checkID("member id", memberID); err != nil {
		return Conversation{}, Membership{}, err
	}
	m, err := s.loadMember(convID, memberID)
	if err != nil {
		return Conversation{}, Membership{}, err
	}
	return c, m, nil
}

// planSetRole returns the group and memberID's membership with role r.
func (s *Store) planSetRole(convID, memberID string, r Role) (Conversation, Membership, bool, error) {
	if r != RoleAdmin && r != RoleMember {
		return Conversation{}, Membership{}, false, invalidf("role", "%q must be %q or %q; ownership moves by transfer", r, RoleAdmin, RoleMember)
	}
	c, m, err := s.planMember(convID, memberID)
	if err != nil {
		return Conversation{}, Membership{}, false, err
	}
	if m.Role == RoleOwner {
		return Conversation{}, Membership{}, false, fmt.Errorf("%w: %s owns %s; ownership moves by transfer", ErrConflict, memberID, convID)
	}
	changed := m.Role != r
	m.Role = r
	return c, m, changed, nil
}

// CheckSetRole validates making memberID an admin or a plain member of
// convID and reports whether their role changes. The owner's role is
// ErrConflict: it changes only by StageTransferOwner.
func (s *Store) CheckSetRole(convID, memberID string, r Role) (changed bool, err error) {
	_, _, changed, err = s.planSetRole(convID, memberID, r)
	return changed, err
}

// StageSetRole adds to b memberID's new role r (RoleAdmin or RoleMember)
// in convID.
func (s *Store) StageSetRole(b *storage.Batch, convID, memberID string, r Role, now time.Time) error {
	c, m, changed, err := s.planSetRole(convID, memberID, r)
	if err != nil || !changed {
		return err
	}
	return s.stageMembership(b, c, m, now)
}

// planTransferOwner returns the group with newOwner as owner and the two
// memberships as they will be: the new owner's and the old owner's.
func (s *Store) planTransferOwner(convID, newOwner string) (Conversation, Membership, Membership, bool, error) {
	c, next, err := s.planMember(convID, newOwner)
	if err != nil {
		return Conversation{}, Membership{}, Membership{}, false, err
	}
	if c.OwnerID == newOwner {
		return c, next, next, false, nil
	}
	prev, err := s.loadMember(convID, c.OwnerID)
	if err != nil {
		return Conversation{}, Membership{}, Membership{}, false, fmt.Errorf("load owner of %s: %w", convID, err)
	}
	c.OwnerID = newOwner
	next.Role = RoleOwner
	next.Muted = false // nobody outranks the owner to mute them
	prev.Role = RoleMember
	return c, next, prev, true, nil
}

// CheckTransferOwner validates handing convID to newOwner, who must be a
// member, and reports whether the owner changes.
func (s *Store) CheckTransferOwner(convID, newOwner string) (changed bool, err error) {
	_, _, _, changed, err = s.planTransferOwner(convID, newOwner)
	return changed, err
}

// StageTransferOwner adds to b the transfer of convID to newOwner. The
// previous owner stays, as a plain member (as in WeCom); the new owner
// loses any per-member mute.
func (s *Store) StageTransferOwner(b *storage.Batch, convID, newOwner string, now time.Time) error {
	c, next, prev, changed, err := s.planTransferOwner(convID, newOwner)
	if err != nil || !changed {
		return err
	}
	if err := b.SetJSON(memberKey(convID, next.MemberID), next); err != nil {
		return err
	}
	if err := b.SetJSON(memberKey(convID, prev.MemberID), prev); err != nil {
		return err
	}
	c.UpdatedAt = now.UTC()
	return s.stageConv(b, c)
}

// planSetMuted returns the group and memberID's membership muted or not.
func (s *Store) planSetMuted(convID, memberID string, muted bool) (Conversation, Membership, bool, error) {
	c, m, err := s.planMember(convID, memberID)
	if err != nil {
		return Conversation{}, Membership{}, false, err
	}
	if muted && m.Role == RoleOwner {
		return Conversation{}, Membership{}, false, fmt.Errorf("%w: %s owns %s and cannot be muted", ErrConflict, memberID, convID)
	}
	changed := m.Muted != muted
	m.Muted = muted
	return c, m, changed, nil
}

// CheckSetMuted validates muting or unmuting memberID in convID and
// reports whether that changes anything. Muting the owner is ErrConflict.
func (s *Store) CheckSetMuted(convID, memberID string, muted bool) (changed bool, err error) {
	_, _, changed, err = s.planSetMuted(convID, memberID, muted)
	return changed, err
}

// StageSetMuted adds to b memberID's per-member mute in convID. A muted
// member may read but not send (CanSend), whatever their role.
func (s *Store) StageSetMuted(b *storage.Batch, convID, memberID string, muted bool, now time.Time) error {
	c, m, changed, err := s.planSetMuted(convID, memberID, muted)
	if err != nil || !changed {
		return err
	}
	return s.stageMembership(b, c, m, now)
}

// stageMembership adds to b one changed membership of c and c's new
// update time.
func (s *Store) stageMembership(b *storage.Batch, c Conversation, m Membership, now time.Time) error {
	if err := b.SetJSON(memberKey(c.ID, m.MemberID), m); err != nil {
		return err
	}
	c.UpdatedAt = now.UTC()
	return s.stageConv(b, c)
}

// CheckDissolve validates dissolving the group convID: ErrDissolved if it
// already is, ErrInvalid for a direct conversation.
func (s *Store) CheckDissolve(convID string) error {
	_, err := s.loadGroup(convID)
	return err
}

// StageDissolve adds to b the dissolution of convID. The group and its
// memberships, indexes and cursors stay, so members can still read its
// history and move their cursors; every send and change is refused with
// ErrDissolved from now on.
func (s *Store) StageDissolve(b *storage.Batch, convID string, now time.Time) error {
	c, err := s.loadGroup(convID)
	if err != nil {
		return err
	}
	c.Dissolved = true
	c.UpdatedAt = now.UTC()
	return s.stageConv(b, c)
}
