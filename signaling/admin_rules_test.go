package signaling

import (
	"strings"
	"testing"
	"time"

	"parley/chat/directory"
)

// adminRulesFixture: root ─ A (dept admin "ada") ─ holds "boss" (a super
// admin), "deputy" (another dept admin) and "worker" (a member).
func adminRulesFixture(t *testing.T) (*testServer, string) {
	t.Helper()
	srv := startServer(t, testConfig(t, t.TempDir()))
	d := srv.Directory()
	a, err := d.CreateDepartment(sys, "A", directory.RootDepartmentID, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"ada", "boss", "deputy", "worker"} {
		if _, err := d.CreateMember(sys, directory.Member{ID: id, Name: id, Departments: []string{a.ID}}); err != nil {
			t.Fatal(err)
		}
		if err := srv.Auth().SetPassword(id, "password-"+id); err != nil {
			t.Fatal(err)
		}
	}
	mustRole := func(id string, r directory.Role, depts []string) {
		if _, err := d.SetRole(sys, id, r, depts); err != nil {
			t.Fatal(err)
		}
	}
	mustRole("ada", directory.RoleDeptAdmin, []string{a.ID})
	mustRole("deputy", directory.RoleDeptAdmin, []string{a.ID})
	mustRole("boss", directory.RoleSuperAdmin, nil)
	return srv, login(t, srv.URL, "ada", "password-ada").AccessToken
}

// TestDeptAdminCannotTakeOverAdministrators: a department admin manages
// the ordinary members of their subtree, never an administrator in it.
func TestDeptAdminCannotTakeOverAdministrators(t *testing.T) {
	srv, ada := adminRulesFixture(t)
	for _, target := range []string{"boss", "deputy"} {
		for _, c := range []struct{ method, path, body string }{
			{"PUT", "/password", `{"password":"taken-over-1"}`},
			{"PATCH", "", `{"email":"mine@example.com"}`},
			{"POST", "/disable", ""},
		} {
			var body any
			if c.body != "" {
				body = c.body
			}
			if status, raw := call(t, c.method, srv.URL+"/api/v1/members/"+target+c.path, ada, body, nil); status != 403 {
				t.Errorf("%s %s%s by a dept admin: %d %s", c.method, target, c.path, status, raw)
			}
		}
	}
	login(t, srv.URL, "boss", "password-boss") // untouched
	if status, raw := call(t, "PUT", srv.URL+"/api/v1/members/worker/password", ada, `{"password":"worker-new-pw"}`, nil); status != 204 {
		t.Fatalf("dept admin resetting an ordinary member: %d %s", status, raw)
	}

	// The CSV import applies the same rule row by row.
	csv := "id,name,departments,password\nboss,Boss,My Company/A,taken-over-2\nworker,Worker,My Company/A,\n"
	var rep struct {
		Updated int
		Errors  []struct {
			Line   int
			Reason string
		}
	}
	status, raw := call(t, "POST", srv.URL+"/api/v1/members/import", ada, csv, &rep)
	if status != 200 || rep.Updated != 1 || len(rep.Errors) != 1 || rep.Errors[0].Line != 2 ||
		!strings.Contains(rep.Errors[0].Reason, "administrator") {
		t.Fatalf("import over a super admin: %d %s", status, raw)
	}
	login(t, srv.URL, "boss", "password-boss")
}

// TestImportEndsSessions: an import that disables a member or sets their
// password cuts their live sessions off, like the single-member routes.
func TestImportEndsSessions(t *testing.T) {
	srv, _ := adminRulesFixture(t)
	admin := login(t, srv.URL, "admin", testAdminPassword).AccessToken
	worker := login(t, srv.URL, "worker", "password-worker").AccessToken
	deputy := login(t, srv.URL, "deputy", "password-deputy").AccessToken
	workerWS := dialWS(t, srv.URL, worker)
	deputyWS := dialWS(t, srv.URL, deputy)

	csv := "id,name,departments,status,password\nworker,Worker,My Company/A,disabled,\ndeputy,Deputy,My Company/A,,deputy-new-pw\n"
	if status, raw := call(t, "POST", srv.URL+"/api/v1/members/import", admin, csv, nil); status != 200 {
		t.Fatalf("import: %d %s", status, raw)
	}
	if code := wsCloseStatus(t, workerWS, time.Second); code != 4003 {
		t.Fatalf("disabled by import: closed with %d, want 4003", code)
	}
	if code := wsCloseStatus(t, deputyWS, time.Second); code != 4001 {
		t.Fatalf("password set by import: closed with %d, want 4001", code)
	}
	for _, tok := range []string{worker, deputy} {
		if status, _ := call(t, "GET", srv.URL+"/api/v1/me", tok, nil, nil); status != 401 {
			t.Fatalf("token survived the import: %d", status)
		}
	}
	login(t, srv.URL, "deputy", "deputy-new-pw")
}

