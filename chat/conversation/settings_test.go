package conversation

import (
	"strings"
	"testing"
	"time"

	"parley/storage"
)

func ptr[T any](v T) *T { return &v }

func TestUpdateSettings(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	mustGroup(t, s, db, id, "olga", []string{"bob"}, 1)

	p := Patch{Name: ptr(" Renamed "), Announcement: ptr("Read the wiki"), WelcomeMessage: ptr("Welcome!\nSay hi."), AvatarURL: ptr("https://cdn.example.com/g.png")}
	changed, err := s.CheckUpdate(id, p)
	mustNil(t, err)
	if !changed {
		t.Fatal("CheckUpdate says nothing changes")
	}
	later := t0.Add(time.Hour)
	var c Conversation
	commit(t, db, func(b *storage.Batch) error {
		c, err = s.StageUpdate(b, id, p, later)
		return err
	})
	got, err := s.Get(id)
	mustNil(t, err)
	if got != c || got.Name != "Renamed" || got.Announcement != "Read the wiki" || got.WelcomeMessage != "Welcome!\nSay hi." ||
		got.AvatarURL != "https://cdn.example.com/g.png" || !got.UpdatedAt.Equal(later) || !got.CreatedAt.Equal(t0) {
		t.Fatalf("after update %+v", got)
	}
	changed, err = s.CheckUpdate(id, Patch{Name: ptr("Renamed")})
	mustNil(t, err)
	if changed {
		t.Fatal("setting the same name reports a change")
	}
	// An optional field can be cleared; the name cannot.
	commit(t, db, func(b *storage.Batch) error {
		_, err := s.StageUpdate(b, id, Patch{Announcement: ptr("")}, later)
		return err
	})
	got, err = s.Get(id)
	mustNil(t, err)
	if got.Announcement != "" || got.Name != "Renamed" {
		t.Fatalf("after clearing %+v", got)
	}
	_, err = s.CheckUpdate(id, Patch{Name: ptr("")})
	wantErr(t, err, ErrInvalid)
	_, err = s.CheckUpdate(id, Patch{})
	wantErr(t, err, ErrInvalid)
	_, err = s.CheckUpdate(id, Patch{Announcement: ptr(strings.Repeat("x", MaxAnnouncementRunes+1))})
	wantErr(t, err, ErrInvalid)
	_, err = s.CheckUpdate(id, Patch{AvatarURL: ptr("data:image/png;base64,AAAA")})
	wantErr(t, err, ErrInvalid)
	_, err = s.CheckUpdate(DirectID("a", "b"), Patch{Name: ptr("x")})
	wantErr(t, err, ErrNotFound)
}

func TestRolesAndOwnerTransfer(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	mustGroup(t, s, db, id, "olga", []string{"amy", "bob"}, 1)

	changed, err := s.CheckSetRole(id, "amy", RoleAdmin)
	mustNil(t, err)
	if !changed {
		t.Fatal("promoting amy changes nothing?")
	}
	commit(t, db, func(b *storage.Batch) error { return s.StageSetRole(b, id, "amy", RoleAdmin, t0) })
	changed, err = s.CheckSetRole(id, "amy", RoleAdmin)
	mustNil(t, err)
	if changed {
		t.Fatal("promoting an admin again reports a change")
	}
	_, err = s.CheckSetRole(id, "bob", RoleOwner)
	wantErr(t, err, ErrInvalid)
	_, err = s.CheckSetRole(id, "olga", RoleMember)
	wantErr(t, err, ErrConflict)
	_, err = s.CheckSetRole(id, "zed", RoleAdmin)
	wantErr(t, err, ErrNotMember)

	mustNil(t, s.CanManage(id, "olga"))
	mustNil(t, s.CanManage(id, "amy"))
	wantErr(t, s.CanManage(id, "bob"), ErrForbidden)
	wantErr(t, s.CanManage(id, "zed"), ErrNotMember)
	mustNil(t, s.RequireOwner(id, "olga"))
	wantErr(t, s.RequireOwner(id, "amy"), ErrForbidden)

	// Moderation: a higher role acts on a lower one only.
	mustNil(t, s.CanModerate(id, "olga", "amy"))
	mustNil(t, s.CanModerate(id, "amy", "bob"))
	wantErr(t, s.CanModerate(id, "amy", "olga"), ErrForbidden)
	wantErr(t, s.CanModerate(id, "bob", "amy"), ErrForbidden)
	wantErr(t, s.CanModerate(id, "amy", "amy"), ErrForbidden)
	wantErr(t, s.CanModerate(id, "olga", "zed"), ErrNotMember)

	// The owner cannot leave until ownership moves.
	wantErr(t, s.CheckRemoveMember(id, "olga"), ErrConflict)
	changed, err = s.CheckTransferOwner(id, "olga")
	mustNil(t, err)
	if changed {
		t.Fatal("transfer to the owner reports a change")
	}
	_, err = s.CheckTransferOwner(id, "zed")
	wantErr(t, err, ErrNotMember)
	commit(t, db, func(b *storage.Batch) error { return s.StageSetMuted(b, id, "bob", true, t0) })
	commit(t, db, func(b *storage.Batch) error { return s.StageTransferOwner(b, id, "bob", t0) })

	c, err := s.Get(id)
	mustNil(t, err)
	if c.OwnerID != "bob" {
		t.Fatalf("owner is %s", c.OwnerID)
	}
	bob, err := s.Membership(id, "bob")
	mustNil(t, err)
	olga, err := s.Membership(id, "olga")
	mustNil(t, err)
	if bob.Role != RoleOwner || bob.Muted || olga.Role != RoleMember {
		t.Fatalf("after transfer bob %+v, olga %+v", bob, olga)
	}
	mustNil(t, s.CheckRemoveMember(id, "olga"))
	wantErr(t, s.CheckRemoveMember(id, "bob"), ErrConflict)
}

