package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"parley/storage"
)

func openLog(t *testing.T) (*Log, *storage.DB) {
	t.Helper()
	db, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return New(db), db
}

var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// seed records five entries one minute apart, oldest first.
func seed(t *testing.T, l *Log) []Entry {
	t.Helper()
	specs := []struct{ actor, action, typ, target string }{
		{"alice", "member.create", "member", "bob"},
		{"alice", "member.update", "member", "bob"},
		{"carol", "department.create", "department", "7"},
		{"alice", "member.disable", "member", "dave"},
		{"carol", "member.update", "member", "bob"},
	}
	var out []Entry
	for i, s := range specs {
		e, err := l.Record(Entry{
			Time: base.Add(time.Duration(i) * time.Minute), Actor: s.actor, Action: s.action,
			TargetType: s.typ, TargetID: s.target, After: JSON(map[string]int{"n": i}),
		})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func actions(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%s:%s:%s", e.Actor, e.Action, e.TargetID))
	}
	return out
}

func wantEntries(t *testing.T, got []Entry, want ...Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d entries %v, want %d %v", len(got), actions(got), len(want), actions(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID {
			t.Fatalf("entry %d: got %v, want %v", i, actions(got), actions(want))
		}
	}
}

func TestQueryNewestFirstAndFilters(t *testing.T) {
	l, _ := openLog(t)
	e := seed(t, l)

	all, next, err := l.Query(Query{})
	if err != nil {
		t.Fatal(err)
	}
	wantEntries(t, all, e[4], e[3], e[2], e[1], e[0])
	if next != "" {
		t.Fatalf("next = %q for a complete result", next)
	}
	if string(all[4].After) != `{"n":0}` || !all[4].Time.Equal(base) {
		t.Fatalf("stored entry lost data: %+v", all[4])
	}

	for _, c := range []struct {
		name string
		q    Query
		want []Entry
	}{
		{"actor", Query{Actor: "alice"}, []Entry{e[3], e[1], e[0]}},
		{"action", Query{Action: "member.update"}, []Entry{e[4], e[1]}},
		{"target", Query{TargetType: "member", TargetID: "bob"}, []Entry{e[4], e[1], e[0]}},
		{"actor and action", Query{Actor: "carol", Action: "member.update"}, []Entry{e[4]}},
		{"since inclusive", Query{Since: base.Add(3 * time.Minute)}, []Entry{e[4], e[3]}},
		{"until exclusive", Query{Until: base.Add(2 * time.Minute)}, []Entry{e[1], e[0]}},
		{"window", Query{Since: base.Add(time.Minute), Until: base.Add(3 * time.Minute), Actor: "alice"}, []Entry{e[1]}},
		{"empty window", Query{Since: base.Add(3 * time.Minute), Until: base.Add(time.Minute)}, nil},
		{"no match", Query{Actor: "nobody"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, next, err := l.Query(c.q)
			if err != nil {
				t.Fatal(err)
			}
			wantEntries(t, got, c.want...)
			if next != "" {
				t.Fatalf("next = %q", next)
			}
		})
	}
}

