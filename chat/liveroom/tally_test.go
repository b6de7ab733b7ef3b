package liveroom_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"parley/chat/liveroom"
)

// Many likes from many viewers become one tally per flush with the right
// total, the total survives a restart, and likers become eligible.
func TestLikesAggregated(t *testing.T) {
	n := startNode(t, liveroom.Config{})
	w := n.join(t, "L", "watcher")
	const viewers, perViewer, each = 20, 10, 3
	var wg sync.WaitGroup
	for v := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perViewer {
				if err := n.svc.Like("L", fmt.Sprintf("v%02d", v), each); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	const total = viewers * perViewer * each
	if got := w.ofType(liveroom.FrameLikes); len(got) != 0 {
		t.Fatalf("%d likes frames before any flush", len(got))
	}
	if got, _ := n.svc.Likes("L"); got != total {
		t.Fatalf("Likes before flush = %d, want %d", got, total)
	}
	n.svc.Flush()
	n.svc.Flush() // nothing new: no second frame
	n.svc.Like("L", "v00", 5)
	n.svc.Flush()
	frames := w.wait(t, liveroom.FrameLikes, 2)
	first := decode[liveroom.LikesTally](t, frames[0].Data)
	second := decode[liveroom.LikesTally](t, frames[1].Data)
	if first.Total != total || first.Added != total || second.Total != total+5 || second.Added != 5 {
		t.Fatalf("tallies = %+v, %+v", first, second)
	}
	if err := n.svc.Like("L", "v00", liveroom.MaxLikesPerRequest+1); !errors.Is(err, liveroom.ErrInvalid) {
		t.Fatalf("too many likes at once: %v", err)
	}

	n.restart(t)
	if got, _ := n.svc.Likes("L"); got != total+5 {
		t.Fatalf("Likes after restart = %d, want %d", got, total+5)
	}
	n.svc.Flush()
	if got := len(w.ofType(liveroom.FrameLikes)); got != 2 {
		t.Fatalf("%d likes frames, want 2", got)
	}
}

func TestViewerCountCoalesced(t *testing.T) {
	n := startNode(t, liveroom.Config{})
	w := n.join(t, "L", "w")
	var others []*viewer
	for i := range 100 {
		others = append(others, n.join(t, "L", fmt.Sprintf("v%d", i)))
	}
	n.svc.Leave("L", others[0])
	n.svc.Flush()
	got := w.wait(t, liveroom.FrameViewers, 1)
	if c := decode[liveroom.ViewerCount](t, got[0].Data); c.Count != 100 || c.LiveID != "L" {
		t.Fatalf("viewer count = %+v, want 100", c)
	}
	n.svc.Flush()
	if len(w.ofType(liveroom.FrameViewers)) != 1 {
		t.Fatal("a flush without a change published a count")
	}
	if n.svc.LocalViewers("L") != 100 {
		t.Fatalf("LocalViewers = %d", n.svc.LocalViewers("L"))
	}
}

// Each viewer votes once per poll, also when two votes of one viewer race;
// the tally is right live, at close, and after a restart.
func TestOneVotePerViewer(t *testing.T) {
	n := startNode(t, liveroom.Config{})
	w := n.join(t, "L", "w")
	p, err := n.svc.OpenPoll(ctx, "host", liveroom.OpenPollRequest{LiveID: "L", ClientMsgID: "p1", Question: "Lunch?", Options: []string{"noodles", "rice", "salad"}})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Open || len(p.Counts) != 3 || p.ID == 0 {
		t.Fatalf("opened poll = %+v", p)
	}
	w.wait(t, liveroom.TypePoll, 1)

	const voters = 30
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
		refused  int
	)
	for v := range voters {
		for range 2 { // every viewer tries twice at once
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := n.svc.Vote("L", fmt.Sprintf("v%02d", v), p.ID, v%3)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					accepted++
				case errors.Is(err, liveroom.ErrAlreadyVoted):
					refused++
				default:
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	if accepted != voters || refused != voters {
		t.Fatalf("accepted %d, refused %d; want %d each", accepted, refused, voters)
	}
	// A viewer cannot change their vote either.
	if err := n.svc.Vote("L", "v00", p.ID, 2); !errors.Is(err, liveroom.ErrAlreadyVoted) {
		t.Fatalf("changed vote: %v", err)
	}
	if err := n.svc.Vote("L", "new", p.ID, 3); !errors.Is(err, liveroom.ErrInvalid) {
		t.Fatalf("option 3: %v", err)
	}
	if err := n.svc.Vote("L", "new", p.ID+100, 0); !errors.Is(err, liveroom.ErrNotFound) {
		t.Fatalf("unknown poll: %v", err)
	}

	n.svc.Flush()
	tally := decode[liveroom.PollTally](t, w.wait(t, liveroom.FramePollTally, 1)[0].Data)
	if tally.Votes != voters || fmt.Sprint(tally.Counts) != "[10 10 10]" {
		t.Fatalf("tally = %+v", tally)
	}
	open, err := n.svc.OpenPolls("L")
	if err != nil || len(open) != 1 || open[0].Votes != voters {
		t.Fatalf("open polls = %+v, %v", open, err)
	}

	n.restart(t) // counts are rebuilt from the vote keys
	w = n.join(t, "L", "w")
	if got, _ := n.svc.Poll("L", p.ID); got.Votes != voters || fmt.Sprint(got.Counts) != "[10 10 10]" {
		t.Fatalf("poll after restart = %+v", got)
	}
	if err := n.svc.Vote("L", "v05", p.ID, 0); !errors.Is(err, liveroom.ErrAlreadyVoted) {
		t.Fatalf("vote again after restart: %v", err)
	}
	if err := n.svc.Vote("L", "late", p.ID, 0); err != nil {
		t.Fatal(err)
	}

	closed, err := n.svc.ClosePoll(ctx, "L", "host", p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if closed.Open || closed.Votes != voters+1 || fmt.Sprint(closed.Counts) != "[11 10 10]" || closed.ClosedAt == nil {
		t.Fatalf("closed poll = %+v", closed)
	}
	if err := n.svc.Vote("L", "later", p.ID, 0); !errors.Is(err, liveroom.ErrPollClosed) {
		t.Fatalf("vote after close: %v", err)
	}
	if again, err := n.svc.ClosePoll(ctx, "L", "host", p.ID); err != nil || again.Votes != voters+1 {
		t.Fatalf("close again = %+v, %v", again, err)
	}
	w.wait(t, liveroom.TypePollClosed, 1)
	if last, _ := n.svc.LastSeq("L"); last != p.ID+1 {
		t.Fatalf("closing twice stored more than one close entry: last seq %d", last)
	}
	if open, _ := n.svc.OpenPolls("L"); len(open) != 0 {
		t.Fatalf("open polls after close = %+v", open)
	}
	n.restart(t)
	if got, _ := n.svc.Poll("L", p.ID); got.Open || got.Votes != voters+1 {
		t.Fatalf("closed poll after restart = %+v", got)
	}
}

func TestPollLimits(t *testing.T) {
	n := startNode(t, liveroom.Config{})
	if _, err := n.svc.OpenPoll(ctx, "host", liveroom.OpenPollRequest{LiveID: "L", ClientMsgID: "x", Question: "?", Options: []string{"only one"}}); !errors.Is(err, liveroom.ErrInvalid) {
		t.Fatalf("one option: %v", err)
	}
	var first liveroom.Poll
	for i := range liveroom.MaxOpenPolls {
		p, err := n.svc.OpenPoll(ctx, "host", liveroom.OpenPollRequest{LiveID: "L", ClientMsgID: fmt.Sprintf("p%d", i), Question: "?", Options: []string{"a", "b"}})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = p
		}
	}
	if _, err := n.svc.OpenPoll(ctx, "host", liveroom.OpenPollRequest{LiveID: "L", ClientMsgID: "extra", Question: "?", Options: []string{"a", "b"}}); !errors.Is(err, liveroom.ErrLimit) {
		t.Fatalf("poll over the limit: %v", err)
	}
	// A resend of an open request returns the poll it opened.
	again, err := n.svc.OpenPoll(ctx, "host", liveroom.OpenPollRequest{LiveID: "L", ClientMsgID: "p0", Question: "?", Options: []string{"a", "b"}})
	if err != nil || again.ID != first.ID {
		t.Fatalf("resend = %+v, %v; want poll %d", again, err, first.ID)
	}
}

// Presenters get the room's pushes but are not viewers: the count, its
// frames and LocalViewers leave them out, and they are not "watch"
// participants.
func TestPresentersNotCounted(t *testing.T) {
	n := startNode(t, liveroom.Config{})
	host := newViewer()
	if err := n.svc.JoinPresenter("L", host); err != nil {
		t.Fatal(err)
	}
	v1 := n.join(t, "L", "v1")
	n.svc.Flush()
	got := v1.wait(t, liveroom.FrameViewers, 1)
	if c := decode[liveroom.ViewerCount](t, got[0].Data); c.Count != 1 {
		t.Fatalf("viewer count = %d, want 1: the host's socket is not a viewer", c.Count)
	}
	if n.svc.LocalViewers("L") != 1 {
		t.Fatalf("LocalViewers = %d, want 1", n.svc.LocalViewers("L"))
	}
	comment(t, n, "L", "v1", "c1", "hi host")
	host.wait(t, liveroom.TypeComment, 1)

	// The host leaving changes no count; the next frame is v2's join.
	n.svc.Leave("L", host)
	n.svc.Flush()
	n.join(t, "L", "v2")
	n.svc.Flush()
	got = v1.wait(t, liveroom.FrameViewers, 2)
	if c := decode[liveroom.ViewerCount](t, got[1].Data); len(got) != 2 || c.Count != 2 {
		t.Fatalf("viewer frames = %d, second count %d; want 2 frames, count 2", len(got), c.Count)
	}

	// Only viewers are eligible for a "watch" draw.
	d, err := n.svc.DrawLottery(ctx, "host", liveroom.DrawRequest{LiveID: "L", ClientMsgID: "d1", Count: 10, Condition: liveroom.KindWatch}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Eligible != 2 {
		t.Fatalf("eligible = %d, want v1 and v2", d.Eligible)
	}
}

// A status change reaches every session in the live's room over the
// live's subject, and nothing else is accepted as a status.
func TestStatusPushed(t *testing.T) {
	n := startNode(t, liveroom.Config{})
	host := newViewer()
	if err := n.svc.JoinPresenter("L", host); err != nil {
		t.Fatal(err)
	}
	v := n.join(t, "L", "v1")
	other := n.join(t, "M", "v1")
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	if err := n.svc.PublishStatus("L", liveroom.StatusLive, at); err != nil {
		t.Fatal(err)
	}
	if err := n.svc.PublishStatus("L", liveroom.StatusEnded, at.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, w := range []*viewer{host, v} {
		got := w.wait(t, liveroom.FrameStatus, 2)
		first := decode[liveroom.StatusChange](t, got[0].Data)
		second := decode[liveroom.StatusChange](t, got[1].Data)
		if first.LiveID != "L" || first.Status != liveroom.StatusLive || !first.At.Equal(at) || first.At.Location() != time.UTC ||
			second.Status != liveroom.StatusEnded || !second.At.Equal(at.Add(time.Hour)) {
			t.Fatalf("status frames = %+v, %+v", first, second)
		}
	}
	if err := n.svc.PublishStatus("L", "scheduled", at); !errors.Is(err, liveroom.ErrInvalid) {
		t.Fatalf("status scheduled: %v", err)
	}
	if err := n.svc.PublishStatus("", liveroom.StatusLive, at); !errors.Is(err, liveroom.ErrInvalid) {
		t.Fatalf("empty live id: %v", err)
	}
	if got := other.ofType(liveroom.FrameStatus); len(got) != 0 {
		t.Fatalf("a viewer of another live got %d status frames", len(got))
	}
}
