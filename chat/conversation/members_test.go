package conversation

import (
	"fmt"
	"strings"
	"testing"

	"parley/storage"
)

func TestDirectIDSymmetricAndDistinct(t *testing.T) {
	ab, ba := DirectID("alice", "bob"), DirectID("bob", "alice")
	if ab != ba {
		t.Fatalf("DirectID not symmetric: %s vs %s", ab, ba)
	}
	if !strings.HasPrefix(ab, DirectIDPrefix) || len(ab) != len(DirectIDPrefix)+directIDChars {
		t.Fatalf("DirectID = %q, want d_ and %d characters", ab, directIDChars)
	}
	if err := checkID("id", ab); err != nil {
		t.Fatal(err)
	}
	// The separator keeps ("ab","c") and ("a","bc") apart.
	if DirectID("ab", "c") == DirectID("a", "bc") {
		t.Fatal("DirectID ignores where one id ends")
	}
	if DirectID("alice", "carol") == ab {
		t.Fatal("different pairs share an id")
	}
}

func TestNewGroupIDUnique(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := NewGroupID()
		if !strings.HasPrefix(id, GroupIDPrefix) || len(id) != len(GroupIDPrefix)+groupIDChars {
			t.Fatalf("NewGroupID = %q", id)
		}
		if strings.Trim(id[2:], "abcdefghijklmnopqrstuvwxyz234567") != "" {
			t.Fatalf("NewGroupID = %q has characters outside lower-case base32", id)
		}
		if seen[id] {
			t.Fatalf("NewGroupID repeated %q", id)
		}
		seen[id] = true
	}
}

func TestCreateDirectIdempotent(t *testing.T) {
	s, db := newStore(t, Options{})
	exists, err := s.CheckCreateDirect("alice", "bob")
	mustNil(t, err)
	if exists {
		t.Fatal("exists before creation")
	}
	var c Conversation
	commit(t, db, func(b *storage.Batch) error {
		c, err = s.StageCreateDirect(b, "bob", "alice", 7, t0)
		return err
	})
	if c.ID != DirectID("alice", "bob") || c.Kind != KindDirect || c.MemberCount != 2 || c.OwnerID != "" {
		t.Fatalf("created %+v", c)
	}
	exists, err = s.CheckCreateDirect("alice", "bob")
	mustNil(t, err)
	if !exists {
		t.Fatal("CheckCreateDirect does not see the conversation")
	}
	_, err = s.StageCreateDirect(db.NewBatch(), "alice", "bob", 8, t0)
	wantErr(t, err, ErrConflict)

	got, err := s.Get(c.ID)
	mustNil(t, err)
	if got != c {
		t.Fatalf("Get = %+v, want %+v", got, c)
	}
	members, err := s.Members(c.ID)
	mustNil(t, err)
	if len(members) != 2 || members[0].MemberID != "alice" || members[1].MemberID != "bob" {
		t.Fatalf("members = %+v", members)
	}
	for _, m := range members {
		if m.Role != RoleMember || m.JoinedSeq != 7 || !m.JoinedAt.Equal(t0) {
			t.Fatalf("membership %+v", m)
		}
	}
	for _, who := range []string{"alice", "bob"} {
		convs, err := s.ListForMember(who)
		mustNil(t, err)
		wantIDs(t, "ListForMember("+who+")", convs, []string{c.ID})
	}
	// A direct conversation's membership is fixed.
	_, err = s.CheckAddMembers(c.ID, []string{"carol"})
	wantErr(t, err, ErrInvalid)
	wantErr(t, s.CheckRemoveMember(c.ID, "bob"), ErrInvalid)
	wantErr(t, s.CheckDissolve(c.ID), ErrInvalid)
	wantErr(t, s.CanManage(c.ID, "alice"), ErrForbidden)
	mustNil(t, s.CanSend(c.ID, "alice"))
}

func TestCreateDirectInvalid(t *testing.T) {
	s, _ := newStore(t, Options{})
	for _, pair := range [][2]string{{"alice", "alice"}, {"", "bob"}, {"a/b", "bob"}, {"alice", "bo\x00b"}, {strings.Repeat("x", MaxIDBytes+1), "bob"}} {
		_, err := s.CheckCreateDirect(pair[0], pair[1])
		wantErr(t, err, ErrInvalid)
	}
}

