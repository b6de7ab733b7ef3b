package livews_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"parley/chat/liveroom"
	"parley/chat/msglog"
	"parley/sfu/live"
	"parley/signaling/livews"
)

var everyone = live.Scope{Kind: live.ScopeInternal, AllMembers: true}

type ack = liveroom.Ack

type joinReply struct {
	Role     string          `json:"role"`
	ViewerID string          `json:"viewer_id"`
	LastSeq  uint64          `json:"last_seq"`
	Likes    uint64          `json:"likes"`
	Viewers  int             `json:"viewers"`
	Muted    bool            `json:"muted"`
	Polls    []liveroom.Poll `json:"polls"`
}

func (c *client) join(liveID string) joinReply {
	c.t.Helper()
	var r joinReply
	c.must("live.joined", "live.join", map[string]any{"live_id": liveID}, &r)
	return r
}

func text(liveID, id, s string) map[string]any {
	return map[string]any{"live_id": liveID, "client_msg_id": id, "text": s}
}

// Comments reach every viewer in the room, resends store nothing, and a
// late viewer pages the same history.
func TestCommentFlowAndHistory(t *testing.T) {
	e := newEnv(t, livews.DefaultConfig(), time.Hour)
	l := e.newLive(everyone)
	host, bob, carol, dave := e.member("alice"), e.member("bob"), e.member("carol"), e.member("dave")
	if r := host.join(l.ID); r.Role != livews.RoleHost {
		t.Fatalf("host joined as %q", r.Role)
	}
	for _, c := range []*client{bob, carol, dave} {
		if r := c.join(l.ID); r.Role != livews.RoleViewer {
			t.Fatalf("viewer joined as %q", r.Role)
		}
	}

	for i := range 4 {
		var a ack
		bob.must("live.ack", "live.comment", text(l.ID, fmt.Sprintf("b%d", i), fmt.Sprintf("comment %d", i)), &a)
		if a.Seq != uint64(i+1) || a.Duplicate {
			t.Fatalf("ack %d = %+v", i, a)
		}
	}
	var again ack
	bob.must("live.ack", "live.comment", text(l.ID, "b0", "resent"), &again)
	if !again.Duplicate || again.Seq != 1 {
		t.Fatalf("resend = %+v", again)
	}
	for _, c := range []*client{host, bob, carol, dave} {
		got := c.atLeast(liveroom.TypeComment, 4)
		for i, m := range got {
			en := decode[msglog.Entry](t, m.Data)
			if en.Seq != uint64(i+1) || en.SenderID != "bob" || en.ConversationID != liveroom.ConversationID(l.ID) {
				t.Fatalf("frame %d = %+v", i, en)
			}
		}
	}

	late := e.member("erin")
	if r := late.join(l.ID); r.LastSeq != 4 {
		t.Fatalf("late join last_seq = %d", r.LastSeq)
	}
	var seqs []uint64
	before := uint64(0)
	for range 10 {
		var page struct{ Entries []msglog.Entry }
		late.must("live.entries", "live.history", map[string]any{"live_id": l.ID, "before_seq": before, "limit": 3}, &page)
		if len(page.Entries) == 0 {
			break
		}
		for _, en := range page.Entries {
			seqs = append(seqs, en.Seq)
		}
		before = page.Entries[len(page.Entries)-1].Seq
	}
	if !slices.Equal(seqs, []uint64{4, 3, 2, 1}) {
		t.Fatalf("history = %v", seqs)
	}
	var pulled struct{ Entries []msglog.Entry }
	late.must("live.entries", "live.pull", map[string]any{"live_id": l.ID, "from_seq": 3}, &pulled)
	if len(pulled.Entries) != 2 || pulled.Entries[0].Seq != 3 {
		t.Fatalf("pull = %+v", pulled.Entries)
	}

	st, err := e.lives.Stats(l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Interactions["comment"] != 4 {
		t.Fatalf("comment interactions = %d, want 4 (the resend is not one)", st.Interactions["comment"])
	}
}

func TestCommentRateLimitPerViewer(t *testing.T) {
	e := newEnv(t, livews.Config{CommentsPerMinute: 1, CommentBurst: 3}, time.Hour)
	l := e.newLive(everyone)
	bob, carol := e.member("bob"), e.member("carol")
	bob.join(l.ID)
	carol.join(l.ID)
	for i := range 3 {
		bob.must("live.ack", "live.comment", text(l.ID, fmt.Sprintf("b%d", i), "hi"), nil)
	}
	if got := bob.call("live.comment", text(l.ID, "b3", "too fast"), nil); got != "error:"+livews.CodeRateLimited {
		t.Fatalf("fourth comment: %s", got)
	}
	if got := bob.call("live.ask", text(l.ID, "q1", "and a question?"), nil); got != "error:"+livews.CodeRateLimited {
		t.Fatalf("question over the same limit: %s", got)
	}
	carol.must("live.ack", "live.comment", text(l.ID, "c0", "my own bucket"), nil)
	if last, _ := e.rooms.LastSeq(l.ID); last != 4 {
		t.Fatalf("stored %d entries, want 4", last)
	}
}

func TestModerationOverTheSocket(t *testing.T) {
	e := newEnv(t, livews.DefaultConfig(), time.Hour)
	l := e.newLive(everyone)
	host, guest, bob, carol := e.member("alice"), e.member("gina"), e.member("bob"), e.member("carol")
	for _, c := range []*client{host, guest, bob, carol} {
		c.join(l.ID)
	}
	if r := guest.join(l.ID); r.Role != livews.RoleGuest {
		t.Fatalf("gina's role = %s", r.Role)
	}
	var spam ack
	bob.must("live.ack", "live.comment", text(l.ID, "s", "buy now"), &spam)

	if got := carol.call("live.delete", map[string]any{"live_id": l.ID, "seq": spam.Seq}, nil); got != "error:"+livews.CodeForbidden {
		t.Fatalf("a viewer deleted: %s", got)
	}
	guest.must("live.ack", "live.delete", map[string]any{"live_id": l.ID, "seq": spam.Seq}, nil)
	del := carol.atLeast(liveroom.TypeDelete, 1)
	if body := decode[liveroom.DeleteBody](t, decode[msglog.Entry](t, del[0].Data).Body); body.Seq != spam.Seq || body.By != "gina" {
		t.Fatalf("delete = %+v", body)
	}
	if ok, _ := e.rooms.IsDeleted(l.ID, spam.Seq); !ok {
		t.Fatal("comment not marked deleted")
	}

	if got := host.call("live.mute", map[string]any{"live_id": l.ID, "client_msg_id": "m0", "viewer_id": "gina", "muted": true}, nil); got != "error:"+livews.CodeForbidden {
		t.Fatalf("muting a guest: %s", got)
	}
	host.must("live.ack", "live.mute", map[string]any{"live_id": l.ID, "client_msg_id": "m1", "viewer_id": "bob", "muted": true}, nil)
	if got := bob.call("live.comment", text(l.ID, "s2", "again"), nil); got != "error:"+livews.CodeMuted {
		t.Fatalf("muted viewer commented: %s", got)
	}
	if r := bob.join(l.ID); !r.Muted {
		t.Fatal("join does not tell bob he is muted")
	}
	carol.must("live.ack", "live.comment", text(l.ID, "c", "still here"), nil)

	// Announcements: the host's only.
	if got := carol.call("live.announce", text(l.ID, "a0", "I am the host"), nil); got != "error:"+livews.CodeForbidden {
		t.Fatalf("a viewer announced: %s", got)
	}
	host.must("live.ack", "live.announce", text(l.ID, "a1", "Q&A in five minutes"), nil)
	ann := carol.atLeast(liveroom.TypeAnnouncement, 1)
	if body := decode[liveroom.CommentBody](t, decode[msglog.Entry](t, ann[0].Data).Body); body.Text != "Q&A in five minutes" {
		t.Fatalf("announcement = %q", body.Text)
	}

	// Questions: viewers ask, the host answers.
	var q ack
	carol.must("live.ack", "live.ask", text(l.ID, "q", "Is it recorded?"), &q)
	if got := carol.call("live.answer", map[string]any{"live_id": l.ID, "client_msg_id": "x", "question_seq": q.Seq, "text": "yes"}, nil); got != "error:"+livews.CodeForbidden {
		t.Fatalf("a viewer answered: %s", got)
	}
	host.must("live.ack", "live.answer", map[string]any{"live_id": l.ID, "client_msg_id": "ans", "question_seq": q.Seq, "text": "Yes"}, nil)
	carol.atLeast(liveroom.TypeAnswer, 1)
	if ok, _ := e.rooms.IsAnswered(l.ID, q.Seq); !ok {
		t.Fatal("question not answered")
	}

	// A guest removed from the live loses moderation at once.
	guests := []string{}
	if _, err := e.lives.Update(l.ID, live.Patch{Guests: &guests}); err != nil {
		t.Fatal(err)
	}
	if got := guest.call("live.announce", text(l.ID, "a2", "still a guest?"), nil); got != "error:"+livews.CodeForbidden {
		t.Fatalf("a removed guest announced: %s", got)
	}
}

// Likes from many viewers arrive as a few tallies with the right total.
func TestLikesArriveAggregated(t *testing.T) {
	e := newEnv(t, livews.DefaultConfig(), 200*time.Millisecond)
	l := e.newLive(everyone)
	watcher := e.member("erin")
	watcher.join(l.ID)
	likers := []*client{e.member("bob"), e.member("carol"), e.member("dave"), e.member("frank")}
	const requests, each = 15, 2
	var wg sync.WaitGroup
	for _, c := range likers {
		c.join(l.ID)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range requests {
				c.must("live.liked", "live.like", map[string]any{"live_id": l.ID, "count": each}, nil)
			}
		}()
	}
	wg.Wait()
	const total = 4 * requests * each
	frames := watcher.waitFor(liveroom.FrameLikes, func(m []msg) bool {
		return len(m) > 0 && decode[liveroom.LikesTally](t, m[len(m)-1].Data).Total == total
	})
	if len(frames) >= 4*requests {
		t.Fatalf("%d likes frames for %d like requests: not aggregated", len(frames), 4*requests)
	}
	var sum uint64
	for _, f := range frames {
		sum += decode[liveroom.LikesTally](t, f.Data).Added
	}
	if sum != total {
		t.Fatalf("tallies add up to %d, want %d", sum, total)
	}
	if got := likers[0].call("live.like", map[string]any{"live_id": l.ID, "count": liveroom.MaxLikesPerRequest + 1}, nil); got != "error:"+livews.CodeInvalid {
		t.Fatalf("oversized like: %s", got)
	}
	st, _ := e.lives.Stats(l.ID)
	if st.Interactions["like"] != total {
		t.Fatalf("like interactions = %d, want %d", st.Interactions["like"], total)
	}
}

