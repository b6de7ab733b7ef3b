package messaging_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"reflect"
	"strings"
	"testing"

	"parley/chat/conversation"
	"parley/chat/files"
	"parley/chat/messaging"
)

func upload(t *testing.T, st *files.Store, convID, owner, name string, content []byte) files.Meta {
	t.Helper()
	m, err := st.Put(convID, owner, name, bytes.NewReader(content))
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	return m
}

// sameJSON reports whether a and b hold the same JSON value. The log
// stores bodies through encoding/json, which may escape '<', '>' and '&',
// so bytes are not compared.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFileMessages: file and image messages store the upload's metadata
// in canonical form, and refuse files that are not the sender's upload to
// this conversation.
func TestFileMessages(t *testing.T) {
	h := startHarness(t, messaging.Limits{}, nil, true)
	st := h.files
	conv := h.group(t, "alice", "bob")
	other := h.group(t, "alice", "carol")
	ctx := context.Background()

	pic := upload(t, st, conv.ID, "alice", "chart.png", testPNG(t, 12, 7))
	doc := upload(t, st, conv.ID, "alice", "notes <draft>.txt", []byte("first & second"))
	elsewhere := upload(t, st, other.ID, "alice", "other.txt", []byte("elsewhere"))
	bobs := upload(t, st, conv.ID, "bob", "bob.txt", []byte("bob's"))

	sent := func(typ string, body any, want string) {
		t.Helper()
		ack, err := h.svc.Send(ctx, "alice", bodyReq(conv.ID, typ, body))
		if err != nil {
			t.Fatalf("send %s: %v", typ, err)
		}
		e, err := h.log.Get(conv.ID, ack.Seq)
		if err != nil {
			t.Fatal(err)
		}
		if e.Type != typ || !sameJSON(t, e.Body, []byte(want)) {
			t.Fatalf("stored %s %s\nwant   %s %s", e.Type, e.Body, typ, want)
		}
	}
	sent(messaging.TypeImage, map[string]string{"file_id": pic.ID, "caption": "Q3 <final>"},
		fmt.Sprintf(`{"file_id":%q,"name":"chart.png","size":%d,"content_type":"image/png","width":12,"height":7,"caption":"Q3 <final>"}`, pic.ID, pic.Size))
	sent(messaging.TypeFile, map[string]string{"file_id": doc.ID},
		fmt.Sprintf(`{"file_id":%q,"name":"notes <draft>.txt","size":14,"content_type":"text/plain; charset=utf-8"}`, doc.ID))
	// An image may go as a plain file; it then carries no dimensions.
	sent(messaging.TypeFile, map[string]string{"file_id": pic.ID},
		fmt.Sprintf(`{"file_id":%q,"name":"chart.png","size":%d,"content_type":"image/png"}`, pic.ID, pic.Size))

	refused := []struct {
		what   string
		sender string
		typ    string
		body   any
		want   error
	}{
		{"image of a text file", "alice", messaging.TypeImage, map[string]string{"file_id": doc.ID}, messaging.ErrInvalid},
		{"file of another conversation", "alice", messaging.TypeFile, map[string]string{"file_id": elsewhere.ID}, messaging.ErrInvalid},
		{"another member's upload", "bob", messaging.TypeFile, map[string]string{"file_id": doc.ID}, messaging.ErrInvalid},
		{"own upload is fine for bob, but not alice's", "alice", messaging.TypeFile, map[string]string{"file_id": bobs.ID}, messaging.ErrInvalid},
		{"unknown file", "alice", messaging.TypeFile, map[string]string{"file_id": "aaaaaaaaaaaaaaaaaaaaaaaaaa"}, messaging.ErrInvalid},
		{"no file id", "alice", messaging.TypeFile, map[string]string{"caption": "hi"}, messaging.ErrInvalid},
		{"unknown field", "alice", messaging.TypeFile, map[string]string{"file_id": doc.ID, "name": "evil.exe"}, messaging.ErrInvalid},
		{"control character in caption", "alice", messaging.TypeFile, map[string]string{"file_id": doc.ID, "caption": "a\x00b"}, messaging.ErrInvalid},
		{"caption over the text limit", "alice", messaging.TypeFile, map[string]string{"file_id": doc.ID, "caption": strings.Repeat("c", testLimits().MaxTextBytes+1)}, messaging.ErrTooLarge},
		{"not a member", "carol", messaging.TypeFile, map[string]string{"file_id": doc.ID}, conversation.ErrNotMember},
	}
	before := h.lastSeq(t, conv.ID)
	for _, c := range refused {
		_, err := h.svc.Send(ctx, c.sender, bodyReq(conv.ID, c.typ, c.body))
		wantErr(t, c.what, err, c.want)
	}
	if got := h.lastSeq(t, conv.ID); got != before {
		t.Fatalf("refused sends stored entries: last seq %d, want %d", got, before)
	}
	if _, err := h.svc.Send(ctx, "bob", bodyReq(conv.ID, messaging.TypeFile, map[string]string{"file_id": bobs.ID})); err != nil {
		t.Fatalf("bob sends his own upload: %v", err)
	}
}

func TestFileMessagesNeedAStore(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	conv := h.group(t, "alice", "bob")
	_, err := h.svc.Send(context.Background(), "alice", bodyReq(conv.ID, messaging.TypeFile, map[string]string{"file_id": "aaaaaaaaaaaaaaaaaaaaaaaaaa"}))
	wantErr(t, "file message without a store", err, messaging.ErrInvalid)
}

func TestCheckCanSendAndMember(t *testing.T) {
	h := newHarness(t, messaging.Limits{}, nil)
	conv := h.group(t, "alice", "bob")
	if err := h.svc.CheckCanSend(conv.ID, "bob"); err != nil {
		t.Fatalf("bob may send: %v", err)
	}
	wantErr(t, "outsider may send", h.svc.CheckCanSend(conv.ID, "carol"), conversation.ErrNotMember)
	wantErr(t, "outsider is member", h.svc.CheckMember(conv.ID, "carol"), conversation.ErrNotMember)
	if err := h.svc.SetMuted(context.Background(), "alice", conv.ID, "bob", true); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "muted bob may send", h.svc.CheckCanSend(conv.ID, "bob"), conversation.ErrForbidden)
	if err := h.svc.CheckMember(conv.ID, "bob"); err != nil {
		t.Fatalf("muted bob is still a member: %v", err)
	}
}
