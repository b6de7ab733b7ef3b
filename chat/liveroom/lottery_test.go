package liveroom_test

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"testing"

	"parley/chat/liveroom"
	"parley/chat/msglog"
)

// A draw picks only viewers who met the condition, never an excluded
// one, stores its seed and winners, and replays from them.
func TestLotteryDrawsOnlyEligible(t *testing.T) {
	n := &node{dir: t.TempDir(), cfg: liveroom.Config{TallyInterval: 3600e9}, seed: &fixedSeeds{}}
	n.open(t)
	w := n.join(t, "L", "watcher")

	var commenters []string
	for i := range 12 {
		id := fmt.Sprintf("c%02d", i)
		commenters = append(commenters, id)
		comment(t, n, "L", id, "m", "hi")
		comment(t, n, "L", id, "m2", "again") // commenting twice counts once
	}
	comment(t, n, "L", "host", "h", "host comments too")
	for i := range 10 { // watched and liked, never commented
		id := fmt.Sprintf("w%02d", i)
		n.join(t, "L", id)
		n.svc.Like("L", id, 1)
	}

	req := liveroom.DrawRequest{LiveID: "L", ClientMsgID: "d1", Title: "T-shirt", Count: 5, Condition: liveroom.ConditionComment}
	d, err := n.svc.DrawLottery(ctx, "host", req, []string{"host"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Winners) != 5 || d.Eligible != 12 || d.DrawnBy != "host" || d.Title != "T-shirt" {
		t.Fatalf("draw = %+v", d)
	}
	for _, win := range d.Winners {
		if !slices.Contains(commenters, win) {
			t.Fatalf("winner %s did not comment (winners %v)", win, d.Winners)
		}
	}
	if sorted := slices.Sorted(slices.Values(d.Winners)); len(slices.Compact(sorted)) != 5 {
		t.Fatalf("a viewer won twice: %v", d.Winners)
	}
	// The seed and the pool replay the draw.
	var seed [liveroom.SeedBytes]byte
	raw, err := hex.DecodeString(d.Seed)
	if err != nil || len(raw) != liveroom.SeedBytes {
		t.Fatalf("seed %q: %v", d.Seed, err)
	}
	copy(seed[:], raw)
	if got := liveroom.DrawWinners(seed, commenters, 5); !slices.Equal(got, d.Winners) {
		t.Fatalf("replay = %v, stored %v", got, d.Winners)
	}
	if d.EligibleDigest != liveroom.PoolDigest(commenters) {
		t.Fatal("eligible digest does not match the commenters")
	}

	// Stored: readable by id, in the list, and as an entry in the log.
	if got, err := n.svc.Draw("L", d.ID); err != nil || got.Seed != d.Seed || !slices.Equal(got.Winners, d.Winners) {
		t.Fatalf("stored draw = %+v, %v", got, err)
	}
	e := decode[msglog.Entry](t, w.wait(t, liveroom.TypeLottery, 1)[0].Data)
	if body := decode[liveroom.DrawBody](t, e.Body); e.Seq != d.ID || body.Seed != d.Seed || !slices.Equal(body.Winners, d.Winners) {
		t.Fatalf("lottery entry = %+v", e)
	}
	// A resend returns the same draw and draws nothing new.
	if again, err := n.svc.DrawLottery(ctx, "host", req, []string{"host"}); err != nil || again.ID != d.ID {
		t.Fatalf("resend = %+v, %v", again, err)
	}

	// Excluding earlier winners leaves the other seven.
	d2, err := n.svc.DrawLottery(ctx, "host", liveroom.DrawRequest{LiveID: "L", ClientMsgID: "d2", Count: 100, Condition: liveroom.ConditionComment, ExcludePreviousWinners: true}, []string{"host"})
	if err != nil {
		t.Fatal(err)
	}
	if len(d2.Winners) != 7 {
		t.Fatalf("second draw winners = %v", d2.Winners)
	}
	for _, win := range d2.Winners {
		if slices.Contains(d.Winners, win) {
			t.Fatalf("%s won twice", win)
		}
	}
	draws, err := n.svc.Draws("L")
	if err != nil || len(draws) != 2 {
		t.Fatalf("draws = %v, %v", draws, err)
	}

	// Likers and watchers are a pool of their own (likes flushed first).
	liked, err := n.svc.DrawLottery(ctx, "host", liveroom.DrawRequest{LiveID: "L", ClientMsgID: "d3", Count: 100, Condition: liveroom.ConditionLike}, nil)
	if err != nil || liked.Eligible != 10 {
		t.Fatalf("like draw = %+v, %v", liked, err)
	}
	watched, err := n.svc.DrawLottery(ctx, "host", liveroom.DrawRequest{LiveID: "L", ClientMsgID: "d4", Count: 1, Condition: liveroom.ConditionWatch}, nil)
	if err != nil || watched.Eligible != 11 { // the ten, and "watcher"
		t.Fatalf("watch draw = %+v, %v", watched, err)
	}
	if _, err := n.svc.DrawLottery(ctx, "host", liveroom.DrawRequest{LiveID: "L", ClientMsgID: "d5", Count: 1, Condition: liveroom.ConditionQuestion}, nil); !errors.Is(err, liveroom.ErrNoneEligible) {
		t.Fatalf("nobody asked: %v", err)
	}
	if _, err := n.svc.DrawLottery(ctx, "host", liveroom.DrawRequest{LiveID: "L", ClientMsgID: "d6", Count: 1, Condition: "luck"}, nil); !errors.Is(err, liveroom.ErrInvalid) {
		t.Fatalf("unknown condition: %v", err)
	}
}

func TestLotteryAmongVoters(t *testing.T) {
	n := startNode(t, liveroom.Config{})
	p, err := n.svc.OpenPoll(ctx, "host", liveroom.OpenPollRequest{LiveID: "L", ClientMsgID: "p", Question: "?", Options: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	voters := []string{"a1", "a2", "a3"}
	for _, v := range voters {
		if err := n.svc.Vote("L", v, p.ID, 0); err != nil {
			t.Fatal(err)
		}
	}
	comment(t, n, "L", "talker", "x", "I did not vote")
	d, err := n.svc.DrawLottery(ctx, "host", liveroom.DrawRequest{LiveID: "L", ClientMsgID: "d", Count: 3, Condition: liveroom.ConditionVote, PollID: p.ID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(slices.Values(d.Winners)); !slices.Equal(got, voters) {
		t.Fatalf("winners = %v, want the voters %v", got, voters)
	}
}

// DrawWinners is uniform: over many fixed seeds every member of the pool
// wins about equally often. The seeds are fixed, so the check is
// deterministic; the bound is the chi-square critical value for 9
// degrees of freedom at p = 0.001.
func TestDrawWinnersUniform(t *testing.T) {
	pool := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	const draws, perDraw = 6000, 3
	wins := map[string]int{}
	for i := range draws {
		var seed [liveroom.SeedBytes]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i))
		got := liveroom.DrawWinners(seed, pool, perDraw)
		if len(got) != perDraw || len(slices.Compact(slices.Sorted(slices.Values(got)))) != perDraw {
			t.Fatalf("seed %d drew %v", i, got)
		}
		for _, w := range got {
			wins[w]++
		}
	}
	expected := float64(draws*perDraw) / float64(len(pool))
	chi2 := 0.0
	for _, id := range pool {
		d := float64(wins[id]) - expected
		chi2 += d * d / expected
	}
	if chi2 > 27.88 {
		t.Fatalf("chi-square %.1f over 27.88: wins %v", chi2, wins)
	}
	if len(liveroom.DrawWinners([32]byte{}, pool, 50)) != len(pool) {
		t.Fatal("asking for more winners than the pool did not take the pool")
	}
}
