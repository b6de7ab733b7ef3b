package conversation

import (
	"fmt"
	"strings"
	"time"

	"parley/storage"
)

// Membership changes: creating a conversation, adding and removing
// members. Each has a plan function that reads the current state and
// decides; Check* runs the plan alone, Stage* runs it and adds the writes
// to the caller's batch. So the check and the staged change can never
// disagree, and a Stage* that runs again (msglog may rebuild its batch)
// makes the same decision with the new seq.

// stageConv writes the conversation record. Every Stage* writes it, so
// this is where the conversation's cached permission records are marked
// stale.
func (s *Store) stageConv(b *storage.Batch, c Conversation) error {
	s.changed(c.ID)
	return b.SetJSON(convKey(c.ID), c)
}

// directPair validates the two members of a direct conversation and
// returns its id.
func directPair(a, b string) (string, error) {
	if err := checkID("member id", a); err != nil {
		return "", err
	}
	if err := checkID("member id", b); err != nil {
		return "", err
	}
	if a == b {
		return "", invalidf("members", "a direct conversation needs two different members")
	}
	return DirectID(a, b), nil
}

// CheckCreateDirect validates the pair and reports whether their direct
// conversation already exists. When it does, the caller returns it
// (Get(DirectID(a, b))) instead of creating it again: creation is
// idempotent. Whether a and b are people in the directory is the caller's
// question.
func (s *Store) CheckCreateDirect(a, b string) (exists bool, err error) {
	id, err := directPair(a, b)
	if err != nil {
		return false, err
	}
	has, err := s.db.Has(convKey(id))
	if err != nil {
		return false, fmt.Errorf("look up conversation %s: %w", id, err)
	}
	return has, nil
}

// StageCreateDirect adds to b the direct conversation between a and bID,
// both members from seq. It fails with ErrConflict if the conversation
// already exists: the caller's CheckCreateDirect, under Lock(DirectID(a,
// bID)), should have seen it.
func (s *Store) StageCreateDirect(b *storage.Batch, a, bID string, seq uint64, now time.Time) (Conversation, error) {
	exists, err := s.CheckCreateDirect(a, bID)
	if err != nil {
		return Conversation{}, err
	}
	id := DirectID(a, bID)
	if exists {
		return Conversation{}, fmt.Errorf("%w: conversation %s already exists", ErrConflict, id)
	}
	t := now.UTC()
	c := Conversation{ID: id, Kind: KindDirect, MemberCount: 2, CreatedAt: t, UpdatedAt: t}
	if err := s.stageConv(b, c); err != nil {
		return Conversation{}, err
	}
	for _, m := range []string{a, bID} {
		if err := stageMember(b, id, Membership{MemberID: m, Role: RoleMember, JoinedSeq: seq, JoinedAt: t}); err != nil {
			return Conversation{}, err
		}
	}
	return c, nil
}

// planCreateGroup validates a new group and returns it cleaned, with the
// members other than the owner, de-duplicated.
func (s *Store) planCreateGroup(c Conversation, ownerID string, memberIDs []string) (Conversation, []string, error) {
	if err := checkID("conversation id", c.ID); err != nil {
		return Conversation{}, nil, err
	}
	if !strings.HasPrefix(c.ID, GroupIDPrefix) {
		return Conversation{}, nil, invalidf("conversation id", "%q must start with %q (see NewGroupID)", c.ID, GroupIDPrefix)
	}
	if c.Kind != "" && c.Kind != KindGroup {
		return Conversation{}, nil, invalidf("kind", "%q must be %q", c.Kind, KindGroup)
	}
	if err := checkID("owner id", ownerID); err != nil {
		return Conversation{}, nil, err
	}
	if c.OwnerID != "" && c.OwnerID != ownerID {
		return Conversation{}, nil, invalidf("owner_id", "%q disagrees with the owner %q", c.OwnerID, ownerID)
	}
	if err := cleanSettings(&c); err != nil {
		return Conversation{}, nil, err
	}
	others, err := cleanMemberIDs(memberIDs, ownerID, s.maxGroupMembers-1)
	if err != nil {
		return Conversation{}, nil, err
	}
	if n := 1 + len(others); n > s.maxGroupMembers {
		return Conversation{}, nil, fmt.Errorf("%w: a group has at most %d members, %d asked", ErrLimit, s.maxGroupMembers, n)
	}
	exists, err := s.db.Has(convKey(c.ID))
	if err != nil {
		return Conversation{}, nil, fmt.Errorf("look up conversation %s: %w", c.ID, err)
	}
	if exists {
		return Conversation{}, nil, fmt.Errorf("%w: conversation %s already exists", ErrConflict, c.ID)
	}
	c.Kind = KindGroup
	c.OwnerID = ownerID
	c.Dissolved = false
	c.MemberCount = 1 + len(others)
	return c, others, nil
}

// CheckCreateGroup validates a new group: c.ID from NewGroupID, its name,
// avatar URL, announcement and welcome message, the owner and members
// (the owner counts towards MaxGroupMembers and may be listed or not).
// c.Kind, c.OwnerID may be empty; MemberCount, Dissolved and the times are
// the store's and ignored.
func (s *Store) CheckCreateGroup(c Conversation, ownerID string, memberIDs []string) error {
	_, _, err := s.planCreateGroup(c, ownerID, memberIDs)
	return err
}

