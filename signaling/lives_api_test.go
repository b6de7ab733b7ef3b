package signaling

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/chat/directory"
	"parley/sfu/live"
	"parley/signaling/auth"
)

// liveMatrixRows are the live routes' rows of the authorization matrix.
// Each case acts on a live the caller hosts; who else may do what is
// TestLiveRoles' business.
func liveMatrixRows() []matrixRow {
	hosted := func(suffix, body string) func(f *matrixFixture, r role) matrixRequest {
		return func(f *matrixFixture, r role) matrixRequest {
			l := f.live(r, live.ScopeInternal)
			return matrixRequest{path: "/api/v1/lives/" + l.ID + suffix, body: body}
		}
	}
	return []matrixRow{
		{route: "POST /api/v1/lives", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/lives", body: `{"title":"Matrix"}`}
		}},
		{route: "GET /api/v1/lives", allowed: signedIn, prepare: staticPath("/api/v1/lives")},
		{route: "GET /api/v1/lives/{id}", allowed: signedIn, prepare: hosted("", "")},
		{route: "PATCH /api/v1/lives/{id}", allowed: signedIn, prepare: hosted("", `{"title":"Renamed"}`)},
		{route: "DELETE /api/v1/lives/{id}", allowed: signedIn, prepare: hosted("", "")},
		{route: "POST /api/v1/lives/{id}/stream-key", allowed: signedIn, prepare: hosted("/stream-key", "")},
		{route: "GET /api/v1/lives/{id}/stats", allowed: signedIn, prepare: hosted("/stats", "")},
		{route: "POST /api/v1/lives/{id}/viewer-token", allowed: everyone, prepare: func(f *matrixFixture, r role) matrixRequest {
			l := f.live(r, live.ScopeExternal)
			return matrixRequest{path: "/api/v1/lives/" + l.ID + "/viewer-token", body: fmt.Sprintf(`{"link_token":%q,"name":"Viewer"}`, l.LinkToken)}
		}},
	}
}

// live creates a live hosted by the caller (by a fresh member for
// anonymous callers).
func (f *matrixFixture) live(r role, kind live.ScopeKind) live.Live {
	f.t.Helper()
	host := f.caller
	if r == anonymous {
		host = f.target()
	}
	l, _, err := f.srv.lives.Create(live.NewLive{Title: "Matrix", HostID: host, Scope: live.Scope{Kind: kind}})
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

type liveBody struct {
	live.Live
	PasswordProtected bool   `json:"password_protected"`
	WHEPURL           string `json:"whep_url"`
	WHIPURL           string `json:"whip_url"`
	ViewerLink        string `json:"viewer_link"`
	StreamKey         string `json:"stream_key"`
}

func TestCreateLiveResponse(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	ps := newPeople(t, srv)
	ps.add("host", "", directory.RoleMember)
	ps.add("guest1", "", directory.RoleMember)

	var l liveBody
	status, raw := ps.do("host", "POST", "/lives", map[string]any{"title": "Launch", "description": "Our new product", "guests": []string{"guest1"}}, &l)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, raw)
	}
	if l.ID == "" || !strings.HasPrefix(l.StreamKey, live.StreamKeyPrefix) || l.WHIPURL != srv.URL+"/whip" || l.WHEPURL != srv.URL+"/whep/"+l.ID {
		t.Fatalf("create answer: %s", raw)
	}
	if l.Title != "Launch" || l.HostID != "host" || l.Status != live.StatusScheduled || !l.Record ||
		l.Scope.Kind != live.ScopeInternal || !l.Scope.AllMembers || !slices.Equal(l.Guests, []string{"guest1"}) {
		t.Fatalf("live record in the answer: %s", raw)
	}
	if strings.Contains(string(raw), "link_token") || strings.Contains(string(raw), "password_hash") {
		t.Fatalf("secrets in the answer: %s", raw)
	}
	// The key works for ingest, and is shown nowhere else.
	if got, err := srv.lives.LiveByStreamKey(l.StreamKey); err != nil || got.ID != l.ID {
		t.Fatalf("stream key lookup: %v", err)
	}
	for _, id := range []string{"host", "guest1"} {
		raw := ps.expect(id, "GET", "/lives/"+l.ID, nil, 200, "")
		if strings.Contains(string(raw), l.StreamKey) || strings.Contains(string(raw), "stream_key") {
			t.Fatalf("GET as %s shows the stream key: %s", id, raw)
		}
		if strings.Contains(string(raw), "/whip\"") != (id == "host") {
			t.Fatalf("whip_url should be the host's only: %s", raw)
		}
	}
	ps.expect("host", "POST", "/lives", map[string]any{"title": "x", "record": false, "extra": true}, 400, "bad_request")
	ps.expect("host", "POST", "/lives", map[string]any{"title": ""}, 400, "invalid_argument")
	ps.expect("host", "POST", "/lives", map[string]any{"title": "x", "guests": []string{"ghost"}}, 400, "invalid_argument")
	ps.expect("host", "POST", "/lives", map[string]any{"title": "x", "scope": map[string]any{"kind": "internal", "departments": []string{"999"}}}, 400, "invalid_argument")
	ps.expect("host", "POST", "/lives", map[string]any{"title": "x", "scope": map[string]any{"kind": "internal", "password": "secret"}}, 400, "invalid_argument")
	ps.expect("host", "POST", "/lives", map[string]any{"title": "x", "scope": map[string]any{"kind": "external", "password": "123"}}, 400, "invalid_argument")
	ps.expect("host", "POST", "/lives", map[string]any{"title": "x", "scope": map[string]any{"kind": "public"}}, 400, "invalid_argument")

	// Rotation: the host gets a new key, the old one stops working.
	var rotated liveBody
	ps.do("host", "POST", "/lives/"+l.ID+"/stream-key", nil, &rotated)
	if rotated.StreamKey == "" || rotated.StreamKey == l.StreamKey || rotated.WHIPURL != srv.URL+"/whip" {
		t.Fatalf("rotated %+v", rotated)
	}
	if _, err := srv.lives.LiveByStreamKey(l.StreamKey); err == nil {
		t.Fatal("the old stream key still works")
	}
	if got, err := srv.lives.LiveByStreamKey(rotated.StreamKey); err != nil || got.ID != l.ID {
		t.Fatalf("new key: %v", err)
	}
	ps.expect("guest1", "POST", "/lives/"+l.ID+"/stream-key", nil, 403, "forbidden")
}

