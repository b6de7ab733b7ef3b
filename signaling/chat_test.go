package signaling

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/chat/directory"
	"parley/chat/messaging"
	"parley/chat/msglog"
)

// chatFixture: a server and members alice, bob, carol (in group "Team",
// owned by alice) and dave (in no conversation).
type chatFixture struct {
	srv    *testServer
	tokens map[string]string
	group  string
}

func newChatFixture(t *testing.T) *chatFixture {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	cfg.Chat.SendPerSecond, cfg.Chat.SendBurst = 100000, 100000
	srv := startServer(t, cfg)
	f := &chatFixture{srv: srv, tokens: map[string]string{}}
	for _, id := range []string{"alice", "bob", "carol", "dave"} {
		if _, err := srv.Directory().CreateMember(sys, directory.Member{ID: id, Name: id, Departments: []string{"1"}}); err != nil {
			t.Fatal(err)
		}
		tok, err := srv.Auth().IssueAccess(id, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[id] = tok.AccessToken
	}
	conv, err := srv.Chat().CreateGroup(context.Background(), "alice", messaging.GroupSpec{Name: "Team", Members: []string{"bob", "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	f.group = conv.ID
	return f
}

func (f *chatFixture) device(t *testing.T, member string) *wsClient {
	return newWSClient(t, f.srv.URL, f.tokens[member])
}

func textSend(conv, clientID, text string) map[string]any {
	return map[string]any{"conversation_id": conv, "client_msg_id": clientID, "type": "text", "body": map[string]string{"text": text}}
}

func entryOf(t *testing.T, m wsMsg) msglog.Entry {
	t.Helper()
	var e msglog.Entry
	if err := json.Unmarshal(m.Data, &e); err != nil {
		t.Fatalf("entry %s: %v", m.Data, err)
	}
	return e
}

// TestChatSendReachesEveryDeviceOnce: a send is acked with its seq, every
// device of every member gets it once (the sender's other device too), and
// a resend of the same client_msg_id is acked again without a second copy.
func TestChatSendReachesEveryDeviceOnce(t *testing.T) {
	f := newChatFixture(t)
	phone, laptop := f.device(t, "alice"), f.device(t, "alice")
	bob, carol, dave := f.device(t, "bob"), f.device(t, "carol"), f.device(t, "dave")

	var ack messaging.Ack
	if typ := phone.call("chat.send", textSend(f.group, "c-1", "你好, team"), &ack); typ != "chat.ack" {
		t.Fatalf("send answered %s", typ)
	}
	// seq 1 is the group's "created" entry.
	if ack.Seq != 2 || ack.Duplicate || ack.ClientMsgID != "c-1" {
		t.Fatalf("ack %+v", ack)
	}
	for name, d := range map[string]*wsClient{"phone": phone, "laptop": laptop, "bob": bob, "carol": carol} {
		got := d.waitPushed("chat.message", 1, 5*time.Second)
		e := entryOf(t, got[0])
		if e.Seq != 2 || e.SenderID != "alice" || string(e.Body) != `{"text":"你好, team"}` {
			t.Fatalf("%s got %+v", name, e)
		}
	}
	var again messaging.Ack
	phone.call("chat.send", textSend(f.group, "c-1", "你好, team"), &again)
	if again.Seq != 2 || !again.Duplicate {
		t.Fatalf("resend ack %+v", again)
	}
	// A later message proves the queues moved on; nothing else arrived.
	phone.call("chat.send", textSend(f.group, "c-2", "second"), &ack)
	for name, d := range map[string]*wsClient{"phone": phone, "laptop": laptop, "bob": bob, "carol": carol} {
		got := d.waitPushed("chat.message", 2, 5*time.Second)
		time.Sleep(20 * time.Millisecond)
		if got = d.pushedNow("chat.message"); len(got) != 2 || entryOf(t, got[1]).Seq != 3 {
			t.Fatalf("%s got %d messages after a resend, want exactly 2", name, len(got))
		}
	}
	if got := dave.pushedNow("chat.message"); len(got) != 0 {
		t.Fatalf("a non-member received %d messages", len(got))
	}
}

// TestChatResyncAfterOffline: a member offline during 1,000 group messages
// gets all of them, once each and in order, when it syncs on reconnect.
func TestChatResyncAfterOffline(t *testing.T) {
	f := newChatFixture(t)
	carol := f.device(t, "carol")
	var done struct{ Conversations []messaging.Summary }
	carol.call("chat.sync", map[string]any{}, &done)
	var cursor uint64
	for _, s := range done.Conversations {
		if s.Conversation.ID == f.group {
			cursor = s.LastSeq
		}
	}
	if cursor != 1 {
		t.Fatalf("cursor before going offline: %d", cursor)
	}
	carol.conn.CloseNow()

	const n = 1000
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sender := []string{"alice", "bob"}[w%2]
			for i := w; i < n; i += 4 {
				if _, err := f.srv.Chat().Send(context.Background(), sender, messaging.SendRequest{
					ConversationID: f.group, ClientMsgID: fmt.Sprintf("m-%d", i), Type: "text",
					Body: json.RawMessage(fmt.Sprintf(`{"text":"message %d"}`, i)),
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()

	carol = f.device(t, "carol")
	replies := carol.request("chat.sync", map[string]any{"cursors": map[string]uint64{f.group: cursor}})
	seen := map[uint64]bool{}
	next := cursor + 1
	clientIDs := map[string]bool{}
	for _, r := range replies[:len(replies)-1] {
		var page messaging.SyncPage
		json.Unmarshal(r.Data, &page)
		for _, e := range page.Entries {
			if e.Seq != next || seen[e.Seq] {
				t.Fatalf("entry %d out of order or repeated (expected %d)", e.Seq, next)
			}
			seen[e.Seq] = true
			clientIDs[e.ClientMsgID] = true
			next++
		}
	}
	if len(seen) != n || len(clientIDs) != n {
		t.Fatalf("sync delivered %d entries (%d distinct messages), want %d", len(seen), len(clientIDs), n)
	}
	json.Unmarshal(replies[len(replies)-1].Data, &done)
	for _, s := range done.Conversations {
		// Unread counts the n messages, not the group's created entry.
		if s.Conversation.ID == f.group && (s.LastSeq != n+1 || s.HasMore || s.Unread != n) {
			t.Fatalf("summary after sync: %+v", s)
		}
	}
}

// TestChatReceipts: in a group of three the sender sees read 0/2, then 1/2
// with the right reader, then 2/2, and the sender's second device is told
// live.
func TestChatReceipts(t *testing.T) {
	f := newChatFixture(t)
	alice, aliceLaptop := f.device(t, "alice"), f.device(t, "alice")
	bob, carol := f.device(t, "bob"), f.device(t, "carol")
	var ack messaging.Ack
	alice.call("chat.send", textSend(f.group, "q-1", "lunch?"), &ack)

	receipt := func() messaging.Receipt {
		var r messaging.Receipt
		if typ := alice.call("chat.receipts", map[string]any{"conversation_id": f.group, "seq": ack.Seq}, &r); typ != "chat.receipts" {
			t.Fatalf("receipts answered %s", typ)
		}
		return r
	}
	if r := receipt(); r.ReadCount != 0 || r.UnreadCount != 2 {
		t.Fatalf("before anyone read: %+v", r)
	}

	bob.call("chat.read", map[string]any{"conversation_id": f.group, "seq": ack.Seq}, nil)
	live := aliceLaptop.waitPushed("chat.receipt", 1, 5*time.Second)
	var upd messaging.ReceiptUpdate
	json.Unmarshal(live[len(live)-1].Data, &upd)
	if upd.ConversationID != f.group || len(upd.Counts) != 1 || upd.Counts[0].Seq != ack.Seq || upd.Counts[0].ReadCount != 1 || upd.Counts[0].UnreadCount != 1 {
		t.Fatalf("live receipt %s", live[len(live)-1].Data)
	}
	if r := receipt(); r.ReadCount != 1 || len(r.Readers) != 1 || r.Readers[0] != "bob" || len(r.Unreaders) != 1 || r.Unreaders[0] != "carol" {
		t.Fatalf("after bob read: %+v", r)
	}

	carol.call("chat.read", map[string]any{"conversation_id": f.group, "seq": ack.Seq}, nil)
	aliceLaptop.waitPushed("chat.receipt", 2, 5*time.Second)
	if r := receipt(); r.ReadCount != 2 || r.UnreadCount != 0 {
		t.Fatalf("after both read: %+v", r)
	}
	// Only the sender sees who read.
	var e struct{ Code string }
	if typ := bob.call("chat.receipts", map[string]any{"conversation_id": f.group, "seq": ack.Seq}, &e); typ != "error" || e.Code != "forbidden" {
		t.Fatalf("receipts by a non-sender: %s %+v", typ, e)
	}
}

// TestChatNonMemberIsRefused: someone outside a conversation can neither
// send to it, read it, nor see its receipts.
func TestChatNonMemberIsRefused(t *testing.T) {
	f := newChatFixture(t)
	alice := f.device(t, "alice")
	var ack messaging.Ack
	alice.call("chat.send", textSend(f.group, "s-1", "secret plan"), &ack)

	dave := f.device(t, "dave")
	for _, req := range []struct {
		typ  string
		data any
	}{
		{"chat.send", textSend(f.group, "x-1", "let me in")},
		{"chat.pull", map[string]any{"conversation_id": f.group, "from_seq": 1}},
		{"chat.history", map[string]any{"conversation_id": f.group}},
		{"chat.receipts", map[string]any{"conversation_id": f.group, "seq": ack.Seq}},
		{"chat.read", map[string]any{"conversation_id": f.group, "seq": ack.Seq}},
		{"chat.typing", map[string]any{"conversation_id": f.group}},
		{"chat.send", textSend("g_doesnotexist", "x-2", "hello?")},
	} {
		var e struct{ Code, Message string }
		if typ := dave.call(req.typ, req.data, &e); typ != "error" || e.Code != "not_member" {
			t.Errorf("%s by a non-member: %s %+v", req.typ, typ, e)
		}
	}
	var sync struct{ Conversations []messaging.Summary }
	dave.call("chat.sync", map[string]any{"cursors": map[string]uint64{f.group: 0}}, &sync)
	if len(sync.Conversations) != 0 || len(dave.pushedNow("chat.sync.page")) != 0 {
		t.Fatalf("a non-member's sync returned %d conversations", len(sync.Conversations))
	}
	if last, _ := f.srv.Chat().Summary(f.group, "alice"); last.LastSeq != ack.Seq {
		t.Fatalf("a refused send was stored: last seq %d", last.LastSeq)
	}
}

// TestChatSendLimits: bad input gets a clear error and stores nothing.
func TestChatSendLimits(t *testing.T) {
	f := newChatFixture(t)
	alice := f.device(t, "alice")
	big := make([]byte, 16<<10+1)
	for i := range big {
		big[i] = 'x'
	}
	for _, c := range []struct {
		data any
		code string
	}{
		{textSend(f.group, "l-1", string(big)), "too_large"},
		{textSend(f.group, "l-2", ""), "invalid_argument"},
		{map[string]any{"conversation_id": f.group, "client_msg_id": "l-3", "type": "sticker", "body": map[string]string{}}, "invalid_argument"},
		{map[string]any{"conversation_id": f.group, "type": "text", "body": map[string]string{"text": "no id"}}, "invalid_argument"},
		{map[string]any{"conversation_id": f.group, "client_msg_id": "l-4", "type": "text", "body": map[string]any{"text": "x", "color": "red"}}, "invalid_argument"},
	} {
		var e struct{ Code string }
		if typ := alice.call("chat.send", c.data, &e); typ != "error" || e.Code != c.code {
			t.Errorf("send %v: %s %+v, want %s", c.data, typ, e, c.code)
		}
	}
	if s, _ := f.srv.Chat().Summary(f.group, "alice"); s.LastSeq != 1 {
		t.Fatalf("refused sends were stored: last seq %d", s.LastSeq)
	}
}

// TestChatSendRateLimit: a member over the send rate is refused with
// rate_limited and nothing is stored for the refused send.
func TestChatSendRateLimit(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	cfg.Chat.SendPerSecond, cfg.Chat.SendBurst = 1, 3
	srv := startServer(t, cfg)
	if _, err := srv.Directory().CreateMember(sys, directory.Member{ID: "bob", Name: "bob", Departments: []string{"1"}}); err != nil {
		t.Fatal(err)
	}
	conv, err := srv.Chat().CreateDirect(context.Background(), "admin", "bob")
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := srv.Auth().IssueAccess("admin", time.Hour)
	c := newWSClient(t, srv.URL, tok.AccessToken)
	codes := []string{}
	for i := 0; i < 4; i++ {
		var e struct{ Code string }
		typ := c.call("chat.send", textSend(conv.ID, fmt.Sprintf("r-%d", i), "hi"), &e)
		codes = append(codes, typ+"/"+e.Code)
	}
	if want := "chat.ack/ chat.ack/ chat.ack/ error/rate_limited"; fmt.Sprint(codes) != "["+want+"]" {
		t.Fatalf("answers %v, want [%s]", codes, want)
	}
	if s, _ := srv.Chat().Summary(conv.ID, "admin"); s.LastSeq != 4 { // "created" + 3 sends
		t.Fatalf("last seq %d, want 4", s.LastSeq)
	}
}

// TestDisabledMemberLeavesGroups: disabling a member removes them from
// every group, with a system entry the others see.
func TestDisabledMemberLeavesGroups(t *testing.T) {
	f := newChatFixture(t)
	alice := f.device(t, "alice")
	admin := login(t, f.srv.URL, "admin", testAdminPassword).AccessToken
	if status, raw := call(t, "POST", f.srv.URL+"/api/v1/members/bob/disable", admin, nil, nil); status != 200 {
		t.Fatalf("disable: %d %s", status, raw)
	}
	got := alice.waitPushed("chat.message", 1, 5*time.Second)
	e := entryOf(t, got[0])
	var body messaging.SystemBody
	json.Unmarshal(e.Body, &body)
	if e.Type != "system" || body.Event != "removed" || len(body.Members) != 1 || body.Members[0] != "bob" || body.Actor != messaging.SystemActor {
		t.Fatalf("system entry %s %s", e.Type, e.Body)
	}
	if _, err := f.srv.Chat().Summary(f.group, "bob"); err == nil {
		t.Fatal("disabled member is still in the group")
	}
}

// TestChatDeliveryReceipts: when a device reports what reached it, the
// sender's devices hear the delivery count live, and the receipt query
// includes it.
func TestChatDeliveryReceipts(t *testing.T) {
	f := newChatFixture(t)
	alice, bob := f.device(t, "alice"), f.device(t, "bob")
	var ack messaging.Ack
	alice.call("chat.send", textSend(f.group, "d-1", "did it arrive?"), &ack)
	bob.waitPushed("chat.message", 1, 5*time.Second)
	var cur struct {
		DeliveredSeq uint64 `json:"delivered_seq"`
		ReadSeq      uint64 `json:"read_seq"`
	}
	if typ := bob.call("chat.delivered", map[string]any{"conversation_id": f.group, "seq": ack.Seq}, &cur); typ != "chat.cursors" || cur.DeliveredSeq != ack.Seq || cur.ReadSeq >= ack.Seq {
		t.Fatalf("chat.delivered answered %s %+v", typ, cur)
	}
	live := alice.waitPushed("chat.receipt", 1, 5*time.Second)
	var upd messaging.ReceiptUpdate
	json.Unmarshal(live[0].Data, &upd)
	if len(upd.Counts) != 1 || upd.Counts[0].Seq != ack.Seq || upd.Counts[0].DeliveredCount != 1 || upd.Counts[0].ReadCount != 0 {
		t.Fatalf("live delivery receipt %s", live[0].Data)
	}
	var r messaging.Receipt
	alice.call("chat.receipts", map[string]any{"conversation_id": f.group, "seq": ack.Seq}, &r)
	if r.DeliveredCount != 1 || r.ReadCount != 0 || r.UnreadCount != 2 {
		t.Fatalf("receipt %+v", r)
	}
}

// TestChatSlowConsumerIsCutOff: a device that stops reading fills only its
// own bounded queue; the server closes it with 4008, and every other device
// still gets every message, in order. (How much a slow device costs the
// others' latency is measured by the load generator, not asserted here.)
func TestChatSlowConsumerIsCutOff(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	// Room for a reader that the scheduler of a busy machine leaves
	// behind for a moment; the stalled device overflows it either way.
	cfg.Limits.WSSendQueue = 256
	srv := startServer(t, cfg)
	ctx := context.Background()
	ids := []string{"s0", "s1", "s2", "s3", "slow"}
	tokens := map[string]string{}
	for _, id := range ids {
		if _, err := srv.Directory().CreateMember(sys, directory.Member{ID: id, Name: id, Departments: []string{"1"}}); err != nil {
			t.Fatal(err)
		}
		tok, _ := srv.Auth().IssueAccess(id, time.Hour)
		tokens[id] = tok.AccessToken
	}
	g, err := srv.Chat().CreateGroup(ctx, "s0", messaging.GroupSpec{Name: "firehose", Members: ids[1:]})
	if err != nil {
		t.Fatal(err)
	}
	readers := map[string]*wsClient{}
	for _, id := range ids[:4] {
		readers[id] = newWSClient(t, srv.URL, tokens[id])
	}
	slow := dialWS(t, srv.URL, tokens["slow"]) // never reads
	_ = slow

	// 16 MiB of messages: more than the kernel buffers a stalled socket.
	const n = 2000
	text := strings.Repeat("x", 8<<10)
	for i := 0; i < n; i++ {
		if _, err := srv.Chat().Send(ctx, ids[i%4], messaging.SendRequest{
			ConversationID: g.ID, ClientMsgID: fmt.Sprintf("f-%d", i), Type: "text",
			Body: json.RawMessage(`{"text":"` + text + `"}`),
		}); err != nil {
			t.Fatal(err)
		}
	}
	for id, c := range readers {
		got := c.waitPushed("chat.message", n, 30*time.Second)
		for i, m := range got {
			if e := entryOf(t, m); e.Seq != uint64(i+2) {
				t.Fatalf("%s: message %d has seq %d", id, i, e.Seq)
			}
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(srv.Hub().MemberSessions("slow")) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stalled device is still connected")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := srv.Hub().Count(); n != 4 {
		t.Fatalf("%d sessions left, want the 4 readers", n)
	}
}

// TestChatDeliveryKeepsOrder: with many members sending into one group at
// once, every device receives the conversation's messages in seq order,
// with no gaps.
func TestChatDeliveryKeepsOrder(t *testing.T) {
	f := newChatFixture(t)
	dave := f.device(t, "carol")
	senders := []string{"alice", "bob"}
	const perWorker = 100
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perWorker; i++ {
				if _, err := f.srv.Chat().Send(context.Background(), senders[w%2], messaging.SendRequest{
					ConversationID: f.group, ClientMsgID: fmt.Sprintf("o-%d-%d", w, i), Type: "text",
					Body: json.RawMessage(`{"text":"in order"}`),
				}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := dave.waitPushed("chat.message", 8*perWorker, 10*time.Second)
	for i, m := range got {
		if e := entryOf(t, m); e.Seq != uint64(i+2) {
			t.Fatalf("delivery %d has seq %d, want %d: out of order", i, e.Seq, i+2)
		}
	}
}
