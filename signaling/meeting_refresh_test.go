package signaling

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"parley/chat/directory"
	"parley/sfu/rtc"
)

// joinMeeting joins a member's socket to a meeting without media and
// returns its snapshot.
func joinMeeting(t *testing.T, c *wsClient, meetingID string) rtc.Snapshot {
	t.Helper()
	var snap rtc.Snapshot
	if typ := c.call("meeting.join", map[string]any{"meeting_id": meetingID, "auto_subscribe": false}, &snap); typ != "meeting.joined" {
		t.Fatalf("meeting.join: %s", typ)
	}
	return snap
}

// pushedMatch waits for a pushed frame of typ whose data match accepts.
func pushedMatch(t *testing.T, c *wsClient, typ string, match func(json.RawMessage) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n := 1; ; n++ {
		got := c.waitPushed(typ, n, time.Until(deadline))
		if match(got[n-1].Data) {
			return
		}
	}
}

// Changes made over REST while a meeting runs reach its room at once:
// settings, co-hosts, the host and bans are announced (and a ban removes
// the banned), without waiting for the next join.
func TestRESTChangesReachTheRunningRoom(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	ps := newPeople(t, srv)
	for _, id := range []string{"alice", "bob", "carol"} {
		ps.add(id, "", directory.RoleMember)
	}
	var m meetingBody
	if status, raw := ps.do("alice", "POST", "/meetings", map[string]any{"title": "Sync"}, &m); status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, raw)
	}
	clients := map[string]*wsClient{}
	snaps := map[string]rtc.Snapshot{}
	for _, id := range []string{"alice", "bob", "carol"} {
		clients[id] = newWSClient(t, srv.URL, ps.tokens[id])
		snaps[id] = joinMeeting(t, clients[id], m.ID)
	}
	bobID := snaps["bob"].Self.ID
	roleOf := func(pid string, role rtc.Role) func(json.RawMessage) bool {
		return func(raw json.RawMessage) bool {
			var p rtc.ParticipantInfo
			_ = json.Unmarshal(raw, &p)
			return p.ID == pid && p.Role == role
		}
	}

	ps.expect("alice", "PATCH", "/meetings/"+m.ID, map[string]any{"settings": map[string]any{"locked": true}}, http.StatusOK, "")
	pushedMatch(t, clients["bob"], "meeting.settings", func(raw json.RawMessage) bool {
		var s struct{ Locked bool }
		_ = json.Unmarshal(raw, &s)
		return s.Locked
	})

	ps.expect("alice", "PUT", "/meetings/"+m.ID+"/cohosts", map[string]any{"cohosts": []string{"bob"}}, http.StatusOK, "")
	pushedMatch(t, clients["carol"], "meeting.participant_updated", roleOf(bobID, rtc.RoleCoHost))
	clients["bob"].waitPushed("meeting.waiting_room", 1, 10*time.Second) // a new co-host sees the waiting room

	ps.expect("alice", "POST", "/meetings/"+m.ID+"/host", map[string]any{"member_id": "carol"}, http.StatusOK, "")
	pushedMatch(t, clients["bob"], "meeting.participant_updated", roleOf(snaps["carol"].Self.ID, rtc.RoleHost))
	pushedMatch(t, clients["bob"], "meeting.participant_updated", roleOf(snaps["alice"].Self.ID, rtc.RoleMember))

	// A co-host may not ban a co-host; the host may.
	ps.add("dave", "", directory.RoleMember)
	ps.expect("carol", "PUT", "/meetings/"+m.ID+"/cohosts", map[string]any{"cohosts": []string{"bob", "dave"}}, http.StatusOK, "")
	ps.expect("bob", "POST", "/meetings/"+m.ID+"/bans", map[string]any{"user_id": "dave"}, http.StatusForbidden, "forbidden")
	ps.expect("alice", "POST", "/meetings/"+m.ID+"/bans", map[string]any{"user_id": "bob"}, http.StatusForbidden, "forbidden")
	ps.expect("carol", "POST", "/meetings/"+m.ID+"/bans", map[string]any{"user_id": "carol"}, http.StatusBadRequest, "invalid_argument")
	ps.expect("carol", "POST", "/meetings/"+m.ID+"/bans", map[string]any{"user_id": "bob"}, http.StatusOK, "")
	pushedMatch(t, clients["bob"], "meeting.removed", func(raw json.RawMessage) bool {
		var e rtc.RemovedEvent
		_ = json.Unmarshal(raw, &e)
		return e.Banned
	})
	pushedMatch(t, clients["alice"], "meeting.participant_left", func(raw json.RawMessage) bool {
		var e rtc.LeftEvent
		_ = json.Unmarshal(raw, &e)
		return e.ParticipantID == bobID && e.Reason == rtc.ReasonRemoved
	})
	if typ := clients["bob"].call("meeting.join", map[string]any{"meeting_id": m.ID}, nil); typ != "error" {
		t.Fatalf("a banned member joined again: %s", typ)
	}
}
