package liveroom

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"parley/chat/msglog"
	"parley/storage"
)

// Lottery conditions: who may win.
const (
	ConditionComment  = KindComment  // viewers who commented
	ConditionQuestion = KindQuestion // viewers who asked a question
	ConditionLike     = KindLike     // viewers who liked
	ConditionWatch    = KindWatch    // viewers who joined the live room
	ConditionVote     = "vote"       // viewers who voted in DrawRequest.PollID
)

// MaxDrawTitleBytes bounds a draw's title (the prize, say).
const MaxDrawTitleBytes = 200

// DrawRequest asks for a lottery draw.
type DrawRequest struct {
	LiveID      string `json:"live_id"`
	ClientMsgID string `json:"client_msg_id"`
	// Title names the draw, such as the prize. Optional.
	Title string `json:"title,omitempty"`
	// Count is how many winners to draw, 1 to MaxWinners. Fewer win when
	// fewer are eligible.
	Count int `json:"count"`
	// Condition is one of the Condition constants; PollID goes with
	// ConditionVote.
	Condition string `json:"condition"`
	PollID    uint64 `json:"poll_id,omitempty"`
	// ExcludePreviousWinners leaves out everyone who won an earlier draw
	// of this live.
	ExcludePreviousWinners bool `json:"exclude_previous_winners,omitempty"`
}

// DrawBody is what a lottery entry stores: enough to replay the draw.
// Anyone holding the pool (the eligible ids, sorted) can check it with
// DrawWinners(seed, pool, count) and the digest.
type DrawBody struct {
	Title     string `json:"title,omitempty"`
	Condition string `json:"condition"`
	PollID    uint64 `json:"poll_id,omitempty"`
	Count     int    `json:"count"`
	// Seed is the 32-byte ChaCha8 seed, hex.
	Seed string `json:"seed"`
	// Eligible is the pool's size; EligibleDigest the hex SHA-256 of its
	// ids, sorted, each followed by "\n".
	Eligible       int      `json:"eligible"`
	EligibleDigest string   `json:"eligible_digest"`
	Winners        []string `json:"winners"`
	DrawnBy        string   `json:"drawn_by"`
}

// Draw is a stored draw. Its id is the seq of its lottery entry.
type Draw struct {
	LiveID string `json:"live_id"`
	ID     uint64 `json:"draw_id"`
	DrawBody
	CreatedAt time.Time `json:"created_at"`
}

// DrawWinners picks n of pool uniformly without replacement: a partial
// Fisher-Yates shuffle driven by ChaCha8 seeded with seed. The pool must be
// sorted for a draw to be replayable; pool is not modified. n larger than
// the pool takes the whole pool, in shuffled order.
func DrawWinners(seed [SeedBytes]byte, pool []string, n int) []string {
	p := append([]string(nil), pool...)
	n = min(n, len(p))
	rng := rand.New(rand.NewChaCha8(seed))
	for i := 0; i < n; i++ {
		j := i + rng.IntN(len(p)-i)
		p[i], p[j] = p[j], p[i]
	}
	return p[:n]
}