func TestOneVotePerViewerOverTheSocket(t *testing.T) {
	e := newEnv(t, livews.DefaultConfig(), time.Hour)
	l := e.newLive(everyone)
	host, bob, carol := e.member("alice"), e.member("bob"), e.member("carol")
	for _, c := range []*client{host, bob, carol} {
		c.join(l.ID)
	}
	poll := map[string]any{"live_id": l.ID, "client_msg_id": "p1", "question": "Ship it?", "options": []string{"yes", "no"}}
	if got := bob.call("live.poll.open", poll, nil); got != "error:"+livews.CodeForbidden {
		t.Fatalf("a viewer opened a poll: %s", got)
	}
	var p liveroom.Poll
	host.must("live.poll", "live.poll.open", poll, &p)
	bob.atLeast(liveroom.TypePoll, 1)
	if r := carol.join(l.ID); len(r.Polls) != 1 || r.Polls[0].ID != p.ID {
		t.Fatalf("join shows polls %+v", r.Polls)
	}

	bob.must("live.voted", "live.vote", map[string]any{"live_id": l.ID, "poll_id": p.ID, "option": 0}, nil)
	if got := bob.call("live.vote", map[string]any{"live_id": l.ID, "poll_id": p.ID, "option": 1}, nil); got != "error:"+livews.CodeAlreadyVoted {
		t.Fatalf("second vote: %s", got)
	}
	carol.must("live.voted", "live.vote", map[string]any{"live_id": l.ID, "poll_id": p.ID, "option": 1}, nil)
	if got := carol.call("live.vote", map[string]any{"live_id": l.ID, "poll_id": p.ID + 50, "option": 1}, nil); got != "error:"+livews.CodeNotFound {
		t.Fatalf("vote in an unknown poll: %s", got)
	}
	e.rooms.Flush()
	tally := decode[liveroom.PollTally](t, bob.atLeast(liveroom.FramePollTally, 1)[0].Data)
	if tally.Votes != 2 || !slices.Equal(tally.Counts, []uint64{1, 1}) {
		t.Fatalf("tally = %+v", tally)
	}

	var closed liveroom.Poll
	host.must("live.poll", "live.poll.close", map[string]any{"live_id": l.ID, "poll_id": p.ID}, &closed)
	if closed.Open || closed.Votes != 2 {
		t.Fatalf("closed = %+v", closed)
	}
	dave := e.member("dave")
	dave.join(l.ID)
	if got := dave.call("live.vote", map[string]any{"live_id": l.ID, "poll_id": p.ID, "option": 0}, nil); got != "error:"+livews.CodePollClosed {
		t.Fatalf("vote after close: %s", got)
	}
	st, _ := e.lives.Stats(l.ID)
	if st.Interactions["vote"] != 2 {
		t.Fatalf("vote interactions = %d, want 2", st.Interactions["vote"])
	}
}

