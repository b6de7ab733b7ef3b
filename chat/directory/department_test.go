package directory

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"parley/storage"
)

// tree is the five-level test tree:
//
//	Acme (1)
//	├── Ops      order 1
//	├── Sales    order 1
//	└── R&D      order 2
//	    ├── Backend
//	    │   └── Storage
//	    │       └── Pebble
//	    └── Frontend
type tree struct {
	rd, sales, ops, backend, frontend, storage, pebble Department
}

func buildTree(e *testEnv) tree {
	var tr tree
	tr.rd = e.dept("R&D", RootDepartmentID, 2)
	tr.sales = e.dept("Sales", RootDepartmentID, 1)
	tr.ops = e.dept("Ops", RootDepartmentID, 1)
	tr.frontend = e.dept("Frontend", tr.rd.ID, 0)
	tr.backend = e.dept("Backend", tr.rd.ID, 0)
	tr.storage = e.dept("Storage", tr.backend.ID, 0)
	tr.pebble = e.dept("Pebble", tr.storage.ID, 0)
	return tr
}

func names(ds []Department) string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Name)
	}
	return strings.Join(out, ",")
}

func TestDepartmentTree(t *testing.T) {
	e := newEnv(t)
	tr := buildTree(e)

	all, err := e.d.ListDepartments()
	if err != nil {
		t.Fatal(err)
	}
	if got := names(all); got != "Acme,Ops,Sales,R&D,Backend,Storage,Pebble,Frontend" {
		t.Fatalf("ListDepartments order: %s", got)
	}
	kids, err := e.d.Children(tr.rd.ID)
	if err != nil || names(kids) != "Backend,Frontend" {
		t.Fatalf("Children(R&D) = %s, %v", names(kids), err)
	}
	kids, err = e.d.Children(RootDepartmentID)
	if err != nil || names(kids) != "Ops,Sales,R&D" {
		t.Fatalf("Children(root) = %s, %v", names(kids), err)
	}
	_, err = e.d.Children("999")
	wantErr(t, err, ErrNotFound)

	anc, err := e.d.Ancestors(tr.pebble.ID)
	want := []string{RootDepartmentID, tr.rd.ID, tr.backend.ID, tr.storage.ID, tr.pebble.ID}
	if err != nil || !slices.Equal(anc, want) {
		t.Fatalf("Ancestors(Pebble) = %v, %v; want %v", anc, err, want)
	}
	anc, err = e.d.Ancestors(RootDepartmentID)
	if err != nil || !slices.Equal(anc, []string{RootDepartmentID}) {
		t.Fatalf("Ancestors(root) = %v, %v", anc, err)
	}
	_, err = e.d.Ancestors("999")
	wantErr(t, err, ErrNotFound)

	for _, c := range []struct {
		id, root string
		want     bool
	}{
		{tr.pebble.ID, tr.rd.ID, true},
		{tr.pebble.ID, RootDepartmentID, true},
		{tr.rd.ID, tr.rd.ID, true},
		{tr.pebble.ID, tr.sales.ID, false},
		{tr.rd.ID, tr.pebble.ID, false},
		{tr.frontend.ID, tr.backend.ID, false},
		{tr.pebble.ID, "999", false}, // a deleted scope root contains nothing
	} {
		got, err := e.d.InSubtree(c.id, c.root)
		if err != nil || got != c.want {
			t.Errorf("InSubtree(%s, %s) = %v, %v; want %v", c.id, c.root, got, err, c.want)
		}
	}
	_, err = e.d.InSubtree("999", RootDepartmentID)
	wantErr(t, err, ErrNotFound)

	got, err := e.d.GetDepartment(tr.storage.ID)
	if err != nil || got.Name != "Storage" || got.ParentID != tr.backend.ID || !got.CreatedAt.Equal(tr.storage.CreatedAt) {
		t.Fatalf("GetDepartment = %+v, %v", got, err)
	}
}

