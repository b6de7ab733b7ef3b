package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"parley/chat/messaging"
	"parley/chat/msglog"
)

// wsError is the data of an "error" reply.
type wsError struct{ Code, Message string }

// lastEntry reads the newest entry of convID as member, over REST.
func (f *chatFixture) lastEntry(t *testing.T, member, convID string) msglog.Entry {
	t.Helper()
	var page struct{ Entries []msglog.Entry }
	status, raw := call(t, "GET", f.srv.URL+"/api/v1/conversations/"+convID+"/messages?limit=1", f.tokens[member], nil, &page)
	if status != http.StatusOK || len(page.Entries) != 1 {
		t.Fatalf("newest entry of %s: %d %s", convID, status, raw)
	}
	return page.Entries[0]
}

// TestChatRecallOverWebSocket: the sender recalls with chat.recall; every
// device gets the recall entry; recalling again is a duplicate; a plain
// member cannot recall another's message; a reply may not quote it.
func TestChatRecallOverWebSocket(t *testing.T) {
	f := newChatFixture(t)
	alice, bob, carol := f.device(t, "alice"), f.device(t, "bob"), f.device(t, "carol")
	var sent messaging.Ack
	bob.call("chat.send", textSend(f.group, "b-1", "typo"), &sent)

	var ack messaging.Ack
	if typ := bob.call("chat.recall", map[string]any{"conversation_id": f.group, "seq": sent.Seq}, &ack); typ != "chat.ack" {
		t.Fatalf("chat.recall answered %s", typ)
	}
	if ack.Seq != sent.Seq+1 || ack.Duplicate || ack.ClientMsgID != fmt.Sprintf("recall:%d", sent.Seq) {
		t.Fatalf("recall ack %+v", ack)
	}
	for name, d := range map[string]*wsClient{"alice": alice, "bob": bob, "carol": carol} {
		got := d.waitPushed("chat.message", 2, 5*time.Second)
		e := entryOf(t, got[1])
		if e.Seq != ack.Seq || e.Type != "recall" || string(e.Body) != fmt.Sprintf(`{"seq":%d,"by":"bob"}`, sent.Seq) {
			t.Fatalf("%s got %+v", name, e)
		}
	}
	var again messaging.Ack
	bob.call("chat.recall", map[string]any{"conversation_id": f.group, "seq": sent.Seq}, &again)
	if !again.Duplicate || again.Seq != ack.Seq {
		t.Fatalf("second recall %+v", again)
	}

	var other messaging.Ack
	alice.call("chat.send", textSend(f.group, "a-1", "keep this"), &other)
	var e wsError
	if typ := carol.call("chat.recall", map[string]any{"conversation_id": f.group, "seq": other.Seq}, &e); typ != "error" || e.Code != "forbidden" {
		t.Fatalf("plain member recalls another's message: %s %+v", typ, e)
	}
	reply := map[string]any{"conversation_id": f.group, "client_msg_id": "c-1", "type": "text", "body": map[string]any{"text": "re", "reply_to": sent.Seq}}
	if typ := carol.call("chat.send", reply, &e); typ != "error" || e.Code != "invalid_argument" {
		t.Fatalf("reply to a recalled message: %s %+v", typ, e)
	}
}

