package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"parley/chat/directory"
	"parley/chat/messaging"
	"parley/chat/quickreply"
)

// role is one column of the authorization matrix.
type role int

const (
	anonymous role = iota
	plainMember
	otherDeptAdmin // administers a subtree that does not hold the target
	rightDeptAdmin // administers the subtree that holds the target
	superAdmin
	numRoles
)

func (r role) String() string {
	return [...]string{"anonymous", "member", "other-dept-admin", "right-dept-admin", "super-admin"}[r]
}

// matrixFixture is the tree every case works in:
//
//	1 (root)
//	├── A          administered by right-dept-admins
//	│   └── A1     where targets are created
//	└── B          administered by other-dept-admins
type matrixFixture struct {
	t    *testing.T
	srv  *testServer
	a    string
	a1   string
	b    string
	next atomic.Int64
	// caller is the member id of the principal of the running case.
	caller string
}

func (f *matrixFixture) unique(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, f.next.Add(1))
}

var sys = directory.Actor{ID: "system"}

// principal creates a fresh member with the given role and returns its
// access token. Fresh principals keep cases independent: a case that
// revokes its caller's sessions cannot break the next one.
func (f *matrixFixture) principal(r role) string {
	f.t.Helper()
	if r == anonymous {
		return ""
	}
	d := f.srv.Directory()
	m, err := d.CreateMember(sys, directory.Member{ID: f.unique("p"), Name: "Principal", Departments: []string{f.b}})
	if err != nil {
		f.t.Fatal(err)
	}
	switch r {
	case otherDeptAdmin:
		_, err = d.SetRole(sys, m.ID, directory.RoleDeptAdmin, []string{f.b})
	case rightDeptAdmin:
		_, err = d.SetRole(sys, m.ID, directory.RoleDeptAdmin, []string{f.a})
	case superAdmin:
		_, err = d.SetRole(sys, m.ID, directory.RoleSuperAdmin, nil)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	f.caller = m.ID
	tok, err := f.srv.Auth().IssueAccess(m.ID, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return tok.AccessToken
}

// target creates a fresh member in A1.
func (f *matrixFixture) target() string {
	f.t.Helper()
	m, err := f.srv.Directory().CreateMember(sys, directory.Member{ID: f.unique("t"), Name: "Target", Departments: []string{f.a1}})
	if err != nil {
		f.t.Fatal(err)
	}
	return m.ID
}

// signInTarget creates a fresh member in A1 who can sign in with
// "target-pass-1". Hashing costs time, so only the sign-in rows use it.
func (f *matrixFixture) signInTarget() string {
	f.t.Helper()
	id := f.target()
	if err := f.srv.Auth().SetPassword(id, "target-pass-1"); err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *matrixFixture) department() string {
	f.t.Helper()
	d, err := f.srv.Directory().CreateDepartment(sys, f.unique("dept"), f.a1, 0)
	if err != nil {
		f.t.Fatal(err)
	}
	return d.ID
}

func (f *matrixFixture) tag() string {
	f.t.Helper()
	tg, err := f.srv.Directory().CreateTag(sys, f.unique("tag"))
	if err != nil {
		f.t.Fatal(err)
	}
	return tg.ID
}

// chatGroup creates a group owned by the caller with one other member and
// returns both ids. Anonymous callers have no member id, so a fresh member
// owns their group: the request fails with 401 before the group matters.
func (f *matrixFixture) chatGroup(r role) (convID, other string) {
	f.t.Helper()
	owner := f.caller
	if r == anonymous {
		owner = f.target()
	}
	other = f.target()
	conv, err := f.srv.Chat().CreateGroup(context.Background(), owner, messaging.GroupSpec{Name: f.unique("group"), Members: []string{other}})
	if err != nil {
		f.t.Fatal(err)
	}
	return conv.ID, other
}

// chatMessage creates a group as chatGroup does and sends one message in
// it as the owner, returning the group and the message's seq.
func (f *matrixFixture) chatMessage(r role) (convID string, seq uint64) {
	f.t.Helper()
	convID, _ = f.chatGroup(r)
	if r == anonymous {
		return convID, 1
	}
	ack, err := f.srv.Chat().Send(context.Background(), f.caller, messaging.SendRequest{
		ConversationID: convID, ClientMsgID: f.unique("m"), Type: messaging.TypeText, Body: json.RawMessage(`{"text":"hello"}`),
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return convID, ack.Seq
}

// matrixRequest is what one case sends.
type matrixRequest struct {
	path        string
	body        string
	contentType string
	basicUser   string
	basicPass   string
	token       *string // overrides the role's token when set
}

type matrixRow struct {
	route string // "METHOD /api/v1/path" exactly as in the route table
	// allowed lists the roles that must get a 2xx answer. Every other role
	// must get 401 (anonymous) or 403.
	allowed []role
	prepare func(f *matrixFixture, r role) matrixRequest
	// check, when set, replaces the status expectation for allowed roles
	// whose answer depends on scope inside the body.
	check func(t *testing.T, r role, status int, body []byte)
}

var (
	everyone = []role{anonymous, plainMember, otherDeptAdmin, rightDeptAdmin, superAdmin}
	signedIn = []role{plainMember, otherDeptAdmin, rightDeptAdmin, superAdmin}
	admins   = []role{rightDeptAdmin, superAdmin}
	supers   = []role{superAdmin}
)

func staticPath(p string) func(*matrixFixture, role) matrixRequest {
	return func(*matrixFixture, role) matrixRequest { return matrixRequest{path: p} }
}

func matrixRows() []matrixRow {
	return []matrixRow{
		{route: "POST /api/v1/auth/login", allowed: everyone, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/auth/login", body: fmt.Sprintf(`{"username":%q,"password":"target-pass-1"}`, f.signInTarget())}
		}},
		{route: "POST /api/v1/auth/refresh", allowed: everyone, prepare: func(f *matrixFixture, r role) matrixRequest {
			tok := login(f.t, f.srv.URL, f.signInTarget(), "target-pass-1")
			return matrixRequest{path: "/api/v1/auth/refresh", body: fmt.Sprintf(`{"refresh_token":%q}`, tok.RefreshToken)}
		}},
		{route: "POST /api/v1/auth/logout", allowed: everyone, prepare: func(f *matrixFixture, r role) matrixRequest {
			tok := login(f.t, f.srv.URL, f.signInTarget(), "target-pass-1")
			return matrixRequest{path: "/api/v1/auth/logout", body: fmt.Sprintf(`{"refresh_token":%q}`, tok.RefreshToken)}
		}},
		{route: "POST /api/v1/auth/token", allowed: everyone, prepare: func(f *matrixFixture, r role) matrixRequest {
			key, secret, err := f.srv.Auth().CreateAPIKey(f.unique("key"), "admin")
			if err != nil {
				f.t.Fatal(err)
			}
			return matrixRequest{path: "/api/v1/auth/token", body: fmt.Sprintf(`{"member_id":%q}`, f.target()), basicUser: key.ID, basicPass: secret}
		}},
		{route: "GET /api/v1/openapi.yaml", allowed: everyone, prepare: staticPath("/api/v1/openapi.yaml")},

		{route: "GET /api/v1/me", allowed: signedIn, prepare: staticPath("/api/v1/me")},
		{route: "PATCH /api/v1/me", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/me", body: `{"external_profile":{"title":"Engineer"}}`}
		}},
		{route: "PUT /api/v1/me/password", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			if r != anonymous {
				if err := f.srv.Auth().SetPassword(f.caller, "principal-pass-1"); err != nil {
					f.t.Fatal(err)
				}
			}
			return matrixRequest{path: "/api/v1/me/password", body: `{"old_password":"principal-pass-1","new_password":"principal-pass-2"}`}
		}},

		{route: "GET /api/v1/departments", allowed: signedIn, prepare: staticPath("/api/v1/departments")},
		{route: "POST /api/v1/departments", allowed: admins, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/departments", body: fmt.Sprintf(`{"name":%q,"parent_id":%q}`, f.unique("new"), f.a1)}
		}},
		{route: "GET /api/v1/departments/{id}", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/departments/" + f.a1}
		}},
		{route: "PATCH /api/v1/departments/{id}", allowed: admins, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/departments/" + f.department(), body: fmt.Sprintf(`{"name":%q}`, f.unique("renamed"))}
		}},
		{route: "DELETE /api/v1/departments/{id}", allowed: admins, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/departments/" + f.department()}
		}},

		{route: "GET /api/v1/members", allowed: signedIn, prepare: staticPath("/api/v1/members?department=1&recursive=true")},
		{route: "POST /api/v1/members", allowed: admins, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/members", body: fmt.Sprintf(`{"id":%q,"name":"New Hire","departments":[%q]}`, f.unique("n"), f.a1)}
		}},
		{route: "POST /api/v1/members/import", allowed: append([]role{otherDeptAdmin}, admins...), prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/members/import", contentType: "text/csv",
				body: fmt.Sprintf("id,name,departments\n%s,Imported,%s\n", f.unique("csv"), f.a1)}
		}, check: func(t *testing.T, r role, status int, body []byte) {
			// The import route admits any administrator; each row is then
			// checked against the importer's subtrees.
			var rep directory.ImportReport
			if status != http.StatusOK || json.Unmarshal(body, &rep) != nil {
				t.Fatalf("status %d body %s", status, body)
			}
			if r == otherDeptAdmin {
				if rep.Created != 0 || len(rep.Errors) != 1 || rep.Errors[0].Line != 2 {
					t.Fatalf("admin of another subtree imported into A1: %s", body)
				}
			} else if rep.Created != 1 || len(rep.Errors) != 0 {
				t.Fatalf("import failed: %s", body)
			}
		}},
		{route: "GET /api/v1/members/{id}", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/members/" + f.target()}
		}},
		{route: "PATCH /api/v1/members/{id}", allowed: admins, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/members/" + f.target(), body: `{"position":"Lead"}`}
		}},
		{route: "POST /api/v1/members/{id}/disable", allowed: admins, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/members/" + f.target() + "/disable"}
		}},
		{route: "POST /api/v1/members/{id}/enable", allowed: admins, prepare: func(f *matrixFixture, r role) matrixRequest {
			id := f.target()
			if _, err := f.srv.Directory().SetStatus(sys, id, directory.StatusDisabled); err != nil {
				f.t.Fatal(err)
			}
			return matrixRequest{path: "/api/v1/members/" + id + "/enable"}
		}},
		{route: "PUT /api/v1/members/{id}/password", allowed: admins, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/members/" + f.target() + "/password", body: `{"password":"reset-pass-123"}`}
		}},
		{route: "PUT /api/v1/members/{id}/role", allowed: supers, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/members/" + f.target() + "/role", body: fmt.Sprintf(`{"role":"dept_admin","admin_departments":[%q]}`, f.a1)}
		}},

		{route: "GET /api/v1/tags", allowed: signedIn, prepare: staticPath("/api/v1/tags")},
		{route: "POST /api/v1/tags", allowed: supers, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/tags", body: fmt.Sprintf(`{"name":%q}`, f.unique("tag"))}
		}},
		{route: "PATCH /api/v1/tags/{id}", allowed: supers, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/tags/" + f.tag(), body: fmt.Sprintf(`{"name":%q}`, f.unique("retag"))}
		}},
		{route: "DELETE /api/v1/tags/{id}", allowed: supers, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/tags/" + f.tag()}
		}},
		{route: "GET /api/v1/tags/{id}/members", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/tags/" + f.tag() + "/members"}
		}},
		{route: "POST /api/v1/tags/{id}/members", allowed: admins, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/tags/" + f.tag() + "/members", body: fmt.Sprintf(`{"add":[%q]}`, f.target())}
		}},

		// Chat: any signed-in member; the conversation decides the rest.
		{route: "GET /api/v1/conversations", allowed: signedIn, prepare: staticPath("/api/v1/conversations")},
		{route: "POST /api/v1/conversations", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/conversations", body: fmt.Sprintf(`{"name":"Matrix","members":[%q]}`, f.target())}
		}},
		{route: "POST /api/v1/conversations/direct", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/conversations/direct", body: fmt.Sprintf(`{"peer_id":%q}`, f.target())}
		}},
		{route: "GET /api/v1/conversations/{id}", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, _ := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id}
		}},
		{route: "PATCH /api/v1/conversations/{id}", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, _ := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id, body: `{"name":"Renamed","mute_all":true}`}
		}},
		{route: "GET /api/v1/conversations/{id}/members", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, _ := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id + "/members"}
		}},
		{route: "POST /api/v1/conversations/{id}/members", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, _ := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id + "/members", body: fmt.Sprintf(`{"members":[%q]}`, f.target())}
		}},
		{route: "DELETE /api/v1/conversations/{id}/members/{member}", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, other := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id + "/members/" + other}
		}},
		{route: "PUT /api/v1/conversations/{id}/members/{member}/role", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, other := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id + "/members/" + other + "/role", body: `{"role":"admin"}`}
		}},
		{route: "PUT /api/v1/conversations/{id}/members/{member}/mute", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, other := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id + "/members/" + other + "/mute", body: `{"muted":true}`}
		}},
		{route: "POST /api/v1/conversations/{id}/owner", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, other := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id + "/owner", body: fmt.Sprintf(`{"member_id":%q}`, other)}
		}},
		{route: "POST /api/v1/conversations/{id}/dissolve", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, _ := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id + "/dissolve"}
		}},
		{route: "GET /api/v1/conversations/{id}/messages", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, _ := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id + "/messages?limit=10"}
		}},
		{route: "POST /api/v1/conversations/{id}/messages", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, _ := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id + "/messages", body: `{"client_msg_id":"m1","type":"text","body":{"text":"hi"}}`}
		}},
		{route: "GET /api/v1/conversations/{id}/messages/{seq}/receipts", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, seq := f.chatMessage(r)
			return matrixRequest{path: fmt.Sprintf("/api/v1/conversations/%s/messages/%d/receipts", id, seq)}
		}},
		{route: "PUT /api/v1/conversations/{id}/read", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, _ := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id + "/read", body: `{"seq":1}`}
		}},
		{route: "GET /api/v1/chat/limits", allowed: signedIn, prepare: staticPath("/api/v1/chat/limits")},
		{route: "POST /api/v1/conversations/{id}/messages/{seq}/recall", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, seq := f.chatMessage(r) // the caller sent it and owns the group
			return matrixRequest{path: fmt.Sprintf("/api/v1/conversations/%s/messages/%d/recall", id, seq)}
		}},
		{route: "POST /api/v1/conversations/{id}/forward", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			from, seq := f.chatMessage(r)
			to, _ := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + to + "/forward",
				body: fmt.Sprintf(`{"from_conversation_id":%q,"seqs":[%d],"client_msg_id":%q}`, from, seq, f.unique("fw"))}
		}},

		// Files: members of the conversation, whatever their directory role.
		{route: "POST /api/v1/conversations/{id}/files", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			id, _ := f.chatGroup(r)
			return matrixRequest{path: "/api/v1/conversations/" + id + "/files?name=notes.txt", body: "meeting notes", contentType: "text/plain"}
		}},
		{route: "GET /api/v1/files/{id}", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			convID, _ := f.chatGroup(r)
			owner := f.caller
			if r == anonymous {
				owner = BootstrapAdminID // anyone: the request fails with 401 first
			}
			m, err := f.srv.files.Put(convID, owner, "notes.txt", strings.NewReader("meeting notes"))
			if err != nil {
				f.t.Fatal(err)
			}
			return matrixRequest{path: "/api/v1/files/" + m.ID}
		}},

		// Quick replies: personal ones are the caller's own; the
		// enterprise library is changed by super admins only.
		{route: "GET /api/v1/quick-replies", allowed: signedIn, prepare: staticPath("/api/v1/quick-replies")},
		{route: "POST /api/v1/quick-replies/personal/categories", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/quick-replies/personal/categories", body: `{"name":"Greetings"}`}
		}},
		{route: "PATCH /api/v1/quick-replies/personal/categories/{id}", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/quick-replies/personal/categories/" + f.quickReplyCategory(r, quickreply.Personal), body: `{"order":2}`}
		}},
		{route: "DELETE /api/v1/quick-replies/personal/categories/{id}", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/quick-replies/personal/categories/" + f.quickReplyCategory(r, quickreply.Personal)}
		}},
		{route: "POST /api/v1/quick-replies/personal/items", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/quick-replies/personal/items",
				body: fmt.Sprintf(`{"category_id":%q,"title":"Hi","content":"Hello there"}`, f.quickReplyCategory(r, quickreply.Personal))}
		}},
		{route: "PATCH /api/v1/quick-replies/personal/items/{id}", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/quick-replies/personal/items/" + f.quickReplyItem(r, quickreply.Personal), body: `{"title":"Hey"}`}
		}},
		{route: "DELETE /api/v1/quick-replies/personal/items/{id}", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/quick-replies/personal/items/" + f.quickReplyItem(r, quickreply.Personal)}
		}},
		{route: "POST /api/v1/quick-replies/enterprise/categories", allowed: supers, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/quick-replies/enterprise/categories", body: `{"name":"After-sales"}`}
		}},
		{route: "PATCH /api/v1/quick-replies/enterprise/categories/{id}", allowed: supers, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/quick-replies/enterprise/categories/" + f.quickReplyCategory(r, quickreply.Enterprise), body: `{"name":"Support"}`}
		}},
		{route: "DELETE /api/v1/quick-replies/enterprise/categories/{id}", allowed: supers, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/quick-replies/enterprise/categories/" + f.quickReplyCategory(r, quickreply.Enterprise)}
		}},
		{route: "POST /api/v1/quick-replies/enterprise/items", allowed: supers, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/quick-replies/enterprise/items",
				body: fmt.Sprintf(`{"category_id":%q,"title":"Refunds","content":"Within 7 days."}`, f.quickReplyCategory(r, quickreply.Enterprise))}
		}},
		{route: "PATCH /api/v1/quick-replies/enterprise/items/{id}", allowed: supers, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/quick-replies/enterprise/items/" + f.quickReplyItem(r, quickreply.Enterprise), body: `{"order":1}`}
		}},
		{route: "DELETE /api/v1/quick-replies/enterprise/items/{id}", allowed: supers, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/quick-replies/enterprise/items/" + f.quickReplyItem(r, quickreply.Enterprise)}
		}},

		// Presence.
		{route: "GET /api/v1/presence", allowed: signedIn, prepare: staticPath("/api/v1/presence?members=admin,nobody")},

		{route: "GET /api/v1/audit", allowed: supers, prepare: staticPath("/api/v1/audit?limit=5")},
		{route: "GET /api/v1/apikeys", allowed: supers, prepare: staticPath("/api/v1/apikeys")},
		{route: "POST /api/v1/apikeys", allowed: supers, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/apikeys", body: `{"name":"crm sync"}`}
		}},
		{route: "DELETE /api/v1/apikeys/{id}", allowed: supers, prepare: func(f *matrixFixture, r role) matrixRequest {
			key, _, err := f.srv.Auth().CreateAPIKey(f.unique("key"), "admin")
			if err != nil {
				f.t.Fatal(err)
			}
			return matrixRequest{path: "/api/v1/apikeys/" + key.ID}
		}},
	}
}

