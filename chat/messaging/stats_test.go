package messaging_test

import (
	"context"
	"strings"
	"testing"

	"parley/chat/conversation"
	"parley/chat/messaging"
	"parley/chat/msglog"
)

// The service counts each stored entry once, by conversation kind and
// type, resends not again, and each refused send by its reason.
func TestStatsCountStoredEntriesAndRefusals(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	ctx := context.Background()
	g := h.group(t, "alice", "bob")
	d, err := h.svc.CreateDirect(ctx, "alice", "carol")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		h.send(t, "alice", g.ID, "hello team")
	}
	req := textReq(d.ID, "hello carol")
	for range 2 { // the second is a resend: acked, not stored again
		if _, err := h.svc.Send(ctx, "alice", req); err != nil {
			t.Fatal(err)
		}
	}

	refused := []struct {
		sender string
		req    messaging.SendRequest
	}{
		{"carol", textReq(g.ID, "let me in")},                                                   // not_member
		{"alice", textReq(g.ID, strings.Repeat("x", messaging.DefaultLimits().MaxTextBytes+1))}, // too_large
		{"alice", bodyReq(g.ID, "poem", map[string]string{"text": "x"})},                        // invalid_argument
		{"alice", textReq(g.ID, "")},                                                            // invalid_argument
	}
	for _, r := range refused {
		if _, err := h.svc.Send(ctx, r.sender, r.req); err == nil {
			t.Fatalf("%s's send %+v was accepted", r.sender, r.req)
		}
	}

	st := h.svc.Stats()
	want := map[messaging.StoredKey]uint64{
		{Kind: string(conversation.KindGroup), Type: msglog.TypeSystem}:   1, // created
		{Kind: string(conversation.KindGroup), Type: messaging.TypeText}:  3,
		{Kind: string(conversation.KindDirect), Type: msglog.TypeSystem}:  1,
		{Kind: string(conversation.KindDirect), Type: messaging.TypeText}: 1,
	}
	if len(st.Stored) != len(messaging.StoredKinds)*len(messaging.StoredTypes) {
		t.Fatalf("%d stored series, want every kind and type", len(st.Stored))
	}
	for k, n := range st.Stored {
		if n != want[k] {
			t.Errorf("stored %+v: %d, want %d", k, n, want[k])
		}
	}
	wantRefused := map[string]uint64{"not_member": 1, "too_large": 1, "invalid_argument": 2}
	if len(st.SendRefusals) != len(messaging.SendRefusalReasons) {
		t.Fatalf("%d refusal series, want every reason", len(st.SendRefusals))
	}
	for reason, n := range st.SendRefusals {
		if n != wantRefused[reason] {
			t.Errorf("refused for %s: %d, want %d", reason, n, wantRefused[reason])
		}
	}
}