// TestChatRecallREST: the route answers the recall's ack, and the chat
// errors map to their statuses.
func TestChatRecallREST(t *testing.T) {
	f := newChatFixture(t)
	ctx := context.Background()
	bobMsg, err := f.srv.Chat().Send(ctx, "bob", messaging.SendRequest{ConversationID: f.group, ClientMsgID: "b-1", Type: "text", Body: json.RawMessage(`{"text":"mine"}`)})
	if err != nil {
		t.Fatal(err)
	}
	aliceMsg, err := f.srv.Chat().Send(ctx, "alice", messaging.SendRequest{ConversationID: f.group, ClientMsgID: "a-1", Type: "text", Body: json.RawMessage(`{"text":"owner's"}`)})
	if err != nil {
		t.Fatal(err)
	}
	path := func(seq uint64) string {
		return fmt.Sprintf("%s/api/v1/conversations/%s/messages/%d/recall", f.srv.URL, f.group, seq)
	}
	var ack messaging.Ack
	if status, raw := call(t, "POST", path(bobMsg.Seq), f.tokens["bob"], nil, &ack); status != http.StatusOK || ack.Seq != aliceMsg.Seq+1 || ack.Duplicate {
		t.Fatalf("recall by the sender: %d %s", status, raw)
	}
	if e := f.lastEntry(t, "carol", f.group); e.Type != "recall" || e.SenderID != "bob" {
		t.Fatalf("newest entry %+v, want bob's recall", e)
	}
	for _, c := range []struct {
		what   string
		member string
		seq    uint64
		status int
		code   string
	}{
		{"another's message by a plain member", "carol", aliceMsg.Seq, http.StatusForbidden, "forbidden"},
		{"not a member", "dave", aliceMsg.Seq, http.StatusNotFound, "not_member"},
		{"not in the log", "alice", 999, http.StatusNotFound, "not_found"},
		{"a system entry", "alice", 1, http.StatusBadRequest, "invalid_argument"},
	} {
		status, raw := call(t, "POST", path(c.seq), f.tokens[c.member], nil, nil)
		if status != c.status || errorCode(raw) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.what, status, raw, c.status, c.code)
		}
	}
	// The owner may recall anyone's message.
	if status, raw := call(t, "POST", path(aliceMsg.Seq), f.tokens["alice"], nil, &ack); status != http.StatusOK || ack.Duplicate {
		t.Fatalf("owner recalls: %d %s", status, raw)
	}
}

// TestChatForwardAndConfidential: chat.send carries the confidential flag
// into the stored body; forwarding it is refused on both routes, while a
// plain message forwards into one "forward" entry.
func TestChatForwardAndConfidential(t *testing.T) {
	f := newChatFixture(t)
	ctx := context.Background()
	other, err := f.srv.Chat().CreateGroup(ctx, "alice", messaging.GroupSpec{Name: "Other", Members: []string{"dave"}})
	if err != nil {
		t.Fatal(err)
	}
	alice := f.device(t, "alice")
	secret := textSend(f.group, "a-secret", "salary list")
	secret["confidential"] = true
	var secretAck, plainAck messaging.Ack
	alice.call("chat.send", secret, &secretAck)
	alice.call("chat.send", textSend(f.group, "a-plain", "lunch?"), &plainAck)
	if e := f.lastEntry(t, "bob", f.group); e.Seq != plainAck.Seq {
		t.Fatalf("newest entry %+v", e)
	}
	var page struct{ Entries []msglog.Entry }
	call(t, "GET", fmt.Sprintf("%s/api/v1/conversations/%s/messages?from_seq=%d&limit=1", f.srv.URL, f.group, secretAck.Seq), f.tokens["bob"], nil, &page)
	if len(page.Entries) != 1 || string(page.Entries[0].Body) != `{"text":"salary list","confidential":true}` {
		t.Fatalf("confidential entry %+v", page.Entries)
	}

	forward := func(member string, seqs []uint64, clientID string, out any) (int, []byte) {
		return call(t, "POST", f.srv.URL+"/api/v1/conversations/"+other.ID+"/forward", f.tokens[member],
			map[string]any{"from_conversation_id": f.group, "seqs": seqs, "client_msg_id": clientID}, out)
	}
	var ack messaging.Ack
	if status, raw := forward("alice", []uint64{plainAck.Seq}, "fw-1", &ack); status != http.StatusOK || ack.ConversationID != other.ID || ack.Duplicate {
		t.Fatalf("forward: %d %s", status, raw)
	}
	e := f.lastEntry(t, "dave", other.ID)
	var body messaging.ForwardBody
	if err := json.Unmarshal(e.Body, &body); err != nil {
		t.Fatal(err)
	}
	if e.Type != "forward" || body.FromConversationID != f.group || len(body.Items) != 1 ||
		body.Items[0].Seq != plainAck.Seq || body.Items[0].SenderID != "alice" || string(body.Items[0].Body) != `{"text":"lunch?"}` {
		t.Fatalf("forward entry %+v body %s", e, e.Body)
	}

	if status, raw := forward("alice", []uint64{secretAck.Seq}, "fw-2", nil); status != http.StatusForbidden || errorCode(raw) != "forbidden" {
		t.Fatalf("forward of a confidential message: %d %s", status, raw)
	}
	if status, raw := forward("dave", []uint64{plainAck.Seq}, "fw-3", nil); status != http.StatusNotFound || errorCode(raw) != "not_member" {
		t.Fatalf("forward from a conversation the caller is not in: %d %s", status, raw)
	}
	var we wsError
	req := map[string]any{"from_conversation_id": f.group, "seqs": []uint64{secretAck.Seq}, "conversation_id": other.ID, "client_msg_id": "fw-4"}
	if typ := alice.call("chat.forward", req, &we); typ != "error" || we.Code != "forbidden" {
		t.Fatalf("chat.forward of a confidential message: %s %+v", typ, we)
	}
	req["seqs"], req["client_msg_id"] = []uint64{plainAck.Seq}, "fw-5"
	var wsAck messaging.Ack
	if typ := alice.call("chat.forward", req, &wsAck); typ != "chat.ack" || wsAck.Seq != ack.Seq+1 {
		t.Fatalf("chat.forward: %s %+v", typ, wsAck)
	}

	if _, err := f.srv.Chat().Recall(ctx, "alice", f.group, plainAck.Seq); err != nil {
		t.Fatal(err)
	}
	if status, raw := forward("alice", []uint64{plainAck.Seq}, "fw-6", nil); status != http.StatusBadRequest || errorCode(raw) != "invalid_argument" {
		t.Fatalf("forward of a recalled message: %d %s", status, raw)
	}
}