func TestDepartmentValidation(t *testing.T) {
	e := newEnv(t)
	tr := buildTree(e)
	for _, c := range []struct {
		name, parent string
		want         error
	}{
		{"", RootDepartmentID, ErrInvalid},
		{"   ", RootDepartmentID, ErrInvalid},
		{"A/B", RootDepartmentID, ErrInvalid},
		{"A;B", RootDepartmentID, ErrInvalid},
		{"Tab\there", RootDepartmentID, ErrInvalid},
		{strings.Repeat("é", MaxNameRunes+1), RootDepartmentID, ErrInvalid},
		{"Orphan", "999", ErrInvalid},
		{"Orphan", "", ErrInvalid},
		{"Backend", tr.rd.ID, ErrConflict},
	} {
		_, err := e.d.CreateDepartment(admin, c.name, c.parent, 0)
		if !errors.Is(err, c.want) {
			t.Errorf("create %q under %q: got %v, want %v", c.name, c.parent, err, c.want)
		}
	}
	// Same name under another parent is fine; exactly MaxNameRunes too.
	e.dept("Backend", tr.sales.ID, 0)
	e.dept(strings.Repeat("é", MaxNameRunes), tr.sales.ID, 0)
	// Renaming onto a sibling's name conflicts.
	name := "Frontend"
	_, err := e.d.UpdateDepartment(admin, tr.backend.ID, DepartmentPatch{Name: &name})
	wantErr(t, err, ErrConflict)
}

func TestDepartmentDepthLimit(t *testing.T) {
	e := newEnv(t)
	tr := buildTree(e) // Backend subtree: Backend, Storage, Pebble = 3 levels
	chain := []string{RootDepartmentID}
	for level := 2; level <= MaxDepartmentDepth; level++ {
		chain = append(chain, e.dept(fmt.Sprintf("L%d", level), chain[len(chain)-1], 0).ID)
	}
	_, err := e.d.CreateDepartment(admin, "TooDeep", chain[MaxDepartmentDepth-1], 0)
	wantErr(t, err, ErrInvalid)

	// Under level 13, Pebble would land at level 16.
	_, err = e.d.UpdateDepartment(admin, tr.backend.ID, DepartmentPatch{ParentID: &chain[12]})
	wantErr(t, err, ErrInvalid)
	// Under level 12 it lands exactly at the limit.
	if _, err := e.d.UpdateDepartment(admin, tr.backend.ID, DepartmentPatch{ParentID: &chain[11]}); err != nil {
		t.Fatal(err)
	}
	anc, err := e.d.Ancestors(tr.pebble.ID)
	if err != nil || len(anc) != MaxDepartmentDepth {
		t.Fatalf("Pebble depth %d, %v; want %d", len(anc), err, MaxDepartmentDepth)
	}
}

