package directory

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"parley/storage"
)

func TestCreateMemberDefaultsAndValidation(t *testing.T) {
	e := newEnv(t)
	tr := buildTree(e)
	m, err := e.d.CreateMember(admin, Member{
		ID: "alice", Name: "  Alice  ", Mobile: "+8613800000001", Email: "alice@example.com",
		Departments: []string{tr.backend.ID, tr.sales.ID, tr.backend.ID}, Gender: "female",
		AdminDepartments: []string{tr.rd.ID}, // ignored: not a dept admin
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Status != StatusActive || m.Role != RoleMember || m.Name != "Alice" || m.AdminDepartments != nil ||
		!slices.Equal(m.Departments, []string{tr.backend.ID, tr.sales.ID}) || m.CreatedAt.IsZero() {
		t.Fatalf("created member: %+v", m)
	}
	got, err := e.d.GetMember("alice")
	if err != nil || got.Name != "Alice" || !got.UpdatedAt.Equal(m.UpdatedAt) {
		t.Fatalf("GetMember = %+v, %v", got, err)
	}
	_, err = e.d.GetMember("nobody")
	wantErr(t, err, ErrNotFound)

	ok := Member{ID: "bob", Name: "Bob", Departments: []string{tr.sales.ID}}
	for _, c := range []struct {
		field string
		edit  func(m *Member)
	}{
		{"id", func(m *Member) { m.ID = "" }},
		{"id", func(m *Member) { m.ID = "-bob" }},
		{"id", func(m *Member) { m.ID = "bo/b" }},
		{"id", func(m *Member) { m.ID = strings.Repeat("b", 65) }},
		{"name", func(m *Member) { m.Name = "" }},
		{"name", func(m *Member) { m.Name = "Bob\x00" }},
		{"name", func(m *Member) { m.Name = strings.Repeat("b", MaxNameRunes+1) }},
		{"mobile", func(m *Member) { m.Mobile = "1234" }},
		{"mobile", func(m *Member) { m.Mobile = "138-0000-0000" }},
		{"email", func(m *Member) { m.Email = "bob" }},
		{"email", func(m *Member) { m.Email = "Bob <bob@example.com>" }},
		{"gender", func(m *Member) { m.Gender = "other" }},
		{"status", func(m *Member) { m.Status = "gone" }},
		{"role", func(m *Member) { m.Role = "king" }},
		{"admin_departments", func(m *Member) { m.Role = RoleDeptAdmin }},
		{"departments", func(m *Member) { m.Departments = nil }},
		{"departments", func(m *Member) { m.Departments = []string{"999"} }},
		{"departments", func(m *Member) {
			m.Departments = nil
			for i := 0; i <= MaxDepartmentsPerMember; i++ {
				m.Departments = append(m.Departments, e.dept("D"+strings.Repeat("x", i), RootDepartmentID, 0).ID)
			}
		}},
		{"avatar_url", func(m *Member) { m.AvatarURL = "javascript:alert(1)" }},
		{"external_profile.bio", func(m *Member) { m.ExternalProfile.Bio = strings.Repeat("b", MaxBioRunes+1) }},
	} {
		m := ok
		c.edit(&m)
		_, err := e.d.CreateMember(admin, m)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s case %+v: got %v, want ErrInvalid naming the field", c.field, m, err)
		}
	}
	if _, err := e.d.CreateMember(admin, ok); err != nil {
		t.Fatalf("the valid base case: %v", err)
	}
}

func TestMemberUniqueness(t *testing.T) {
	e := newEnv(t)
	root := RootDepartmentID
	e.member("alice", "13800000001", "alice@example.com", root)

	for _, m := range []Member{
		{ID: "alice", Name: "Other", Departments: []string{root}},
		{ID: "bob", Name: "Bob", Mobile: "13800000001", Departments: []string{root}},
		{ID: "bob", Name: "Bob", Email: "ALICE@example.com", Departments: []string{root}},
	} {
		_, err := e.d.CreateMember(admin, m)
		wantErr(t, err, ErrConflict)
	}
	e.member("bob", "13800000002", "bob@example.com", root)

	// Changing alice's mobile and email frees the old ones.
	mobile, email := "13800000003", "alice@new.example.com"
	if _, err := e.d.UpdateMember(admin, "alice", MemberPatch{Mobile: &mobile, Email: &email}); err != nil {
		t.Fatal(err)
	}
	e.member("carol", "13800000001", "alice@example.com", root)
	// Taking someone else's is a conflict, and changes nothing.
	taken := "13800000002"
	_, err := e.d.UpdateMember(admin, "alice", MemberPatch{Mobile: &taken})
	wantErr(t, err, ErrConflict)
	if got, _ := e.d.GetMember("alice"); got.Mobile != mobile {
		t.Fatalf("refused update changed mobile to %q", got.Mobile)
	}
	// Keeping one's own mobile, or only changing its case of email, is fine.
	same, upper := "13800000003", "ALICE@new.example.com"
	if _, err := e.d.UpdateMember(admin, "alice", MemberPatch{Mobile: &same, Email: &upper}); err != nil {
		t.Fatal(err)
	}
	// Clearing a mobile frees it.
	none := ""
	if _, err := e.d.UpdateMember(admin, "alice", MemberPatch{Mobile: &none}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := e.db.Has(storage.Key(storage.PrefixMemberByMobile, "13800000003")); ok {
		t.Fatal("cleared mobile still indexed")
	}
	if raw, err := e.db.Get(storage.Key(storage.PrefixMemberByEmail, "alice@new.example.com")); err != nil || string(raw) != "alice" {
		t.Fatalf("email index: %q, %v", raw, err)
	}
	_, err = e.d.UpdateMember(admin, "nobody", MemberPatch{Mobile: &none})
	wantErr(t, err, ErrNotFound)
}

func TestMemberDepartmentsIndex(t *testing.T) {
	e := newEnv(t)
	tr := buildTree(e)
	e.member("alice", "", "", tr.backend.ID, tr.sales.ID)

	list := func(dept string) []string {
		t.Helper()
		ms, _, err := e.d.ListMembers(MemberFilter{Department: dept})
		if err != nil {
			t.Fatal(err)
		}
		return memberIDs(ms)
	}
	if got := list(tr.backend.ID); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("backend members: %v", got)
	}
	depts := []string{tr.sales.ID, tr.frontend.ID}
	if _, err := e.d.UpdateMember(admin, "alice", MemberPatch{Departments: &depts}); err != nil {
		t.Fatal(err)
	}
	if got := list(tr.backend.ID); len(got) != 0 {
		t.Fatalf("backend still lists %v", got)
	}
	if keys, err := e.d.suffixes(storage.KeyPrefix(storage.PrefixDeptMember, tr.backend.ID)); err != nil || len(keys) != 0 {
		t.Fatalf("backend membership index kept %v, %v", keys, err)
	}
	if got := list(tr.frontend.ID); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("frontend members: %v", got)
	}
	if got := list(tr.sales.ID); !slices.Equal(got, []string{"alice"}) {
		t.Fatalf("sales members: %v", got)
	}
	bad := []string{}
	_, err := e.d.UpdateMember(admin, "alice", MemberPatch{Departments: &bad})
	wantErr(t, err, ErrInvalid)
}

