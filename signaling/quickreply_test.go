package signaling

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"parley/chat/audit"
	"parley/chat/directory"
	"parley/chat/quickreply"
)

// quickReplyActor is whose library a matrix case's records live in: the
// caller's own personal library, or the enterprise one. Anonymous callers
// have no library, so a fresh member's is used: the request fails with
// 401 before it matters.
func (f *matrixFixture) quickReplyActor(r role, scope quickreply.Scope) quickreply.Actor {
	switch {
	case scope == quickreply.Enterprise:
		return quickreply.Actor{ID: BootstrapAdminID}
	case r == anonymous:
		return quickreply.Actor{ID: f.target()}
	}
	return quickreply.Actor{ID: f.caller}
}

// quickReplyCategory creates an empty category for a matrix case.
func (f *matrixFixture) quickReplyCategory(r role, scope quickreply.Scope) string {
	f.t.Helper()
	c, err := f.srv.QuickReplies().CreateCategory(f.quickReplyActor(r, scope), scope, quickreply.NewCategory{Name: f.unique("cat")})
	if err != nil {
		f.t.Fatal(err)
	}
	return c.ID
}

// quickReplyItem creates an item, in a category of its own, for a matrix
// case.
func (f *matrixFixture) quickReplyItem(r role, scope quickreply.Scope) string {
	f.t.Helper()
	a := f.quickReplyActor(r, scope)
	c, err := f.srv.QuickReplies().CreateCategory(a, scope, quickreply.NewCategory{Name: f.unique("cat")})
	if err != nil {
		f.t.Fatal(err)
	}
	it, err := f.srv.QuickReplies().CreateItem(a, scope, quickreply.NewItem{CategoryID: c.ID, Title: "Hi", Content: "Hello there"})
	if err != nil {
		f.t.Fatal(err)
	}
	return it.ID
}

// qrClient calls the API as one member.
type qrClient struct {
	t     *testing.T
	url   string
	token string
}

func (c qrClient) do(want int, method, path string, body, out any) []byte {
	c.t.Helper()
	status, raw := call(c.t, method, c.url+"/api/v1"+path, c.token, body, out)
	if status != want {
		c.t.Fatalf("%s %s: got %d, want %d: %s", method, path, status, want, raw)
	}
	return raw
}

func (c qrClient) refused(want int, code, method, path string, body any) {
	c.t.Helper()
	raw := c.do(want, method, path, body, nil)
	if got := errorCode(raw); got != code {
		c.t.Fatalf("%s %s: code %q, want %q: %s", method, path, got, code, raw)
	}
}