func TestCreateGroup(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	in := Conversation{ID: id, Name: "  Launch  ", AvatarURL: "/files/a.png", Announcement: "Ship it\nFriday", WelcomeMessage: "Hi!"}
	mustNil(t, s.CheckCreateGroup(in, "olga", []string{"bob", "olga", "amy", "bob"}))
	var c Conversation
	commit(t, db, func(b *storage.Batch) error {
		var err error
		c, err = s.StageCreateGroup(b, in, "olga", []string{"bob", "olga", "amy", "bob"}, 3, t0)
		return err
	})
	if c.Kind != KindGroup || c.OwnerID != "olga" || c.Name != "Launch" || c.MemberCount != 3 || !c.CreatedAt.Equal(t0) {
		t.Fatalf("created %+v", c)
	}
	got, err := s.Get(id)
	mustNil(t, err)
	if got != c {
		t.Fatalf("Get = %+v, want %+v", got, c)
	}
	members, err := s.Members(id)
	mustNil(t, err)
	roles := map[string]Role{}
	for _, m := range members {
		roles[m.MemberID] = m.Role
		if m.JoinedSeq != 3 {
			t.Fatalf("membership %+v, want joined at 3", m)
		}
	}
	if len(roles) != 3 || roles["olga"] != RoleOwner || roles["amy"] != RoleMember || roles["bob"] != RoleMember {
		t.Fatalf("roles = %v", roles)
	}
	ids, err := s.MemberIDs(id)
	mustNil(t, err)
	wantIDs(t, "MemberIDs", ids, []string{"amy", "bob", "olga"})

	// The same id again is a conflict.
	wantErr(t, s.CheckCreateGroup(in, "olga", nil), ErrConflict)

	// Make bob an admin: a group with owner, admin and member.
	commit(t, db, func(b *storage.Batch) error { return s.StageSetRole(b, id, "bob", RoleAdmin, t0) })
	m, err := s.Membership(id, "bob")
	mustNil(t, err)
	if m.Role != RoleAdmin {
		t.Fatalf("bob is %s", m.Role)
	}
}

func TestCreateGroupInvalid(t *testing.T) {
	s, _ := newStore(t, Options{})
	id := NewGroupID()
	cases := []struct {
		name  string
		c     Conversation
		owner string
	}{
		{"no name", Conversation{ID: id, Name: "  "}, "olga"},
		{"long name", Conversation{ID: id, Name: strings.Repeat("名", MaxNameRunes+1)}, "olga"},
		{"control in name", Conversation{ID: id, Name: "a\nb"}, "olga"},
		{"script avatar", Conversation{ID: id, Name: "x", AvatarURL: "javascript:alert(1)"}, "olga"},
		{"long announcement", Conversation{ID: id, Name: "x", Announcement: strings.Repeat("a", MaxAnnouncementRunes+1)}, "olga"},
		{"long welcome", Conversation{ID: id, Name: "x", WelcomeMessage: strings.Repeat("a", MaxWelcomeMessageRunes+1)}, "olga"},
		{"direct-looking id", Conversation{ID: DirectID("a", "b"), Name: "x"}, "olga"},
		{"no id", Conversation{Name: "x"}, "olga"},
		{"wrong kind", Conversation{ID: id, Name: "x", Kind: KindDirect}, "olga"},
		{"other owner", Conversation{ID: id, Name: "x", OwnerID: "bob"}, "olga"},
		{"bad owner", Conversation{ID: id, Name: "x"}, "ol/ga"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, s.CheckCreateGroup(tc.c, tc.owner, []string{"bob"}), ErrInvalid)
		})
	}
	wantErr(t, s.CheckCreateGroup(Conversation{ID: id, Name: "x"}, "olga", []string{"bob", "b\x7fob"}), ErrInvalid)
}

func TestGroupMemberLimit(t *testing.T) {
	s, db := newStore(t, Options{MaxGroupMembers: 3})
	id := NewGroupID()
	wantErr(t, s.CheckCreateGroup(Conversation{ID: id, Name: "x"}, "olga", []string{"a", "b", "c"}), ErrLimit)
	// Duplicates and the owner listed again do not count.
	mustNil(t, s.CheckCreateGroup(Conversation{ID: id, Name: "x"}, "olga", []string{"a", "b", "a", "olga"}))
	mustGroup(t, s, db, id, "olga", []string{"a"}, 1)

	toAdd, err := s.CheckAddMembers(id, []string{"a", "b", "olga"})
	mustNil(t, err)
	wantIDs(t, "toAdd", toAdd, []string{"b"})
	_, err = s.CheckAddMembers(id, []string{"b", "c"})
	wantErr(t, err, ErrLimit)
	wantErr(t, s.StageAddMembers(db.NewBatch(), id, []string{"b", "c"}, 2, t0), ErrLimit)
	_, err = s.CheckAddMembers(id, []string{"w", "x", "y", "z"})
	wantErr(t, err, ErrLimit)

	commit(t, db, func(b *storage.Batch) error { return s.StageAddMembers(b, id, []string{"b"}, 2, t0) })
	_, err = s.CheckAddMembers(id, []string{"c"})
	wantErr(t, err, ErrLimit)
	toAdd, err = s.CheckAddMembers(id, []string{"a", "b"})
	mustNil(t, err)
	wantIDs(t, "toAdd when all are members", toAdd, nil)
}