func TestStatusRoleAndSuperAdmins(t *testing.T) {
	e := newEnv(t)
	tr := buildTree(e)
	e.member("alice", "", "", tr.rd.ID)
	e.member("bob", "", "", tr.rd.ID)

	count := func() int {
		t.Helper()
		n, err := e.d.CountSuperAdmins()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if count() != 0 {
		t.Fatal("super admins before any promotion")
	}
	for _, id := range []string{"alice", "bob"} {
		if _, err := e.d.SetRole(admin, id, RoleSuperAdmin, nil); err != nil {
			t.Fatal(err)
		}
	}
	if count() != 2 {
		t.Fatalf("count = %d, want 2", count())
	}
	m, err := e.d.SetStatus(admin, "bob", StatusDisabled)
	if err != nil || m.Status != StatusDisabled {
		t.Fatalf("disable: %+v, %v", m, err)
	}
	if count() != 1 {
		t.Fatalf("a disabled super admin was counted: %d", count())
	}
	_, err = e.d.SetStatus(admin, "bob", "gone")
	wantErr(t, err, ErrInvalid)

	_, err = e.d.SetRole(admin, "alice", RoleDeptAdmin, nil)
	wantErr(t, err, ErrInvalid)
	_, err = e.d.SetRole(admin, "alice", RoleDeptAdmin, []string{"999"})
	wantErr(t, err, ErrInvalid)
	_, err = e.d.SetRole(admin, "alice", "king", nil)
	wantErr(t, err, ErrInvalid)
	// alice is the last active super admin: demoting her is refused
	// until bob is active again.
	_, err = e.d.SetRole(admin, "alice", RoleDeptAdmin, []string{tr.backend.ID, tr.sales.ID})
	wantErr(t, err, ErrConflict)
	if _, err := e.d.SetStatus(admin, "bob", StatusActive); err != nil {
		t.Fatal(err)
	}
	m, err = e.d.SetRole(admin, "alice", RoleDeptAdmin, []string{tr.backend.ID, tr.sales.ID})
	if err != nil || m.Role != RoleDeptAdmin || !slices.Equal(m.AdminDepartments, []string{tr.backend.ID, tr.sales.ID}) {
		t.Fatalf("dept admin: %+v, %v", m, err)
	}
	if count() != 1 {
		t.Fatalf("count after demotion = %d", count())
	}
	m, err = e.d.SetRole(admin, "alice", RoleMember, []string{tr.backend.ID})
	if err != nil || m.Role != RoleMember || m.AdminDepartments != nil {
		t.Fatalf("back to member: %+v, %v", m, err)
	}
	if got, _ := e.d.GetMember("alice"); got.AdminDepartments != nil {
		t.Fatalf("stored admin departments not cleared: %v", got.AdminDepartments)
	}
}

func TestListMembers(t *testing.T) {
	e := newEnv(t)
	tr := buildTree(e)
	e.member("a1", "13800000001", "a1@example.com", tr.backend.ID)
	e.member("a2", "", "", tr.pebble.ID)
	e.member("a3", "", "", tr.frontend.ID, tr.backend.ID)
	e.member("b1", "", "", tr.sales.ID)
	e.member("b2", "", "", tr.sales.ID)
	e.member("c1", "", "", RootDepartmentID)
	if _, err := e.d.SetStatus(admin, "a3", StatusDisabled); err != nil {
		t.Fatal(err)
	}
	name := "Zed Quux"
	if _, err := e.d.UpdateMember(admin, "b2", MemberPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	tag, err := e.d.CreateTag(admin, "oncall")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.d.UpdateTagMembers(admin, tag.ID, []string{"a2", "b1", "c1"}, nil); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		name string
		f    MemberFilter
		want string
	}{
		{"all", MemberFilter{}, "a1,a2,a3,b1,b2,c1"},
		{"department", MemberFilter{Department: tr.backend.ID}, "a1,a3"},
		{"subtree", MemberFilter{Department: tr.rd.ID, Recursive: true}, "a1,a2,a3"},
		{"department only", MemberFilter{Department: tr.rd.ID}, ""},
		{"root subtree", MemberFilter{Department: RootDepartmentID, Recursive: true}, "a1,a2,a3,b1,b2,c1"},
		{"root only", MemberFilter{Department: RootDepartmentID}, "c1"},
		{"tag", MemberFilter{Tag: tag.ID}, "a2,b1,c1"},
		{"tag in subtree", MemberFilter{Tag: tag.ID, Department: tr.rd.ID, Recursive: true}, "a2"},
		{"tag in department", MemberFilter{Tag: tag.ID, Department: tr.sales.ID}, "b1"},
		{"status", MemberFilter{Status: StatusDisabled}, "a3"},
		{"active in subtree", MemberFilter{Department: tr.rd.ID, Recursive: true, Status: StatusActive}, "a1,a2"},
		{"query name", MemberFilter{Query: "QUUX"}, "b2"},
		{"query email", MemberFilter{Query: "a1@EXAMPLE"}, "a1"},
		{"query mobile", MemberFilter{Query: "3800000001"}, "a1"},
		{"query id", MemberFilter{Query: "b"}, "b1,b2"},
		{"after", MemberFilter{After: "a3"}, "b1,b2,c1"},
		{"after in subtree", MemberFilter{Department: tr.rd.ID, Recursive: true, After: "a1"}, "a2,a3"},
		{"after in tag", MemberFilter{Tag: tag.ID, After: "a2"}, "b1,c1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ms, next, err := e.d.ListMembers(c.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(memberIDs(ms), ","); got != c.want || next != "" {
				t.Fatalf("got %q next %q, want %q", got, next, c.want)
			}
		})
	}

	// Paging: every filter pages by id with the cursor.
	for _, f := range []MemberFilter{
		{Limit: 2},
		{Limit: 2, Department: RootDepartmentID, Recursive: true},
		{Limit: 1, Department: tr.rd.ID, Recursive: true},
		{Limit: 2, Tag: tag.ID},
		{Limit: 1, Department: tr.backend.ID},
	} {
		full, _, err := e.d.ListMembers(MemberFilter{Department: f.Department, Recursive: f.Recursive, Tag: f.Tag})
		if err != nil {
			t.Fatal(err)
		}
		var paged []string
		pages := 0
		for {
			ms, next, err := e.d.ListMembers(f)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if len(ms) > f.Limit || pages > 10 {
				t.Fatalf("filter %+v: page of %d after %d pages", f, len(ms), pages)
			}
			paged = append(paged, memberIDs(ms)...)
			if next == "" {
				break
			}
			f.After = next
		}
		if !slices.Equal(paged, memberIDs(full)) {
			t.Fatalf("filter %+v: paged %v, want %v", f, paged, memberIDs(full))
		}
		if want := (len(full) + f.Limit - 1) / f.Limit; pages != want {
			t.Fatalf("filter %+v: %d pages, want %d", f, pages, want)
		}
	}

	_, _, err = e.d.ListMembers(MemberFilter{Department: "999"})
	wantErr(t, err, ErrNotFound)
	_, _, err = e.d.ListMembers(MemberFilter{Tag: "999"})
	wantErr(t, err, ErrNotFound)
	_, _, err = e.d.ListMembers(MemberFilter{Status: "gone"})
	wantErr(t, err, ErrInvalid)
}