// TestAuthorizationMatrix sends every /api/v1 route as every role. It reads
// the router's own table, so a route added without a row here fails.
func TestAuthorizationMatrix(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	d := srv.Directory()
	mk := func(name, parent string) string {
		dep, err := d.CreateDepartment(sys, name, parent, 0)
		if err != nil {
			t.Fatal(err)
		}
		return dep.ID
	}
	f := &matrixFixture{t: t, srv: srv}
	f.a = mk("A", directory.RootDepartmentID)
	f.a1 = mk("A1", f.a)
	f.b = mk("B", directory.RootDepartmentID)

	rows := map[string]matrixRow{}
	for _, row := range append(append(matrixRows(), meetingMatrixRows()...), liveMatrixRows()...) {
		if _, dup := rows[row.route]; dup {
			t.Fatalf("two rows for %s", row.route)
		}
		rows[row.route] = row
	}
	routes := srv.API().Routes()
	for _, rt := range routes {
		if _, ok := rows[rt.Method+" "+rt.Path]; !ok {
			t.Errorf("route %s %s has no row in the authorization matrix", rt.Method, rt.Path)
		}
	}
	registered := map[string]bool{}
	for _, rt := range routes {
		registered[rt.Method+" "+rt.Path] = true
	}
	for key := range rows {
		if !registered[key] {
			t.Errorf("matrix row %s names no registered route", key)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		row := rows[key]
		allowed := map[role]bool{}
		for _, r := range row.allowed {
			allowed[r] = true
		}
		for r := anonymous; r < numRoles; r++ {
			t.Run(strings.ReplaceAll(key, "/", "_")+"/"+r.String(), func(t *testing.T) {
				f.t = t
				token := f.principal(r)
				req := row.prepare(f, r)
				if req.token != nil {
					token = *req.token
				}
				status, body := matrixDo(t, srv.URL, rt.Method, req, token)
				switch {
				case allowed[r] && row.check != nil:
					row.check(t, r, status, body)
				case allowed[r]:
					if status < 200 || status > 299 {
						t.Fatalf("%s as %s: got %d, want 2xx: %s", key, r, status, body)
					}
				case r == anonymous:
					if status != http.StatusUnauthorized {
						t.Fatalf("%s as anonymous: got %d, want 401: %s", key, status, body)
					}
				default:
					if status != http.StatusForbidden {
						t.Fatalf("%s as %s: got %d, want 403: %s", key, r, status, body)
					}
				}
			})
		}
	}
}

func matrixDo(t *testing.T, baseURL, method string, mr matrixRequest, token string) (int, []byte) {
	t.Helper()
	var body io.Reader
	if mr.body != "" {
		body = strings.NewReader(mr.body)
	}
	req, err := http.NewRequest(method, baseURL+mr.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if mr.body != "" {
		ct := mr.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if mr.basicUser != "" {
		req.SetBasicAuth(mr.basicUser, mr.basicPass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}