func TestLotteryOverTheSocket(t *testing.T) {
	e := newEnv(t, livews.DefaultConfig(), time.Hour)
	l := e.newLive(everyone)
	host, guest := e.member("alice"), e.member("gina")
	host.join(l.ID)
	guest.join(l.ID)
	host.must("live.ack", "live.comment", text(l.ID, "h", "hosts comment too"), nil)
	guest.must("live.ack", "live.comment", text(l.ID, "g", "so do guests"), nil)
	var commenters []string
	for _, id := range []string{"bob", "carol", "dave"} {
		c := e.member(id)
		c.join(l.ID)
		c.must("live.ack", "live.comment", text(l.ID, "c", "me!"), nil)
		commenters = append(commenters, id)
	}
	for _, id := range []string{"erin", "frank"} { // watch, never comment
		e.member(id).join(l.ID)
	}
	viewer := e.member("erin")
	viewer.join(l.ID)

	req := map[string]any{"live_id": l.ID, "client_msg_id": "d1", "title": "Mug", "count": 10, "condition": "comment"}
	if got := viewer.call("live.lottery.draw", req, nil); got != "error:"+livews.CodeForbidden {
		t.Fatalf("a viewer drew: %s", got)
	}
	var d liveroom.Draw
	host.must("live.lottery", "live.lottery.draw", req, &d)
	if got := slices.Sorted(slices.Values(d.Winners)); !slices.Equal(got, commenters) {
		t.Fatalf("winners %v, want exactly the commenting viewers %v", got, commenters)
	}
	if len(d.Seed) != 2*liveroom.SeedBytes || d.Eligible != 3 {
		t.Fatalf("draw = %+v", d)
	}
	pushed := decode[msglog.Entry](t, viewer.atLeast(liveroom.TypeLottery, 1)[0].Data)
	if body := decode[liveroom.DrawBody](t, pushed.Body); body.Seed != d.Seed || !slices.Equal(body.Winners, d.Winners) {
		t.Fatalf("pushed draw = %+v", body)
	}
	var list struct{ Draws []liveroom.Draw }
	viewer.must("live.draws", "live.lottery.list", map[string]any{"live_id": l.ID}, &list)
	if len(list.Draws) != 1 || list.Draws[0].Seed != d.Seed || !slices.Equal(list.Draws[0].Winners, d.Winners) {
		t.Fatalf("stored draws = %+v", list.Draws)
	}
	if got := host.call("live.lottery.draw", map[string]any{"live_id": l.ID, "client_msg_id": "d2", "count": 1, "condition": "question"}, nil); got != "error:"+livews.CodeNoneEligible {
		t.Fatalf("draw among nobody: %s", got)
	}
}

