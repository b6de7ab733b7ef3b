package directory

import (
	"slices"
	"strings"
	"testing"

	"parley/storage"
)

func TestTags(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"alice", "bob", "carol"} {
		e.member(id, "", "", RootDepartmentID)
	}
	vip, err := e.d.CreateTag(admin, "VIP")
	if err != nil {
		t.Fatal(err)
	}
	oncall, err := e.d.CreateTag(admin, "On call")
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.d.CreateTag(admin, "vip")
	wantErr(t, err, ErrConflict)
	_, err = e.d.CreateTag(admin, " ")
	wantErr(t, err, ErrInvalid)
	_, err = e.d.RenameTag(admin, oncall.ID, "Vip")
	wantErr(t, err, ErrConflict)
	renamed, err := e.d.RenameTag(admin, oncall.ID, "Pager")
	if err != nil || renamed.Name != "Pager" || !renamed.CreatedAt.Equal(oncall.CreatedAt) {
		t.Fatalf("rename: %+v, %v", renamed, err)
	}
	_, err = e.d.RenameTag(admin, "999", "X")
	wantErr(t, err, ErrNotFound)
	tags, err := e.d.ListTags()
	if err != nil || len(tags) != 2 || tags[0].Name != "Pager" || tags[1].Name != "VIP" {
		t.Fatalf("ListTags = %+v, %v", tags, err)
	}

	members := func(id string) []string {
		t.Helper()
		ids, err := e.d.TagMembers(id)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	tagsOf := func(id string) []string {
		t.Helper()
		ids, err := e.d.MemberTags(id)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if err := e.d.UpdateTagMembers(admin, vip.ID, []string{"carol", "alice", "alice"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.d.UpdateTagMembers(admin, oncall.ID, []string{"alice", "bob"}, nil); err != nil {
		t.Fatal(err)
	}
	if got := members(vip.ID); !slices.Equal(got, []string{"alice", "carol"}) {
		t.Fatalf("vip members: %v", got)
	}
	if got := tagsOf("alice"); !slices.Equal(got, []string{vip.ID, oncall.ID}) && !slices.Equal(got, []string{oncall.ID, vip.ID}) {
		t.Fatalf("alice's tags: %v", got)
	}

	err = e.d.UpdateTagMembers(admin, vip.ID, []string{"bob", "ghost"}, []string{"phantom"})
	wantErr(t, err, ErrNotFound)
	if !strings.Contains(err.Error(), "ghost") || !strings.Contains(err.Error(), "phantom") {
		t.Fatalf("error does not name the unknown members: %v", err)
	}
	if got := members(vip.ID); !slices.Equal(got, []string{"alice", "carol"}) {
		t.Fatalf("a refused update changed members: %v", got)
	}
	wantErr(t, e.d.UpdateTagMembers(admin, "999", []string{"bob"}, nil), ErrNotFound)

	if err := e.d.UpdateTagMembers(admin, vip.ID, []string{"bob"}, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	if got := members(vip.ID); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("vip after add bob, remove carol: %v", got)
	}
	if got := tagsOf("carol"); len(got) != 0 {
		t.Fatalf("carol's reverse index kept %v", got)
	}

	if err := e.d.DeleteTag(admin, vip.ID); err != nil {
		t.Fatal(err)
	}
	_, err = e.d.GetTag(vip.ID)
	wantErr(t, err, ErrNotFound)
	_, err = e.d.TagMembers(vip.ID)
	wantErr(t, err, ErrNotFound)
	if got := tagsOf("alice"); !slices.Equal(got, []string{oncall.ID}) {
		t.Fatalf("alice's tags after delete: %v", got)
	}
	if got := tagsOf("bob"); !slices.Equal(got, []string{oncall.ID}) {
		t.Fatalf("bob's tags after delete: %v", got)
	}
	left, err := e.d.suffixes(storage.KeyPrefix(storage.PrefixTagMember, vip.ID))
	if err != nil || len(left) != 0 {
		t.Fatalf("tag-member keys left: %v, %v", left, err)
	}
	wantErr(t, e.d.DeleteTag(admin, vip.ID), ErrNotFound)
	// The name is free again.
	if _, err := e.d.CreateTag(admin, "VIP"); err != nil {
		t.Fatal(err)
	}
	_, err = e.d.MemberTags("ghost")
	wantErr(t, err, ErrNotFound)
}
