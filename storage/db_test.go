package storage

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestCommitSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := db.NewBatch()
	b.Set(Key(PrefixMember, "alice"), []byte(`{"id":"alice"}`))
	if err := db.Commit(b); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Get(Key(PrefixMember, "alice"))
	if err != nil || string(got) != `{"id":"alice"}` {
		t.Fatalf("after reopen got %q, %v", got, err)
	}
	if _, err := db.Get(Key(PrefixMember, "bob")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing key: got %v, want ErrNotFound", err)
	}
}

func TestSecondOpenFailsClearly(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(dir, Options{})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: got %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "parley.lock") || !strings.Contains(err.Error(), "pid") {
		t.Fatalf("error should name the lock file and holder: %v", err)
	}
	db.Close()
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	db2, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	db2.Close()
}

func TestScanOrderAndBounds(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(b *Batch) error {
		for _, child := range []string{"3", "1", "2"} {
			b.Set(Key(PrefixDeptChild, "p", child), nil)
		}
		b.Set(Key(PrefixDeptChild, "p2", "9"), nil) // must not leak into p's scan
		b.Set(Key(PrefixDeptChild, "q", "1"), nil)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	prefix := KeyPrefix(PrefixDeptChild, "p")
	if err := db.ScanPrefix(prefix, func(k, _ []byte) bool {
		got = append(got, string(k[len(prefix):]))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "1,2,3" {
		t.Fatalf("prefix scan got %v", got)
	}
	got = got[:0]
	if err := db.Scan(prefix, PrefixEnd(prefix), true, 2, func(k, _ []byte) bool {
		got = append(got, string(k[len(prefix):]))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "3,2" {
		t.Fatalf("reverse limited scan got %v", got)
	}
}

func TestPrefixEnd(t *testing.T) {
	for _, c := range []struct{ in, want []byte }{
		{[]byte("a/"), []byte("a0")},
		{[]byte{'a', 0xff}, []byte("b")},
		{[]byte{0xff, 0xff}, nil},
	} {
		if got := PrefixEnd(c.in); string(got) != string(c.want) {
			t.Errorf("PrefixEnd(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestConcurrentCommitsAllLand(t *testing.T) {
	db, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				b := db.NewBatch()
				b.Set(Key(PrefixMember, fmt.Sprintf("w%d-%d", w, i)), []byte("x"))
				if err := db.Commit(b); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	n := 0
	db.ScanPrefix([]byte(PrefixMember), func(_, _ []byte) bool { n++; return true })
	if n != 400 {
		t.Fatalf("got %d keys, want 400", n)
	}
}
