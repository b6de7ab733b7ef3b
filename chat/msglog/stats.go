package msglog

import (
	"sync/atomic"
	"time"
)

// Stats counts the log's commits since it opened, for metrics. A send is
// acknowledged only after its batch's synced commit, so CommitTime over
// Commits is the disk's share of every send's latency, and Entries over
// Commits is how well concurrent sends share an fsync.
type Stats struct {
	// Commits counts the synced batches that committed; Entries the new
	// entries they stored (resends not included).
	Commits, Entries uint64
	// CommitTime adds up the time those commits took, from building the
	// batch to the synced commit returning.
	CommitTime time.Duration
	// Failed counts batches whose commit failed; their drafts got the
	// error.
	Failed uint64
	// DedupLookups counts the client msg ids looked up on disk, because
	// their conversation had no set of known ids or the set held the id
	// (dedup.go); DedupLoadErrors the sets that failed to load.
	DedupLookups, DedupLoadErrors uint64
}

// logStats is the counters behind Stats.
type logStats struct {
	commits, entries, failed      atomic.Uint64
	commitNanos                   atomic.Int64
	dedupLookups, dedupLoadErrors atomic.Uint64
}

// Stats reports the log's commit counters.
func (l *Log) Stats() Stats {
	return Stats{
		Commits: l.stats.commits.Load(), Entries: l.stats.entries.Load(),
		CommitTime: time.Duration(l.stats.commitNanos.Load()), Failed: l.stats.failed.Load(),
		DedupLookups: l.stats.dedupLookups.Load(), DedupLoadErrors: l.stats.dedupLoadErrors.Load(),
	}
}

// countCommit records one batch's commit: took long, err its outcome,
// reqs its drafts.
func (s *logStats) countCommit(reqs []*request, took time.Duration, err error) {
	if err != nil {
		s.failed.Add(1)
		return
	}
	var n uint64
	for _, r := range reqs {
		if r.st != nil && r.err == nil && r.dupOf == nil && !r.dup {
			n++
		}
	}
	s.commits.Add(1)
	s.entries.Add(n)
	s.commitNanos.Add(int64(took))
}
