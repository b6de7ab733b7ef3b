package signaling

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/chat/conversation"
	"parley/chat/directory"
	"parley/chat/messaging"
)

// restChat is a server and signed-in members, driven over the REST chat
// routes only.
type restChat struct {
	t      *testing.T
	srv    *testServer
	tokens map[string]string
}

// restMaxText is chat.max_text_bytes in these tests, small so that the
// limit is cheap to pass.
const restMaxText = 64

func newRESTChat(t *testing.T, members ...string) *restChat {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	cfg.Chat.MaxTextBytes = restMaxText
	return newRESTChatWith(t, cfg, members...)
}

// newRESTChatWith starts a server with cfg and members who hold tokens.
func newRESTChatWith(t *testing.T, cfg Config, members ...string) *restChat {
	t.Helper()
	srv := startServer(t, cfg)
	c := &restChat{t: t, srv: srv, tokens: map[string]string{}}
	for _, id := range members {
		if _, err := srv.Directory().CreateMember(sys, directory.Member{ID: id, Name: id, Departments: []string{directory.RootDepartmentID}}); err != nil {
			t.Fatal(err)
		}
		tok, err := srv.Auth().IssueAccess(id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		c.tokens[id] = tok.AccessToken
	}
	return c
}

// do calls /api/v1+path as member and returns the status and raw body.
func (c *restChat) do(member, method, path string, body, out any) (int, []byte) {
	c.t.Helper()
	return call(c.t, method, c.srv.URL+"/api/v1"+path, c.tokens[member], body, out)
}

// must calls like do and fails the test unless the status is want.
func (c *restChat) must(want int, member, method, path string, body, out any) {
	c.t.Helper()
	if status, raw := c.do(member, method, path, body, out); status != want {
		c.t.Fatalf("%s %s as %s: status %d, want %d: %s", method, path, member, status, want, raw)
	}
}

// refused calls like do and fails the test unless the answer is the error
// status and code given.
func (c *restChat) refused(status int, code, member, method, path string, body any) {
	c.t.Helper()
	got, raw := c.do(member, method, path, body, nil)
	if got != status || errorCode(raw) != code {
		c.t.Fatalf("%s %s as %s: got %d %s, want %d %s", method, path, member, got, raw, status, code)
	}
}

func (c *restChat) send(member, convID, clientMsgID, text string) messaging.Ack {
	c.t.Helper()
	var ack messaging.Ack
	c.must(http.StatusOK, member, "POST", "/conversations/"+convID+"/messages", textMessage(clientMsgID, text), &ack)
	return ack
}

func (c *restChat) summary(member, convID string) messaging.Summary {
	c.t.Helper()
	var sum messaging.Summary
	c.must(http.StatusOK, member, "GET", "/conversations/"+convID, nil, &sum)
	return sum
}

func (c *restChat) entries(member, convID, query string) []uint64 {
	c.t.Helper()
	var page entriesPage
	c.must(http.StatusOK, member, "GET", "/conversations/"+convID+"/messages"+query, nil, &page)
	if page.ConversationID != convID {
		c.t.Fatalf("page of %q, want %q", page.ConversationID, convID)
	}
	seqs := make([]uint64, len(page.Entries))
	for i, e := range page.Entries {
		seqs[i] = e.Seq
	}
	return seqs
}

type entriesPage struct {
	ConversationID string `json:"conversation_id"`
	Entries        []struct {
		Seq      uint64 `json:"seq"`
		SenderID string `json:"sender_id"`
		Type     string `json:"type"`
	} `json:"entries"`
}

func textMessage(clientMsgID, text string) map[string]any {
	return map[string]any{"client_msg_id": clientMsgID, "type": "text", "body": map[string]string{"text": text}}
}

// TestConversationsREST walks a group's life over REST: direct and group
// creation, members, sends with their idempotency, history and pull
// paging, receipts, settings, roles, mutes, ownership, removal, leaving
// and dissolution.
func TestConversationsREST(t *testing.T) {
	c := newRESTChat(t, "alice", "bob", "carol")

	// A direct conversation is the same one each time, from either side.
	var d1, d2, d3 messaging.Summary
	c.must(http.StatusOK, "alice", "POST", "/conversations/direct", map[string]string{"peer_id": "bob"}, &d1)
	c.must(http.StatusOK, "alice", "POST", "/conversations/direct", map[string]string{"peer_id": "bob"}, &d2)
	c.must(http.StatusOK, "bob", "POST", "/conversations/direct", map[string]string{"peer_id": "alice"}, &d3)
	if d1.Conversation.ID == "" || d1.Conversation.ID != d2.Conversation.ID || d1.Conversation.ID != d3.Conversation.ID {
		t.Fatalf("direct ids %q %q %q, want one id", d1.Conversation.ID, d2.Conversation.ID, d3.Conversation.ID)
	}
	if d1.Conversation.Kind != conversation.KindDirect || d1.Conversation.MemberCount != 2 {
		t.Fatalf("direct conversation %+v", d1.Conversation)
	}
	c.refused(http.StatusBadRequest, "invalid_argument", "alice", "POST", "/conversations/direct", map[string]string{"peer_id": "alice"})
	c.refused(http.StatusBadRequest, "invalid_argument", "alice", "POST", "/conversations/direct", map[string]string{"peer_id": "nobody"})

	// A group: the creator owns it.
	var g messaging.Summary
	c.must(http.StatusCreated, "alice", "POST", "/conversations", map[string]any{"name": "Project", "announcement": "Standup at 10", "members": []string{"bob"}}, &g)
	id := g.Conversation.ID
	if g.Role != conversation.RoleOwner || g.Conversation.Kind != conversation.KindGroup || g.Conversation.OwnerID != "alice" ||
		g.Conversation.MemberCount != 2 || g.Conversation.Announcement != "Standup at 10" || g.LastSeq != 1 {
		t.Fatalf("new group %+v", g)
	}
	var added struct {
		Added []string `json:"added"`
	}
	c.must(http.StatusOK, "alice", "POST", "/conversations/"+id+"/members", map[string]any{"members": []string{"carol", "bob"}}, &added)
	if !slices.Equal(added.Added, []string{"carol"}) {
		t.Fatalf("added %v, want [carol]: bob was already in", added.Added)
	}
	carolJoined := c.summary("carol", id).JoinedSeq
	if carolJoined != 2 {
		t.Fatalf("carol joined at %d, want 2", carolJoined)
	}
	var list struct {
		Conversations []messaging.Summary `json:"conversations"`
	}
	c.must(http.StatusOK, "bob", "GET", "/conversations", nil, &list)
	var ids []string
	for _, s := range list.Conversations {
		ids = append(ids, s.Conversation.ID)
	}
	if len(ids) != 2 || !slices.Contains(ids, id) || !slices.Contains(ids, d1.Conversation.ID) {
		t.Fatalf("bob's conversations %v, want the direct one and the group", ids)
	}

	// Sends: a resend of the same client_msg_id is the original ack.
	first := c.send("alice", id, "c1", "hello")
	again := c.send("alice", id, "c1", "hello")
	if first.Duplicate || !again.Duplicate || again.Seq != first.Seq || first.Seq != 3 || first.ConversationID != id {
		t.Fatalf("first %+v, resend %+v", first, again)
	}
	for i := 2; i <= 5; i++ {
		c.send("bob", id, fmt.Sprintf("b%d", i), fmt.Sprintf("message %d", i))
	} // seqs 4..7
	if last := c.summary("alice", id).LastSeq; last != 7 {
		t.Fatalf("last_seq %d, want 7", last)
	}

	// History pages newest first; pull pages ascending. Neither goes
	// before the reader joined.
	if got := c.entries("carol", id, "?limit=3"); !slices.Equal(got, []uint64{7, 6, 5}) {
		t.Fatalf("history page 1 %v", got)
	}
	if got := c.entries("carol", id, "?before_seq=5&limit=3"); !slices.Equal(got, []uint64{4, 3, 2}) {
		t.Fatalf("history page 2 %v", got)
	}
	if got := c.entries("carol", id, "?before_seq=2&limit=3"); len(got) != 0 {
		t.Fatalf("history before carol joined %v, want none", got)
	}
	if got := c.entries("alice", id, "?before_seq=2"); !slices.Equal(got, []uint64{1}) {
		t.Fatalf("alice's history before 2: %v, want [1]", got)
	}
	if got := c.entries("carol", id, "?from_seq=1&limit=4"); !slices.Equal(got, []uint64{2, 3, 4, 5}) {
		t.Fatalf("pull page 1 %v, want 2..5 (carol joined at 2)", got)
	}
	if got := c.entries("carol", id, "?from_seq=6&limit=4"); !slices.Equal(got, []uint64{6, 7}) {
		t.Fatalf("pull page 2 %v", got)
	}
	if got := c.entries("carol", id, "?from_seq=8"); len(got) != 0 {
		t.Fatalf("pull past the end %v", got)
	}
	c.refused(http.StatusBadRequest, "invalid_argument", "carol", "GET", "/conversations/"+id+"/messages?from_seq=1&before_seq=5", nil)
	c.refused(http.StatusBadRequest, "invalid_argument", "carol", "GET", "/conversations/"+id+"/messages?before_seq=x", nil)
	c.refused(http.StatusBadRequest, "invalid_argument", "carol", "GET", "/conversations/"+id+"/messages?limit=0", nil)

	// Receipts: the sender sees who read; reading moves the count.
	receipts := "/conversations/" + id + fmt.Sprintf("/messages/%d/receipts", first.Seq)
	var rc messaging.Receipt
	c.must(http.StatusOK, "alice", "GET", receipts, nil, &rc)
	if rc.ReadCount != 0 || rc.UnreadCount != 2 || len(rc.Readers) != 0 {
		t.Fatalf("receipt before any read %+v", rc)
	}
	var cur struct {
		ConversationID string `json:"conversation_id"`
		ReadSeq        uint64 `json:"read_seq"`
		DeliveredSeq   uint64 `json:"delivered_seq"`
	}
	c.must(http.StatusOK, "bob", "PUT", "/conversations/"+id+"/read", map[string]uint64{"seq": first.Seq}, &cur)
	if cur.ConversationID != id || cur.ReadSeq != first.Seq || cur.DeliveredSeq < first.Seq {
		t.Fatalf("cursors after read %+v", cur)
	}
	c.must(http.StatusOK, "alice", "GET", receipts, nil, &rc)
	if rc.ReadCount != 1 || rc.UnreadCount != 1 || !slices.Equal(rc.Readers, []string{"bob"}) || !slices.Equal(rc.Unreaders, []string{"carol"}) {
		t.Fatalf("receipt after bob read %+v", rc)
	}
	// Everything after what bob read (4..7) is his own: nothing unread.
	// Carol has alice's message (3) and bob's four unread.
	if unread := c.summary("bob", id).Unread; unread != 0 {
		t.Fatalf("bob's unread %d, want 0: only his own messages follow his cursor", unread)
	}
	if unread := c.summary("carol", id).Unread; unread != 5 {
		t.Fatalf("carol's unread %d, want 5", unread)
	}
	c.refused(http.StatusForbidden, "forbidden", "bob", "GET", receipts, nil)
	c.refused(http.StatusNotFound, "not_found", "alice", "GET", "/conversations/"+id+"/messages/99/receipts", nil)
	c.refused(http.StatusBadRequest, "invalid_argument", "bob", "PUT", "/conversations/"+id+"/read", map[string]any{})

	// Settings: the owner and admins may; plain members may not.
	var conv conversation.Conversation
	c.must(http.StatusOK, "alice", "PATCH", "/conversations/"+id, map[string]any{"name": "Project X", "welcome_message": "Hi!"}, &conv)
	if conv.Name != "Project X" || conv.WelcomeMessage != "Hi!" || conv.Announcement != "Standup at 10" {
		t.Fatalf("updated group %+v", conv)
	}
	c.refused(http.StatusForbidden, "forbidden", "carol", "PATCH", "/conversations/"+id, map[string]any{"name": "Mine"})
	c.refused(http.StatusBadRequest, "bad_request", "alice", "PATCH", "/conversations/"+id, map[string]any{"title": "typo"})
	c.refused(http.StatusForbidden, "forbidden", "carol", "POST", "/conversations/"+id+"/members", map[string]any{"members": []string{"alice"}})

	// Roles: bob becomes an admin, who may mute carol; muted, she cannot send.
	c.refused(http.StatusBadRequest, "invalid_argument", "alice", "PUT", "/conversations/"+id+"/members/bob/role", map[string]string{"role": "owner"})
	c.must(http.StatusNoContent, "alice", "PUT", "/conversations/"+id+"/members/bob/role", map[string]string{"role": "admin"}, nil)
	if r := c.summary("bob", id).Role; r != conversation.RoleAdmin {
		t.Fatalf("bob's role %q, want admin", r)
	}
	c.refused(http.StatusForbidden, "forbidden", "bob", "PUT", "/conversations/"+id+"/members/carol/role", map[string]string{"role": "admin"})
	c.refused(http.StatusBadRequest, "invalid_argument", "bob", "PUT", "/conversations/"+id+"/members/carol/mute", map[string]any{})
	c.must(http.StatusNoContent, "bob", "PUT", "/conversations/"+id+"/members/carol/mute", map[string]bool{"muted": true}, nil)
	if !c.summary("carol", id).Muted {
		t.Fatal("carol is not muted")
	}
	c.refused(http.StatusForbidden, "forbidden", "carol", "POST", "/conversations/"+id+"/messages", textMessage("k1", "let me speak"))
	c.refused(http.StatusForbidden, "forbidden", "bob", "PUT", "/conversations/"+id+"/members/alice/mute", map[string]bool{"muted": true})

	// Ownership: only the owner hands it on; the old owner stays as a member.
	c.refused(http.StatusForbidden, "forbidden", "bob", "POST", "/conversations/"+id+"/owner", map[string]string{"member_id": "bob"})
	c.must(http.StatusNoContent, "alice", "POST", "/conversations/"+id+"/owner", map[string]string{"member_id": "bob"}, nil)
	if a, b := c.summary("alice", id), c.summary("bob", id); a.Role != conversation.RoleMember || b.Role != conversation.RoleOwner || b.Conversation.OwnerID != "bob" {
		t.Fatalf("after transfer alice %q, bob %q, owner %q", a.Role, b.Role, b.Conversation.OwnerID)
	}

	// Removal and leaving: either way the member is out.
	c.refused(http.StatusForbidden, "forbidden", "alice", "DELETE", "/conversations/"+id+"/members/carol", nil)
	c.must(http.StatusNoContent, "bob", "DELETE", "/conversations/"+id+"/members/carol", nil, nil)
	c.refused(http.StatusNotFound, "not_member", "carol", "GET", "/conversations/"+id, nil)
	c.must(http.StatusNoContent, "alice", "DELETE", "/conversations/"+id+"/members/alice", nil, nil)
	c.refused(http.StatusNotFound, "not_member", "alice", "GET", "/conversations/"+id, nil)
	c.refused(http.StatusConflict, "conflict", "bob", "DELETE", "/conversations/"+id+"/members/bob", nil)
	if n := c.summary("bob", id).Conversation.MemberCount; n != 1 {
		t.Fatalf("member_count %d, want 1", n)
	}

	// Dissolution: the history stays readable, sends are refused.
	c.refused(http.StatusForbidden, "forbidden", "alice", "POST", "/conversations/"+d1.Conversation.ID+"/dissolve", nil)
	c.must(http.StatusNoContent, "bob", "POST", "/conversations/"+id+"/dissolve", nil, nil)
	before := c.summary("bob", id)
	if !before.Conversation.Dissolved {
		t.Fatal("group not dissolved")
	}
	c.refused(http.StatusConflict, "dissolved", "bob", "POST", "/conversations/"+id+"/messages", textMessage("z1", "anyone?"))
	c.refused(http.StatusConflict, "dissolved", "bob", "POST", "/conversations/"+id+"/dissolve", nil)
	if got := c.entries("bob", id, "?limit=1"); !slices.Equal(got, []uint64{before.LastSeq}) {
		t.Fatalf("history after dissolution %v, want [%d]", got, before.LastSeq)
	}
}

// TestConversationsRESTNonMember: a member outside a conversation learns
// nothing about it and can change nothing in it, and an unknown id answers
// the same way.
func TestConversationsRESTNonMember(t *testing.T) {
	c := newRESTChat(t, "alice", "bob", "dave")
	var g messaging.Summary
	c.must(http.StatusCreated, "alice", "POST", "/conversations", map[string]any{"name": "Private", "members": []string{"bob"}}, &g)
	seq := c.send("alice", g.Conversation.ID, "a1", "secret").Seq

	for _, id := range []string{g.Conversation.ID, "g_doesnotexist"} {
		p := "/conversations/" + id
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{"GET", p, nil},
			{"PATCH", p, map[string]string{"name": "Taken"}},
			{"GET", p + "/messages", nil},
			{"GET", p + "/messages?from_seq=1", nil},
			{"POST", p + "/messages", textMessage("d1", "let me in")},
			{"GET", p + fmt.Sprintf("/messages/%d/receipts", seq), nil},
			{"PUT", p + "/read", map[string]uint64{"seq": seq}},
			{"GET", p + "/members", nil},
			{"POST", p + "/members", map[string]any{"members": []string{"dave"}}},
			{"DELETE", p + "/members/dave", nil},
			{"DELETE", p + "/members/bob", nil},
			{"POST", p + "/owner", map[string]string{"member_id": "dave"}},
			{"POST", p + "/dissolve", nil},
		} {
			c.refused(http.StatusNotFound, "not_member", "dave", req.method, req.path, req.body)
		}
	}
	// A member lists the group: owner and plain member, with roles.
	var members struct {
		Members []conversation.Membership `json:"members"`
	}
	c.must(http.StatusOK, "bob", "GET", "/conversations/"+g.Conversation.ID+"/members", nil, &members)
	roles := map[string]conversation.Role{}
	for _, m := range members.Members {
		roles[m.MemberID] = m.Role
	}
	if len(roles) != 2 || roles["alice"] != conversation.RoleOwner || roles["bob"] != conversation.RoleMember {
		t.Fatalf("members = %+v, want alice owner and bob member", members.Members)
	}
	var list struct {
		Conversations []messaging.Summary `json:"conversations"`
	}
	c.must(http.StatusOK, "dave", "GET", "/conversations", nil, &list)
	if list.Conversations == nil || len(list.Conversations) != 0 {
		t.Fatalf("dave's conversations %+v, want []", list.Conversations)
	}
	if s := c.summary("alice", g.Conversation.ID); s.Conversation.MemberCount != 2 || s.LastSeq != seq || s.Conversation.Name != "Private" {
		t.Fatalf("the group changed: %+v", s)
	}
}