// StageCreateGroup adds to b the group c, owned by ownerID, with
// memberIDs as plain members, all joined at seq. It returns the group as
// stored.
func (s *Store) StageCreateGroup(b *storage.Batch, c Conversation, ownerID string, memberIDs []string, seq uint64, now time.Time) (Conversation, error) {
	c, others, err := s.planCreateGroup(c, ownerID, memberIDs)
	if err != nil {
		return Conversation{}, err
	}
	t := now.UTC()
	c.CreatedAt, c.UpdatedAt = t, t
	if err := s.stageConv(b, c); err != nil {
		return Conversation{}, err
	}
	if err := stageMember(b, c.ID, Membership{MemberID: ownerID, Role: RoleOwner, JoinedSeq: seq, JoinedAt: t}); err != nil {
		return Conversation{}, err
	}
	for _, id := range others {
		if err := stageMember(b, c.ID, Membership{MemberID: id, Role: RoleMember, JoinedSeq: seq, JoinedAt: t}); err != nil {
			return Conversation{}, err
		}
	}
	return c, nil
}

// planAddMembers returns the group and the ids among memberIDs that are
// not yet members.
func (s *Store) planAddMembers(convID string, memberIDs []string) (Conversation, []string, error) {
	c, err := s.loadGroup(convID)
	if err != nil {
		return Conversation{}, nil, err
	}
	ids, err := cleanMemberIDs(memberIDs, "", s.maxGroupMembers)
	if err != nil {
		return Conversation{}, nil, err
	}
	toAdd := make([]string, 0, len(ids))
	for _, id := range ids {
		has, err := s.db.Has(memberKey(convID, id))
		if err != nil {
			return Conversation{}, nil, fmt.Errorf("look up member %s of %s: %w", id, convID, err)
		}
		if !has {
			toAdd = append(toAdd, id)
		}
	}
	if n := c.MemberCount + len(toAdd); n > s.maxGroupMembers {
		return Conversation{}, nil, fmt.Errorf("%w: %s has %d members, adding %d would pass the limit of %d",
			ErrLimit, convID, c.MemberCount, len(toAdd), s.maxGroupMembers)
	}
	return c, toAdd, nil
}

// CheckAddMembers validates adding memberIDs to the group convID and
// returns those who are not members yet, in the order given. An empty
// result means there is nothing to do (and nothing to log). It fails with
// ErrLimit when the group would pass MaxGroupMembers, ErrDissolved for a
// dissolved group and ErrInvalid for a direct conversation.
func (s *Store) CheckAddMembers(convID string, memberIDs []string) (toAdd []string, err error) {
	_, toAdd, err = s.planAddMembers(convID, memberIDs)
	return toAdd, err
}

// StageAddMembers adds to b the members of memberIDs who are not yet in
// convID, as plain members joined at seq.
func (s *Store) StageAddMembers(b *storage.Batch, convID string, memberIDs []string, seq uint64, now time.Time) error {
	c, toAdd, err := s.planAddMembers(convID, memberIDs)
	if err != nil {
		return err
	}
	if len(toAdd) == 0 {
		return nil
	}
	t := now.UTC()
	for _, id := range toAdd {
		if err := stageMember(b, convID, Membership{MemberID: id, Role: RoleMember, JoinedSeq: seq, JoinedAt: t}); err != nil {
			return err
		}
	}
	c.MemberCount += len(toAdd)
	c.UpdatedAt = t
	return s.stageConv(b, c)
}

// planRemoveMember returns the group memberID may be removed from.
func (s *Store) planRemoveMember(convID, memberID string) (Conversation, error) {
	c, err := s.loadGroup(convID)
	if err != nil {
		return Conversation{}, err
	}
	if err := checkID("member id", memberID); err != nil {
		return Conversation{}, err
	}
	m, err := s.loadMember(convID, memberID)
	if err != nil {
		return Conversation{}, err
	}
	if m.Role == RoleOwner {
		return Conversation{}, fmt.Errorf("%w: %s owns %s; transfer ownership or dissolve the group first", ErrConflict, memberID, convID)
	}
	return c, nil
}

// CheckRemoveMember validates removing (or the leaving of) memberID from
// the group convID: ErrNotMember if they are not in it, ErrConflict for
// the owner, who must transfer ownership first.
func (s *Store) CheckRemoveMember(convID, memberID string) error {
	_, err := s.planRemoveMember(convID, memberID)
	return err
}

// StageRemoveMember adds to b the removal of memberID from convID: their
// membership, their entry in the member's conversation index and their
// cursors go. Their past messages stay in the log.
func (s *Store) StageRemoveMember(b *storage.Batch, convID, memberID string, now time.Time) error {
	c, err := s.planRemoveMember(convID, memberID)
	if err != nil {
		return err
	}
	b.Delete(memberKey(convID, memberID))
	b.Delete(indexKey(memberID, convID))
	b.Delete(cursorKey(convID, memberID))
	c.MemberCount--
	c.UpdatedAt = now.UTC()
	return s.stageConv(b, c)
}