func TestAddRemoveMembersKeepsIndex(t *testing.T) {
	s, db := newStore(t, Options{})
	g1, g2 := NewGroupID(), NewGroupID()
	mustGroup(t, s, db, g1, "olga", []string{"amy"}, 1)
	mustGroup(t, s, db, g2, "amy", nil, 1)

	commit(t, db, func(b *storage.Batch) error { return s.StageAddMembers(b, g1, []string{"bob", "amy", "carl"}, 9, t0) })
	c, err := s.Get(g1)
	mustNil(t, err)
	if c.MemberCount != 4 {
		t.Fatalf("member count %d, want 4", c.MemberCount)
	}
	m, err := s.Membership(g1, "bob")
	mustNil(t, err)
	if m.JoinedSeq != 9 || m.Role != RoleMember {
		t.Fatalf("bob's membership %+v", m)
	}
	m, err = s.Membership(g1, "amy")
	mustNil(t, err)
	if m.JoinedSeq != 1 {
		t.Fatalf("amy rejoined: %+v", m)
	}
	cur, err := s.Cursors(g1, "bob")
	mustNil(t, err)
	if cur != (Cursors{Read: 8, Delivered: 8, JoinedSeq: 9}) {
		t.Fatalf("bob's initial cursors %+v", cur)
	}
	convs, err := s.ListForMember("amy")
	mustNil(t, err)
	want := []string{g1, g2}
	if g2 < g1 {
		want = []string{g2, g1}
	}
	wantIDs(t, "amy's conversations", convs, want)

	mustNil(t, s.CheckRemoveMember(g1, "amy"))
	commit(t, db, func(b *storage.Batch) error { return s.StageRemoveMember(b, g1, "amy", t0) })
	convs, err = s.ListForMember("amy")
	mustNil(t, err)
	wantIDs(t, "amy's conversations after leaving", convs, []string{g2})
	_, err = s.Membership(g1, "amy")
	wantErr(t, err, ErrNotMember)
	_, err = s.Cursors(g1, "amy")
	wantErr(t, err, ErrNotMember)
	ids, err := s.MemberIDs(g1)
	mustNil(t, err)
	wantIDs(t, "members after leaving", ids, []string{"bob", "carl", "olga"})
	c, err = s.Get(g1)
	mustNil(t, err)
	if c.MemberCount != 3 {
		t.Fatalf("member count %d, want 3", c.MemberCount)
	}

	wantErr(t, s.CheckRemoveMember(g1, "amy"), ErrNotMember)
	wantErr(t, s.CheckRemoveMember(g1, "olga"), ErrConflict)
	wantErr(t, s.StageRemoveMember(db.NewBatch(), g1, "olga", t0), ErrConflict)
	wantErr(t, s.CheckRemoveMember("g_missing", "olga"), ErrNotFound)
	_, err = s.Membership("g_missing", "olga")
	wantErr(t, err, ErrNotFound)

	// Rejoining starts from the new system entry.
	commit(t, db, func(b *storage.Batch) error { return s.StageAddMembers(b, g1, []string{"amy"}, 20, t0) })
	m, err = s.Membership(g1, "amy")
	mustNil(t, err)
	if m.JoinedSeq != 20 {
		t.Fatalf("rejoined amy %+v", m)
	}
}

// A Stage function may run more than once when msglog rebuilds its batch;
// only the last batch commits, and it carries the last seq.
func TestStageRerunIsPure(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	mustGroup(t, s, db, id, "olga", nil, 1)
	abandoned := db.NewBatch()
	mustNil(t, s.StageAddMembers(abandoned, id, []string{"bob"}, 5, t0))
	commit(t, db, func(b *storage.Batch) error { return s.StageAddMembers(b, id, []string{"bob"}, 6, t0) })
	m, err := s.Membership(id, "bob")
	mustNil(t, err)
	c, err := s.Get(id)
	mustNil(t, err)
	if m.JoinedSeq != 6 || c.MemberCount != 2 {
		t.Fatalf("membership %+v, count %d", m, c.MemberCount)
	}
}

func TestMembersOfLargeGroupInOrder(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	var ids []string
	for i := 0; i < 50; i++ {
		ids = append(ids, fmt.Sprintf("m%03d", 49-i))
	}
	mustGroup(t, s, db, id, "a-owner", ids, 1)
	got, err := s.MemberIDs(id)
	mustNil(t, err)
	if len(got) != 51 || got[0] != "a-owner" || got[1] != "m000" || got[50] != "m049" {
		t.Fatalf("MemberIDs = %v", got)
	}
	members, err := s.Members(id)
	mustNil(t, err)
	if len(members) != 51 || members[50].MemberID != "m049" {
		t.Fatalf("Members has %d", len(members))
	}
}
