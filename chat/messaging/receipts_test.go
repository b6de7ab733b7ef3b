package messaging_test

import (
	"encoding/json"
	"slices"
	"testing"

	"parley/chat/conversation"
	"parley/chat/messaging"
	"parley/chat/msglog"
)

// readFrame is the data of a chat.read frame.
type readFrame struct {
	ConversationID string `json:"conversation_id"`
	ReadSeq        uint64 `json:"read_seq"`
}

func (h *harness) readFrames(t *testing.T, member string) []readFrame {
	t.Helper()
	var out []readFrame
	for _, raw := range h.rec.frames(member, messaging.FrameRead) {
		var f readFrame
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

// waitReceipt polls until member got a chat.receipt frame for seq of convID
// with the given counts.
func (h *harness) waitReceipt(t *testing.T, member, convID string, seq uint64, read, unread int) {
	t.Helper()
	eventually(t, "receipt update", func() bool {
		for _, raw := range h.rec.frames(member, messaging.FrameReceipt) {
			var u messaging.ReceiptUpdate
			if err := json.Unmarshal(raw, &u); err != nil {
				t.Fatal(err)
			}
			if u.ConversationID != convID {
				continue
			}
			for _, c := range u.Counts {
				if c.Seq == seq && c.ReadCount == read && c.UnreadCount == unread {
					return true
				}
			}
		}
		return false
	})
}

func (h *harness) receipts(t *testing.T, member, convID string, seq uint64) messaging.Receipt {
	t.Helper()
	r, err := h.svc.Receipts(member, convID, seq)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReceipts(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil) // ReceiptInterval 20ms
	h.online(t, "alice", "bob", "carol")
	g := h.group(t, "alice", "bob", "carol")
	msg := h.send(t, "alice", g.ID, "please read")

	r := h.receipts(t, "alice", g.ID, msg.Seq)
	if r.ReadCount != 0 || r.UnreadCount != 2 || len(r.Readers) != 0 || !slices.Equal(r.Unreaders, []string{"bob", "carol"}) {
		t.Fatalf("receipt before anyone read: %+v", r)
	}

	cur, err := h.svc.MarkRead("bob", g.ID, msg.Seq)
	if err != nil || cur.Read != msg.Seq {
		t.Fatalf("bob marks read: %+v, %v", cur, err)
	}
	h.waitReceipt(t, "alice", g.ID, msg.Seq, 1, 1)
	r = h.receipts(t, "alice", g.ID, msg.Seq)
	if r.ReadCount != 1 || r.UnreadCount != 1 || !slices.Equal(r.Readers, []string{"bob"}) || !slices.Equal(r.Unreaders, []string{"carol"}) {
		t.Fatalf("receipt after bob read: %+v", r)
	}
	// bob's devices learn his cursor; nobody else's do.
	h.settle(t, g.ID, "alice", "bob", "carol")
	if got := h.readFrames(t, "bob"); !slices.Equal(got, []readFrame{{g.ID, msg.Seq}}) {
		t.Errorf("bob's chat.read frames %+v, want one at %d", got, msg.Seq)
	}
	for _, m := range []string{"alice", "carol"} {
		if got := h.readFrames(t, m); len(got) != 0 {
			t.Errorf("%s got bob's chat.read frames %+v", m, got)
		}
	}
	// Receipts go to the sender only.
	for _, m := range []string{"bob", "carol"} {
		if got := h.rec.frames(m, messaging.FrameReceipt); len(got) != 0 {
			t.Errorf("%s got receipt frames for alice's message", m)
		}
	}

	if _, err := h.svc.MarkRead("carol", g.ID, msg.Seq); err != nil {
		t.Fatal(err)
	}
	h.waitReceipt(t, "alice", g.ID, msg.Seq, 2, 0)
	r = h.receipts(t, "alice", g.ID, msg.Seq)
	if r.ReadCount != 2 || r.UnreadCount != 0 || !slices.Equal(r.Readers, []string{"bob", "carol"}) || len(r.Unreaders) != 0 {
		t.Fatalf("receipt after everyone read: %+v", r)
	}

	_, err = h.svc.Receipts("bob", g.ID, msg.Seq)
	wantErr(t, "receipts asked by a non-sender", err, conversation.ErrForbidden)
	_, err = h.svc.Receipts("frank", g.ID, msg.Seq)
	wantErr(t, "receipts asked by a non-member", err, conversation.ErrNotMember)
	_, err = h.svc.Receipts("alice", g.ID, msg.Seq+5)
	wantErr(t, "receipts of a missing entry", err, msglog.ErrNotFound)
}

// A member who joined after a message is neither a reader nor an
// unreader of it.
func TestReceiptsIgnoreLaterMembers(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	g := h.group(t, "alice", "bob")
	msg := h.send(t, "alice", g.ID, "before dave")
	if _, err := h.svc.AddMembers(t.Context(), "alice", g.ID, []string{"dave"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.MarkRead("dave", g.ID, h.lastSeq(t, g.ID)); err != nil {
		t.Fatal(err)
	}
	r := h.receipts(t, "alice", g.ID, msg.Seq)
	if r.ReadCount != 0 || r.UnreadCount != 1 || !slices.Equal(r.Unreaders, []string{"bob"}) {
		t.Fatalf("receipt %+v, want bob alone unread", r)
	}
}

// MarkRead caps at the last entry; a lower seq changes nothing and tells
// no device.
func TestMarkReadBounds(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	h.online(t, "alice", "bob")
	g := h.group(t, "alice", "bob")
	fill(t, h, "alice", g.ID, 3) // last 4
	cur, err := h.svc.MarkRead("bob", g.ID, 100)
	if err != nil || cur.Read != 4 || cur.Delivered != 4 {
		t.Fatalf("mark read beyond the end: %+v, %v; want capped at 4", cur, err)
	}
	cur, err = h.svc.MarkRead("bob", g.ID, 2)
	if err != nil || cur.Read != 4 {
		t.Fatalf("mark read backwards: %+v, %v; want still 4", cur, err)
	}
	cur, err = h.svc.MarkDelivered("bob", g.ID, 100)
	if err != nil || cur.Delivered != 4 {
		t.Fatalf("mark delivered beyond the end: %+v, %v; want capped at 4", cur, err)
	}
	h.settle(t, g.ID, "alice", "bob")
	if got := h.readFrames(t, "bob"); !slices.Equal(got, []readFrame{{g.ID, 4}}) {
		t.Fatalf("bob's chat.read frames %+v, want one at 4", got)
	}
	h.waitReceipt(t, "alice", g.ID, 4, 1, 0)

	_, err = h.svc.MarkRead("carol", g.ID, 1)
	wantErr(t, "a non-member marks read", err, conversation.ErrNotMember)
	_, err = h.svc.MarkDelivered("carol", g.ID, 1)
	wantErr(t, "a non-member marks delivered", err, conversation.ErrNotMember)
}

func TestTyping(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	h.online(t, "alice", "bob", "carol", "erin")
	g := h.group(t, "alice", "bob", "carol")
	before := h.lastSeq(t, g.ID)
	if err := h.svc.Typing("bob", g.ID); err != nil {
		t.Fatal(err)
	}
	h.settle(t, g.ID, "alice", "bob", "carol")
	for _, m := range []string{"alice", "carol"} {
		got := h.rec.frames(m, messaging.FrameTyping)
		if len(got) != 1 {
			t.Fatalf("%s got %d chat.typing frames, want 1", m, len(got))
		}
		var data map[string]string
		if err := json.Unmarshal(got[0], &data); err != nil {
			t.Fatal(err)
		}
		if data["conversation_id"] != g.ID || data["member_id"] != "bob" {
			t.Errorf("%s's chat.typing data %v", m, data)
		}
	}
	if got := h.rec.frames("erin", messaging.FrameTyping); len(got) != 0 {
		t.Errorf("erin, not a member, got %d chat.typing frames", len(got))
	}
	if last := h.lastSeq(t, g.ID); last != before {
		t.Fatalf("typing stored an entry: last seq %d, want %d", last, before)
	}
	wantErr(t, "a non-member types", h.svc.Typing("erin", g.ID), conversation.ErrNotMember)
}