func TestQueryPagesWithCursor(t *testing.T) {
	l, _ := openLog(t)
	e := seed(t, l)

	var pages [][]Entry
	q := Query{Limit: 2}
	for {
		page, next, err := l.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		pages = append(pages, page)
		if next == "" {
			break
		}
		if next != page[len(page)-1].ID {
			t.Fatalf("cursor %q is not the last entry's id %q", next, page[len(page)-1].ID)
		}
		q.Cursor = next
		if len(pages) > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(pages) != 3 {
		t.Fatalf("got %d pages, want 3", len(pages))
	}
	wantEntries(t, pages[0], e[4], e[3])
	wantEntries(t, pages[1], e[2], e[1])
	wantEntries(t, pages[2], e[0])

	// A full last page says it is the last.
	page, next, err := l.Query(Query{Actor: "alice", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	wantEntries(t, page, e[3], e[1], e[0])
	if next != "" {
		t.Fatalf("next = %q after an exactly full last page", next)
	}

	// Cursor combines with filters and time bounds.
	page, next, err = l.Query(Query{Actor: "alice", Limit: 1, Until: base.Add(2 * time.Minute)})
	if err != nil || next == "" {
		t.Fatalf("first filtered page: next %q, err %v", next, err)
	}
	wantEntries(t, page, e[1])
	page, next, err = l.Query(Query{Actor: "alice", Limit: 1, Until: base.Add(2 * time.Minute), Cursor: next})
	if err != nil || next != "" {
		t.Fatalf("second filtered page: next %q, err %v", next, err)
	}
	wantEntries(t, page, e[0])

	for _, bad := range []string{"zz", "abcd", e[0].ID + "00"} {
		if _, _, err := l.Query(Query{Cursor: bad}); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("cursor %q: got %v, want ErrInvalidCursor", bad, err)
		}
	}
}

func TestAppendCommitsWithBatch(t *testing.T) {
	l, db := openLog(t)
	b := db.NewBatch()
	b.Set([]byte("dir/member/x"), []byte(`{}`))
	same := base
	e1, err := l.Append(b, Entry{Time: same, Actor: "a", Action: "member.create"})
	if err != nil {
		t.Fatal(err)
	}
	e2, err := l.Append(b, Entry{Time: same, Actor: "a", Action: "member.update"})
	if err != nil {
		t.Fatal(err)
	}
	if e1.ID == e2.ID || e1.ID > e2.ID || len(e1.ID) != 32 {
		t.Fatalf("ids must be unique, 32 hex chars and ordered: %q %q", e1.ID, e2.ID)
	}
	if got, _, _ := l.Query(Query{}); len(got) != 0 {
		t.Fatalf("entries visible before commit: %v", actions(got))
	}
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	got, _, err := l.Query(Query{})
	if err != nil {
		t.Fatal(err)
	}
	wantEntries(t, got, e2, e1) // same nanosecond: the sequence orders them

	now, err := l.Record(Entry{Actor: "a", Action: "auth.login"})
	if err != nil {
		t.Fatal(err)
	}
	if now.Time.IsZero() || now.Time.Location() != time.UTC {
		t.Fatalf("Record did not stamp a UTC time: %v", now.Time)
	}
	if _, err := l.Record(Entry{Actor: "a"}); err == nil {
		t.Fatal("an entry without action was accepted")
	}
	if _, err := l.Record(Entry{Actor: "a", Action: "x.y", Time: time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Fatal("an entry before 1970 was accepted")
	}
}

func TestQueryScanBound(t *testing.T) {
	l, db := openLog(t)
	rare, err := l.Record(Entry{Time: base, Actor: "rare", Action: "x.y"})
	if err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	for i := 0; i < MaxQueryScan+5; i++ {
		if _, err := l.Append(b, Entry{Time: base.Add(time.Duration(i+1) * time.Millisecond), Actor: "bulk", Action: "x.y"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	page, next, err := l.Query(Query{Actor: "rare"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page) != 0 || next == "" {
		t.Fatalf("first call: %d entries, next %q; want a short page that continues", len(page), next)
	}
	page, next, err = l.Query(Query{Actor: "rare", Cursor: next})
	if err != nil {
		t.Fatal(err)
	}
	wantEntries(t, page, rare)
	if next != "" {
		t.Fatalf("next = %q at the end of the log", next)
	}
}

func TestJSON(t *testing.T) {
	var p *struct{ A int }
	if JSON(nil) != nil || JSON(p) != nil {
		t.Fatal("nil values must give nil")
	}
	if got := string(JSON(struct{ A int }{7})); got != `{"A":7}` {
		t.Fatalf("JSON = %s", got)
	}
	var m map[string]any
	if err := json.Unmarshal(JSON(make(chan int)), &m); err != nil || m["marshal_error"] == nil {
		t.Fatalf("unmarshalable value: %v %v", m, err)
	}
}
