package livews_test

import (
	"strings"
	"testing"
	"time"

	"parley/chat/liveroom"
	"parley/sfu/live"
	"parley/signaling/livews"
)

// An internal live admits its host and guests and the members in its
// scope (by department, sub-departments included, or by tag), and no one
// else.
func TestInternalScope(t *testing.T) {
	e := newEnv(t, livews.DefaultConfig(), time.Hour)
	l := e.newLive(live.Scope{Kind: live.ScopeInternal, Departments: []string{e.sales}, Tags: []string{e.vip}})
	for id, want := range map[string]string{
		"alice": "live.joined", // host, in Engineering
		"gina":  "live.joined", // guest, in Engineering
		"bob":   "live.joined", // Sales
		"carol": "live.joined", // Sales East, under Sales
		"erin":  "live.joined", // Engineering, VIP tag
		"frank": "error:" + livews.CodeForbidden,
	} {
		if got := e.member(id).call("live.join", map[string]any{"live_id": l.ID}, nil); got != want {
			t.Errorf("%s joins: %s, want %s", id, got, want)
		}
	}
	frank := e.member("frank")
	if got := frank.call("live.comment", text(l.ID, "x", "let me in"), nil); got != "error:"+livews.CodeNotJoined {
		t.Fatalf("comment without joining: %s", got)
	}
	if got := frank.call("live.join", map[string]any{"live_id": "nope"}, nil); got != "error:"+livews.CodeNotFound {
		t.Fatalf("unknown live: %s", got)
	}
}

// An external live is watched with viewer tokens for it, which reach
// only the viewer endpoint, only live requests, and only their own live.
func TestViewerTokens(t *testing.T) {
	e := newEnv(t, livews.DefaultConfig(), time.Hour)
	ext := e.newLive(live.Scope{Kind: live.ScopeExternal})
	other := e.newLive(live.Scope{Kind: live.ScopeExternal})
	internal := e.newLive(everyone)

	token, guestID := e.viewerToken(ext.ID, "Visitor Vera")
	if _, err := e.tryDial("/ws", token); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("viewer token on the member socket: %v, want 401", err)
	}
	if _, err := e.tryDial(livews.ViewerPath, e.memberToken("bob")); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("member token on the viewer socket: %v, want 401", err)
	}

	vera := e.dial(livews.ViewerPath, token)
	if got := vera.call("chat.send", map[string]any{"conversation_id": "g_x", "client_msg_id": "1", "type": "text", "body": map[string]string{"text": "hi"}}, nil); got != "error:unknown_type" {
		t.Fatalf("chat.send with a viewer token: %s", got)
	}
	for _, id := range []string{other.ID, internal.ID} {
		if got := vera.call("live.join", map[string]any{"live_id": id}, nil); got != "error:"+livews.CodeForbidden {
			t.Fatalf("viewer token joined another live: %s", got)
		}
	}
	r := vera.join(ext.ID)
	if r.Role != livews.RoleViewer || r.ViewerID != guestID {
		t.Fatalf("join = %+v", r)
	}
	vera.must("live.ack", "live.comment", text(ext.ID, "v1", "hello from outside"), nil)
	vera.must("live.liked", "live.like", map[string]any{"live_id": ext.ID}, nil)
	if got := vera.call("live.announce", text(ext.ID, "a", "I host now"), nil); got != "error:"+livews.CodeForbidden {
		t.Fatalf("viewer token announced: %s", got)
	}
	if got := vera.call("live.comment", text(other.ID, "v2", "elsewhere"), nil); got != "error:"+livews.CodeNotJoined {
		t.Fatalf("viewer token commented in another live: %s", got)
	}

	// Members who do not present an external live do not watch it with
	// their member token; its host does, and moderates the guest.
	if got := e.member("bob").call("live.join", map[string]any{"live_id": ext.ID}, nil); got != "error:"+livews.CodeForbidden {
		t.Fatalf("a member joined an external live: %s", got)
	}
	host := e.member("alice")
	host.join(ext.ID)
	host.must("live.ack", "live.mute", map[string]any{"live_id": ext.ID, "client_msg_id": "m", "viewer_id": guestID, "muted": true}, nil)
	if got := vera.call("live.comment", text(ext.ID, "v3", "muted?"), nil); got != "error:"+livews.CodeMuted {
		t.Fatalf("muted guest commented: %s", got)
	}
	vera.atLeast(liveroom.TypeMute, 1)

	st, err := e.lives.Stats(ext.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.UniqueViewers != 1 || st.Viewers[0].Name != "Visitor Vera" || st.Viewers[0].MemberID != "" || st.Interactions["comment"] != 1 {
		t.Fatalf("external stats = %+v", st)
	}
}
