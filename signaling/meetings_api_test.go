package signaling

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/chat/directory"
	"parley/sfu/meeting"
	"parley/signaling/auth"
)

// meetingMatrixRows are the meeting routes' rows of the authorization
// matrix. Each case acts on a meeting the caller hosts, so every signed-in
// role is allowed; who inside a meeting may do what is
// TestMeetingRoles' business.
func meetingMatrixRows() []matrixRow {
	hosted := func(suffix, body string) func(f *matrixFixture, r role) matrixRequest {
		return func(f *matrixFixture, r role) matrixRequest {
			m := f.meeting(r, true)
			return matrixRequest{path: "/api/v1/meetings/" + m.ID + suffix, body: strings.ReplaceAll(body, "TARGET", f.target())}
		}
	}
	return []matrixRow{
		{route: "POST /api/v1/meetings", allowed: signedIn, prepare: func(f *matrixFixture, r role) matrixRequest {
			return matrixRequest{path: "/api/v1/meetings", body: `{"title":"Matrix"}`}
		}},
		{route: "GET /api/v1/meetings", allowed: signedIn, prepare: staticPath("/api/v1/meetings")},
		{route: "GET /api/v1/meetings/{id}", allowed: signedIn, prepare: hosted("", "")},
		{route: "PATCH /api/v1/meetings/{id}", allowed: signedIn, prepare: hosted("", `{"title":"Renamed"}`)},
		{route: "DELETE /api/v1/meetings/{id}", allowed: signedIn, prepare: hosted("", "")},
		{route: "POST /api/v1/meetings/{id}/link", allowed: signedIn, prepare: hosted("/link", "")},
		{route: "PUT /api/v1/meetings/{id}/cohosts", allowed: signedIn, prepare: hosted("/cohosts", `{"cohosts":["TARGET"]}`)},
		{route: "POST /api/v1/meetings/{id}/host", allowed: signedIn, prepare: hosted("/host", `{"member_id":"TARGET"}`)},
		{route: "GET /api/v1/meetings/{id}/attendance", allowed: signedIn, prepare: hosted("/attendance", "")},
		{route: "GET /api/v1/meetings/{id}/stats", allowed: signedIn, prepare: hosted("/stats", "")},
		{route: "POST /api/v1/meetings/{id}/bans", allowed: signedIn, prepare: hosted("/bans", `{"user_id":"TARGET"}`)},
		{route: "GET /api/v1/meetings/{id}/recordings", allowed: signedIn, prepare: hosted("/recordings", "")},
		// The host may download; this recording does not exist.
		{route: "GET /api/v1/meetings/{id}/recordings/{recording}/files/{name}", allowed: signedIn,
			prepare: hosted("/recordings/20310102T090000Z-none/files/alice-000.webm", ""),
			check: func(t *testing.T, r role, status int, body []byte) {
				if status != http.StatusNotFound || errorCode(body) != "not_found" {
					t.Fatalf("download as the host: %d %s, want 404 not_found", status, body)
				}
			}},
		{route: "POST /api/v1/meetings/{id}/guest-token", allowed: everyone, prepare: func(f *matrixFixture, r role) matrixRequest {
			m := f.meeting(r, true)
			return matrixRequest{path: "/api/v1/meetings/" + m.ID + "/guest-token", body: fmt.Sprintf(`{"link_token":%q,"name":"Guest"}`, m.LinkToken)}
		}},
	}
}