func TestDepartmentMove(t *testing.T) {
	e := newEnv(t)
	tr := buildTree(e)

	_, err := e.d.UpdateDepartment(admin, tr.rd.ID, DepartmentPatch{ParentID: &tr.storage.ID})
	wantErr(t, err, ErrCycle)
	_, err = e.d.UpdateDepartment(admin, tr.rd.ID, DepartmentPatch{ParentID: &tr.pebble.ID})
	wantErr(t, err, ErrCycle)
	_, err = e.d.UpdateDepartment(admin, tr.rd.ID, DepartmentPatch{ParentID: &tr.rd.ID})
	wantErr(t, err, ErrCycle)
	_, err = e.d.UpdateDepartment(admin, RootDepartmentID, DepartmentPatch{ParentID: &tr.rd.ID})
	wantErr(t, err, ErrInvalid)
	empty, missing := "", "999"
	_, err = e.d.UpdateDepartment(admin, tr.rd.ID, DepartmentPatch{ParentID: &empty})
	wantErr(t, err, ErrInvalid)
	_, err = e.d.UpdateDepartment(admin, tr.rd.ID, DepartmentPatch{ParentID: &missing})
	wantErr(t, err, ErrInvalid)
	_, err = e.d.UpdateDepartment(admin, missing, DepartmentPatch{ParentID: &tr.rd.ID})
	wantErr(t, err, ErrNotFound)
	if anc, _ := e.d.Ancestors(tr.pebble.ID); len(anc) != 5 {
		t.Fatalf("refused moves changed the tree: %v", anc)
	}

	// Move Storage (with Pebble) from Backend to Frontend.
	order := 5
	moved, err := e.d.UpdateDepartment(admin, tr.storage.ID, DepartmentPatch{ParentID: &tr.frontend.ID, Order: &order})
	if err != nil {
		t.Fatal(err)
	}
	if moved.ParentID != tr.frontend.ID || moved.Order != 5 || moved.UpdatedAt.Before(tr.storage.UpdatedAt) {
		t.Fatalf("moved department: %+v", moved)
	}
	kids, _ := e.d.Children(tr.backend.ID)
	if len(kids) != 0 {
		t.Fatalf("old parent still lists %s", names(kids))
	}
	kids, _ = e.d.Children(tr.frontend.ID)
	if names(kids) != "Storage" {
		t.Fatalf("new parent lists %q", names(kids))
	}
	childKeys, err := e.d.suffixes(storage.KeyPrefix(storage.PrefixDeptChild, tr.backend.ID))
	if err != nil || len(childKeys) != 0 {
		t.Fatalf("child index of old parent: %v, %v", childKeys, err)
	}
	anc, err := e.d.Ancestors(tr.pebble.ID)
	want := []string{RootDepartmentID, tr.rd.ID, tr.frontend.ID, tr.storage.ID, tr.pebble.ID}
	if err != nil || !slices.Equal(anc, want) {
		t.Fatalf("Ancestors(Pebble) after move = %v, want %v", anc, want)
	}
	all, _ := e.d.ListDepartments()
	if got := names(all); got != "Acme,Ops,Sales,R&D,Backend,Frontend,Storage,Pebble" {
		t.Fatalf("ListDepartments after move: %s", got)
	}
	// The old parent is now empty, so the move freed it for deletion.
	if err := e.d.DeleteDepartment(admin, tr.backend.ID); err != nil {
		t.Fatal(err)
	}
	// Moving to the current parent is a plain update.
	name := "Storage Team"
	if _, err := e.d.UpdateDepartment(admin, tr.storage.ID, DepartmentPatch{Name: &name, ParentID: &tr.frontend.ID}); err != nil {
		t.Fatal(err)
	}
	root := "Acme Corp"
	if got, err := e.d.UpdateDepartment(admin, RootDepartmentID, DepartmentPatch{Name: &root, ParentID: &empty}); err != nil || got.Name != root {
		t.Fatalf("rename root: %+v, %v", got, err)
	}
}

func TestDepartmentDelete(t *testing.T) {
	e := newEnv(t)
	tr := buildTree(e)
	e.member("alice", "", "", tr.sales.ID)

	wantErr(t, e.d.DeleteDepartment(admin, tr.storage.ID), ErrNotEmpty) // has Pebble
	wantErr(t, e.d.DeleteDepartment(admin, tr.sales.ID), ErrNotEmpty)   // has alice
	wantErr(t, e.d.DeleteDepartment(admin, RootDepartmentID), ErrInvalid)
	wantErr(t, e.d.DeleteDepartment(admin, "999"), ErrNotFound)

	if err := e.d.DeleteDepartment(admin, tr.pebble.ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.d.GetDepartment(tr.pebble.ID)
	wantErr(t, err, ErrNotFound)
	if err := e.d.DeleteDepartment(admin, tr.storage.ID); err != nil {
		t.Fatalf("delete after its child is gone: %v", err)
	}
	kids, _ := e.d.Children(tr.backend.ID)
	if len(kids) != 0 {
		t.Fatalf("deleted department still listed: %s", names(kids))
	}

	// Moving alice out empties Sales.
	depts := []string{tr.ops.ID}
	if _, err := e.d.UpdateMember(admin, "alice", MemberPatch{Departments: &depts}); err != nil {
		t.Fatal(err)
	}
	if err := e.d.DeleteDepartment(admin, tr.sales.ID); err != nil {
		t.Fatal(err)
	}
	all, _ := e.d.ListDepartments()
	if got := names(all); got != "Acme,Ops,R&D,Backend,Frontend" {
		t.Fatalf("after deletes: %s", got)
	}
}