func TestAdminInputErrors(t *testing.T) {
	srv, _ := adminRulesFixture(t)
	admin := login(t, srv.URL, "admin", testAdminPassword).AccessToken
	tag, err := srv.Directory().CreateTag(sys, "vip")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"PUT", "/api/v1/members/ghost/password", `{"password":"ghost-password"}`, 404, "not_found"},
		{"GET", "/api/v1/audit?cursor=zz", nil, 400, "invalid_argument"},
		{"POST", "/api/v1/apikeys", `{"name":"   "}`, 400, "invalid_argument"},
		{"POST", "/api/v1/apikeys", `{"name":"bad\u0001name"}`, 400, "invalid_argument"},
		{"POST", "/api/v1/tags/" + tag.ID + "/members", `{"add":[]}`, 400, "invalid_argument"},
		{"POST", "/api/v1/tags/" + tag.ID + "/members", `{"add":["ghost"]}`, 404, "not_found"},
		{"PUT", "/api/v1/members/boss/role", `{"role":"emperor"}`, 400, "invalid_argument"},
	}
	for _, c := range cases {
		if status, raw := call(t, c.method, srv.URL+c.path, admin, c.body, nil); status != c.status || errorCode(raw) != c.code {
			t.Errorf("%s %s: %d %s, want %d %s", c.method, c.path, status, raw, c.status, c.code)
		}
	}
	// The last active super admins cannot all be demoted.
	if status, raw := call(t, "PUT", srv.URL+"/api/v1/members/boss/role", admin, `{"role":"member"}`, nil); status != 200 {
		t.Fatalf("demote boss: %d %s", status, raw)
	}
	if status, raw := call(t, "PUT", srv.URL+"/api/v1/members/admin/role", admin, `{"role":"member"}`, nil); status != 409 {
		t.Fatalf("demote the last super admin: %d %s", status, raw)
	}
}

// TestPasswordChange: the old password is checked under the sign-in rate
// limit, and the caller gets a fresh session while the old ones end.
func TestPasswordChange(t *testing.T) {
	srv, _ := adminRulesFixture(t)
	old := login(t, srv.URL, "worker", "password-worker")
	var fresh tokenPair
	status, raw := call(t, "PUT", srv.URL+"/api/v1/me/password", old.AccessToken,
		`{"old_password":"password-worker","new_password":"worker-pass-2"}`, &fresh)
	if status != 200 || fresh.AccessToken == "" || fresh.RefreshToken == "" {
		t.Fatalf("change password: %d %s", status, raw)
	}
	if status, _ := call(t, "GET", srv.URL+"/api/v1/me", old.AccessToken, nil, nil); status != 401 {
		t.Fatalf("old session survived: %d", status)
	}
	if status, _ := call(t, "GET", srv.URL+"/api/v1/me", fresh.AccessToken, nil, nil); status != 200 {
		t.Fatalf("new session refused: %d", status)
	}
	// Guessing through the change route is throttled like sign-in: of the
	// account's five attempts a minute, the sign-in and the change above
	// spent two.
	statuses := []int{}
	for i := 0; i < 5; i++ {
		status, _ := call(t, "PUT", srv.URL+"/api/v1/me/password", fresh.AccessToken,
			`{"old_password":"guess-`+string(rune('a'+i))+`xxxxx","new_password":"whatever-123"}`, nil)
		statuses = append(statuses, status)
	}
	if want := []int{403, 403, 403, 429, 429}; !equalInts(statuses, want) {
		t.Fatalf("guesses answered %v, want %v", statuses, want)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
