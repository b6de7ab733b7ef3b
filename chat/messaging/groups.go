package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"parley/chat/conversation"
	"parley/chat/msglog"
	"parley/storage"
)

// SystemActor is the sender of system entries the server makes on its own,
// such as removing a disabled member from their groups.
const SystemActor = "system"

// SystemBody is the body of a "system" log entry: what changed, who did it.
type SystemBody struct {
	Event   string              `json:"event"` // created, joined, left, removed, updated, role, owner, muted, unmuted, dissolved
	Actor   string              `json:"actor"`
	Members []string            `json:"members,omitempty"`
	Role    conversation.Role   `json:"role,omitempty"`
	Changes *conversation.Patch `json:"changes,omitempty"`
	Welcome string              `json:"welcome,omitempty"` // the group's welcome message, on "joined"
	Reason  string              `json:"reason,omitempty"`
}

// GroupSpec describes a new group.
type GroupSpec struct {
	Name           string   `json:"name"`
	AvatarURL      string   `json:"avatar_url"`
	Announcement   string   `json:"announcement"`
	WelcomeMessage string   `json:"welcome_message"`
	Members        []string `json:"members"` // besides the creator, who becomes the owner
}

// systemChange appends a system entry and stages the change it records in
// the same synced commit. The caller holds the conversation's lock.
func (s *Service) systemChange(ctx context.Context, convID string, body SystemBody, stage func(b *storage.Batch, seq uint64, now time.Time) error) (msglog.Entry, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return msglog.Entry{}, fmt.Errorf("encode system entry: %w", err)
	}
	e, _, err := s.log.Append(ctx, msglog.Draft{
		ConversationID: convID,
		SenderID:       body.Actor,
		Type:           "system",
		Body:           raw,
		OnCommit: func(b *storage.Batch, e msglog.Entry) error {
			return stage(b, e.Seq, e.CreatedAt)
		},
	})
	if err != nil {
		return msglog.Entry{}, fmt.Errorf("record %s in %s: %w", body.Event, convID, err)
	}
	return e, nil
}

// CreateDirect returns the direct conversation of actor and peer, creating
// it on first use. Asking twice returns the same conversation.
func (s *Service) CreateDirect(ctx context.Context, actor, peer string) (conversation.Conversation, error) {
	if actor == peer {
		return conversation.Conversation{}, fmt.Errorf("%w: a direct conversation needs two different members", ErrInvalid)
	}
	if err := s.checkActive(peer); err != nil {
		return conversation.Conversation{}, err
	}
	conv, created, err := s.createDirectLocked(ctx, actor, peer)
	if err != nil || !created {
		return conv, err
	}
	s.creatorRead(conv.ID, actor)
	s.announceJoined(conv.ID, actor, peer)
	return conv, nil
}

func (s *Service) createDirectLocked(ctx context.Context, actor, peer string) (conv conversation.Conversation, created bool, err error) {
	id := conversation.DirectID(actor, peer)
	unlock := s.convs.Lock(id)
	defer unlock()
	exists, err := s.convs.CheckCreateDirect(actor, peer)
	if err != nil {
		return conv, false, err
	}
	if exists {
		conv, err = s.convs.Get(id)
		return conv, false, err
	}
	_, err = s.systemChange(ctx, id, SystemBody{Event: "created", Actor: actor, Members: []string{actor, peer}},
		func(b *storage.Batch, seq uint64, now time.Time) error {
			var err error
			conv, err = s.convs.StageCreateDirect(b, actor, peer, seq, now)
			return err
		})
	return conv, err == nil, err
}

// CreateGroup creates a group owned by actor.
func (s *Service) CreateGroup(ctx context.Context, actor string, spec GroupSpec) (conversation.Conversation, error) {
	members := dedupe(append([]string{actor}, spec.Members...))
	if err := s.checkActive(members[1:]...); err != nil {
		return conversation.Conversation{}, err
	}
	c, err := s.createGroupLocked(ctx, actor, spec, members)
	if err != nil {
		return conversation.Conversation{}, err
	}
	s.creatorRead(c.ID, actor)
	s.announceJoined(c.ID, members...)
	return c, nil
}

