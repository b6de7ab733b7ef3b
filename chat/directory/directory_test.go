package directory

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"parley/chat/audit"
	"parley/storage"
)

var admin = Actor{ID: "admin", IP: "192.0.2.1"}

// testEnv is a directory on a real Pebble in a temporary directory.
type testEnv struct {
	t   testing.TB
	dir string
	db  *storage.DB
	log *audit.Log
	d   *Directory
}

func newEnv(t testing.TB) *testEnv {
	t.Helper()
	e := &testEnv{t: t, dir: t.TempDir()}
	e.open()
	t.Cleanup(func() {
		if e.db != nil {
			e.db.Close()
		}
	})
	if err := e.d.Bootstrap("Acme"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *testEnv) open() {
	e.t.Helper()
	db, err := storage.Open(e.dir, storage.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.db = db
	e.log = audit.New(db)
	e.d = New(db, e.log)
}

func (e *testEnv) reopen() {
	e.t.Helper()
	if err := e.db.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.db = nil
	e.open()
}

func (e *testEnv) dept(name, parent string, order int) Department {
	e.t.Helper()
	dept, err := e.d.CreateDepartment(admin, name, parent, order)
	if err != nil {
		e.t.Fatalf("create department %q: %v", name, err)
	}
	return dept
}

func (e *testEnv) member(id, mobile, email string, depts ...string) Member {
	e.t.Helper()
	m, err := e.d.CreateMember(admin, Member{ID: id, Name: "Name " + id, Mobile: mobile, Email: email, Departments: depts})
	if err != nil {
		e.t.Fatalf("create member %s: %v", id, err)
	}
	return m
}

func wantErr(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("got error %v, want %v", err, target)
	}
}

func memberIDs(ms []Member) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

func TestDataSurvivesReopen(t *testing.T) {
	e := newEnv(t)
	sales := e.dept("Sales", RootDepartmentID, 0)
	east := e.dept("East", sales.ID, 0)
	alice := e.member("alice", "13800000001", "Alice@Example.com", east.ID)
	tag, err := e.d.CreateTag(admin, "VIP")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.d.UpdateTagMembers(admin, tag.ID, []string{"alice"}, nil); err != nil {
		t.Fatal(err)
	}

	e.reopen()
	if err := e.d.Bootstrap("Other Name"); err != nil {
		t.Fatal(err)
	}
	root, err := e.d.GetDepartment(RootDepartmentID)
	if err != nil || root.Name != "Acme" {
		t.Fatalf("root after reopen: %+v, %v", root, err)
	}
	got, err := e.d.GetMember("alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != alice.Email || !got.CreatedAt.Equal(alice.CreatedAt) || !slices.Equal(got.Departments, []string{east.ID}) {
		t.Fatalf("member after reopen: %+v", got)
	}
	anc, err := e.d.Ancestors(east.ID)
	if err != nil || !slices.Equal(anc, []string{RootDepartmentID, sales.ID, east.ID}) {
		t.Fatalf("ancestors after reopen: %v, %v", anc, err)
	}
	ms, _, err := e.d.ListMembers(MemberFilter{Department: sales.ID, Recursive: true})
	if err != nil || !slices.Equal(memberIDs(ms), []string{"alice"}) {
		t.Fatalf("department members after reopen: %v, %v", memberIDs(ms), err)
	}
	tags, err := e.d.MemberTags("alice")
	if err != nil || !slices.Equal(tags, []string{tag.ID}) {
		t.Fatalf("member tags after reopen: %v, %v", tags, err)
	}
	_, err = e.d.CreateMember(admin, Member{ID: "bob", Name: "Bob", Email: "alice@example.COM", Departments: []string{sales.ID}})
	wantErr(t, err, ErrConflict)
	// Id counters continue: no id is issued twice.
	next := e.dept("West", sales.ID, 0)
	if next.ID == sales.ID || next.ID == east.ID || next.ID == RootDepartmentID {
		t.Fatalf("department id %s reused after reopen", next.ID)
	}
	tag2, err := e.d.CreateTag(admin, "New")
	if err != nil || tag2.ID == tag.ID {
		t.Fatalf("tag id after reopen: %+v, %v", tag2, err)
	}
}

// entriesFor returns the audit entries about one target, oldest first.
func entriesFor(t *testing.T, e *testEnv, targetType, id string) []audit.Entry {
	t.Helper()
	got, _, err := e.log.Query(audit.Query{TargetType: targetType, TargetID: id})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(got)
	return got
}

func auditActions(es []audit.Entry) string {
	var out []string
	for _, e := range es {
		out = append(out, e.Action)
	}
	return strings.Join(out, ",")
}

func TestMutationsAreAudited(t *testing.T) {
	e := newEnv(t)
	a := e.dept("A", RootDepartmentID, 0)
	b := e.dept("B", RootDepartmentID, 0)
	c := e.dept("C", a.ID, 0)
	name := "C2"
	if _, err := e.d.UpdateDepartment(admin, c.ID, DepartmentPatch{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.UpdateDepartment(admin, c.ID, DepartmentPatch{ParentID: &b.ID}); err != nil {
		t.Fatal(err)
	}
	if err := e.d.DeleteDepartment(admin, c.ID); err != nil {
		t.Fatal(err)
	}
	got := entriesFor(t, e, "department", c.ID)
	if s := auditActions(got); s != "department.create,department.update,department.move,department.delete" {
		t.Fatalf("department actions: %s", s)
	}
	var before, after Department
	json.Unmarshal(got[2].Before, &before)
	json.Unmarshal(got[2].After, &after)
	if before.ParentID != a.ID || after.ParentID != b.ID || after.Name != "C2" {
		t.Fatalf("move before/after: %+v -> %+v", before, after)
	}
	if got[0].Before != nil || got[3].After != nil || got[3].Actor != "admin" || got[3].ActorIP != "192.0.2.1" {
		t.Fatalf("create/delete entries: %+v / %+v", got[0], got[3])
	}

	e.member("bob", "13800000001", "", a.ID)
	mobile := "13800000002"
	if _, err := e.d.UpdateMember(admin, "bob", MemberPatch{Mobile: &mobile}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.SetStatus(admin, "bob", StatusDisabled); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.SetStatus(admin, "bob", StatusActive); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.SetRole(admin, "bob", RoleDeptAdmin, []string{a.ID}); err != nil {
		t.Fatal(err)
	}
	got = entriesFor(t, e, "member", "bob")
	if s := auditActions(got); s != "member.create,member.update,member.disable,member.enable,member.role" {
		t.Fatalf("member actions: %s", s)
	}
	var mb, ma Member
	json.Unmarshal(got[1].Before, &mb)
	json.Unmarshal(got[1].After, &ma)
	if mb.Mobile != "13800000001" || ma.Mobile != "13800000002" {
		t.Fatalf("update before/after mobile: %q -> %q", mb.Mobile, ma.Mobile)
	}
	json.Unmarshal(got[4].After, &ma)
	if ma.Role != RoleDeptAdmin || !slices.Equal(ma.AdminDepartments, []string{a.ID}) {
		t.Fatalf("role entry after: %+v", ma)
	}

	tag, err := e.d.CreateTag(admin, "T")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.RenameTag(admin, tag.ID, "T2"); err != nil {
		t.Fatal(err)
	}
	if err := e.d.UpdateTagMembers(admin, tag.ID, []string{"bob"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.d.DeleteTag(admin, tag.ID); err != nil {
		t.Fatal(err)
	}
	got = entriesFor(t, e, "tag", tag.ID)
	if s := auditActions(got); s != "tag.create,tag.rename,tag.members,tag.delete" {
		t.Fatalf("tag actions: %s", s)
	}
	if string(got[2].After) != `{"added":["bob"]}` {
		t.Fatalf("tag.members after: %s", got[2].After)
	}
	if !strings.Contains(string(got[3].Before), `"members":["bob"]`) || !strings.Contains(string(got[3].Before), `"name":"T2"`) {
		t.Fatalf("tag.delete before: %s", got[3].Before)
	}

	// A refused change writes nothing.
	n := len(entriesFor(t, e, "member", "bob"))
	bad := "not-an-email"
	if _, err := e.d.UpdateMember(admin, "bob", MemberPatch{Email: &bad}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad email: %v", err)
	}
	if len(entriesFor(t, e, "member", "bob")) != n {
		t.Fatal("a refused update was audited")
	}
	_, err = e.d.CreateDepartment(Actor{}, "X", RootDepartmentID, 0)
	wantErr(t, err, ErrInvalid)
}

func TestConcurrentCreatesKeepMobileUnique(t *testing.T) {
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.d.CreateMember(admin, Member{
				ID: fmt.Sprintf("m%d", i), Name: "M", Mobile: "13900000000", Departments: []string{RootDepartmentID},
			})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrConflict):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d creates with one mobile succeeded, want 1", ok)
	}
}