// TestConversationsRESTLimits: a message over chat.max_text_bytes is 413
// too_large and stores nothing; malformed messages are 400.
func TestConversationsRESTLimits(t *testing.T) {
	c := newRESTChat(t, "alice", "bob")
	var d messaging.Summary
	c.must(http.StatusOK, "alice", "POST", "/conversations/direct", map[string]string{"peer_id": "bob"}, &d)
	id := d.Conversation.ID
	last := d.LastSeq

	c.refused(http.StatusRequestEntityTooLarge, "too_large", "alice", "POST", "/conversations/"+id+"/messages", textMessage("big", strings.Repeat("x", restMaxText+1)))
	c.refused(http.StatusBadRequest, "invalid_argument", "alice", "POST", "/conversations/"+id+"/messages", textMessage("", "no id"))
	c.refused(http.StatusBadRequest, "invalid_argument", "alice", "POST", "/conversations/"+id+"/messages", textMessage("e1", ""))
	c.refused(http.StatusBadRequest, "invalid_argument", "alice", "POST", "/conversations/"+id+"/messages",
		map[string]any{"client_msg_id": "t1", "type": "system", "body": map[string]string{"event": "dissolved"}})
	c.refused(http.StatusBadRequest, "invalid_argument", "alice", "POST", "/conversations/"+id+"/messages",
		map[string]any{"client_msg_id": "t2", "type": "text", "body": map[string]any{"text": "hi", "colour": "red"}})
	c.refused(http.StatusBadRequest, "bad_request", "alice", "POST", "/conversations/"+id+"/messages",
		map[string]any{"client_msg_id": "t3", "type": "text", "body": map[string]string{"text": "hi"}, "conversation_id": id})
	if s := c.summary("alice", id); s.LastSeq != last {
		t.Fatalf("last_seq %d after refused sends, want %d", s.LastSeq, last)
	}
	if got := c.entries("alice", id, ""); len(got) != 1 {
		t.Fatalf("entries %v, want only the creation", got)
	}

	// Exactly at the limit is fine.
	if ack := c.send("alice", id, "fits", strings.Repeat("x", restMaxText)); ack.Seq != last+1 {
		t.Fatalf("ack %+v, want seq %d", ack, last+1)
	}
}
