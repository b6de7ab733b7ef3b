package messaging_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"parley/chat/conversation"
	"parley/chat/fanout"
	"parley/chat/messaging"
	"parley/chat/msglog"
)

func TestCreateGroup(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	h.online(t, "alice", "bob", "carol")
	g, err := h.svc.CreateGroup(ctx, "alice", messaging.GroupSpec{
		Name: " Team ", WelcomeMessage: "Welcome!", Members: []string{"bob", "alice", "carol", "bob"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if g.Kind != conversation.KindGroup || g.OwnerID != "alice" || g.MemberCount != 3 || g.Name != "Team" || !strings.HasPrefix(g.ID, conversation.GroupIDPrefix) {
		t.Fatalf("created %+v, want a group named Team owned by alice with 3 members", g)
	}
	es := h.entries(t, g.ID)
	if len(es) != 1 {
		t.Fatalf("%d entries, want the created entry only", len(es))
	}
	if b := system(t, es[0]); b.Event != "created" || b.Actor != "alice" || !slices.Equal(b.Members, []string{"alice", "bob", "carol"}) {
		t.Fatalf("created entry %+v", b)
	}
	wantRole := map[string]conversation.Role{"alice": conversation.RoleOwner, "bob": conversation.RoleMember, "carol": conversation.RoleMember}
	h.settle(t, "", "alice", "bob", "carol")
	for m, role := range wantRole {
		sums := h.summaries(t, m)
		if len(sums) != 1 {
			t.Fatalf("%s got %d chat.conversation frames, want 1", m, len(sums))
		}
		// The creator has read the created entry; the others have not,
		// but a system entry is unread for nobody. A group names no peer.
		read := uint64(0)
		if m == "alice" {
			read = 1
		}
		if s := sums[0]; s.Conversation.ID != g.ID || s.Role != role || s.JoinedSeq != 1 || s.LastSeq != 1 || s.ReadSeq != read || s.Unread != 0 || s.PeerID != "" {
			t.Errorf("%s's summary %+v, want %s of %s joined at 1, read %d, nothing unread, no peer", m, s, role, g.ID, read)
		}
	}
	// The members' online devices take interest at once.
	ack := h.send(t, "bob", g.ID, "first")
	h.settle(t, g.ID, "alice", "bob", "carol")
	for m := range wantRole {
		if got := seqs(h.messages(t, m, g.ID)); !slices.Equal(got, []uint64{ack.Seq}) {
			t.Errorf("%s got chat.message seqs %v, want [%d]", m, got, ack.Seq)
		}
	}

	_, err = h.svc.CreateGroup(ctx, "alice", messaging.GroupSpec{Name: "X", Members: []string{"bob", "mallory"}})
	wantErr(t, "group with an inactive member", err, messaging.ErrInvalid)
	_, err = h.svc.CreateGroup(ctx, "alice", messaging.GroupSpec{Name: "  ", Members: []string{"bob"}})
	wantErr(t, "group without a name", err, conversation.ErrInvalid)
	if ids, err := h.convs.ListForMember("bob"); err != nil || !slices.Equal(ids, []string{g.ID}) {
		t.Fatalf("bob's conversations %v, %v: refused groups were created", ids, err)
	}
}

func TestCreateDirectIsIdempotent(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	h.online(t, "alice", "bob")
	var ids []string
	for _, pair := range [][2]string{{"alice", "bob"}, {"alice", "bob"}, {"bob", "alice"}} {
		c, err := h.svc.CreateDirect(ctx, pair[0], pair[1])
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind != conversation.KindDirect || c.MemberCount != 2 {
			t.Fatalf("direct conversation %+v", c)
		}
		ids = append(ids, c.ID)
	}
	if ids[0] != ids[1] || ids[0] != ids[2] || ids[0] != conversation.DirectID("bob", "alice") {
		t.Fatalf("ids %v, want one id, DirectID of the pair", ids)
	}
	es := h.entries(t, ids[0])
	if len(es) != 1 {
		t.Fatalf("%d entries, want one created entry", len(es))
	}
	if b := system(t, es[0]); b.Event != "created" || b.Actor != "alice" || !slices.Equal(b.Members, []string{"alice", "bob"}) {
		t.Fatalf("created entry %+v", b)
	}
	h.settle(t, "", "alice", "bob")
	// Each side's summary names the other as its peer; the created entry
	// is a system entry, unread for nobody.
	for m, peer := range map[string]string{"alice": "bob", "bob": "alice"} {
		sums := h.summaries(t, m)
		if len(sums) != 1 {
			t.Fatalf("%s got %d chat.conversation frames, want 1 (only on creation)", m, len(sums))
		}
		if s := sums[0]; s.Conversation.ID != ids[0] || s.Unread != 0 || s.PeerID != peer {
			t.Errorf("%s's summary %+v, want peer %s and nothing unread in %s", m, s, peer, ids[0])
		}
	}
	_, err := h.svc.CreateDirect(ctx, "alice", "alice")
	wantErr(t, "direct with oneself", err, messaging.ErrInvalid)
	_, err = h.svc.CreateDirect(ctx, "alice", "mallory")
	wantErr(t, "direct with an inactive member", err, messaging.ErrInvalid)
}

// A new member sees the log from the entry that added them on.
func TestAddMembers(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	h.online(t, "alice", "bob", "carol")
	g, err := h.svc.CreateGroup(ctx, "alice", messaging.GroupSpec{Name: "Team", WelcomeMessage: "Welcome!", Members: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	h.send(t, "alice", g.ID, "one")
	h.send(t, "bob", g.ID, "two")

	added, err := h.svc.AddMembers(ctx, "alice", g.ID, []string{"carol", "bob", "carol"})
	if err != nil || !slices.Equal(added, []string{"carol"}) {
		t.Fatalf("AddMembers = %v, %v; want [carol]", added, err)
	}
	joined := h.lastSeq(t, g.ID)
	b := h.lastSystem(t, g.ID)
	if b.Event != "joined" || b.Actor != "alice" || !slices.Equal(b.Members, []string{"carol"}) || b.Welcome != "Welcome!" {
		t.Fatalf("joined entry %+v, want alice adding carol with the welcome message", b)
	}
	m, err := h.convs.Membership(g.ID, "carol")
	if err != nil || m.JoinedSeq != joined || m.Role != conversation.RoleMember {
		t.Fatalf("carol's membership %+v, %v; want a member joined at %d", m, err, joined)
	}
	h.settle(t, g.ID, "alice", "bob", "carol")
	if got := seqs(h.messages(t, "bob", g.ID)); !slices.Contains(got, joined) {
		t.Errorf("bob's chat.message seqs %v lack the joined entry %d", got, joined)
	}
	if sums := h.summaries(t, "carol"); len(sums) != 1 || sums[0].Conversation.ID != g.ID || sums[0].JoinedSeq != joined {
		t.Errorf("carol's chat.conversation frames %+v, want one for %s joined at %d", sums, g.ID, joined)
	}

	after := h.send(t, "alice", g.ID, "three")
	h.settle(t, g.ID, "carol")
	if got := seqs(h.messages(t, "carol", g.ID)); !slices.Contains(got, after.Seq) {
		t.Errorf("carol's chat.message seqs %v lack %d, sent after she joined", got, after.Seq)
	}
	pulled, err := h.svc.Pull("carol", g.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, "carol pulls from 0", seqs(pulled), []uint64{joined, after.Seq})
	hist, err := h.svc.History("carol", g.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, "carol's history", seqs(hist), []uint64{after.Seq, joined})
	hist, err = h.svc.History("carol", g.ID, joined, 100)
	if err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, "carol's history before she joined", seqs(hist), nil)
	hist, err = h.svc.History("bob", g.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, "bob's history", seqs(hist), []uint64{after.Seq, joined, joined - 1, joined - 2, 1})

	before := h.lastSeq(t, g.ID)
	added, err = h.svc.AddMembers(ctx, "alice", g.ID, []string{"bob", "carol"})
	if err != nil || len(added) != 0 || h.lastSeq(t, g.ID) != before {
		t.Fatalf("adding members again: %v, %v, last seq %d (was %d); want nothing done", added, err, h.lastSeq(t, g.ID), before)
	}
	_, err = h.svc.AddMembers(ctx, "bob", g.ID, []string{"dave"})
	wantErr(t, "a plain member adds", err, conversation.ErrForbidden)
	_, err = h.svc.AddMembers(ctx, "alice", g.ID, []string{"mallory"})
	wantErr(t, "adding an inactive member", err, messaging.ErrInvalid)
	if h.lastSeq(t, g.ID) != before {
		t.Fatal("a refused AddMembers stored an entry")
	}
}

func TestRemoveMember(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	h.online(t, "alice", "bob", "carol", "dave", "erin")
	g := h.group(t, "alice", "bob", "carol", "dave", "erin")
	for _, admin := range []string{"bob", "dave"} {
		if err := h.svc.SetRole(ctx, "alice", g.ID, admin, conversation.RoleAdmin); err != nil {
			t.Fatal(err)
		}
	}
	before := h.lastSeq(t, g.ID)
	wantErr(t, "admin removes the owner", h.svc.RemoveMember(ctx, "bob", g.ID, "alice"), conversation.ErrForbidden)
	wantErr(t, "admin removes an admin", h.svc.RemoveMember(ctx, "bob", g.ID, "dave"), conversation.ErrForbidden)
	wantErr(t, "member removes a member", h.svc.RemoveMember(ctx, "carol", g.ID, "erin"), conversation.ErrForbidden)
	wantErr(t, "the owner leaves", h.svc.RemoveMember(ctx, "alice", g.ID, "alice"), conversation.ErrConflict)
	wantErr(t, "removing a non-member", h.svc.RemoveMember(ctx, "alice", g.ID, "frank"), messaging.ErrInvalid)
	if h.lastSeq(t, g.ID) != before {
		t.Fatal("a refused removal stored an entry")
	}

	// carol leaves.
	if err := h.svc.RemoveMember(ctx, "carol", g.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	left := h.lastSeq(t, g.ID)
	if b := h.lastSystem(t, g.ID); b.Event != "left" || b.Actor != "carol" || !slices.Equal(b.Members, []string{"carol"}) {
		t.Fatalf("leave entry %+v", b)
	}
	// bob, an admin, removes erin.
	if err := h.svc.RemoveMember(ctx, "bob", g.ID, "erin"); err != nil {
		t.Fatal(err)
	}
	removed := h.lastSeq(t, g.ID)
	if b := h.lastSystem(t, g.ID); b.Event != "removed" || b.Actor != "bob" || !slices.Equal(b.Members, []string{"erin"}) {
		t.Fatalf("removal entry %+v", b)
	}
	if c, err := h.convs.Get(g.ID); err != nil || c.MemberCount != 3 {
		t.Fatalf("group after two left: %+v, %v; want 3 members", c, err)
	}

	later := h.send(t, "alice", g.ID, "after they left")
	h.settle(t, g.ID, "alice", "bob", "dave")
	h.settle(t, "", "carol", "erin")
	for who, seq := range map[string]uint64{"carol": left, "erin": removed} {
		if r := h.removals(t, who, g.ID); len(r) != 1 || r[0].Seq != seq {
			t.Errorf("%s's chat.removed frames %+v, want one for seq %d", who, r, seq)
		}
		got := seqs(h.messages(t, who, g.ID))
		if slices.Contains(got, later.Seq) {
			t.Errorf("%s got seq %d, sent after they were out", who, later.Seq)
		}
		_, err := h.svc.Pull(who, g.ID, 0, 100)
		wantErr(t, who+" pulls", err, conversation.ErrNotMember)
		_, err = h.svc.History(who, g.ID, 0, 100)
		wantErr(t, who+" reads history", err, conversation.ErrNotMember)
		_, err = h.svc.Send(ctx, who, textReq(g.ID, "still here?"))
		wantErr(t, who+" sends", err, conversation.ErrNotMember)
		if ids, _ := h.convs.ListForMember(who); slices.Contains(ids, g.ID) {
			t.Errorf("%s still lists %s", who, g.ID)
		}
	}
	for _, m := range []string{"alice", "bob", "dave"} {
		if got := seqs(h.messages(t, m, g.ID)); !slices.Contains(got, left) || !slices.Contains(got, removed) || !slices.Contains(got, later.Seq) {
			t.Errorf("%s's chat.message seqs %v, want %d, %d and %d among them", m, got, left, removed, later.Seq)
		}
	}
}

// lateEvents applies a member's leaving only after the frames already
// published on the conversation reached the member's node. That is what
// happens when the event goes over the bus (signaling/events.go): the entry
// and the event travel on different subjects, and a node usually handles
// the entry first.
type lateEvents struct {
	localEvents
	settle func(convID, memberID string) // waits for the conversation's frames to reach the member
}

func (e lateEvents) MemberLeft(memberID, convID string) error {
	e.settle(convID, memberID)
	return e.localEvents.MemberLeft(memberID, convID)
}

func TestRemovedMemberGetsRemovalOnce(t *testing.T) {
	var h *harness
	h = newHarness(t, messaging.Limits{}, func(f *fanout.Fanout) messaging.Events {
		return lateEvents{localEvents{f}, func(convID, memberID string) { h.settle(t, convID, memberID) }}
	})
	h.online(t, "alice", "bob")
	g := h.group(t, "alice", "bob")
	if err := h.svc.RemoveMember(context.Background(), "alice", g.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	h.settle(t, "", "bob")
	if got := seqs(h.messages(t, "bob", g.ID)); len(got) != 1 {
		t.Fatalf("bob got the removal entry as seqs %v, want it once", got)
	}
}

func TestUpdateGroup(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	h.online(t, "alice", "bob")
	g := h.group(t, "alice", "bob")
	c, err := h.svc.UpdateGroup(ctx, "alice", g.ID, conversation.Patch{Name: ptr("Renamed"), Announcement: ptr("Ship it")})
	if err != nil || c.Name != "Renamed" || c.Announcement != "Ship it" {
		t.Fatalf("UpdateGroup = %+v, %v", c, err)
	}
	updated := h.lastSeq(t, g.ID)
	b := h.lastSystem(t, g.ID)
	if b.Event != "updated" || b.Actor != "alice" || b.Changes == nil || b.Changes.Name == nil || *b.Changes.Name != "Renamed" {
		t.Fatalf("update entry %+v", b)
	}
	h.settle(t, g.ID, "bob")
	if got := seqs(h.messages(t, "bob", g.ID)); !slices.Equal(got, []uint64{updated}) {
		t.Errorf("bob's chat.message seqs %v, want [%d]", got, updated)
	}

	// A patch that changes nothing writes nothing and returns the group.
	c, err = h.svc.UpdateGroup(ctx, "alice", g.ID, conversation.Patch{Name: ptr("Renamed")})
	if err != nil || c.Name != "Renamed" || c.ID != g.ID {
		t.Fatalf("no-op update = %+v, %v", c, err)
	}
	if last := h.lastSeq(t, g.ID); last != updated {
		t.Fatalf("no-op update stored an entry: last seq %d, want %d", last, updated)
	}
	_, err = h.svc.UpdateGroup(ctx, "bob", g.ID, conversation.Patch{Name: ptr("Mine")})
	wantErr(t, "a plain member updates", err, conversation.ErrForbidden)
	_, err = h.svc.UpdateGroup(ctx, "alice", g.ID, conversation.Patch{})
	wantErr(t, "an empty patch", err, conversation.ErrInvalid)
	_, err = h.svc.UpdateGroup(ctx, "alice", g.ID, conversation.Patch{AvatarURL: ptr("javascript:alert(1)")})
	wantErr(t, "a script avatar", err, conversation.ErrInvalid)
	if last := h.lastSeq(t, g.ID); last != updated {
		t.Fatalf("refused updates stored entries: last seq %d, want %d", last, updated)
	}
}

// Roles, ownership and dissolution are the owner's alone.
func TestOwnerOnlyChanges(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	g := h.group(t, "alice", "bob", "carol")
	if err := h.svc.SetRole(ctx, "alice", g.ID, "bob", conversation.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if b := h.lastSystem(t, g.ID); b.Event != "role" || b.Role != conversation.RoleAdmin || !slices.Equal(b.Members, []string{"bob"}) {
		t.Fatalf("role entry %+v", b)
	}
	before := h.lastSeq(t, g.ID)
	wantErr(t, "admin names an admin", h.svc.SetRole(ctx, "bob", g.ID, "carol", conversation.RoleAdmin), conversation.ErrForbidden)
	wantErr(t, "admin transfers ownership", h.svc.TransferOwner(ctx, "bob", g.ID, "bob"), conversation.ErrForbidden)
	wantErr(t, "admin dissolves", h.svc.Dissolve(ctx, "bob", g.ID), conversation.ErrForbidden)
	wantErr(t, "member dissolves", h.svc.Dissolve(ctx, "carol", g.ID), conversation.ErrForbidden)
	wantErr(t, "owner demotes themself", h.svc.SetRole(ctx, "alice", g.ID, "alice", conversation.RoleMember), conversation.ErrConflict)
	if err := h.svc.SetRole(ctx, "alice", g.ID, "bob", conversation.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.TransferOwner(ctx, "alice", g.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	if last := h.lastSeq(t, g.ID); last != before {
		t.Fatalf("refused and no-op changes stored entries: last seq %d, want %d", last, before)
	}

	if err := h.svc.TransferOwner(ctx, "alice", g.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	if b := h.lastSystem(t, g.ID); b.Event != "owner" || b.Actor != "alice" || !slices.Equal(b.Members, []string{"carol"}) {
		t.Fatalf("owner entry %+v", b)
	}
	for m, role := range map[string]conversation.Role{"alice": conversation.RoleMember, "bob": conversation.RoleAdmin, "carol": conversation.RoleOwner} {
		if ms, err := h.convs.Membership(g.ID, m); err != nil || ms.Role != role {
			t.Errorf("%s after the transfer: %+v, %v; want %s", m, ms, err, role)
		}
	}
	wantErr(t, "the former owner dissolves", h.svc.Dissolve(ctx, "alice", g.ID), conversation.ErrForbidden)
	if err := h.svc.Dissolve(ctx, "carol", g.ID); err != nil {
		t.Fatal(err)
	}
}

func TestSetMuted(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	g := h.group(t, "alice", "bob", "carol", "dave")
	if err := h.svc.SetRole(ctx, "alice", g.ID, "bob", conversation.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.SetMuted(ctx, "bob", g.ID, "carol", true); err != nil {
		t.Fatal(err)
	}
	if b := h.lastSystem(t, g.ID); b.Event != "muted" || b.Actor != "bob" || !slices.Equal(b.Members, []string{"carol"}) {
		t.Fatalf("mute entry %+v", b)
	}
	_, err := h.svc.Send(ctx, "carol", textReq(g.ID, "muted?"))
	wantErr(t, "a muted member sends", err, conversation.ErrForbidden)
	wantErr(t, "a muted member types", h.svc.Typing("carol", g.ID), conversation.ErrForbidden)
	h.send(t, "dave", g.ID, "not muted")

	before := h.lastSeq(t, g.ID)
	wantErr(t, "a member mutes", h.svc.SetMuted(ctx, "dave", g.ID, "carol", false), conversation.ErrForbidden)
	wantErr(t, "an admin mutes the owner", h.svc.SetMuted(ctx, "bob", g.ID, "alice", true), conversation.ErrForbidden)
	if err := h.svc.SetMuted(ctx, "bob", g.ID, "carol", true); err != nil {
		t.Fatal(err)
	}
	if last := h.lastSeq(t, g.ID); last != before {
		t.Fatalf("refused and no-op mutes stored entries: last seq %d, want %d", last, before)
	}
	if err := h.svc.SetMuted(ctx, "alice", g.ID, "carol", false); err != nil {
		t.Fatal(err)
	}
	if b := h.lastSystem(t, g.ID); b.Event != "unmuted" {
		t.Fatalf("unmute entry %+v", b)
	}
	h.send(t, "carol", g.ID, "free again")

	// Mute-all silences plain members, not the owner and admins.
	if _, err := h.svc.UpdateGroup(ctx, "alice", g.ID, conversation.Patch{MuteAll: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"carol", "dave"} {
		_, err := h.svc.Send(ctx, m, textReq(g.ID, "under mute-all"))
		wantErr(t, m+" sends under mute-all", err, conversation.ErrForbidden)
	}
	h.send(t, "alice", g.ID, "owner speaks")
	h.send(t, "bob", g.ID, "admin speaks")

	// A per-member mute holds an admin too.
	if err := h.svc.SetMuted(ctx, "alice", g.ID, "bob", true); err != nil {
		t.Fatal(err)
	}
	_, err = h.svc.Send(ctx, "bob", textReq(g.ID, "muted admin"))
	wantErr(t, "a muted admin sends", err, conversation.ErrForbidden)
}

// A dissolved group refuses sends and changes but keeps its history.
func TestDissolve(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	h.online(t, "alice", "bob")
	g := h.group(t, "alice", "bob")
	msg := h.send(t, "bob", g.ID, "bye")
	if err := h.svc.Dissolve(ctx, "alice", g.ID); err != nil {
		t.Fatal(err)
	}
	dissolved := h.lastSeq(t, g.ID)
	if b := h.lastSystem(t, g.ID); b.Event != "dissolved" || b.Actor != "alice" {
		t.Fatalf("dissolve entry %+v", b)
	}
	h.settle(t, g.ID, "alice", "bob")
	if got := seqs(h.messages(t, "bob", g.ID)); !slices.Contains(got, dissolved) {
		t.Errorf("bob's chat.message seqs %v lack the dissolve entry %d", got, dissolved)
	}

	_, err := h.svc.Send(ctx, "bob", textReq(g.ID, "anyone?"))
	wantErr(t, "send in a dissolved group", err, conversation.ErrDissolved)
	wantErr(t, "typing in a dissolved group", h.svc.Typing("bob", g.ID), conversation.ErrDissolved)
	_, err = h.svc.AddMembers(ctx, "alice", g.ID, []string{"carol"})
	wantErr(t, "adding to a dissolved group", err, conversation.ErrDissolved)
	wantErr(t, "dissolving twice", h.svc.Dissolve(ctx, "alice", g.ID), conversation.ErrDissolved)
	if last := h.lastSeq(t, g.ID); last != dissolved {
		t.Fatalf("last seq %d after refused changes, want %d", last, dissolved)
	}

	hist, err := h.svc.History("bob", g.ID, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	wantSeqs(t, "history of a dissolved group", seqs(hist), []uint64{dissolved, msg.Seq, 1})
	sum, err := h.svc.Summary(g.ID, "bob")
	if err != nil || !sum.Conversation.Dissolved {
		t.Fatalf("summary %+v, %v; want dissolved", sum, err)
	}
	if cur, err := h.svc.MarkRead("bob", g.ID, dissolved); err != nil || cur.Read != dissolved {
		t.Fatalf("mark read in a dissolved group: %+v, %v", cur, err)
	}
}

// A disabled member leaves every group: owned groups pass to an heir (an
// admin before older members) or, owned alone, are dissolved; direct
// conversations stay.
func TestRemoveFromAllGroups(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	h.online(t, "alice", "bob", "carol", "frank")
	// owned: frank owns it; bob joined first, carol later but is admin.
	owned := h.group(t, "frank", "bob")
	if _, err := h.svc.AddMembers(ctx, "frank", owned.ID, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.SetRole(ctx, "frank", owned.ID, "carol", conversation.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	alone := h.group(t, "frank")                   // frank alone: dissolved
	pair := h.group(t, "alice", "frank")           // frank and its owner: alice stays alone
	adminOf := h.group(t, "alice", "frank", "bob") // frank an admin there
	if err := h.svc.SetRole(ctx, "alice", adminOf.ID, "frank", conversation.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	direct, err := h.svc.CreateDirect(ctx, "frank", "alice")
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]uint64{}
	for _, c := range []string{owned.ID, alone.ID, pair.ID, adminOf.ID, direct.ID} {
		last[c] = h.lastSeq(t, c)
	}

	if err := h.svc.RemoveFromAllGroups(ctx, "frank"); err != nil {
		t.Fatal(err)
	}

	// owned: an "owner" entry for carol, then frank's removal.
	es := h.entries(t, owned.ID)
	if len(es) != int(last[owned.ID])+2 {
		t.Fatalf("owned group has %d entries, want %d", len(es), last[owned.ID]+2)
	}
	transfer, removal := system(t, es[len(es)-2]), system(t, es[len(es)-1])
	if transfer.Event != "owner" || transfer.Actor != messaging.SystemActor || !slices.Equal(transfer.Members, []string{"carol"}) {
		t.Errorf("transfer entry %+v, want the system handing the group to carol", transfer)
	}
	if removal.Event != "removed" || removal.Actor != messaging.SystemActor || !slices.Equal(removal.Members, []string{"frank"}) || removal.Reason == "" {
		t.Errorf("removal entry %+v, want the system removing frank with a reason", removal)
	}
	if c, _ := h.convs.Get(owned.ID); c.OwnerID != "carol" || c.MemberCount != 2 {
		t.Errorf("owned group now %+v, want carol owning it with 2 members", c)
	}
	if m, err := h.convs.Membership(owned.ID, "carol"); err != nil || m.Role != conversation.RoleOwner {
		t.Errorf("carol in the owned group: %+v, %v", m, err)
	}

	// alone: dissolved.
	if c, _ := h.convs.Get(alone.ID); !c.Dissolved {
		t.Errorf("frank's lone group not dissolved: %+v", c)
	}
	if b := h.lastSystem(t, alone.ID); b.Event != "dissolved" || b.Actor != messaging.SystemActor {
		t.Errorf("lone group's last entry %+v, want dissolved by the system", b)
	}
	// pair and adminOf: frank removed, nothing else.
	for _, c := range []string{pair.ID, adminOf.ID} {
		if got := h.lastSeq(t, c); got != last[c]+1 {
			t.Errorf("%s: %d new entries, want 1", c, got-last[c])
		}
		if b := h.lastSystem(t, c); b.Event != "removed" || !slices.Equal(b.Members, []string{"frank"}) {
			t.Errorf("%s: last entry %+v, want frank removed", c, b)
		}
		_, err := h.convs.Membership(c, "frank")
		wantErr(t, "frank in "+c, err, conversation.ErrNotMember)
	}
	// The direct conversation is untouched.
	if got := h.lastSeq(t, direct.ID); got != last[direct.ID] {
		t.Errorf("direct conversation got %d new entries", got-last[direct.ID])
	}
	// frank is in no live group; the dissolved one keeps him as a reader.
	ids, err := h.convs.ListForMember("frank")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{direct.ID, alone.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("frank's conversations %v, want %v (the direct one and the dissolved group)", ids, want)
	}

	h.settle(t, "", "frank", "carol")
	for _, c := range []string{owned.ID, pair.ID, adminOf.ID} {
		if r := h.removals(t, "frank", c); len(r) != 1 || r[0].Actor != messaging.SystemActor || r[0].Reason != "member disabled" {
			t.Errorf("frank's devices were not told of the removal from %s: %+v", c, r)
		}
	}
	if got := h.messages(t, "carol", owned.ID); !slices.ContainsFunc(got, func(e msglog.Entry) bool { return e.Seq == es[len(es)-2].Seq }) {
		t.Errorf("carol's devices did not get the transfer entry")
	}

	// Doing it again changes nothing.
	for _, c := range []string{owned.ID, alone.ID, pair.ID, adminOf.ID, direct.ID} {
		last[c] = h.lastSeq(t, c)
	}
	if err := h.svc.RemoveFromAllGroups(ctx, "frank"); err != nil {
		t.Fatal(err)
	}
	for c, seq := range last {
		if got := h.lastSeq(t, c); got != seq {
			t.Errorf("second RemoveFromAllGroups wrote to %s", c)
		}
	}
}

// "system" is a valid member id in the directory; a member so named must
// get no more power than any other.
func TestMemberNamedSystemCannotRemoveOthers(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	h.people[messaging.SystemActor] = true
	g := h.group(t, "alice", "bob")
	err := h.svc.RemoveMember(ctx, messaging.SystemActor, g.ID, "bob")
	wantErr(t, "a non-member called system removes bob", err, conversation.ErrNotMember)
	in := h.group(t, "alice", "bob", messaging.SystemActor)
	err = h.svc.RemoveMember(ctx, messaging.SystemActor, in.ID, "bob")
	wantErr(t, "a plain member called system removes bob", err, conversation.ErrForbidden)
}