// TestChatUrgentSend: in a group only the owner and admins send urgent
// messages; the stored body holds the configured defaults.
func TestChatUrgentSend(t *testing.T) {
	f := newChatFixture(t)
	alice, bob := f.device(t, "alice"), f.device(t, "bob")
	req := textSend(f.group, "u-1", "outage")
	req["urgent"] = map[string]any{}
	var e wsError
	if typ := bob.call("chat.send", req, &e); typ != "error" || e.Code != "forbidden" {
		t.Fatalf("urgent from a plain member: %s %+v", typ, e)
	}
	var ack messaging.Ack
	if typ := alice.call("chat.send", req, &ack); typ != "chat.ack" {
		t.Fatalf("urgent from the owner answered %s", typ)
	}
	if got := f.lastEntry(t, "bob", f.group); got.Seq != ack.Seq || string(got.Body) != `{"text":"outage","urgent":{"interval_minutes":5,"max_repeats":3}}` {
		t.Fatalf("stored urgent message %+v body %s", got, got.Body)
	}
}

// TestRESTSendTakesFlags: the REST send route stores the confidential flag
// like the WebSocket, so a message sent by an integration cannot be
// forwarded either.
func TestRESTSendTakesFlags(t *testing.T) {
	f := newChatFixture(t)
	var ack messaging.Ack
	status, raw := call(t, "POST", f.srv.URL+"/api/v1/conversations/"+f.group+"/messages", f.tokens["alice"],
		`{"client_msg_id":"conf-1","type":"text","body":{"text":"eyes only"},"confidential":true}`, &ack)
	if status != 200 {
		t.Fatalf("send: %d %s", status, raw)
	}
	es, err := f.srv.Chat().Pull("alice", f.group, ack.Seq, 1)
	if err != nil || len(es) != 1 || !strings.Contains(string(es[0].Body), `"confidential":true`) {
		t.Fatalf("stored %v, %v", es, err)
	}
}