func (s *Service) createGroupLocked(ctx context.Context, actor string, spec GroupSpec, members []string) (conversation.Conversation, error) {
	c := conversation.Conversation{
		ID: conversation.NewGroupID(), Kind: conversation.KindGroup, Name: spec.Name, AvatarURL: spec.AvatarURL,
		Announcement: spec.Announcement, WelcomeMessage: spec.WelcomeMessage,
	}
	unlock := s.convs.Lock(c.ID)
	defer unlock()
	if err := s.convs.CheckCreateGroup(c, actor, members); err != nil {
		return conversation.Conversation{}, err
	}
	_, err := s.systemChange(ctx, c.ID, SystemBody{Event: "created", Actor: actor, Members: members, Welcome: spec.WelcomeMessage},
		func(b *storage.Batch, seq uint64, now time.Time) error {
			var err error
			c, err = s.convs.StageCreateGroup(b, c, actor, members, seq, now)
			return err
		})
	return c, err
}

// creatorRead marks the "created" entry (seq 1) read for the member who
// created the conversation, so it does not start unread for them. Like
// every cursor move it runs without the conversation's lock.
func (s *Service) creatorRead(convID, actor string) {
	if _, _, err := s.convs.AdvanceRead(convID, actor, 1); err != nil {
		s.logger.Warn("chat: mark created entry read", "conversation", convID, "member", actor, "err", err)
	}
}

// AddMembers adds members to a group. Owner and admins may add.
func (s *Service) AddMembers(ctx context.Context, actor, convID string, ids []string) ([]string, error) {
	if err := s.checkActive(ids...); err != nil {
		return nil, err
	}
	unlock := s.convs.Lock(convID)
	defer unlock()
	if err := s.convs.CanManage(convID, actor); err != nil {
		return nil, err
	}
	conv, err := s.convs.Get(convID)
	if err != nil {
		return nil, err
	}
	toAdd, err := s.convs.CheckAddMembers(convID, dedupe(ids))
	if err != nil || len(toAdd) == 0 {
		return toAdd, err
	}
	_, err = s.systemChange(ctx, convID, SystemBody{Event: "joined", Actor: actor, Members: toAdd, Welcome: conv.WelcomeMessage},
		func(b *storage.Batch, seq uint64, now time.Time) error {
			return s.convs.StageAddMembers(b, convID, toAdd, seq, now)
		})
	if err != nil {
		return nil, err
	}
	s.announceJoined(convID, toAdd...)
	return toAdd, nil
}

// RemoveMember takes memberID out of a group: a member leaving when actor
// is memberID, otherwise a removal by the owner or an admin. Admins cannot
// remove the owner or other admins.
func (s *Service) RemoveMember(ctx context.Context, actor, convID, memberID string) error {
	unlock := s.convs.Lock(convID)
	defer unlock()
	return s.removeLocked(ctx, actor, convID, memberID, "", false)
}

// removeLocked records memberID leaving or being removed. bySystem skips
// the permission check for removals the server makes itself; it is a flag
// rather than a reserved actor id so no member id can claim it.
func (s *Service) removeLocked(ctx context.Context, actor, convID, memberID, reason string, bySystem bool) error {
	event := "left"
	if actor != memberID {
		event = "removed"
		if !bySystem {
			if err := s.moderate(convID, actor, memberID); err != nil {
				return err
			}
		}
	}
	if err := s.convs.CheckRemoveMember(convID, memberID); err != nil {
		return err
	}
	e, err := s.systemChange(ctx, convID, SystemBody{Event: event, Actor: actor, Members: []string{memberID}, Reason: reason},
		func(b *storage.Batch, seq uint64, now time.Time) error {
			return s.convs.StageRemoveMember(b, convID, memberID, now)
		})
	if err != nil {
		return err
	}
	// The member's devices may stop hearing the conversation before its
	// entry reaches them, so tell them directly that they are out. It is a
	// frame of its own, not a second copy of the entry.
	s.sendToMember(memberID, FrameRemoved, Removed{ConversationID: convID, Seq: e.Seq, Actor: actor, Reason: reason})
	if err := s.events.MemberLeft(memberID, convID); err != nil {
		s.logger.Warn("chat: announce left", "member", memberID, "conversation", convID, "err", err)
	}
	return nil
}