// Viewer joins and leaves (by live.leave or by closing the socket) feed
// the live's statistics; hosts are not audience.
func TestViewerStatistics(t *testing.T) {
	e := newEnv(t, livews.DefaultConfig(), time.Hour)
	l := e.newLive(everyone)
	host := e.member("alice")
	host.join(l.ID)
	bob, carol, dave := e.member("bob"), e.member("carol"), e.member("dave")
	for _, c := range []*client{bob, carol, dave} {
		c.join(l.ID)
	}
	bob.join(l.ID) // joining twice records once
	bob.must("live.ack", "live.comment", text(l.ID, "1", "hi"), nil)
	carol.must("live.ack", "live.ask", text(l.ID, "2", "why?"), nil)
	dave.must("live.liked", "live.like", map[string]any{"live_id": l.ID, "count": 3}, nil)

	st, err := e.lives.Stats(l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Concurrent != 3 || st.PeakConcurrent != 3 || st.UniqueViewers != 3 {
		t.Fatalf("stats after joins: concurrent %d, peak %d, unique %d", st.Concurrent, st.PeakConcurrent, st.UniqueViewers)
	}
	if st.Interactions["comment"] != 1 || st.Interactions["question"] != 1 || st.Interactions["like"] != 3 {
		t.Fatalf("interactions = %v", st.Interactions)
	}
	for _, v := range st.Viewers {
		if v.ID == "bob" && (v.Name != "Bob" || v.MemberID != "bob") {
			t.Fatalf("bob's record = %+v", v.Viewer)
		}
	}

	bob.must("live.left", "live.leave", map[string]any{"live_id": l.ID}, nil)
	if got := bob.call("live.comment", text(l.ID, "3", "gone"), nil); got != "error:"+livews.CodeNotJoined {
		t.Fatalf("comment after leaving: %s", got)
	}
	carol.conn.CloseNow()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err = e.lives.Stats(l.ID)
		if err != nil {
			t.Fatal(err)
		}
		// The viewer count and the viewer's record close one after the
		// other: wait for both.
		if (st.Concurrent == 1 && st.OpenRecords == 1) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st.Concurrent != 1 || st.PeakConcurrent != 3 || st.UniqueViewers != 3 || st.OpenRecords != 1 {
		t.Fatalf("stats after leaves: concurrent %d, peak %d, unique %d, open %d", st.Concurrent, st.PeakConcurrent, st.UniqueViewers, st.OpenRecords)
	}
	if e.rooms.LocalViewers(l.ID) != 1 { // dave; alice hosts and is not counted
		t.Fatalf("room holds %d viewers, want 1", e.rooms.LocalViewers(l.ID))
	}

	// After the live ends, viewers can read but not interact.
	if _, err := e.lives.MarkEnded(l.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := dave.call("live.comment", text(l.ID, "4", "late"), nil); got != "error:"+livews.CodeEnded {
		t.Fatalf("comment after the end: %s", got)
	}
	dave.must("live.entries", "live.history", map[string]any{"live_id": l.ID}, nil)
}

// live.joined tells a viewer token what it cannot read from the REST
// API: the title, description and host's name.
func TestJoinedDescribesLive(t *testing.T) {
	e := newEnv(t, livews.DefaultConfig(), time.Hour)
	l, _, err := e.lives.Create(live.NewLive{Title: "Launch day", Description: "What ships in April", HostID: "alice", Scope: live.Scope{Kind: live.ScopeExternal}})
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := e.viewerToken(l.ID, "Visitor Wang")
	v := e.dial(livews.ViewerPath, tok)
	var r struct {
		Title       string      `json:"title"`
		Description string      `json:"description"`
		HostID      string      `json:"host_id"`
		HostName    string      `json:"host_name"`
		Status      live.Status `json:"status"`
	}
	v.must("live.joined", "live.join", map[string]any{"live_id": l.ID}, &r)
	if r.Title != "Launch day" || r.Description != "What ships in April" || r.HostID != "alice" || r.HostName != "Alice" || r.Status != live.StatusScheduled {
		t.Fatalf("joined = %+v", r)
	}
}

// Entries carry their sender's display name at posting: a viewer token's
// name, a member's directory name; history keeps it.
func TestSenderNames(t *testing.T) {
	e := newEnv(t, livews.DefaultConfig(), time.Hour)
	l := e.newLive(live.Scope{Kind: live.ScopeExternal})
	host := e.member("alice")
	host.join(l.ID)
	tok, guestID := e.viewerToken(l.ID, "Visitor Wang")
	v := e.dial(livews.ViewerPath, tok)
	v.join(l.ID)

	v.must("live.ack", "live.comment", text(l.ID, "v1", "hello"), nil)
	var q ack
	v.must("live.ack", "live.ask", text(l.ID, "v2", "price?"), &q)
	host.must("live.ack", "live.announce", text(l.ID, "h1", "welcome"), nil)
	host.must("live.ack", "live.answer", map[string]any{"live_id": l.ID, "client_msg_id": "h2", "question_seq": q.Seq, "text": "free"}, nil)
	// A client cannot set its own name.
	spoof := text(l.ID, "v3", "hi again")
	spoof["sender_name"] = "Alice"
	v.must("live.ack", "live.comment", spoof, nil)

	pushed := decode[msglog.Entry](t, host.atLeast(liveroom.TypeComment, 1)[0].Data)
	if b := decode[liveroom.CommentBody](t, pushed.Body); pushed.SenderID != guestID || b.SenderName != "Visitor Wang" {
		t.Fatalf("pushed comment from %s named %q", pushed.SenderID, b.SenderName)
	}
	var page struct {
		Entries []msglog.Entry `json:"entries"`
	}
	v.must("live.entries", "live.pull", map[string]any{"live_id": l.ID, "from_seq": 1}, &page)
	want := []string{"Visitor Wang", "Visitor Wang", "Alice", "Alice", "Visitor Wang"}
	if len(page.Entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(page.Entries), len(want))
	}
	for i, en := range page.Entries {
		var body struct {
			SenderName string `json:"sender_name"`
		}
		if err := json.Unmarshal(en.Body, &body); err != nil || body.SenderName != want[i] {
			t.Fatalf("entry %d (%s) sender_name %q, want %q (%v)", en.Seq, en.Type, body.SenderName, want[i], err)
		}
	}
}

// The viewer count leaves out the host's and guests' sockets.
func TestViewerCountExcludesPresenters(t *testing.T) {
	e := newEnv(t, livews.DefaultConfig(), time.Hour)
	l := e.newLive(everyone)
	host, guest := e.member("alice"), e.member("gina")
	if r := host.join(l.ID); r.Viewers != 0 {
		t.Fatalf("host's join reports %d viewers, want 0", r.Viewers)
	}
	if r := guest.join(l.ID); r.Viewers != 0 {
		t.Fatalf("guest's join reports %d viewers, want 0", r.Viewers)
	}
	bob := e.member("bob")
	if r := bob.join(l.ID); r.Viewers != 1 {
		t.Fatalf("bob's join reports %d viewers, want 1", r.Viewers)
	}
	e.rooms.Flush()
	got := host.atLeast(liveroom.FrameViewers, 1)
	if c := decode[liveroom.ViewerCount](t, got[len(got)-1].Data); c.Count != 1 {
		t.Fatalf("live.viewers count = %d, want 1 (bob)", c.Count)
	}
}