func TestMuteAllAndMemberMute(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	mustGroup(t, s, db, id, "olga", []string{"amy", "bob", "cat"}, 1)
	commit(t, db, func(b *storage.Batch) error { return s.StageSetRole(b, id, "amy", RoleAdmin, t0) })
	for _, who := range []string{"olga", "amy", "bob"} {
		mustNil(t, s.CanSend(id, who))
	}
	wantErr(t, s.CanSend(id, "zed"), ErrNotMember)
	wantErr(t, s.CanSend("g_nope", "olga"), ErrNotFound)

	commit(t, db, func(b *storage.Batch) error {
		_, err := s.StageUpdate(b, id, Patch{MuteAll: ptr(true)}, t0)
		return err
	})
	mustNil(t, s.CanSend(id, "olga"))
	mustNil(t, s.CanSend(id, "amy"))
	wantErr(t, s.CanSend(id, "bob"), ErrForbidden)
	commit(t, db, func(b *storage.Batch) error {
		_, err := s.StageUpdate(b, id, Patch{MuteAll: ptr(false)}, t0)
		return err
	})
	mustNil(t, s.CanSend(id, "bob"))

	// A per-member mute applies to admins too, never to the owner.
	commit(t, db, func(b *storage.Batch) error { return s.StageSetMuted(b, id, "amy", true, t0) })
	commit(t, db, func(b *storage.Batch) error { return s.StageSetMuted(b, id, "bob", true, t0) })
	wantErr(t, s.CanSend(id, "amy"), ErrForbidden)
	wantErr(t, s.CanSend(id, "bob"), ErrForbidden)
	mustNil(t, s.CanSend(id, "cat"))
	_, err := s.CheckSetMuted(id, "olga", true)
	wantErr(t, err, ErrConflict)
	changed, err := s.CheckSetMuted(id, "bob", true)
	mustNil(t, err)
	if changed {
		t.Fatal("muting a muted member reports a change")
	}
	commit(t, db, func(b *storage.Batch) error { return s.StageSetMuted(b, id, "bob", false, t0) })
	mustNil(t, s.CanSend(id, "bob"))
}

func TestDissolve(t *testing.T) {
	s, db := newStore(t, Options{})
	id := NewGroupID()
	mustGroup(t, s, db, id, "olga", []string{"bob"}, 1)
	mustNil(t, s.CheckDissolve(id))
	commit(t, db, func(b *storage.Batch) error { return s.StageDissolve(b, id, t0) })

	c, err := s.Get(id)
	mustNil(t, err)
	if !c.Dissolved || c.MemberCount != 2 {
		t.Fatalf("after dissolve %+v", c)
	}
	wantErr(t, s.CanSend(id, "bob"), ErrDissolved)
	wantErr(t, s.CanSend(id, "olga"), ErrDissolved)
	wantErr(t, s.CheckDissolve(id), ErrDissolved)
	_, err = s.CheckAddMembers(id, []string{"zed"})
	wantErr(t, err, ErrDissolved)
	wantErr(t, s.CheckRemoveMember(id, "bob"), ErrDissolved)
	_, err = s.CheckUpdate(id, Patch{Name: ptr("x")})
	wantErr(t, err, ErrDissolved)
	wantErr(t, s.StageSetMuted(db.NewBatch(), id, "bob", true, t0), ErrDissolved)

	// History stays readable: members, index and cursors are kept.
	ids, err := s.MemberIDs(id)
	mustNil(t, err)
	wantIDs(t, "members of dissolved group", ids, []string{"bob", "olga"})
	convs, err := s.ListForMember("bob")
	mustNil(t, err)
	wantIDs(t, "bob's conversations", convs, []string{id})
	cur, changed, err := s.AdvanceRead(id, "bob", 5)
	mustNil(t, err)
	if !changed || cur.Read != 5 {
		t.Fatalf("AdvanceRead in dissolved group: %+v %v", cur, changed)
	}
}