// UpdateGroup changes a group's name, avatar, announcement, welcome
// message or mute-all. Owner and admins may. A patch that changes nothing
// writes nothing.
func (s *Service) UpdateGroup(ctx context.Context, actor, convID string, p conversation.Patch) (conversation.Conversation, error) {
	unlock := s.convs.Lock(convID)
	defer unlock()
	if err := s.convs.CanManage(convID, actor); err != nil {
		return conversation.Conversation{}, err
	}
	changed, err := s.convs.CheckUpdate(convID, p)
	if err != nil || !changed {
		if err == nil {
			return s.convs.Get(convID)
		}
		return conversation.Conversation{}, err
	}
	var conv conversation.Conversation
	_, err = s.systemChange(ctx, convID, SystemBody{Event: "updated", Actor: actor, Changes: &p},
		func(b *storage.Batch, seq uint64, now time.Time) error {
			var err error
			conv, err = s.convs.StageUpdate(b, convID, p, now)
			return err
		})
	if err != nil {
		return conversation.Conversation{}, err
	}
	return conv, nil
}

// SetRole makes a member an admin or an ordinary member. Only the owner may.
func (s *Service) SetRole(ctx context.Context, actor, convID, memberID string, r conversation.Role) error {
	return s.ownerChange(ctx, actor, convID, SystemBody{Event: "role", Actor: actor, Members: []string{memberID}, Role: r},
		func() (bool, error) { return s.convs.CheckSetRole(convID, memberID, r) },
		func(b *storage.Batch, now time.Time) error { return s.convs.StageSetRole(b, convID, memberID, r, now) })
}

// TransferOwner hands the group to another member. Only the owner may.
func (s *Service) TransferOwner(ctx context.Context, actor, convID, newOwner string) error {
	return s.ownerChange(ctx, actor, convID, SystemBody{Event: "owner", Actor: actor, Members: []string{newOwner}},
		func() (bool, error) { return s.convs.CheckTransferOwner(convID, newOwner) },
		func(b *storage.Batch, now time.Time) error {
			return s.convs.StageTransferOwner(b, convID, newOwner, now)
		})
}

// Dissolve ends a group: its history stays readable, sends are refused.
// Only the owner may.
func (s *Service) Dissolve(ctx context.Context, actor, convID string) error {
	return s.ownerChange(ctx, actor, convID, SystemBody{Event: "dissolved", Actor: actor},
		func() (bool, error) { return true, s.convs.CheckDissolve(convID) },
		func(b *storage.Batch, now time.Time) error { return s.convs.StageDissolve(b, convID, now) })
}

// ownerChange runs a change only the owner may make: check it, and record
// it when it changes something.
func (s *Service) ownerChange(ctx context.Context, actor, convID string, body SystemBody, check func() (bool, error), stage func(*storage.Batch, time.Time) error) error {
	unlock := s.convs.Lock(convID)
	defer unlock()
	if err := s.convs.RequireOwner(convID, actor); err != nil {
		return err
	}
	changed, err := check()
	if errors.Is(err, conversation.ErrNotMember) {
		// The owner is a member, so the one missing is the member named.
		return fmt.Errorf("%w: the member named is not in this conversation", ErrInvalid)
	}
	if err != nil || !changed {
		return err
	}
	_, err = s.systemChange(ctx, convID, body, func(b *storage.Batch, _ uint64, now time.Time) error { return stage(b, now) })
	return err
}

// moderate checks that actor may act on target, telling "you are not a
// member" (ErrNotMember) apart from "the member you named is not in this
// conversation" (ErrInvalid).
func (s *Service) moderate(convID, actor, target string) error {
	if _, err := s.convs.Membership(convID, actor); err != nil {
		return err
	}
	if _, err := s.convs.Membership(convID, target); errors.Is(err, conversation.ErrNotMember) {
		return fmt.Errorf("%w: %s is not in this conversation", ErrInvalid, target)
	} else if err != nil {
		return err
	}
	return s.convs.CanModerate(convID, actor, target)
}

