package messaging_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"parley/chat/conversation"
	"parley/chat/messaging"
	"parley/chat/msglog"
	"parley/storage"
)

// An ack means the entry is on disk: it survives closing everything and
// opening the data directory again.
func TestSendAckIsDurable(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	g := h.group(t, "alice", "bob")
	ack := h.send(t, "alice", g.ID, "hello")
	if ack.Seq != 2 || ack.Duplicate || ack.ConversationID != g.ID || ack.CreatedAt.IsZero() {
		t.Fatalf("ack = %+v, want seq 2 (after the created entry), not a duplicate", ack)
	}
	h.stop()

	db, err := storage.Open(h.dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, err := msglog.Open(db, msglog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	e, err := l.Get(g.ID, ack.Seq)
	if err != nil {
		t.Fatalf("acked entry after reopening: %v", err)
	}
	var body messaging.TextBody
	if err := json.Unmarshal(e.Body, &body); err != nil {
		t.Fatal(err)
	}
	if e.SenderID != "alice" || e.ClientMsgID != ack.ClientMsgID || body.Text != "hello" || !e.CreatedAt.Equal(ack.CreatedAt) {
		t.Fatalf("stored entry %+v (body %q) does not match the ack %+v", e, body.Text, ack)
	}
}

// Concurrent senders in two conversations: each conversation's seqs run
// without a gap, and every ack names its own entry.
func TestSendSeqsAreGaplessPerConversation(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	g1 := h.group(t, "alice", "bob", "carol")
	g2 := h.group(t, "bob", "dave")
	const perSender = 8
	type sent struct {
		conv, sender string
		req          messaging.SendRequest
		ack          messaging.Ack
	}
	var (
		mu   sync.Mutex
		all  []sent
		wg   sync.WaitGroup
		errs = make(chan error, 4*perSender)
	)
	for _, s := range []struct{ conv, sender string }{{g1.ID, "alice"}, {g1.ID, "bob"}, {g1.ID, "carol"}, {g2.ID, "dave"}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				req := textReq(s.conv, fmt.Sprintf("%s %d", s.sender, i))
				ack, err := h.svc.Send(context.Background(), s.sender, req)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				all = append(all, sent{s.conv, s.sender, req, ack})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	bySeq := map[string]map[uint64]sent{}
	for _, s := range all {
		if bySeq[s.conv] == nil {
			bySeq[s.conv] = map[uint64]sent{}
		}
		if prev, dup := bySeq[s.conv][s.ack.Seq]; dup {
			t.Fatalf("%s seq %d acked twice: %s and %s", s.conv, s.ack.Seq, prev.req.ClientMsgID, s.req.ClientMsgID)
		}
		bySeq[s.conv][s.ack.Seq] = s
	}
	for conv, n := range map[string]int{g1.ID: 3 * perSender, g2.ID: perSender} {
		es := h.entries(t, conv) // checks 1..LastSeq without a gap
		if len(es) != 1+n {
			t.Fatalf("%s has %d entries, want the created entry and %d messages", conv, len(es), n)
		}
		for _, e := range es[1:] {
			s, ok := bySeq[conv][e.Seq]
			if !ok || s.sender != e.SenderID || s.req.ClientMsgID != e.ClientMsgID {
				t.Fatalf("%s seq %d is %s/%s, acked as %+v", conv, e.Seq, e.SenderID, e.ClientMsgID, s)
			}
		}
	}
}

// A resend (same client_msg_id) returns the original ack and fans out
// nothing.
func TestSendResendIsDuplicate(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	h.online(t, "alice", "bob")
	g := h.group(t, "alice", "bob")
	req := textReq(g.ID, "once")
	first, err := h.svc.Send(context.Background(), "alice", req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.svc.Send(context.Background(), "alice", req)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Seq != first.Seq || !again.CreatedAt.Equal(first.CreatedAt) || first.Duplicate {
		t.Fatalf("first ack %+v, resend ack %+v: want the same seq and time, Duplicate only on the resend", first, again)
	}
	// A resend with a different body is still the same message.
	changed := textReq(g.ID, "changed")
	changed.ClientMsgID = req.ClientMsgID
	third, err := h.svc.Send(context.Background(), "alice", changed)
	if err != nil || !third.Duplicate || third.Seq != first.Seq {
		t.Fatalf("resend with another body: ack %+v, %v; want the original", third, err)
	}
	if last := h.lastSeq(t, g.ID); last != first.Seq {
		t.Fatalf("last seq %d, want %d: a resend stored something", last, first.Seq)
	}
	h.settle(t, g.ID, "alice", "bob")
	for _, m := range []string{"alice", "bob"} {
		if got := seqs(h.messages(t, m, g.ID)); len(got) != 1 || got[0] != first.Seq {
			t.Errorf("%s got chat.message seqs %v, want [%d] once", m, got, first.Seq)
		}
	}
}

// Every online member gets the frame once, the sender included and
// however many sessions they have; offline members and outsiders get
// nothing.
func TestSendFansOutOncePerMember(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	h.online(t, "alice", "alice", "bob", "carol", "erin") // alice has two devices; dave is offline
	g := h.group(t, "alice", "bob", "carol", "dave")
	other := h.group(t, "erin", "frank")
	ack := h.send(t, "alice", g.ID, "hi all")
	h.settle(t, g.ID, "alice", "bob", "carol")
	h.settle(t, other.ID, "erin")
	for _, m := range []string{"alice", "bob", "carol"} {
		got := h.messages(t, m, g.ID)
		if len(got) != 1 {
			t.Fatalf("%s got %d chat.message frames, want 1", m, len(got))
		}
		e := got[0]
		var body messaging.TextBody
		if err := json.Unmarshal(e.Body, &body); err != nil {
			t.Fatal(err)
		}
		if e.Seq != ack.Seq || e.SenderID != "alice" || e.ClientMsgID != ack.ClientMsgID || body.Text != "hi all" {
			t.Errorf("%s got %+v (text %q), want alice's seq %d", m, e, body.Text, ack.Seq)
		}
	}
	if got := h.rec.types("dave"); len(got) != 0 {
		t.Errorf("offline dave got frames %v", got)
	}
	if got := h.messages(t, "erin", g.ID); len(got) != 0 {
		t.Errorf("erin, not a member, got %d frames of the group", len(got))
	}
}

// Refused sends store nothing and fan out nothing.
func TestSendRefusals(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	h.online(t, "alice", "bob")
	g := h.group(t, "alice", "bob")
	max := messaging.DefaultLimits().MaxTextBytes
	tooManyMentions := make([]string, messaging.MaxMentions+1)
	for i := range tooManyMentions {
		tooManyMentions[i] = "bob"
	}
	raw := func(typ, body string) messaging.SendRequest {
		r := textReq(g.ID, "x")
		r.Type, r.Body = typ, json.RawMessage(body)
		return r
	}
	noClientID := textReq(g.ID, "x")
	noClientID.ClientMsgID = ""
	cases := []struct {
		name   string
		sender string
		req    messaging.SendRequest
		want   error
	}{
		{"not a member", "carol", textReq(g.ID, "let me in"), conversation.ErrNotMember},
		{"unknown conversation", "alice", textReq("g_nosuchgroup", "x"), conversation.ErrNotFound},
		{"no client_msg_id", "alice", noClientID, messaging.ErrInvalid},
		{"unknown type", "alice", raw("sticker", `{"text":"x"}`), messaging.ErrInvalid},
		{"forged system entry", "alice", raw(msglog.TypeSystem, `{"event":"dissolved","actor":"alice"}`), messaging.ErrInvalid},
		{"empty text", "alice", textReq(g.ID, ""), messaging.ErrInvalid},
		{"null body", "alice", raw(messaging.TypeText, `null`), messaging.ErrInvalid},
		{"body not JSON", "alice", raw(messaging.TypeText, `{"text":`), messaging.ErrInvalid},
		{"unknown body field", "alice", raw(messaging.TypeText, `{"text":"x","color":"red"}`), messaging.ErrInvalid},
		{"text too long", "alice", textReq(g.ID, strings.Repeat("a", max+1)), messaging.ErrTooLarge},
		{"too many mentions", "alice", bodyReq(g.ID, messaging.TypeText, messaging.TextBody{Text: "x", Mentions: tooManyMentions}), messaging.ErrInvalid},
		{"link without scheme", "alice", bodyReq(g.ID, messaging.TypeLink, messaging.LinkBody{URL: "example.com/page"}), messaging.ErrInvalid},
		{"javascript link", "alice", bodyReq(g.ID, messaging.TypeLink, messaging.LinkBody{URL: "javascript:alert(1)"}), messaging.ErrInvalid},
		{"link without host", "alice", bodyReq(g.ID, messaging.TypeLink, messaging.LinkBody{URL: "https://"}), messaging.ErrInvalid},
		{"ftp link", "alice", bodyReq(g.ID, messaging.TypeLink, messaging.LinkBody{URL: "ftp://example.com/f"}), messaging.ErrInvalid},
		{"bad image url", "alice", bodyReq(g.ID, messaging.TypeLink, messaging.LinkBody{URL: "https://example.com", ImageURL: "data:image/png;base64,AAAA"}), messaging.ErrInvalid},
		{"unknown link field", "alice", raw(messaging.TypeLink, `{"url":"https://example.com","text":"x"}`), messaging.ErrInvalid},
		{"link too large", "alice", bodyReq(g.ID, messaging.TypeLink, messaging.LinkBody{URL: "https://example.com", Description: strings.Repeat("d", max)}), messaging.ErrTooLarge},
	}
	before := h.lastSeq(t, g.ID)
	for _, c := range cases {
		_, err := h.svc.Send(context.Background(), c.sender, c.req)
		wantErr(t, c.name, err, c.want)
		if last := h.lastSeq(t, g.ID); last != before {
			t.Fatalf("%s: last seq moved from %d to %d", c.name, before, last)
		}
	}
	h.settle(t, g.ID, "alice", "bob")
	if got := h.messages(t, "bob", g.ID); len(got) != 0 {
		t.Fatalf("bob got %d chat.message frames from refused sends", len(got))
	}

	// The valid forms of the same messages go through.
	link := messaging.LinkBody{URL: "https://example.com/a?b=c", Title: "A", ImageURL: "http://img.example.com/x.png"}
	if _, err := h.svc.Send(context.Background(), "alice", bodyReq(g.ID, messaging.TypeLink, link)); err != nil {
		t.Fatalf("valid link: %v", err)
	}
	if _, err := h.svc.Send(context.Background(), "alice", textReq(g.ID, strings.Repeat("a", max))); err != nil {
		t.Fatalf("text of exactly MaxTextBytes: %v", err)
	}
}

// What is stored is the body the server understood, re-encoded.
func TestSendStoresCanonicalBody(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	g := h.group(t, "alice", "bob")
	req := textReq(g.ID, "x")
	req.Body = json.RawMessage(`{ "mentions" : [], "text" : "spaced" }`)
	ack, err := h.svc.Send(context.Background(), "alice", req)
	if err != nil {
		t.Fatal(err)
	}
	e, err := h.log.Get(g.ID, ack.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if string(e.Body) != `{"text":"spaced"}` {
		t.Fatalf("stored body %s, want the canonical {\"text\":\"spaced\"}", e.Body)
	}
	// Bodies already canonical are stored as sent; any other spelling of
	// the same body is stored canonical too.
	for _, c := range []struct{ sent, stored string }{
		{`{"text":"<a & b>"}`, `{"text":"<a & b>"}`},
		{`{"text":"\u003c\u4e2d"}`, `{"text":"<中"}`},
		{`{"TEXT":"case"}`, `{"text":"case"}`},
		{`{"reply_to":0,"text":"zero"}`, `{"text":"zero"}`},
		{`{"text":"m","mentions":["bob"]}`, `{"text":"m","mentions":["bob"]}`},
		{`{"mentions":["bob"],"text":"m"}`, `{"text":"m","mentions":["bob"]}`},
	} {
		req := textReq(g.ID, "x")
		req.Body = json.RawMessage(c.sent)
		ack, err := h.svc.Send(context.Background(), "alice", req)
		if err != nil {
			t.Fatalf("send %s: %v", c.sent, err)
		}
		e, err := h.log.Get(g.ID, ack.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if string(e.Body) != c.stored {
			t.Errorf("sent %s, stored %s, want %s", c.sent, e.Body, c.stored)
		}
	}
}

func TestSendMentions(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	g := h.group(t, "alice", "bob", "carol")
	h.group(t, "erin", "alice") // erin exists, but not in g
	if err := h.svc.SetRole(ctx, "alice", g.ID, "bob", conversation.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	mention := func(sender string, ids ...string) error {
		_, err := h.svc.Send(ctx, sender, bodyReq(g.ID, messaging.TypeText, messaging.TextBody{Text: "hey", Mentions: ids}))
		return err
	}
	before := h.lastSeq(t, g.ID)
	wantErr(t, "mention of a non-member", mention("carol", "bob", "erin"), messaging.ErrInvalid)
	wantErr(t, "mention of an unknown id", mention("carol", "mallory"), messaging.ErrInvalid)
	wantErr(t, "@all by a plain member", mention("carol", messaging.MentionAll), conversation.ErrForbidden)
	if last := h.lastSeq(t, g.ID); last != before {
		t.Fatalf("refused mentions stored entries: last seq %d, want %d", last, before)
	}
	for _, ok := range []struct {
		sender   string
		mentions []string
	}{
		{"carol", []string{"bob", "alice"}},
		{"alice", []string{messaging.MentionAll}},
		{"bob", []string{messaging.MentionAll, "carol"}},
	} {
		if err := mention(ok.sender, ok.mentions...); err != nil {
			t.Fatalf("%s mentions %v: %v", ok.sender, ok.mentions, err)
		}
		e, err := h.log.Get(g.ID, h.lastSeq(t, g.ID))
		if err != nil {
			t.Fatal(err)
		}
		var body messaging.TextBody
		if err := json.Unmarshal(e.Body, &body); err != nil {
			t.Fatal(err)
		}
		if strings.Join(body.Mentions, ",") != strings.Join(ok.mentions, ",") {
			t.Fatalf("stored mentions %v, want %v", body.Mentions, ok.mentions)
		}
	}
}

// A member may quote only what they can see: entries from the one that
// added them on.
func TestSendReplyTo(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	g := h.group(t, "alice", "bob")
	early := h.send(t, "alice", g.ID, "before carol")
	if _, err := h.svc.AddMembers(ctx, "alice", g.ID, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	joined := h.lastSeq(t, g.ID)
	late := h.send(t, "alice", g.ID, "after carol")
	reply := func(sender string, to uint64) error {
		_, err := h.svc.Send(ctx, sender, bodyReq(g.ID, messaging.TypeText, messaging.TextBody{Text: "re", ReplyTo: to}))
		return err
	}
	wantErr(t, "carol quotes an entry from before she joined", reply("carol", early.Seq), messaging.ErrInvalid)
	wantErr(t, "reply to an entry that does not exist", reply("carol", late.Seq+10), messaging.ErrInvalid)
	for _, ok := range []struct {
		sender string
		to     uint64
	}{{"carol", late.Seq}, {"carol", joined}, {"bob", early.Seq}} {
		if err := reply(ok.sender, ok.to); err != nil {
			t.Fatalf("%s replies to %d: %v", ok.sender, ok.to, err)
		}
	}
}

// A text within MaxTextBytes must be accepted whatever its characters.
func TestSendTextWithinLimitIsNotTooLarge(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	g := h.group(t, "alice", "bob")
	max := messaging.DefaultLimits().MaxTextBytes
	for _, s := range []string{"<", "&", "a<b>&c"} {
		text := strings.Repeat(s, max/len(s))
		if _, err := h.svc.Send(context.Background(), "alice", textReq(g.ID, text)); err != nil {
			t.Errorf("text of %d bytes of %q: %v", len(text), s, err)
		}
	}
}

// A resend is answered with the original ack even when the sender could
// not send it now: the message is stored, and a client whose first ack was
// lost must not show it as failed while everyone else sees it.
func TestSendResendAfterMuteReturnsOriginal(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	g := h.group(t, "alice", "bob")
	req := textReq(g.ID, "did this arrive?")
	first, err := h.svc.Send(ctx, "bob", req)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.SetMuted(ctx, "alice", g.ID, "bob", true); err != nil {
		t.Fatal(err)
	}
	again, err := h.svc.Send(ctx, "bob", req)
	if err != nil || !again.Duplicate || again.Seq != first.Seq {
		t.Fatalf("resend after mute: %+v, %v; want the original ack (seq %d, duplicate)", again, err, first.Seq)
	}
	if err := h.svc.Dissolve(ctx, "alice", g.ID); err != nil {
		t.Fatal(err)
	}
	again, err = h.svc.Send(ctx, "bob", req)
	if err != nil || !again.Duplicate || again.Seq != first.Seq {
		t.Fatalf("resend after dissolve: %+v, %v; want the original ack (seq %d, duplicate)", again, err, first.Seq)
	}
}

// A body is one JSON value: trailing data is refused like unknown fields.
func TestSendRefusesTrailingData(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	g := h.group(t, "alice", "bob")
	req := textReq(g.ID, "x")
	req.Body = json.RawMessage(`{"text":"x"} {"text":"y"}`)
	_, err := h.svc.Send(context.Background(), "alice", req)
	wantErr(t, "body with trailing data", err, messaging.ErrInvalid)
}