// meeting creates a meeting hosted by the caller (by a fresh member for
// anonymous callers, whose requests fail first).
func (f *matrixFixture) meeting(r role, allowGuests bool) meeting.Meeting {
	f.t.Helper()
	host := f.caller
	if r == anonymous {
		host = f.target()
	}
	m, err := f.srv.meetings.Create(meeting.NewMeeting{Title: "Matrix", HostID: host, Settings: meeting.SettingsPatch{AllowGuests: &allowGuests}})
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// people is a set of members with tokens, for the API tests.
type people struct {
	t      *testing.T
	srv    *testServer
	tokens map[string]string
}

func newPeople(t *testing.T, srv *testServer) *people {
	return &people{t: t, srv: srv, tokens: map[string]string{}}
}

// add creates a member in dept (the root when empty) with the given role
// and keeps a token for them.
func (ps *people) add(id, dept string, r directory.Role) string {
	ps.t.Helper()
	if dept == "" {
		dept = directory.RootDepartmentID
	}
	d := ps.srv.Directory()
	if _, err := d.CreateMember(sys, directory.Member{ID: id, Name: strings.ToUpper(id[:1]) + id[1:], Departments: []string{dept}}); err != nil {
		ps.t.Fatal(err)
	}
	if r != directory.RoleMember {
		admin := []string(nil)
		if r == directory.RoleDeptAdmin {
			admin = []string{directory.RootDepartmentID}
		}
		if _, err := d.SetRole(sys, id, r, admin); err != nil {
			ps.t.Fatal(err)
		}
	}
	tok, err := ps.srv.Auth().IssueAccess(id, 0)
	if err != nil {
		ps.t.Fatal(err)
	}
	ps.tokens[id] = tok.AccessToken
	return tok.AccessToken
}

// do calls the API as member id ("" for anonymous).
func (ps *people) do(id, method, path string, body any, out any) (int, []byte) {
	ps.t.Helper()
	return call(ps.t, method, ps.srv.URL+"/api/v1"+path, ps.tokens[id], body, out)
}

// expect calls and checks the status (and the error code, when given).
func (ps *people) expect(id, method, path string, body any, status int, code string) []byte {
	ps.t.Helper()
	got, raw := ps.do(id, method, path, body, nil)
	if got != status || (code != "" && errorCode(raw) != code) {
		ps.t.Fatalf("%s %s as %q: got %d %s, want %d %s", method, path, id, got, raw, status, code)
	}
	return raw
}

type meetingBody struct {
	meeting.Meeting
	Role     string `json:"role"`
	JoinLink string `json:"join_link"`
}

func TestMeetingRoles(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	ps := newPeople(t, srv)
	for _, id := range []string{"host", "co", "inv", "other"} {
		ps.add(id, "", directory.RoleMember)
	}
	ps.add("dadmin", "", directory.RoleDeptAdmin)
	ps.add("super", "", directory.RoleSuperAdmin)

	// Create: the caller hosts; unknown invitees and fields are refused.
	ps.expect("host", "POST", "/meetings", map[string]any{"title": "x", "invitees": []string{"nobody"}}, 400, "invalid_argument")
	ps.expect("host", "POST", "/meetings", map[string]any{"title": "x", "host_id": "other"}, 400, "bad_request")
	ps.expect("host", "POST", "/meetings", map[string]any{"title": "x", "settings": map[string]any{"max_participants": 5000}}, 400, "invalid_argument")
	var m meetingBody
	status, raw := ps.do("host", "POST", "/meetings", map[string]any{
		"title": "Quarterly review", "invitees": []string{"co", "inv"},
		"scheduled_start": "2031-01-02T09:00:00Z", "scheduled_end": "2031-01-02T10:00:00Z",
		"settings": map[string]any{"allow_guests": true, "mute_on_entry": true},
	}, &m)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, raw)
	}
	if m.HostID != "host" || m.Role != "host" || !m.Settings.AllowGuests || !m.Settings.MuteOnEntry || !m.Settings.AllowScreenShare ||
		m.Settings.MaxParticipants != meeting.DefaultMaxParticipants || m.Status != meeting.StatusScheduled {
		t.Fatalf("created %s", raw)
	}
	stored, _ := srv.meetings.Get(m.ID)
	if m.JoinLink != "/m/"+m.ID+"?t="+stored.LinkToken || strings.Contains(string(raw), `"link_token"`) {
		t.Fatalf("join link %q; the link token must appear only inside it: %s", m.JoinLink, raw)
	}
	path := "/meetings/" + m.ID
	ps.expect("host", "PUT", path+"/cohosts", map[string]any{"cohosts": []string{"co"}}, 200, "")

	// Reading: host and co-hosts see the link; invitees and admins do not;
	// anyone else is told the meeting does not exist.
	for id, want := range map[string]struct {
		role string
		link bool
	}{"host": {"host", true}, "co": {"cohost", true}, "inv": {"invitee", false}, "dadmin": {"", false}, "super": {"", false}} {
		var got meetingBody
		if status, raw := ps.do(id, "GET", path, nil, &got); status != 200 || got.Role != want.role || (got.JoinLink != "") != want.link {
			t.Errorf("GET as %s: %d role %q link %q: %s", id, status, got.Role, got.JoinLink, raw)
		}
	}
	ps.expect("other", "GET", path, nil, 404, "not_found")
	ps.expect("host", "GET", "/meetings/NOSUCHMEETING", nil, 404, "not_found")

	// Listing: the caller's meetings only.
	var list struct {
		Meetings []meetingBody `json:"meetings"`
		Next     string        `json:"next"`
	}
	ps.do("inv", "GET", "/meetings", nil, &list)
	if len(list.Meetings) != 1 || list.Meetings[0].ID != m.ID || list.Meetings[0].JoinLink != "" {
		t.Fatalf("invitee's list %+v", list)
	}
	ps.do("other", "GET", "/meetings", nil, &list)
	if len(list.Meetings) != 0 || list.Next != "" {
		t.Fatalf("other's list %+v", list)
	}
	second := ps.expect("host", "POST", "/meetings", map[string]any{"title": "Second"}, 201, "")
	ps.do("host", "GET", "/meetings?limit=1", nil, &list)
	if len(list.Meetings) != 1 || !strings.Contains(string(second), list.Meetings[0].ID) || list.Next == "" {
		t.Fatalf("first page %+v", list)
	}
	ps.do("host", "GET", "/meetings?limit=1&after="+list.Next, nil, &list)
	if len(list.Meetings) != 1 || list.Meetings[0].ID != m.ID || list.Next != "" {
		t.Fatalf("second page %+v", list)
	}
	ps.expect("host", "GET", "/meetings?limit=0", nil, 400, "invalid_argument")
	ps.expect("host", "GET", "/meetings?after=bogus", nil, 400, "invalid_argument")

	// Changing: host and co-hosts; invitees 403, others 404.
	ps.expect("inv", "PATCH", path, map[string]any{"title": "Mine now"}, 403, "forbidden")
	ps.expect("other", "PATCH", path, map[string]any{"title": "Mine now"}, 404, "not_found")
	ps.expect("super", "PATCH", path, map[string]any{"title": "Admin edit"}, 403, "forbidden")
	var patched meetingBody
	if status, raw := ps.do("co", "PATCH", path, map[string]any{"title": "Renamed", "settings": map[string]any{"locked": true}}, &patched); status != 200 ||
		patched.Title != "Renamed" || !patched.Settings.Locked || !patched.Settings.AllowGuests || !patched.Settings.MuteOnEntry {
		t.Fatalf("patch by co-host: %d %s", status, raw)
	}
	ps.expect("co", "PATCH", path, map[string]any{"invitees": []string{"ghost"}}, 400, "invalid_argument")
	ps.expect("co", "PATCH", path, map[string]any{"scheduled_end": "2030-01-01T00:00:00Z"}, 400, "invalid_argument")
	ps.expect("co", "PATCH", path, map[string]any{"titel": "typo"}, 400, "bad_request")

	// Host-only powers.
	ps.expect("co", "PUT", path+"/cohosts", map[string]any{"cohosts": []string{}}, 403, "forbidden")
	ps.expect("co", "POST", path+"/host", map[string]any{"member_id": "co"}, 403, "forbidden")
	ps.expect("co", "DELETE", path, nil, 403, "forbidden")
	ps.expect("host", "PUT", path+"/cohosts", map[string]any{"cohosts": []string{"nobody"}}, 400, "invalid_argument")

	// The link: host or co-host rotates it; the old one stops working.
	oldLink := stored.LinkToken
	var rotated meetingBody
	ps.do("co", "POST", path+"/link", nil, &rotated)
	if rotated.JoinLink == "" || strings.Contains(rotated.JoinLink, oldLink) {
		t.Fatalf("rotated link %q", rotated.JoinLink)
	}
	ps.expect("inv", "POST", path+"/link", nil, 403, "forbidden")
	ps.expect("", "POST", path+"/guest-token", map[string]any{"link_token": oldLink, "name": "Late"}, 404, "not_found")

	// Attendance and statistics: host, co-hosts, super admins.
	if _, err := srv.meetings.MarkStarted(m.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Hour)
	r1, _ := srv.meetings.RecordJoin(m.ID, meeting.Attendee{ID: "inv", Name: "Inv"}, t0)
	if err := srv.meetings.RecordLeave(r1, t0.Add(10*time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	r2, _ := srv.meetings.RecordJoin(m.ID, meeting.Attendee{ID: "co", Name: "Co"}, t0.Add(5*time.Minute))
	if err := srv.meetings.RecordLeave(r2, t0.Add(20*time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"host", "co", "super"} {
		var st struct {
			Unique    int   `json:"unique_attendees"`
			TotalMS   int64 `json:"total_duration_ms"`
			Peak      int   `json:"peak_concurrent"`
			Attendees []struct {
				ID         string `json:"id"`
				DurationMS int64  `json:"duration_ms"`
			} `json:"attendees"`
		}
		if status, raw := ps.do(id, "GET", path+"/stats", nil, &st); status != 200 || st.Unique != 2 || st.Peak != 2 ||
			st.TotalMS != (25*time.Minute).Milliseconds() || len(st.Attendees) != 2 || st.Attendees[0].ID != "inv" {
			t.Fatalf("stats as %s: %d %s", id, status, raw)
		}
		var att struct {
			Records []meeting.Record `json:"records"`
		}
		if status, raw := ps.do(id, "GET", path+"/attendance", nil, &att); status != 200 || len(att.Records) != 2 || att.Records[1].Attendee.ID != "co" {
			t.Fatalf("attendance as %s: %d %s", id, status, raw)
		}
	}
	for _, id := range []string{"inv", "dadmin"} {
		ps.expect(id, "GET", path+"/stats", nil, 403, "forbidden")
		ps.expect(id, "GET", path+"/attendance", nil, 403, "forbidden")
	}
	ps.expect("other", "GET", path+"/stats", nil, 404, "not_found")

	// A started meeting cannot be cancelled.
	ps.expect("host", "DELETE", path, nil, 409, "conflict")

	// Handing over: the old host stays invited, without powers.
	ps.expect("host", "POST", path+"/host", map[string]any{"member_id": "ghost"}, 400, "invalid_argument")
	var after meetingBody
	ps.do("host", "POST", path+"/host", map[string]any{"member_id": "co"}, &after)
	if after.HostID != "co" || after.Role != "invitee" || after.JoinLink != "" {
		t.Fatalf("after transfer, as the old host: %+v", after)
	}
	ps.expect("host", "PATCH", path, map[string]any{"title": "x"}, 403, "forbidden")

	// Cancelling a meeting that has not started.
	var sec meetingBody
	_ = json.Unmarshal(second, &sec)
	ps.expect("host", "DELETE", "/meetings/"+sec.ID, nil, 204, "")
	if got, _ := srv.meetings.Get(sec.ID); got.Status != meeting.StatusCancelled {
		t.Fatalf("status %s", got.Status)
	}
	ps.expect("host", "PATCH", "/meetings/"+sec.ID, map[string]any{"title": "x"}, 409, "conflict")
}

func TestMeetingGuestToken(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	ps := newPeople(t, srv)
	ps.add("host", "", directory.RoleMember)
	open, _ := srv.meetings.Create(meeting.NewMeeting{Title: "Open", HostID: "host", Settings: meeting.SettingsPatch{AllowGuests: ptrTo(true)}})
	closed, _ := srv.meetings.Create(meeting.NewMeeting{Title: "Closed", HostID: "host"})
	guestPath := func(m meeting.Meeting) string { return "/meetings/" + m.ID + "/guest-token" }

	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		GuestID     string `json:"guest_id"`
		Name        string `json:"name"`
		MeetingID   string `json:"meeting_id"`
	}
	status, raw := ps.do("", "POST", guestPath(open), map[string]any{"link_token": open.LinkToken, "name": "Visitor"}, &tok)
	if status != 200 || tok.TokenType != "Bearer" || tok.Name != "Visitor" || tok.MeetingID != open.ID ||
		!strings.HasPrefix(tok.GuestID, auth.GuestSubjectPrefix) || tok.ExpiresIn != int(auth.GuestTokenTTL/time.Second) {
		t.Fatalf("guest token: %d %s", status, raw)
	}
	c, err := srv.Auth().VerifyFor(tok.AccessToken, auth.TokenScope{Kind: auth.ScopeKindMeeting, ID: open.ID})
	if err != nil || c.MemberID != tok.GuestID || c.Name != "Visitor" {
		t.Fatalf("verify: %+v %v", c, err)
	}
	if _, err := srv.Auth().VerifyFor(tok.AccessToken, auth.TokenScope{Kind: auth.ScopeKindMeeting, ID: closed.ID}); err == nil {
		t.Fatal("a guest token admitted to another meeting")
	}

	// A wrong link and a wrong meeting answer alike.
	wrongLink := ps.expect("", "POST", guestPath(open), map[string]any{"link_token": closed.LinkToken, "name": "V"}, 404, "not_found")
	wrongMeeting := ps.expect("", "POST", "/meetings/NOPE/guest-token", map[string]any{"link_token": open.LinkToken, "name": "V"}, 404, "not_found")
	if string(wrongLink) != string(wrongMeeting) {
		t.Fatalf("a wrong link (%s) and a wrong meeting (%s) must look the same", wrongLink, wrongMeeting)
	}
	ps.expect("", "POST", guestPath(closed), map[string]any{"link_token": closed.LinkToken, "name": "V"}, 403, "forbidden")
	ps.expect("", "POST", guestPath(open), map[string]any{"link_token": open.LinkToken, "name": "  "}, 400, "invalid_argument")
	ps.expect("", "POST", guestPath(open), map[string]any{"link_token": open.LinkToken}, 400, "invalid_argument")
	ps.expect("", "POST", guestPath(open), map[string]any{"link_token": open.LinkToken, "name": "V", "extra": 1}, 400, "bad_request")
	ps.expect("", "POST", guestPath(open), "not json", 400, "bad_request")
	// A member's token on the public route is fine (and ignored).
	ps.expect("host", "POST", guestPath(open), map[string]any{"link_token": open.LinkToken, "name": "V"}, 200, "")

	if _, err := srv.meetings.Cancel(open.ID); err != nil {
		t.Fatal(err)
	}
	ps.expect("", "POST", guestPath(open), map[string]any{"link_token": open.LinkToken, "name": "V"}, 409, "conflict")
}

func ptrTo[T any](v T) *T { return &v }

// TestRestrictedTokensAreRefused: a guest token is no member's token.
// Every non-public route answers 403 restricted_token, the WebSocket
// refuses the upgrade, and a member's socket cannot be extended with one.
func TestRestrictedTokensAreRefused(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	ps := newPeople(t, srv)
	ps.add("host", "", directory.RoleMember)
	m, _ := srv.meetings.Create(meeting.NewMeeting{Title: "Open", HostID: "host", Settings: meeting.SettingsPatch{AllowGuests: ptrTo(true)}})
	g, err := srv.Auth().IssueGuest(auth.TokenScope{Kind: auth.ScopeKindMeeting, ID: m.ID}, "Guest")
	if err != nil {
		t.Fatal(err)
	}
	ps.tokens["guest"] = g.AccessToken

	// The ones the brief names, by hand.
	ps.expect("guest", "GET", "/conversations", nil, 403, "restricted_token")
	ps.expect("guest", "GET", "/members?department=1", nil, 403, "restricted_token")
	ps.expect("guest", "GET", "/members/host", nil, 403, "restricted_token")
	ps.expect("guest", "GET", "/meetings/"+m.ID, nil, 403, "restricted_token")

	// And every other route in the table, so a route added later is
	// covered too.
	param := regexp.MustCompile(`\{[a-z]+\}`)
	for _, rt := range srv.API().Routes() {
		if rt.Policy.Access.String() == "public" {
			continue
		}
		path := param.ReplaceAllString(rt.Path, "x1")
		status, raw := call(t, rt.Method, srv.URL+path, g.AccessToken, "{}", nil)
		if status != http.StatusForbidden || errorCode(raw) != "restricted_token" {
			t.Errorf("%s %s with a guest token: %d %s", rt.Method, rt.Path, status, raw)
		}
	}

	// The chat WebSocket refuses the upgrade, so nothing can be sent on it.
	resp, err := http.Get(srv.URL + "/ws?access_token=" + g.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/ws with a guest token: %d, want 401", resp.StatusCode)
	}
	// A member's socket cannot be taken over by refreshing it with one.
	c := newWSClient(t, srv.URL, ps.tokens["host"])
	if typ := c.call("auth.refresh", map[string]string{"access_token": g.AccessToken}, nil); typ != "error" {
		t.Fatalf("auth.refresh with a guest token answered %q", typ)
	}
	// Sending chat still works for the member: the refusal hurt nothing.
	var ack map[string]any
	conv, err := srv.Chat().CreateDirect(t.Context(), "host", BootstrapAdminID)
	if err != nil {
		t.Fatal(err)
	}
	if typ := c.call("chat.send", textSend(conv.ID, "m1", "hi"), &ack); typ != "chat.ack" {
		t.Fatalf("chat.send answered %q %v", typ, ack)
	}
}