// TestLastSuperAdminIsKept: neither a demotion nor a disable may leave the
// company without an active super admin, even when two race.
func TestLastSuperAdminIsKept(t *testing.T) {
	e := newEnv(t)
	tr := buildTree(e)
	for _, id := range []string{"alice", "bob"} {
		e.member(id, "", "", tr.rd.ID)
		if _, err := e.d.SetRole(admin, id, RoleSuperAdmin, nil); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, id := range []string{"alice", "bob"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 0 {
				_, errs[i] = e.d.SetRole(admin, id, RoleMember, nil)
			} else {
				_, errs[i] = e.d.SetStatus(admin, id, StatusDisabled)
			}
		}()
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		if errors.Is(err, ErrConflict) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if refused != 1 {
		t.Fatalf("%d of two racing demotions refused, want exactly 1: %v", refused, errs)
	}
	if n, _ := e.d.CountSuperAdmins(); n != 1 {
		t.Fatalf("%d active super admins left, want 1", n)
	}
}

func TestReservedMemberIDs(t *testing.T) {
	e := newEnv(t)
	for _, id := range []string{"system", "cli"} {
		_, err := e.d.CreateMember(admin, Member{ID: id, Name: id, Departments: []string{RootDepartmentID}})
		wantErr(t, err, ErrInvalid)
	}
}
