package msglog_test

import (
	"context"
	"fmt"
	"testing"

	"parley/chat/msglog"
)

// Stats counts the entries stored and the commits that stored them;
// resends are not entries.
func TestStatsCountCommits(t *testing.T) {
	db := openDB(t, t.TempDir())
	l, err := msglog.Open(db, msglog.Options{Shards: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	if st := l.Stats(); st != (msglog.Stats{}) {
		t.Fatalf("stats of a new log: %+v", st)
	}
	const n = 20
	for i := range n {
		if _, _, err := l.Append(context.Background(), text(fmt.Sprintf("c%d", i%3), "alice", fmt.Sprintf("m%d", i), "hi")); err != nil {
			t.Fatal(err)
		}
	}
	if _, dup, err := l.Append(context.Background(), text("c0", "alice", "m0", "hi")); err != nil || !dup {
		t.Fatalf("resend: dup %v, err %v", dup, err)
	}
	st := l.Stats()
	if st.Entries != n || st.Commits < 1 || st.Commits > n+1 || st.CommitTime <= 0 || st.Failed != 0 {
		t.Fatalf("stats after %d appends and a resend: %+v", n, st)
	}
}
