package signaling

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"parley/chat/messaging"
)

// syncDone is the data of chat.sync.done.
type syncDone struct {
	Conversations []messaging.Summary    `json:"conversations"`
	Limits        messaging.ClientLimits `json:"limits"`
}

// summariesOf lists member's conversations over REST, by id.
func (c *restChat) summariesOf(member string) map[string]messaging.Summary {
	c.t.Helper()
	var list struct {
		Conversations []messaging.Summary `json:"conversations"`
	}
	c.must(http.StatusOK, member, "GET", "/conversations", nil, &list)
	out := map[string]messaging.Summary{}
	for _, s := range list.Conversations {
		out[s.Conversation.ID] = s
	}
	return out
}

// TestChatSummariesOverTheWire: a direct conversation's summary names the
// peer as each side sees it, in every place a client gets summaries (the
// create answer, GET one and the list, chat.conversation, chat.sync.done),
// and a group's names none; unread leaves out system entries, recall
// entries, one's own messages and recalled messages, and is the same
// after a restart.
func TestChatSummariesOverTheWire(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	c := newRESTChatWith(t, cfg, "alice", "bob", "carol")
	bobPhone := newWSClient(t, c.srv.URL, c.tokens["bob"])

	var d messaging.Summary
	c.must(http.StatusOK, "alice", "POST", "/conversations/direct", map[string]string{"peer_id": "bob"}, &d)
	if d.PeerID != "bob" || d.Unread != 0 {
		t.Fatalf("alice's new direct conversation %+v, want peer bob, nothing unread", d)
	}
	pushed := bobPhone.waitPushed("chat.conversation", 1, 5*time.Second)
	var got messaging.Summary
	if err := json.Unmarshal(pushed[0].Data, &got); err != nil {
		t.Fatal(err)
	}
	if got.Conversation.ID != d.Conversation.ID || got.PeerID != "alice" || got.Unread != 0 {
		t.Fatalf("bob's chat.conversation %s, want peer alice and nothing unread", pushed[0].Data)
	}
	if s := c.summary("bob", d.Conversation.ID); s.PeerID != "alice" {
		t.Fatalf("bob's GET of the direct conversation names peer %q", s.PeerID)
	}

	var g messaging.Summary
	c.must(http.StatusCreated, "alice", "POST", "/conversations", map[string]any{"name": "Team", "members": []string{"bob", "carol"}}, &g)
	if _, raw := c.do("bob", "GET", "/conversations/"+g.Conversation.ID, nil, nil); strings.Contains(string(raw), "peer_id") {
		t.Fatalf("a group summary carries peer_id: %s", raw)
	}

	// Direct: alice twice, bob once. Group: a settings change (system),
	// alice, carol (then recalled by the owner), bob, and the recall.
	c.send("alice", d.Conversation.ID, "d1", "hi bob")
	c.send("alice", d.Conversation.ID, "d2", "are you there?")
	c.send("bob", d.Conversation.ID, "d3", "yes")
	c.must(http.StatusOK, "alice", "PATCH", "/conversations/"+g.Conversation.ID, map[string]any{"announcement": "Standup at 10"}, nil)
	c.send("alice", g.Conversation.ID, "g1", "agenda?")
	oops := c.send("carol", g.Conversation.ID, "g2", "wrong chat")
	c.send("bob", g.Conversation.ID, "g3", "coming")
	c.must(http.StatusOK, "alice", "POST", fmt.Sprintf("/conversations/%s/messages/%d/recall", g.Conversation.ID, oops.Seq), nil, nil)

	want := map[string]map[string]uint64{ // member -> conversation -> unread
		"alice": {d.Conversation.ID: 1, g.Conversation.ID: 1},
		"bob":   {d.Conversation.ID: 2, g.Conversation.ID: 1},
		"carol": {g.Conversation.ID: 2},
	}
	peers := map[string]string{"alice": "bob", "bob": "alice"}
	check := func(when string) {
		t.Helper()
		for member, convs := range want {
			sums := c.summariesOf(member)
			if len(sums) != len(convs) {
				t.Fatalf("%s: %s has %d conversations, want %d", when, member, len(sums), len(convs))
			}
			for id, unread := range convs {
				s := sums[id]
				wantPeer := ""
				if id == d.Conversation.ID {
					wantPeer = peers[member]
				}
				if s.Unread != unread || s.PeerID != wantPeer {
					t.Errorf("%s: %s's summary of %s: unread %d peer %q, want %d %q", when, member, id, s.Unread, s.PeerID, unread, wantPeer)
				}
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	check("over REST")

	// chat.sync.done says the same.
	var done syncDone
	if typ := bobPhone.call("chat.sync", map[string]any{}, &done); typ != "chat.sync.done" {
		t.Fatalf("chat.sync answered %s", typ)
	}
	for _, s := range done.Conversations {
		wantPeer := map[string]string{d.Conversation.ID: "alice"}[s.Conversation.ID]
		if s.Unread != want["bob"][s.Conversation.ID] || s.PeerID != wantPeer {
			t.Errorf("bob's synced summary of %s: unread %d peer %q", s.Conversation.ID, s.Unread, s.PeerID)
		}
	}
	if len(done.Conversations) != 2 {
		t.Fatalf("bob synced %d conversations, want 2", len(done.Conversations))
	}

	// Reading over REST moves the count.
	c.must(http.StatusOK, "bob", "PUT", "/conversations/"+d.Conversation.ID+"/read", map[string]uint64{"seq": 2}, nil)
	want["bob"][d.Conversation.ID] = 1
	check("after bob read part of the direct conversation")

	bobPhone.conn.CloseNow()
	c.srv.stop()
	c.srv = startServer(t, cfg)
	for m := range c.tokens {
		tok, err := c.srv.Auth().IssueAccess(m, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c.tokens[m] = tok.AccessToken
	}
	check("after a restart")
}

// TestChatLimitsOverTheWire: GET /api/v1/chat/limits and chat.sync.done
// carry the configured limits, the recall window among them; the route
// needs a signed-in member.
func TestChatLimitsOverTheWire(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Chat.MaxTextBytes = 500
	cfg.Chat.MaxGroupMembers = 50
	cfg.Chat.MaxFileBytes = 1 << 20
	cfg.Chat.RecallWindow = 2 * time.Hour
	cfg.Chat.UrgentInterval, cfg.Chat.UrgentMaxRepeats = 10*time.Minute, 2
	c := newRESTChatWith(t, cfg, "alice")

	var raw map[string]any
	c.must(http.StatusOK, "alice", "GET", "/chat/limits", nil, &raw)
	for field, want := range map[string]float64{
		"max_text_bytes": 500, "max_group_members": 50, "max_file_bytes": 1 << 20, "recall_window_seconds": 7200,
		"urgent_interval_minutes": 10, "urgent_max_repeats": 2, "max_mentions": 100, "max_forward_items": 100,
		"max_client_msg_id_bytes": 64, "max_file_name_bytes": 255,
		"max_group_name_chars": 64, "max_announcement_chars": 2000, "max_welcome_message_chars": 500,
	} {
		if raw[field] != want {
			t.Errorf("limits %s = %v, want %v", field, raw[field], want)
		}
	}
	if len(raw) != 13 {
		t.Errorf("limits carry %d fields, want 13: %v", len(raw), raw)
	}

	var rest messaging.ClientLimits
	c.must(http.StatusOK, "alice", "GET", "/chat/limits", nil, &rest)
	var done syncDone
	newWSClient(t, c.srv.URL, c.tokens["alice"]).call("chat.sync", map[string]any{}, &done)
	if done.Limits != rest {
		t.Fatalf("chat.sync.done limits %+v, REST says %+v", done.Limits, rest)
	}
	if status, body := call(t, "GET", c.srv.URL+"/api/v1/chat/limits", "", nil, nil); status != http.StatusUnauthorized {
		t.Fatalf("limits without a token: %d %s", status, body)
	}
}