// SetMuted mutes or unmutes one member. The owner and admins may, on
// members they outrank.
func (s *Service) SetMuted(ctx context.Context, actor, convID, memberID string, muted bool) error {
	unlock := s.convs.Lock(convID)
	defer unlock()
	if err := s.moderate(convID, actor, memberID); err != nil {
		return err
	}
	changed, err := s.convs.CheckSetMuted(convID, memberID, muted)
	if err != nil || !changed {
		return err
	}
	event := "unmuted"
	if muted {
		event = "muted"
	}
	_, err = s.systemChange(ctx, convID, SystemBody{Event: event, Actor: actor, Members: []string{memberID}},
		func(b *storage.Batch, _ uint64, now time.Time) error {
			return s.convs.StageSetMuted(b, convID, memberID, muted, now)
		})
	return err
}

// RemoveFromAllGroups takes a disabled member out of every group, with a
// system entry in each. A group the member owns passes to an admin, or to
// the longest-standing member; a group left empty is dissolved.
func (s *Service) RemoveFromAllGroups(ctx context.Context, memberID string) error {
	convIDs, err := s.convs.ListForMember(memberID)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range convIDs {
		if err := s.removeDisabled(ctx, id, memberID); err != nil {
			errs = append(errs, fmt.Errorf("conversation %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) removeDisabled(ctx context.Context, convID, memberID string) error {
	unlock := s.convs.Lock(convID)
	defer unlock()
	conv, err := s.convs.Get(convID)
	if err != nil || conv.Kind != conversation.KindGroup || conv.Dissolved {
		return err
	}
	if conv.OwnerID == memberID {
		heir, err := s.heir(convID, memberID)
		if err != nil {
			return err
		}
		if heir == "" {
			_, err = s.systemChange(ctx, convID, SystemBody{Event: "dissolved", Actor: SystemActor, Reason: "owner disabled"},
				func(b *storage.Batch, _ uint64, now time.Time) error { return s.convs.StageDissolve(b, convID, now) })
			return err
		}
		_, err = s.systemChange(ctx, convID, SystemBody{Event: "owner", Actor: SystemActor, Members: []string{heir}, Reason: "owner disabled"},
			func(b *storage.Batch, _ uint64, now time.Time) error {
				return s.convs.StageTransferOwner(b, convID, heir, now)
			})
		if err != nil {
			return err
		}
	}
	return s.removeLocked(ctx, SystemActor, convID, memberID, "member disabled", true)
}

// heir picks who inherits a group: the first admin, else the member who
// joined first. Empty when the owner is alone.
func (s *Service) heir(convID, owner string) (string, error) {
	ms, err := s.convs.Members(convID)
	if err != nil {
		return "", err
	}
	var best *conversation.Membership
	for i := range ms {
		m := &ms[i]
		if m.MemberID == owner {
			continue
		}
		switch {
		case best == nil,
			m.Role == conversation.RoleAdmin && best.Role != conversation.RoleAdmin,
			(m.Role == conversation.RoleAdmin) == (best.Role == conversation.RoleAdmin) && m.JoinedSeq < best.JoinedSeq:
			best = m
		}
	}
	if best == nil {
		return "", nil
	}
	return best.MemberID, nil
}

// announceJoined tells every node to take interest for the new members and
// tells the members' devices about the conversation.
func (s *Service) announceJoined(convID string, memberIDs ...string) {
	for _, m := range memberIDs {
		if err := s.events.MemberJoined(m, convID); err != nil {
			s.logger.Warn("chat: announce joined", "member", m, "conversation", convID, "err", err)
		}
		sum, err := s.Summary(convID, m)
		if err != nil {
			s.logger.Warn("chat: summary for new member", "member", m, "conversation", convID, "err", err)
			continue
		}
		s.sendToMember(m, FrameConversation, sum)
	}
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// Members lists a conversation's members with their roles and mutes, for
// a caller who belongs to it: a member who joined late learns the group
// from this, not from system entries it never saw.
func (s *Service) Members(convID, actor string) ([]conversation.Membership, error) {
	if _, err := s.member(convID, actor); err != nil {
		return nil, err
	}
	members, err := s.convs.Members(convID)
	if err != nil {
		return nil, fmt.Errorf("list members of %s: %w", convID, err)
	}
	return members, nil
}
