package quickreply

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"parley/chat/audit"
	"parley/storage"
)

var (
	alice = Actor{ID: "alice"}
	bob   = Actor{ID: "bob"}
	admin = Actor{ID: "admin", IP: "192.0.2.1"}
)

func newStore(t *testing.T, limits Limits) (*Store, *audit.Log) {
	t.Helper()
	db, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	log := audit.New(db)
	return New(db, log, limits), log
}

func mustCategory(t *testing.T, s *Store, a Actor, scope Scope, name string, order int) Category {
	t.Helper()
	c, err := s.CreateCategory(a, scope, NewCategory{Name: name, Order: order})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustItem(t *testing.T, s *Store, a Actor, scope Scope, cat, title string, order int) Item {
	t.Helper()
	it, err := s.CreateItem(a, scope, NewItem{CategoryID: cat, Title: title, Content: "content of " + title, Order: order})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func titles(g Group) []string {
	var out []string
	for _, it := range g.Items {
		out = append(out, it.Title)
	}
	return out
}

func names(gs []Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out
}

// TestPersonalLibraryIsPrivate: a member's personal library is theirs
// alone; another member neither sees it nor reaches its records.
func TestPersonalLibraryIsPrivate(t *testing.T) {
	s, log := newStore(t, Limits{})
	cat := mustCategory(t, s, alice, Personal, "Greetings", 0)
	item := mustItem(t, s, alice, Personal, cat.ID, "Hello", 0)
	if item.Scope != Personal || item.CreatedBy != "alice" || item.CategoryID != cat.ID {
		t.Fatalf("item %+v", item)
	}

	lib, err := s.Library("alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(lib.Personal) != 1 || !slices.Equal(titles(lib.Personal[0]), []string{"Hello"}) || len(lib.Enterprise) != 0 {
		t.Fatalf("alice's library %+v", lib)
	}
	lib, err = s.Library("bob")
	if err != nil {
		t.Fatal(err)
	}
	if len(lib.Personal) != 0 {
		t.Fatalf("bob sees alice's library: %+v", lib.Personal)
	}

	title := "Hijacked"
	if _, err := s.UpdateItem(bob, Personal, item.ID, ItemPatch{Title: &title}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bob edits alice's item: %v", err)
	}
	if err := s.DeleteItem(bob, Personal, item.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bob deletes alice's item: %v", err)
	}
	if err := s.DeleteCategory(bob, Personal, cat.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("bob deletes alice's category: %v", err)
	}
	if _, err := s.CreateItem(bob, Personal, NewItem{CategoryID: cat.ID, Title: "x", Content: "y"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bob files an item under alice's category: %v", err)
	}
	// Nor do enterprise routes reach personal records.
	if err := s.DeleteItem(admin, Enterprise, item.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("enterprise delete of a personal item: %v", err)
	}
	entries, _, err := log.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Fatalf("personal changes were audited: %+v", entries)
	}
}

// TestEnterpriseLibraryIsSharedAndAudited: everyone sees the enterprise
// library, and every change to it is in the audit log with its actor.
func TestEnterpriseLibraryIsSharedAndAudited(t *testing.T) {
	s, log := newStore(t, Limits{})
	cat := mustCategory(t, s, admin, Enterprise, "After-sales", 0)
	item := mustItem(t, s, admin, Enterprise, cat.ID, "Refund policy", 0)
	for _, m := range []string{"alice", "bob"} {
		lib, err := s.Library(m)
		if err != nil {
			t.Fatal(err)
		}
		if len(lib.Enterprise) != 1 || !slices.Equal(titles(lib.Enterprise[0]), []string{"Refund policy"}) {
			t.Fatalf("%s's enterprise library %+v", m, lib.Enterprise)
		}
	}
	content := "Refunds within 7 days.\nNo questions asked."
	if _, err := s.UpdateItem(admin, Enterprise, item.ID, ItemPatch{Content: &content}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteItem(admin, Enterprise, item.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCategory(admin, Enterprise, cat.ID); err != nil {
		t.Fatal(err)
	}

	entries, _, err := log.Query(audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
		if e.Actor != "admin" || e.ActorIP != "192.0.2.1" {
			t.Errorf("entry %s has actor %q from %q", e.Action, e.Actor, e.ActorIP)
		}
	}
	want := []string{"quickreply_category.delete", "quickreply.delete", "quickreply.update", "quickreply.create", "quickreply_category.create"}
	if !slices.Equal(actions, want) {
		t.Fatalf("audit actions %v, want %v", actions, want)
	}
	if upd := entries[2]; upd.TargetID != item.ID || !strings.Contains(string(upd.After), "No questions asked") || upd.Before == nil {
		t.Fatalf("update entry %+v", upd)
	}
}

// TestCategoryMustBeEmptyToDelete: a category holding items is refused;
// once its item moves away, it can go.
func TestCategoryMustBeEmptyToDelete(t *testing.T) {
	s, _ := newStore(t, Limits{})
	a := mustCategory(t, s, alice, Personal, "A", 0)
	b := mustCategory(t, s, alice, Personal, "B", 1)
	it := mustItem(t, s, alice, Personal, a.ID, "One", 0)
	if err := s.DeleteCategory(alice, Personal, a.ID); !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("delete non-empty category: %v", err)
	}
	if _, err := s.UpdateItem(alice, Personal, it.ID, ItemPatch{CategoryID: &b.ID}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCategory(alice, Personal, a.ID); err != nil {
		t.Fatalf("delete emptied category: %v", err)
	}
	lib, err := s.Library("alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(lib.Personal) != 1 || lib.Personal[0].ID != b.ID || !slices.Equal(titles(lib.Personal[0]), []string{"One"}) {
		t.Fatalf("library after the move %+v", lib.Personal)
	}
	missing := "999"
	if _, err := s.UpdateItem(alice, Personal, it.ID, ItemPatch{CategoryID: &missing}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("move to a missing category: %v", err)
	}
}

// TestLibraryOrder: categories sort by order, then name; items by order,
// then id (creation).
func TestLibraryOrder(t *testing.T) {
	s, _ := newStore(t, Limits{})
	c2 := mustCategory(t, s, alice, Personal, "Zeta", 0)
	mustCategory(t, s, alice, Personal, "Late", 5)
	mustCategory(t, s, alice, Personal, "Alpha", 0)
	for i, title := range []string{"third", "first", "second"} {
		mustItem(t, s, alice, Personal, c2.ID, title, []int{2, 1, 1}[i])
	}
	// Ten more items, so ids "10" and up sort after "9".
	for range 10 {
		mustItem(t, s, alice, Personal, c2.ID, "later", 3)
	}
	lib, err := s.Library("alice")
	if err != nil {
		t.Fatal(err)
	}
	if got := names(lib.Personal); !slices.Equal(got, []string{"Alpha", "Zeta", "Late"}) {
		t.Fatalf("category order %v", got)
	}
	items := lib.Personal[1].Items
	if got := titles(lib.Personal[1])[:3]; !slices.Equal(got, []string{"first", "second", "third"}) {
		t.Fatalf("item order %v", got)
	}
	for i := 4; i < len(items); i++ {
		if compareIDs(items[i-1].ID, items[i].ID) >= 0 {
			t.Fatalf("ids out of order: %s before %s", items[i-1].ID, items[i].ID)
		}
	}
}

func TestLimits(t *testing.T) {
	s, _ := newStore(t, Limits{MaxPersonalItems: 2, MaxEnterpriseItems: 1, MaxCategories: 2})
	c := mustCategory(t, s, alice, Personal, "One", 0)
	mustCategory(t, s, alice, Personal, "Two", 0)
	if _, err := s.CreateCategory(alice, Personal, NewCategory{Name: "Three"}); !errors.Is(err, ErrLimit) {
		t.Fatalf("third category: %v", err)
	}
	mustCategory(t, s, bob, Personal, "Bob's own", 0) // per member
	mustItem(t, s, alice, Personal, c.ID, "a", 0)
	mustItem(t, s, alice, Personal, c.ID, "b", 0)
	if _, err := s.CreateItem(alice, Personal, NewItem{CategoryID: c.ID, Title: "c", Content: "c"}); !errors.Is(err, ErrLimit) {
		t.Fatalf("third personal item: %v", err)
	}
	ec := mustCategory(t, s, admin, Enterprise, "Shared", 0)
	mustItem(t, s, admin, Enterprise, ec.ID, "a", 0)
	if _, err := s.CreateItem(admin, Enterprise, NewItem{CategoryID: ec.ID, Title: "b", Content: "b"}); !errors.Is(err, ErrLimit) {
		t.Fatalf("second enterprise item: %v", err)
	}
}

func TestValidation(t *testing.T) {
	s, _ := newStore(t, Limits{})
	c := mustCategory(t, s, alice, Personal, "Cat", 0)
	title64 := strings.Repeat("回", MaxTitleRunes)
	content2000 := strings.Repeat("复", MaxContentRunes)
	it, err := s.CreateItem(alice, Personal, NewItem{CategoryID: c.ID, Title: "  " + title64 + " ", Content: content2000})
	if err != nil {
		t.Fatalf("item at the limits: %v", err)
	}
	if it.Title != title64 {
		t.Fatalf("title not trimmed: %q", it.Title)
	}
	if it, err := s.CreateItem(alice, Personal, NewItem{CategoryID: c.ID, Title: "t", Content: "line 1\r\nline 2\tend"}); err != nil || it.Content != "line 1\nline 2\tend" {
		t.Fatalf("multi-line content: %q %v", it.Content, err)
	}
	bad := map[string]NewItem{
		"long title":       {CategoryID: c.ID, Title: title64 + "回", Content: "x"},
		"empty title":      {CategoryID: c.ID, Title: "   ", Content: "x"},
		"title line break": {CategoryID: c.ID, Title: "a\nb", Content: "x"},
		"long content":     {CategoryID: c.ID, Title: "t", Content: content2000 + "复"},
		"empty content":    {CategoryID: c.ID, Title: "t", Content: ""},
		"control content":  {CategoryID: c.ID, Title: "t", Content: "a\x00b"},
		"no category":      {Title: "t", Content: "x"},
		"unknown category": {CategoryID: "12345", Title: "t", Content: "x"},
		"malformed id":     {CategoryID: "../1", Title: "t", Content: "x"},
	}
	for name, in := range bad {
		if _, err := s.CreateItem(alice, Personal, in); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.CreateCategory(alice, Personal, NewCategory{Name: strings.Repeat("n", MaxNameRunes+1)}); !errors.Is(err, ErrInvalid) {
		t.Errorf("long category name: %v", err)
	}
	if _, err := s.CreateCategory(alice, "team", NewCategory{Name: "x"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("unknown scope: %v", err)
	}
	if _, err := s.CreateCategory(Actor{}, Personal, NewCategory{Name: "x"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("no actor: %v", err)
	}
	if err := s.DeleteItem(alice, Personal, "1/2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("malformed item id: %v", err)
	}
}