// PoolDigest is the EligibleDigest of a sorted pool.
func PoolDigest(pool []string) string {
	h := sha256.New()
	for _, id := range pool {
		_, _ = io.WriteString(h, id)
		_, _ = io.WriteString(h, "\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}

// DrawLottery draws winners among the viewers who met the request's
// condition, leaving out exclude (the hosts, say) and, when asked,
// earlier winners. The seed and the winners are stored in a lottery entry
// and a draw record before DrawLottery returns. A resend with the same
// client message id returns the original draw. The caller checked that
// actor may draw.
func (s *Service) DrawLottery(ctx context.Context, actor string, req DrawRequest, exclude []string) (Draw, error) {
	if err := s.checkRequest(req.LiveID, actor, req.ClientMsgID); err != nil {
		return Draw{}, err
	}
	if e, ok := s.original(req.LiveID, actor, req.ClientMsgID); ok {
		return s.Draw(req.LiveID, e.Seq)
	}
	if req.Count < 1 || req.Count > MaxWinners {
		return Draw{}, invalidf("count %d is outside 1..%d", req.Count, MaxWinners)
	}
	if req.Title != "" {
		if err := checkText("title", req.Title, MaxDrawTitleBytes); err != nil {
			return Draw{}, err
		}
	}
	if len(exclude) > MaxExclude {
		return Draw{}, invalidf("at most %d excluded viewers", MaxExclude)
	}
	s.drawMu.Lock()
	defer s.drawMu.Unlock()
	s.likes.flush() // likers and watchers are written by the flush
	pool, err := s.eligible(req, exclude)
	if err != nil {
		return Draw{}, err
	}
	if len(pool) == 0 {
		return Draw{}, fmt.Errorf("%w: nobody meets condition %q", ErrNoneEligible, req.Condition)
	}
	var seed [SeedBytes]byte
	if _, err := io.ReadFull(s.seeds, seed[:]); err != nil {
		return Draw{}, fmt.Errorf("read draw seed: %w", err)
	}
	body := DrawBody{
		Title: req.Title, Condition: req.Condition, PollID: req.PollID, Count: req.Count,
		Seed: hex.EncodeToString(seed[:]), Eligible: len(pool), EligibleDigest: PoolDigest(pool),
		Winners: DrawWinners(seed, pool, req.Count), DrawnBy: actor,
	}
	raw, err := marshal(body)
	if err != nil {
		return Draw{}, err
	}
	ack, err := s.append(ctx, req.LiveID, msglog.Draft{
		ConversationID: ConversationID(req.LiveID), SenderID: actor, ClientMsgID: req.ClientMsgID,
		Type: TypeLottery, Body: raw,
		OnCommit: func(b *storage.Batch, e msglog.Entry) error {
			return b.SetJSON(drawKey(req.LiveID, e.Seq), Draw{LiveID: req.LiveID, ID: e.Seq, DrawBody: body, CreatedAt: e.CreatedAt})
		},
	})
	if err != nil {
		return Draw{}, err
	}
	return s.Draw(req.LiveID, ack.Seq)
}

// eligible is the sorted pool of a draw.
func (s *Service) eligible(req DrawRequest, exclude []string) ([]string, error) {
	var prefix []byte
	switch req.Condition {
	case ConditionComment, ConditionQuestion, ConditionLike, ConditionWatch:
		if req.PollID != 0 {
			return nil, invalidf("poll_id goes only with condition %q", ConditionVote)
		}
		prefix = partPrefix(req.LiveID, req.Condition)
	case ConditionVote:
		if _, err := s.Poll(req.LiveID, req.PollID); err != nil {
			return nil, err
		}
		prefix = votePrefix(req.LiveID, req.PollID)
	default:
		return nil, invalidf("condition %q is not one of %s, %s, %s, %s, %s", req.Condition,
			ConditionComment, ConditionQuestion, ConditionLike, ConditionWatch, ConditionVote)
	}
	skip := make(map[string]bool, len(exclude))
	for _, id := range exclude {
		skip[id] = true
	}
	if req.ExcludePreviousWinners {
		draws, err := s.Draws(req.LiveID)
		if err != nil {
			return nil, err
		}
		for _, d := range draws {
			for _, w := range d.Winners {
				skip[w] = true
			}
		}
	}
	var pool []string // keys sort by viewer id, so the pool comes out sorted
	err := s.db.ScanPrefix(prefix, func(k, _ []byte) bool {
		if id := string(k[len(prefix):]); !skip[id] {
			pool = append(pool, id)
		}
		return true
	})
	if err != nil {
		return nil, fmt.Errorf("list eligible viewers of live %s: %w", req.LiveID, err)
	}
	return pool, nil
}

// Draw returns one stored draw.
func (s *Service) Draw(liveID string, id uint64) (Draw, error) {
	if err := checkID("live_id", liveID); err != nil {
		return Draw{}, err
	}
	var d Draw
	err := s.db.GetJSON(drawKey(liveID, id), &d)
	if errors.Is(err, storage.ErrNotFound) {
		return Draw{}, fmt.Errorf("%w: live %s has no draw %d", ErrNotFound, liveID, id)
	}
	if err != nil {
		return Draw{}, fmt.Errorf("load draw %d of live %s: %w", id, liveID, err)
	}
	return d, nil
}

// Draws returns every draw of a live, oldest first.
func (s *Service) Draws(liveID string) ([]Draw, error) {
	if err := checkID("live_id", liveID); err != nil {
		return nil, err
	}
	out := []Draw{}
	var bad error
	err := s.db.ScanPrefix(storage.KeyPrefix(storage.PrefixLiveRoomDraw, liveID), func(k, v []byte) bool {
		var d Draw
		if err := json.Unmarshal(v, &d); err != nil {
			bad = fmt.Errorf("decode draw %x: %w", k, err)
			return false
		}
		out = append(out, d)
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, fmt.Errorf("list draws of live %s: %w", liveID, err)
	}
	return out, nil
}