// TestQuickRepliesREST: members keep personal libraries of their own and
// share the enterprise library, which only super admins change, with
// every change audited.
func TestQuickRepliesREST(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	clients := map[string]qrClient{}
	for _, id := range []string{"alice", "bob"} {
		if _, err := srv.Directory().CreateMember(sys, directory.Member{ID: id, Name: id, Departments: []string{directory.RootDepartmentID}}); err != nil {
			t.Fatal(err)
		}
		tok, err := srv.Auth().IssueAccess(id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		clients[id] = qrClient{t, srv.URL, tok.AccessToken}
	}
	alice, bob := clients["alice"], clients["bob"]
	admin := qrClient{t, srv.URL, login(t, srv.URL, "admin", testAdminPassword).AccessToken}

	// alice's personal library.
	var cat quickreply.Category
	alice.do(http.StatusCreated, "POST", "/quick-replies/personal/categories", map[string]any{"name": "问候", "order": 1}, &cat)
	var item quickreply.Item
	alice.do(http.StatusCreated, "POST", "/quick-replies/personal/items",
		map[string]any{"category_id": cat.ID, "title": "早上好", "content": "早上好！请问有什么可以帮您？"}, &item)
	if item.Scope != quickreply.Personal || item.CreatedBy != "alice" || item.CategoryID != cat.ID {
		t.Fatalf("created item %+v", item)
	}
	var lib quickreply.Library
	alice.do(http.StatusOK, "GET", "/quick-replies", nil, &lib)
	if len(lib.Personal) != 1 || lib.Personal[0].Name != "问候" || len(lib.Personal[0].Items) != 1 || lib.Personal[0].Items[0].ID != item.ID {
		t.Fatalf("alice's library %+v", lib)
	}

	// bob sees none of it and reaches none of it.
	bob.do(http.StatusOK, "GET", "/quick-replies", nil, &lib)
	if len(lib.Personal) != 0 || len(lib.Enterprise) != 0 {
		t.Fatalf("bob's library %+v", lib)
	}
	bob.refused(http.StatusNotFound, "not_found", "PATCH", "/quick-replies/personal/items/"+item.ID, map[string]any{"title": "mine now"})
	bob.refused(http.StatusNotFound, "not_found", "DELETE", "/quick-replies/personal/items/"+item.ID, nil)
	bob.refused(http.StatusNotFound, "not_found", "DELETE", "/quick-replies/personal/categories/"+cat.ID, nil)

	// The enterprise library: super admins only, seen by everyone.
	alice.refused(http.StatusForbidden, "forbidden", "POST", "/quick-replies/enterprise/categories", map[string]any{"name": "Sales"})
	var ecat quickreply.Category
	admin.do(http.StatusCreated, "POST", "/quick-replies/enterprise/categories", map[string]any{"name": "After-sales"}, &ecat)
	var eitem quickreply.Item
	admin.do(http.StatusCreated, "POST", "/quick-replies/enterprise/items",
		map[string]any{"category_id": ecat.ID, "title": "Refunds", "content": "Refunds within 7 days."}, &eitem)
	bob.do(http.StatusOK, "GET", "/quick-replies", nil, &lib)
	if len(lib.Enterprise) != 1 || len(lib.Enterprise[0].Items) != 1 || lib.Enterprise[0].Items[0].Title != "Refunds" {
		t.Fatalf("bob's view of the enterprise library %+v", lib.Enterprise)
	}
	admin.refused(http.StatusConflict, "conflict", "DELETE", "/quick-replies/enterprise/categories/"+ecat.ID, nil)
	admin.do(http.StatusOK, "PATCH", "/quick-replies/enterprise/items/"+eitem.ID, map[string]any{"content": "Refunds within 14 days."}, &eitem)
	if eitem.Content != "Refunds within 14 days." || eitem.Title != "Refunds" {
		t.Fatalf("patched item %+v", eitem)
	}
	// Personal and enterprise ids do not cross over.
	admin.refused(http.StatusNotFound, "not_found", "DELETE", "/quick-replies/enterprise/items/"+item.ID, nil)
	admin.do(http.StatusNoContent, "DELETE", "/quick-replies/enterprise/items/"+eitem.ID, nil, nil)
	admin.do(http.StatusNoContent, "DELETE", "/quick-replies/enterprise/categories/"+ecat.ID, nil, nil)

	var page struct {
		Entries []audit.Entry `json:"entries"`
	}
	admin.do(http.StatusOK, "GET", "/audit?target_type=quickreply", nil, &page)
	var actions []string
	for _, e := range page.Entries {
		actions = append(actions, e.Action)
		if e.Actor != "admin" || e.ActorIP == "" {
			t.Errorf("audit entry %s by %q from %q", e.Action, e.Actor, e.ActorIP)
		}
	}
	if got := strings.Join(actions, ","); got != "quickreply.delete,quickreply.update,quickreply.create" {
		t.Fatalf("quick-reply audit actions %s", got)
	}

	// Input errors.
	alice.refused(http.StatusBadRequest, "invalid_argument", "POST", "/quick-replies/personal/items",
		map[string]any{"category_id": cat.ID, "title": strings.Repeat("长", 65), "content": "x"})
	alice.refused(http.StatusBadRequest, "invalid_argument", "POST", "/quick-replies/personal/items",
		map[string]any{"category_id": cat.ID, "title": "t", "content": strings.Repeat("长", 2001)})
	alice.refused(http.StatusBadRequest, "invalid_argument", "POST", "/quick-replies/personal/items",
		map[string]any{"category_id": ecat.ID, "title": "t", "content": "x"}) // gone, and not hers anyway
	alice.refused(http.StatusBadRequest, "bad_request", "POST", "/quick-replies/personal/categories", map[string]any{"name": "x", "colour": "red"})
	alice.refused(http.StatusConflict, "conflict", "DELETE", "/quick-replies/personal/categories/"+cat.ID, nil)
	alice.do(http.StatusNoContent, "DELETE", "/quick-replies/personal/items/"+item.ID, nil, nil)
	alice.do(http.StatusNoContent, "DELETE", "/quick-replies/personal/categories/"+cat.ID, nil, nil)
	alice.refused(http.StatusNotFound, "not_found", "PATCH", "/quick-replies/personal/categories/"+cat.ID, map[string]any{"name": "again"})
}

// TestQuickReplyLimitsREST: the per-library limits answer 409
// limit_reached.
func TestQuickReplyLimitsREST(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	admin := qrClient{t, srv.URL, login(t, srv.URL, "admin", testAdminPassword).AccessToken}
	for i := range quickreply.DefaultMaxCategories {
		if _, err := srv.QuickReplies().CreateCategory(quickreply.Actor{ID: "admin"}, quickreply.Personal, quickreply.NewCategory{Name: fmt.Sprint("c", i)}); err != nil {
			t.Fatal(err)
		}
	}
	admin.refused(http.StatusConflict, "limit_reached", "POST", "/quick-replies/personal/categories", map[string]any{"name": "one too many"})
	// The enterprise library has its own count.
	admin.do(http.StatusCreated, "POST", "/quick-replies/enterprise/categories", map[string]any{"name": "Shared"}, nil)
}
