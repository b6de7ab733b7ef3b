package signaling

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/chat/directory"
	"parley/chat/presence"
)

// presenceFixture is a server with members alice, bob, carol and dave.
type presenceFixture struct {
	srv    *testServer
	cfg    Config
	tokens map[string]string
}

func newPresenceFixture(t *testing.T) *presenceFixture {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	f := &presenceFixture{srv: startServer(t, cfg), cfg: cfg, tokens: map[string]string{}}
	for _, id := range []string{"alice", "bob", "carol", "dave"} {
		if _, err := f.srv.Directory().CreateMember(sys, directory.Member{ID: id, Name: id, Departments: []string{directory.RootDepartmentID}}); err != nil {
			t.Fatal(err)
		}
		f.issueToken(t, id)
	}
	return f
}

func (f *presenceFixture) issueToken(t *testing.T, id string) {
	t.Helper()
	tok, err := f.srv.Auth().IssueAccess(id, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.tokens[id] = tok.AccessToken
}

// states asks GET /api/v1/presence as asker.
func (f *presenceFixture) states(t *testing.T, asker string, members ...string) []presence.State {
	t.Helper()
	var out struct {
		Members []presence.State `json:"members"`
	}
	status, raw := call(t, "GET", f.srv.URL+"/api/v1/presence?members="+strings.Join(members, ","), f.tokens[asker], nil, &out)
	if status != http.StatusOK {
		t.Fatalf("GET presence: %d %s", status, raw)
	}
	if len(out.Members) != len(members) {
		t.Fatalf("GET presence of %v: %s", members, raw)
	}
	return out.Members
}

func (f *presenceFixture) state(t *testing.T, member string) presence.State {
	t.Helper()
	return f.states(t, "bob", member)[0]
}

// waitSessions waits until member has n sessions on the node. The hub
// runs its close hook, presence included, before it forgets the session.
func (f *presenceFixture) waitSessions(t *testing.T, member string, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(f.srv.Hub().MemberSessions(member)) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d sessions, want %d", member, len(f.srv.Hub().MemberSessions(member)), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitOnline waits until GET /presence reports member online (or not).
func (f *presenceFixture) waitOnline(t *testing.T, member string, online bool) presence.State {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := f.state(t, member)
		if st.Online == online {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s online=%v, want %v", member, st.Online, online)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPresenceOnlineAndLastSeen: a member is online while any device is
// connected, offline with a last seen time once the last one closes, and
// the last seen time survives a restart.
func TestPresenceOnlineAndLastSeen(t *testing.T) {
	f := newPresenceFixture(t)
	if st := f.state(t, "alice"); st.Online || !st.LastSeen.IsZero() {
		t.Fatalf("alice before connecting: %+v", st)
	}

	phone := dialWS(t, f.srv.URL, f.tokens["alice"])
	f.waitOnline(t, "alice", true)
	laptop := dialWS(t, f.srv.URL, f.tokens["alice"])
	f.waitSessions(t, "alice", 2)

	phone.Close(websocket.StatusNormalClosure, "")
	f.waitSessions(t, "alice", 1)
	if st := f.state(t, "alice"); !st.Online {
		t.Fatalf("alice offline with her laptop still connected: %+v", st)
	}

	before := time.Now().Truncate(time.Millisecond)
	laptop.Close(websocket.StatusNormalClosure, "")
	f.waitSessions(t, "alice", 0)
	st := f.state(t, "alice")
	if st.Online || st.LastSeen.Before(before) || st.LastSeen.After(time.Now()) {
		t.Fatalf("alice after her last device closed: %+v (closed after %v)", st, before)
	}
	if other := f.state(t, "carol"); other.Online || !other.LastSeen.IsZero() {
		t.Fatalf("carol, never connected: %+v", other)
	}

	f.srv.stop()
	f.srv = startServer(t, f.cfg)
	f.issueToken(t, "bob") // same secret, but be independent of it
	after := f.state(t, "alice")
	if after.Online || !after.LastSeen.Equal(st.LastSeen) {
		t.Fatalf("alice after a restart: %+v, want last seen %v", after, st.LastSeen)
	}
}

type presenceStates struct {
	Members []presence.State `json:"members"`
}

func pushedStates(t *testing.T, c *wsClient) []presence.State {
	t.Helper()
	var out []presence.State
	for _, m := range c.pushedNow("presence") {
		var st presence.State
		if err := json.Unmarshal(m.Data, &st); err != nil {
			t.Fatalf("presence frame %s: %v", m.Data, err)
		}
		out = append(out, st)
	}
	return out
}

// settle makes sure every frame queued for c before now has arrived: the
// session's frames leave in order, so they precede the pong.
func settle(t *testing.T, c *wsClient) {
	t.Helper()
	if typ := c.call("ping", nil, nil); typ != "pong" {
		t.Fatalf("ping answered %s", typ)
	}
}

// TestPresenceSubscribe: presence.subscribe answers with the current
// states, then pushes changes of the watched members to that session, and
// nothing about anyone else.
func TestPresenceSubscribe(t *testing.T) {
	f := newPresenceFixture(t)
	bob := newWSClient(t, f.srv.URL, f.tokens["bob"])
	otherBob := newWSClient(t, f.srv.URL, f.tokens["bob"]) // watches nothing

	var reply presenceStates
	if typ := bob.call("presence.subscribe", map[string]any{"members": []string{"alice", "carol"}}, &reply); typ != "presence.state" {
		t.Fatalf("presence.subscribe answered %s", typ)
	}
	if len(reply.Members) != 2 || reply.Members[0].MemberID != "alice" || reply.Members[0].Online || reply.Members[1].MemberID != "carol" {
		t.Fatalf("initial states %+v", reply.Members)
	}

	dave := dialWS(t, f.srv.URL, f.tokens["dave"]) // not watched
	f.waitOnline(t, "dave", true)
	alice := dialWS(t, f.srv.URL, f.tokens["alice"])
	got := bob.waitPushed("presence", 1, 5*time.Second)
	var st presence.State
	if err := json.Unmarshal(got[0].Data, &st); err != nil || st.MemberID != "alice" || !st.Online || got[0].ID != "" {
		t.Fatalf("first push %+v (%v); want alice online, and nothing about dave", got[0], err)
	}

	dialWS(t, f.srv.URL, f.tokens["carol"])
	bob.waitPushed("presence", 2, 5*time.Second)
	alice.Close(websocket.StatusNormalClosure, "")
	bob.waitPushed("presence", 3, 5*time.Second)
	dave.Close(websocket.StatusNormalClosure, "")
	f.waitOnline(t, "dave", false)
	settle(t, bob)
	pushes := pushedStates(t, bob)
	want := []string{"alice online", "carol online", "alice offline"}
	if len(pushes) != len(want) {
		t.Fatalf("pushes %+v, want %v", pushes, want)
	}
	for i, p := range pushes {
		if got := fmt.Sprintf("%s %s", p.MemberID, map[bool]string{true: "online", false: "offline"}[p.Online]); got != want[i] {
			t.Fatalf("push %d is %q, want %q", i, got, want[i])
		}
	}
	if pushes[2].LastSeen.IsZero() {
		t.Fatalf("offline push without last_seen: %+v", pushes[2])
	}
	settle(t, otherBob)
	if n := len(otherBob.pushedNow("presence")); n != 0 {
		t.Fatalf("bob's other device, which watches nobody, got %d pushes", n)
	}

	// An empty list stops the pushes.
	if typ := bob.call("presence.subscribe", map[string]any{"members": []string{}}, &reply); typ != "presence.state" || len(reply.Members) != 0 {
		t.Fatalf("unsubscribe answered %s %+v", typ, reply)
	}
	dialWS(t, f.srv.URL, f.tokens["alice"])
	f.waitOnline(t, "alice", true)
	settle(t, bob)
	if n := len(bob.pushedNow("presence")); n != 3 {
		t.Fatalf("%d pushes after unsubscribing, want still 3", n)
	}
}

// TestPresenceLimits: the REST query and the subscription refuse too
// many or malformed member lists.
func TestPresenceLimits(t *testing.T) {
	f := newPresenceFixture(t)
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("m%d", i)
		}
		return out
	}
	for _, q := range []string{"", "?members=", "?members=" + strings.Join(ids(presence.MaxQueryMembers+1), ","), "?members=a%2Fb"} {
		status, raw := call(t, "GET", f.srv.URL+"/api/v1/presence"+q, f.tokens["bob"], nil, nil)
		if status != http.StatusBadRequest || errorCode(raw) != "invalid_argument" {
			t.Errorf("GET presence%s: %d %s", q, status, raw)
		}
	}
	if n := len(f.states(t, "bob", ids(presence.MaxQueryMembers)...)); n != presence.MaxQueryMembers {
		t.Fatalf("%d states for %d members", n, presence.MaxQueryMembers)
	}

	c := newWSClient(t, f.srv.URL, f.tokens["bob"])
	var e struct {
		Code string `json:"code"`
	}
	if typ := c.call("presence.subscribe", map[string]any{"members": ids(presence.MaxWatchMembers + 1)}, &e); typ != "error" || e.Code != "invalid_argument" {
		t.Fatalf("subscribing to %d members: %s %+v", presence.MaxWatchMembers+1, typ, e)
	}
	if typ := c.call("presence.subscribe", "not an object", &e); typ != "error" || e.Code != "invalid_argument" {
		t.Fatalf("malformed subscribe: %s %+v", typ, e)
	}
	var reply presenceStates
	if typ := c.call("presence.subscribe", map[string]any{"members": ids(presence.MaxWatchMembers)}, &reply); typ != "presence.state" || len(reply.Members) != presence.MaxWatchMembers {
		t.Fatalf("subscribing to %d members: %s with %d states", presence.MaxWatchMembers, typ, len(reply.Members))
	}
}
