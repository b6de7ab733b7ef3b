package liveroom

import (
	"errors"
	"fmt"
	"sync"

	"parley/storage"
)

// likeAggregator sums likes in memory and writes and publishes them once
// per flush, so a burst of taps from thousands of viewers costs one
// commit and one frame per live and interval. It also buffers who liked
// and who watched (lottery eligibility) and the latest viewer count.
type likeAggregator struct {
	s *Service

	flushMu sync.Mutex // one flush at a time: only a flush writes like totals

	mu      sync.Mutex
	pending map[string]*pendingLikes // live id → not yet flushed
	totals  map[string]uint64        // live id → stored total, once loaded
	counts  map[string]int           // live id → latest viewer count not yet published
}

type pendingLikes struct {
	added    uint64
	likers   map[string]struct{}
	watchers map[string]struct{}
}

func newLikeAggregator(s *Service) *likeAggregator {
	return &likeAggregator{
		s:       s,
		pending: map[string]*pendingLikes{},
		totals:  map[string]uint64{},
		counts:  map[string]int{},
	}
}

func (a *likeAggregator) pendingLocked(liveID string) *pendingLikes {
	p := a.pending[liveID]
	if p == nil {
		p = &pendingLikes{likers: map[string]struct{}{}, watchers: map[string]struct{}{}}
		a.pending[liveID] = p
	}
	return p
}

// Like adds n likes (1 to MaxLikesPerRequest) from viewerID to liveID.
// Nothing is written or published now: the next flush does both.
func (s *Service) Like(liveID, viewerID string, n int) error {
	if err := checkID("live_id", liveID); err != nil {
		return err
	}
	if err := checkID("viewer_id", viewerID); err != nil {
		return err
	}
	if n < 1 || n > MaxLikesPerRequest {
		return invalidf("count %d is outside 1..%d", n, MaxLikesPerRequest)
	}
	if s.closed() {
		return ErrClosed
	}
	a := s.likes
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.pendingLocked(liveID)
	p.added += uint64(n)
	p.likers[viewerID] = struct{}{}
	return nil
}

// watched records that viewerID joined liveID, written at the next
// flush, and the live's new local viewer count.
func (a *likeAggregator) watched(liveID, viewerID string, count int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pendingLocked(liveID).watchers[viewerID] = struct{}{}
	a.counts[liveID] = count
}

func (a *likeAggregator) viewerCount(liveID string, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.counts[liveID] = n
}

// Likes is liveID's like total on this node, pending likes included.
func (s *Service) Likes(liveID string) (uint64, error) {
	if err := checkID("live_id", liveID); err != nil {
		return 0, err
	}
	a := s.likes
	a.flushMu.Lock() // a flush moves likes from pending to totals
	defer a.flushMu.Unlock()
	total, err := a.total(liveID)
	if err != nil {
		return 0, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if p := a.pending[liveID]; p != nil {
		total += p.added
	}
	return total, nil
}

// total is the stored total of liveID. The caller holds flushMu.
func (a *likeAggregator) total(liveID string) (uint64, error) {
	a.mu.Lock()
	t, ok := a.totals[liveID]
	a.mu.Unlock()
	if ok {
		return t, nil
	}
	raw, err := a.s.db.Get(likesKey(liveID))
	switch {
	case errors.Is(err, storage.ErrNotFound):
		t = 0
	case err != nil:
		return 0, fmt.Errorf("load likes of live %s: %w", liveID, err)
	case len(raw) != 8:
		return 0, fmt.Errorf("like total of live %s is %d bytes, want 8", liveID, len(raw))
	default:
		t = storage.Uint64At(raw, 0)
	}
	a.mu.Lock()
	a.totals[liveID] = t
	a.mu.Unlock()
	return t, nil
}

// flush writes every pending like, liker and watcher in one commit, then
// publishes one likes tally per live that got likes, and the latest
// viewer counts. If the commit fails the pending likes are put back for
// the next flush.
func (a *likeAggregator) flush() {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	a.mu.Lock()
	pending, counts := a.pending, a.counts
	a.pending, a.counts = map[string]*pendingLikes{}, map[string]int{}
	a.mu.Unlock()

	if len(pending) > 0 {
		tallies, err := a.write(pending)
		if err != nil {
			a.s.logger.Error("liveroom: flush likes", "err", err)
			a.restore(pending)
		}
		for _, t := range tallies {
			a.s.publish(t.LiveID, FrameLikes, t)
		}
	}
	for liveID, n := range counts {
		a.s.publish(liveID, FrameViewers, ViewerCount{LiveID: liveID, Count: n})
	}
}

// write commits pending and returns the tallies to publish.
func (a *likeAggregator) write(pending map[string]*pendingLikes) ([]LikesTally, error) {
	b := a.s.db.NewBatch()
	var tallies []LikesTally
	newTotals := map[string]uint64{}
	for liveID, p := range pending {
		for v := range p.likers {
			b.Set(partKey(liveID, KindLike, v), nil)
		}
		for v := range p.watchers {
			b.Set(partKey(liveID, KindWatch, v), nil)
		}
		if p.added == 0 {
			continue
		}
		t, err := a.total(liveID)
		if err != nil {
			return nil, err
		}
		t += p.added
		b.Set(likesKey(liveID), be8(t))
		newTotals[liveID] = t
		tallies = append(tallies, LikesTally{LiveID: liveID, Total: t, Added: p.added})
	}
	if err := a.s.db.Commit(b); err != nil {
		return nil, fmt.Errorf("commit likes: %w", err)
	}
	a.mu.Lock()
	for liveID, t := range newTotals {
		a.totals[liveID] = t
	}
	a.mu.Unlock()
	return tallies, nil
}

// restore puts likes that failed to commit back in front of any that came
// in meanwhile.
func (a *likeAggregator) restore(pending map[string]*pendingLikes) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for liveID, old := range pending {
		p := a.pendingLocked(liveID)
		p.added += old.added
		for v := range old.likers {
			p.likers[v] = struct{}{}
		}
		for v := range old.watchers {
			p.watchers[v] = struct{}{}
		}
	}
}