// TestLiveRoles: who sees and manages which live, scope matching through
// departments (with sub-departments) and tags included.
func TestLiveRoles(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	d := srv.Directory()
	sales, _ := d.CreateDepartment(sys, "Sales", directory.RootDepartmentID, 0)
	east, _ := d.CreateDepartment(sys, "East", sales.ID, 0)
	ops, _ := d.CreateDepartment(sys, "Ops", directory.RootDepartmentID, 0)
	vip, _ := d.CreateTag(sys, "VIP")
	ps := newPeople(t, srv)
	ps.add("host", ops.ID, directory.RoleMember)
	ps.add("cohost", ops.ID, directory.RoleMember)
	ps.add("seller", east.ID, directory.RoleMember) // under Sales
	ps.add("opsguy", ops.ID, directory.RoleMember)
	ps.add("boss", ops.ID, directory.RoleMember)
	ps.add("super", ops.ID, directory.RoleSuperAdmin)
	if err := d.UpdateTagMembers(sys, vip.ID, []string{"boss"}, nil); err != nil {
		t.Fatal(err)
	}

	mk := func(title string, scope map[string]any) string {
		var l liveBody
		if status, raw := ps.do("host", "POST", "/lives", map[string]any{"title": title, "guests": []string{"cohost"}, "scope": scope}, &l); status != 201 {
			t.Fatalf("create %s: %d %s", title, status, raw)
		}
		return l.ID
	}
	everyone := mk("Everyone", map[string]any{"kind": "internal", "all_members": true})
	salesOnly := mk("Sales", map[string]any{"kind": "internal", "departments": []string{sales.ID}})
	vipOnly := mk("VIP", map[string]any{"kind": "internal", "tags": []string{vip.ID}})
	private := mk("Private", map[string]any{"kind": "internal"})
	external := mk("External", map[string]any{"kind": "external", "password": "open-sesame"})

	lists := map[string][]string{
		"host":   {external, private, vipOnly, salesOnly, everyone},
		"cohost": {external, private, vipOnly, salesOnly, everyone},
		"seller": {salesOnly, everyone},
		"opsguy": {everyone},
		"boss":   {vipOnly, everyone},
		"super":  {everyone}, // listing is about the caller's own scope
	}
	for id, want := range lists {
		var got struct {
			Lives []liveBody `json:"lives"`
			Next  string     `json:"next"`
		}
		ps.do(id, "GET", "/lives", nil, &got)
		var ids []string
		for _, l := range got.Lives {
			ids = append(ids, l.ID)
		}
		if !slices.Equal(ids, want) || got.Next != "" {
			t.Errorf("%s lists %v (next %q), want %v", id, ids, got.Next, want)
		}
	}
	// Paging.
	var page struct {
		Lives []liveBody `json:"lives"`
		Next  string     `json:"next"`
	}
	ps.do("host", "GET", "/lives?limit=2", nil, &page)
	if len(page.Lives) != 2 || page.Next != private {
		t.Fatalf("first page next %q", page.Next)
	}
	ps.do("host", "GET", "/lives?limit=2&after="+page.Next, nil, &page)
	if len(page.Lives) != 2 || page.Lives[0].ID != vipOnly || page.Next != salesOnly {
		t.Fatalf("second page %+v", page)
	}
	ps.expect("host", "GET", "/lives?limit=0", nil, 400, "invalid_argument")

	// Reading one: the scope decides; super admins see everything.
	ps.expect("seller", "GET", "/lives/"+salesOnly, nil, 200, "")
	ps.expect("opsguy", "GET", "/lives/"+salesOnly, nil, 404, "not_found")
	ps.expect("seller", "GET", "/lives/"+external, nil, 404, "not_found")
	ps.expect("super", "GET", "/lives/"+private, nil, 200, "")
	var ext liveBody
	ps.do("cohost", "GET", "/lives/"+external, nil, &ext)
	stored, _ := srv.lives.Get(external)
	if !ext.PasswordProtected || ext.ViewerLink != "/l/"+external+"?t="+stored.LinkToken || ext.WHIPURL != "" || ext.Scope.PasswordHash != "" {
		t.Fatalf("external live as a guest: %+v", ext)
	}

	// Managing: the host only.
	ps.expect("cohost", "PATCH", "/lives/"+everyone, map[string]any{"title": "Mine"}, 403, "forbidden")
	ps.expect("seller", "PATCH", "/lives/"+everyone, map[string]any{"title": "Mine"}, 403, "forbidden")
	ps.expect("opsguy", "PATCH", "/lives/"+salesOnly, map[string]any{"title": "Mine"}, 404, "not_found")
	var patched liveBody
	if status, raw := ps.do("host", "PATCH", "/lives/"+salesOnly, map[string]any{"title": "Sales and Ops",
		"scope": map[string]any{"kind": "internal", "departments": []string{sales.ID, ops.ID}}, "record": false}, &patched); status != 200 ||
		patched.Title != "Sales and Ops" || patched.Record || len(patched.Scope.Departments) != 2 {
		t.Fatalf("patch: %d %s", status, raw)
	}
	ps.expect("opsguy", "GET", "/lives/"+salesOnly, nil, 200, "")
	// Changing an external live's other fields keeps its password.
	ps.expect("host", "PATCH", "/lives/"+external, map[string]any{"scope": map[string]any{"kind": "external"}}, 200, "")
	if again, _ := srv.lives.Get(external); again.Scope.PasswordHash != stored.Scope.PasswordHash {
		t.Fatal("the password was lost")
	}
	ps.expect("cohost", "DELETE", "/lives/"+private, nil, 403, "forbidden")
	ps.expect("cohost", "POST", "/lives/"+private+"/stream-key", nil, 403, "forbidden")

	// Statistics: host, guests, super admins.
	if _, err := srv.lives.MarkLive(everyone, time.Now()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rid, err := srv.lives.RecordViewerJoin(everyone, live.Viewer{ID: "seller", MemberID: "seller", Name: "Seller"}, now.Add(-10*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.lives.RecordViewerLeave(rid, now.Add(-4*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := srv.lives.CountInteraction(everyone, "like"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"host", "cohost", "super"} {
		var st struct {
			Unique       int              `json:"unique_viewers"`
			Peak         int              `json:"peak_concurrent"`
			TotalWatchMS int64            `json:"total_watch_ms"`
			Interactions map[string]int64 `json:"interactions"`
			Viewers      []struct {
				MemberID string `json:"member_id"`
				Sessions []struct {
					Joined time.Time `json:"joined_at"`
					Left   time.Time `json:"left_at"`
				} `json:"sessions"`
			} `json:"viewers"`
		}
		if status, raw := ps.do(id, "GET", "/lives/"+everyone+"/stats", nil, &st); status != 200 || st.Unique != 1 || st.Peak != 1 ||
			st.TotalWatchMS != (6*time.Minute).Milliseconds() || st.Interactions["like"] != 1 || len(st.Viewers) != 1 ||
			st.Viewers[0].MemberID != "seller" || len(st.Viewers[0].Sessions) != 1 || st.Viewers[0].Sessions[0].Left.IsZero() {
			t.Fatalf("stats as %s: %d %s", id, status, raw)
		}
	}
	ps.expect("seller", "GET", "/lives/"+everyone+"/stats", nil, 403, "forbidden")
	ps.expect("opsguy", "GET", "/lives/"+vipOnly+"/stats", nil, 404, "not_found")

	// On air, a live cannot be deleted; off air it can.
	ps.expect("host", "DELETE", "/lives/"+everyone, nil, 409, "conflict")
	ps.expect("host", "DELETE", "/lives/"+private, nil, 204, "")
	ps.expect("host", "GET", "/lives/"+private, nil, 404, "not_found")
}

func TestLiveViewerToken(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	ps := newPeople(t, srv)
	ps.add("host", "", directory.RoleMember)
	var locked, open, internal liveBody
	ps.do("host", "POST", "/lives", map[string]any{"title": "Locked", "scope": map[string]any{"kind": "external", "password": "1234"}}, &locked)
	ps.do("host", "POST", "/lives", map[string]any{"title": "Open", "scope": map[string]any{"kind": "external"}}, &open)
	ps.do("host", "POST", "/lives", map[string]any{"title": "Internal"}, &internal)
	link := func(id string) string {
		l, err := srv.lives.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		return l.LinkToken
	}
	path := func(id string) string { return "/lives/" + id + "/viewer-token" }

	var tok struct {
		AccessToken string `json:"access_token"`
		GuestID     string `json:"guest_id"`
		LiveID      string `json:"live_id"`
		WHEPURL     string `json:"whep_url"`
	}
	status, raw := ps.do("", "POST", path(locked.ID), map[string]any{"link_token": link(locked.ID), "password": "1234", "name": "Fan"}, &tok)
	if status != 200 || tok.LiveID != locked.ID || tok.WHEPURL != srv.URL+"/whep/"+locked.ID || !strings.HasPrefix(tok.GuestID, auth.GuestSubjectPrefix) {
		t.Fatalf("viewer token: %d %s", status, raw)
	}
	c, err := srv.Auth().VerifyFor(tok.AccessToken, auth.TokenScope{Kind: auth.ScopeKindLive, ID: locked.ID})
	if err != nil || c.Name != "Fan" {
		t.Fatalf("verify: %+v %v", c, err)
	}
	if _, err := srv.Auth().VerifyAccess(tok.AccessToken); err == nil {
		t.Fatal("a viewer token passed as a member's")
	}
	ps.tokens["viewer"] = tok.AccessToken
	ps.expect("viewer", "GET", "/lives/"+locked.ID, nil, 403, "restricted_token")

	ps.expect("", "POST", path(locked.ID), map[string]any{"link_token": link(locked.ID), "password": "4321", "name": "Fan"}, 403, "forbidden")
	ps.expect("", "POST", path(locked.ID), map[string]any{"link_token": link(locked.ID), "name": "Fan"}, 403, "forbidden")
	ps.expect("", "POST", path(open.ID), map[string]any{"link_token": link(open.ID), "name": "Fan"}, 200, "")
	wrongLink := ps.expect("", "POST", path(open.ID), map[string]any{"link_token": link(locked.ID), "name": "Fan"}, 404, "not_found")
	wrongLive := ps.expect("", "POST", path("NOPE"), map[string]any{"link_token": link(open.ID), "name": "Fan"}, 404, "not_found")
	if string(wrongLink) != string(wrongLive) {
		t.Fatalf("a wrong link (%s) and a wrong live (%s) must look the same", wrongLink, wrongLive)
	}
	ps.expect("", "POST", path(internal.ID), map[string]any{"link_token": link(internal.ID), "name": "Fan"}, 403, "forbidden")
	ps.expect("", "POST", path(open.ID), map[string]any{"link_token": link(open.ID), "name": ""}, 400, "invalid_argument")

	// Password guesses are throttled per address, before any hashing.
	cfg := testConfig(t, t.TempDir())
	cfg.Auth.LoginPerIPPerMinute = 2
	small := startServer(t, cfg)
	sps := newPeople(t, small)
	sps.add("host", "", directory.RoleMember)
	l, _, err := small.lives.Create(live.NewLive{Title: "x", HostID: "host", Scope: live.Scope{Kind: live.ScopeExternal, PasswordHash: mustHash(t, "1234")}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		sps.expect("", "POST", path(l.ID), map[string]any{"link_token": l.LinkToken, "password": "0000", "name": "x"}, 403, "forbidden")
	}
	sps.expect("", "POST", path(l.ID), map[string]any{"link_token": l.LinkToken, "password": "1234", "name": "x"}, 429, "rate_limited")
}

func mustHash(t *testing.T, secret string) string {
	t.Helper()
	h, err := auth.HashSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
