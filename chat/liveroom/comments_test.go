package liveroom_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"parley/chat/liveroom"
	"parley/chat/msglog"
)

var ctx = context.Background()

func comment(t *testing.T, n *node, live, viewer, id, text string) liveroom.Ack {
	t.Helper()
	ack, err := n.svc.Comment(ctx, viewer, liveroom.TextRequest{LiveID: live, ClientMsgID: id, Text: text})
	if err != nil {
		t.Fatalf("comment %s by %s: %v", id, viewer, err)
	}
	return ack
}

// Comments reach every local viewer in seq order, as frames named after
// the entry type, and a late viewer pages the same entries from history.
func TestCommentFanoutAndHistory(t *testing.T) {
	n := startNode(t, liveroom.Config{})
	viewers := []*viewer{n.join(t, "L1", "v1"), n.join(t, "L1", "v2"), n.join(t, "L1", "v3")}
	other := n.join(t, "L2", "v1") // another live's viewer hears nothing of L1

	const count = 25
	for i := range count {
		sender := []string{"v1", "v2"}[i%2]
		ack := comment(t, n, "L1", sender, fmt.Sprintf("c%d", i), fmt.Sprintf("hello <%d> & more", i))
		if ack.Seq != uint64(i+1) || ack.Duplicate || ack.LiveID != "L1" {
			t.Fatalf("ack %d = %+v", i, ack)
		}
	}
	for vi, v := range viewers {
		got := v.wait(t, liveroom.TypeComment, count)
		for i, f := range got {
			e := decode[msglog.Entry](t, f.Data)
			body := decode[liveroom.CommentBody](t, e.Body)
			if e.Seq != uint64(i+1) || e.ConversationID != "live:L1" || body.Text != fmt.Sprintf("hello <%d> & more", i) {
				t.Fatalf("viewer %d frame %d = %+v %q", vi, i, e, body.Text)
			}
		}
	}
	if got := other.ofType(liveroom.TypeComment); len(got) != 0 {
		t.Fatalf("a viewer of L2 got %d comments of L1", len(got))
	}

	// A resend stores nothing and answers with the original ack.
	again := comment(t, n, "L1", "v1", "c0", "different text")
	if !again.Duplicate || again.Seq != 1 {
		t.Fatalf("resend = %+v, want duplicate of seq 1", again)
	}

	// A late viewer pages back through history, newest first, no gaps.
	var seen []uint64
	before := uint64(0)
	for {
		page, err := n.svc.History("L1", before, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, e := range page {
			seen = append(seen, e.Seq)
		}
		before = page[len(page)-1].Seq
	}
	if len(seen) != count || seen[0] != count || seen[count-1] != 1 {
		t.Fatalf("history seqs = %v", seen)
	}
	pulled, err := n.svc.Pull("L1", 20, 100)
	if err != nil || len(pulled) != 6 || pulled[0].Seq != 20 {
		t.Fatalf("pull from 20 = %d entries, %v", len(pulled), err)
	}

	// A viewer who left gets nothing more.
	n.svc.Leave("L1", viewers[2])
	comment(t, n, "L1", "v1", "after-leave", "bye")
	viewers[0].wait(t, liveroom.TypeComment, count+1)
	if got := viewers[2].ofType(liveroom.TypeComment); len(got) != count {
		t.Fatalf("viewer who left has %d comments, want %d", len(got), count)
	}
}

func TestCommentValidation(t *testing.T) {
	n := startNode(t, liveroom.Config{MaxCommentBytes: 20})
	cases := []struct {
		name string
		req  liveroom.TextRequest
		want error
	}{
		{"empty", liveroom.TextRequest{LiveID: "L", ClientMsgID: "a", Text: ""}, liveroom.ErrInvalid},
		{"too long", liveroom.TextRequest{LiveID: "L", ClientMsgID: "a", Text: strings.Repeat("x", 21)}, liveroom.ErrTooLarge},
		{"control", liveroom.TextRequest{LiveID: "L", ClientMsgID: "a", Text: "a\x00b"}, liveroom.ErrInvalid},
		{"no client id", liveroom.TextRequest{LiveID: "L", Text: "hi"}, liveroom.ErrInvalid},
		{"reserved client id", liveroom.TextRequest{LiveID: "L", ClientMsgID: "delete:1", Text: "hi"}, liveroom.ErrInvalid},
		{"slash in live id", liveroom.TextRequest{LiveID: "a/b", ClientMsgID: "a", Text: "hi"}, liveroom.ErrInvalid},
	}
	for _, c := range cases {
		if _, err := n.svc.Comment(ctx, "v1", c.req); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if last, _ := n.svc.LastSeq("L"); last != 0 {
		t.Fatalf("refused comments stored %d entries", last)
	}
	comment(t, n, "L", "v1", "ok", strings.Repeat("x", 20))
}

// A moderator's delete is an entry that marks the comment; the comment
// stays in the log. A muted viewer cannot comment or ask until unmuted.
func TestModeration(t *testing.T) {
	n := startNode(t, liveroom.Config{})
	watcher := n.join(t, "L", "w")
	c := comment(t, n, "L", "bob", "b1", "spam spam")
	ann, err := n.svc.Announce(ctx, "host", liveroom.TextRequest{LiveID: "L", ClientMsgID: "a1", Text: "Welcome!"})
	if err != nil {
		t.Fatal(err)
	}

	del, err := n.svc.Delete(ctx, "L", "host", c.Seq)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := n.svc.IsDeleted("L", c.Seq); !ok {
		t.Fatal("deleted comment is not marked")
	}
	again, err := n.svc.Delete(ctx, "L", "host", c.Seq)
	if err != nil || !again.Duplicate || again.Seq != del.Seq {
		t.Fatalf("second delete = %+v, %v; want a duplicate of seq %d", again, err, del.Seq)
	}
	if _, err := n.svc.Delete(ctx, "L", "host", ann.Seq); !errors.Is(err, liveroom.ErrInvalid) {
		t.Fatalf("deleting an announcement: %v, want ErrInvalid", err)
	}
	if _, err := n.svc.Delete(ctx, "L", "host", 99); !errors.Is(err, liveroom.ErrNotFound) {
		t.Fatalf("deleting seq 99: %v, want ErrNotFound", err)
	}
	orig, err := n.svc.Pull("L", c.Seq, 1)
	if err != nil || len(orig) != 1 || orig[0].Type != liveroom.TypeComment {
		t.Fatalf("the deleted comment left the log: %v %v", orig, err)
	}
	delFrames := watcher.wait(t, liveroom.TypeDelete, 1)
	if body := decode[liveroom.DeleteBody](t, decode[msglog.Entry](t, delFrames[0].Data).Body); body.Seq != c.Seq || body.By != "host" {
		t.Fatalf("delete frame body = %+v", body)
	}
	watcher.wait(t, liveroom.TypeAnnouncement, 1)

	if _, err := n.svc.Mute(ctx, "host", liveroom.MuteRequest{LiveID: "L", ClientMsgID: "m1", ViewerID: "bob", Muted: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.Comment(ctx, "bob", liveroom.TextRequest{LiveID: "L", ClientMsgID: "b2", Text: "more"}); !errors.Is(err, liveroom.ErrMuted) {
		t.Fatalf("muted comment: %v, want ErrMuted", err)
	}
	if _, err := n.svc.Ask(ctx, "bob", liveroom.TextRequest{LiveID: "L", ClientMsgID: "b3", Text: "why?"}); !errors.Is(err, liveroom.ErrMuted) {
		t.Fatalf("muted question: %v, want ErrMuted", err)
	}
	// A resend of a comment stored before the mute still gets its ack.
	if ack, err := n.svc.Comment(ctx, "bob", liveroom.TextRequest{LiveID: "L", ClientMsgID: "b1", Text: "spam spam"}); err != nil || !ack.Duplicate {
		t.Fatalf("resend after mute = %+v, %v", ack, err)
	}
	if muted, _ := n.svc.IsMuted("L", "bob"); !muted {
		t.Fatal("bob is not muted")
	}
	if muted, _ := n.svc.IsMuted("other-live", "bob"); muted {
		t.Fatal("a mute leaked into another live")
	}
	comment(t, n, "L", "carol", "c1", "carol is not muted")
	watcher.wait(t, liveroom.TypeMute, 1)

	if _, err := n.svc.Mute(ctx, "host", liveroom.MuteRequest{LiveID: "L", ClientMsgID: "m2", ViewerID: "bob", Muted: false}); err != nil {
		t.Fatal(err)
	}
	comment(t, n, "L", "bob", "b4", "thanks")
}

func TestQuestionsAndAnswers(t *testing.T) {
	n := startNode(t, liveroom.Config{})
	w := n.join(t, "L", "w")
	q, err := n.svc.Ask(ctx, "v1", liveroom.TextRequest{LiveID: "L", ClientMsgID: "q1", Text: "When is the launch?"})
	if err != nil {
		t.Fatal(err)
	}
	c := comment(t, n, "L", "v2", "c1", "not a question")
	if ok, _ := n.svc.IsAnswered("L", q.Seq); ok {
		t.Fatal("answered before any answer")
	}
	if _, err := n.svc.Answer(ctx, "host", liveroom.AnswerRequest{LiveID: "L", ClientMsgID: "a1", QuestionSeq: c.Seq, Text: "no"}); !errors.Is(err, liveroom.ErrInvalid) {
		t.Fatalf("answering a comment: %v, want ErrInvalid", err)
	}
	if _, err := n.svc.Answer(ctx, "host", liveroom.AnswerRequest{LiveID: "L", ClientMsgID: "a2", QuestionSeq: q.Seq, Text: "Next Monday"}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := n.svc.IsAnswered("L", q.Seq); !ok {
		t.Fatal("question not marked answered")
	}
	// Marking answered without text works too.
	q2, _ := n.svc.Ask(ctx, "v1", liveroom.TextRequest{LiveID: "L", ClientMsgID: "q2", Text: "Price?"})
	if _, err := n.svc.Answer(ctx, "host", liveroom.AnswerRequest{LiveID: "L", ClientMsgID: "a3", QuestionSeq: q2.Seq}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := n.svc.IsAnswered("L", q2.Seq); !ok {
		t.Fatal("question 2 not marked answered")
	}
	w.wait(t, liveroom.TypeQuestion, 2)
	answers := w.wait(t, liveroom.TypeAnswer, 2)
	if body := decode[liveroom.AnswerBody](t, decode[msglog.Entry](t, answers[0].Data).Body); body.QuestionSeq != q.Seq || body.Text != "Next Monday" {
		t.Fatalf("answer body = %+v", body)
	}
}

// The sender's display name is stored in the body of comments,
// questions, announcements and answers, so pushes and history carry it;
// a name over the limit or with control characters is refused.
func TestSenderNameStored(t *testing.T) {
	n := startNode(t, liveroom.Config{})
	w := n.join(t, "L", "w")
	if _, err := n.svc.Comment(ctx, "guest:G1", liveroom.TextRequest{LiveID: "L", ClientMsgID: "c1", Text: "hi", SenderName: "Visitor <Wang>"}); err != nil {
		t.Fatal(err)
	}
	q, err := n.svc.Ask(ctx, "bob", liveroom.TextRequest{LiveID: "L", ClientMsgID: "q1", Text: "when?", SenderName: "Bob"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.Announce(ctx, "alice", liveroom.TextRequest{LiveID: "L", ClientMsgID: "a1", Text: "Welcome", SenderName: "Alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.svc.Answer(ctx, "alice", liveroom.AnswerRequest{LiveID: "L", ClientMsgID: "a2", QuestionSeq: q.Seq, Text: "now", SenderName: "Alice"}); err != nil {
		t.Fatal(err)
	}
	pushed := decode[msglog.Entry](t, w.wait(t, liveroom.TypeComment, 1)[0].Data)
	if b := decode[liveroom.CommentBody](t, pushed.Body); b.SenderName != "Visitor <Wang>" || b.Text != "hi" {
		t.Fatalf("pushed comment body = %+v", b)
	}
	hist, err := n.svc.History("L", 0, 10)
	if err != nil || len(hist) != 4 {
		t.Fatalf("history = %d entries, %v", len(hist), err)
	}
	want := []string{"Alice", "Alice", "Bob", "Visitor <Wang>"} // newest first
	for i, e := range hist {
		var name string
		if e.Type == liveroom.TypeAnswer {
			name = decode[liveroom.AnswerBody](t, e.Body).SenderName
		} else {
			name = decode[liveroom.CommentBody](t, e.Body).SenderName
		}
		if name != want[i] {
			t.Fatalf("history entry %d (%s) sender_name = %q, want %q", i, e.Type, name, want[i])
		}
	}

	long := liveroom.TextRequest{LiveID: "L", ClientMsgID: "c2", Text: "x", SenderName: strings.Repeat("n", liveroom.MaxSenderNameBytes+1)}
	if _, err := n.svc.Comment(ctx, "bob", long); !errors.Is(err, liveroom.ErrTooLarge) {
		t.Fatalf("long sender name: %v", err)
	}
	bad := liveroom.TextRequest{LiveID: "L", ClientMsgID: "c3", Text: "x", SenderName: "Bob\n"}
	if _, err := n.svc.Comment(ctx, "bob", bad); !errors.Is(err, liveroom.ErrInvalid) {
		t.Fatalf("sender name with a line feed: %v", err)
	}
	badAnswer := liveroom.AnswerRequest{LiveID: "L", ClientMsgID: "a3", QuestionSeq: q.Seq, SenderName: "\x00"}
	if _, err := n.svc.Answer(ctx, "alice", badAnswer); !errors.Is(err, liveroom.ErrInvalid) {
		t.Fatalf("answer with a bad sender name: %v", err)
	}
}
