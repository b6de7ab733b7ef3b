package msglog_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"parley/chat/msglog"
	"parley/storage"
)

// openDB opens a real Pebble database in dir; the caller closes it.
func openDB(t testing.TB, dir string) *storage.DB {
	t.Helper()
	db, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatalf("open storage: %v", err)
	}
	return db
}

// openLog opens a database in dir and a log on it; both are closed at the
// end of the test unless closed earlier.
func openLog(t testing.TB, dir string, opts msglog.Options) (*storage.DB, *msglog.Log) {
	t.Helper()
	db := openDB(t, dir)
	l, err := msglog.Open(db, opts)
	if err != nil {
		db.Close()
		t.Fatalf("open log: %v", err)
	}
	t.Cleanup(func() {
		l.Close()
		db.Close()
	})
	return db, l
}

// closeAll closes a log and its database, failing the test on error. It is
// for logs opened without openLog.
func closeAll(t testing.TB, db *storage.DB, l *msglog.Log) {
	t.Helper()
	if err := l.Close(); err != nil {
		t.Fatalf("close log: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("close db: %v", err)
	}
}

func text(conv, sender, clientID, body string) msglog.Draft {
	raw, _ := json.Marshal(map[string]string{"text": body})
	return msglog.Draft{ConversationID: conv, SenderID: sender, ClientMsgID: clientID, Type: "text", Body: raw}
}

func mustAppend(t testing.TB, l *msglog.Log, d msglog.Draft) (msglog.Entry, bool) {
	t.Helper()
	e, dup, err := l.Append(context.Background(), d)
	if err != nil {
		t.Fatalf("append %s/%s: %v", d.ConversationID, d.ClientMsgID, err)
	}
	return e, dup
}

// appendOnce appends d and checks it against seqs, the seq each key got
// when first sent: a resend must come back as a duplicate of that seq, a
// new key as a fresh entry, whose seq it records. It reports whether d was
// a resend.
func appendOnce[K comparable](t testing.TB, l *msglog.Log, seqs map[K]uint64, k K, d msglog.Draft) bool {
	t.Helper()
	e, dup := mustAppend(t, l, d)
	if want, ok := seqs[k]; ok {
		if !dup || e.Seq != want {
			t.Fatalf("resend of %v: seq %d dup %v, want the original seq %d", k, e.Seq, dup, want)
		}
		return true
	}
	if dup {
		t.Fatalf("new %v answered as a resend of seq %d", k, e.Seq)
	}
	seqs[k] = e.Seq
	return false
}

// readAll reads every durable entry of conv in pages and checks that the
// seqs run 1..LastSeq without a gap.
func readAll(t testing.TB, l *msglog.Log, conv string) []msglog.Entry {
	t.Helper()
	last, err := l.LastSeq(conv)
	if err != nil {
		t.Fatalf("last seq of %s: %v", conv, err)
	}
	var all []msglog.Entry
	for from := uint64(1); ; {
		page, err := l.Read(conv, from, msglog.MaxReadLimit)
		if err != nil {
			t.Fatalf("read %s from %d: %v", conv, from, err)
		}
		if len(page) == 0 {
			break
		}
		all = append(all, page...)
		from = page[len(page)-1].Seq + 1
	}
	for i, e := range all {
		if e.Seq != uint64(i+1) || e.ConversationID != conv {
			t.Fatalf("conversation %s: entry %d is %s seq %d, want seq %d", conv, i, e.ConversationID, e.Seq, i+1)
		}
	}
	if uint64(len(all)) != last {
		t.Fatalf("conversation %s: read %d entries, last seq is %d", conv, len(all), last)
	}
	return all
}

// clientKey names one (sender, client msg id) pair.
func clientKey(e msglog.Entry) string {
	return fmt.Sprintf("%s/%s", e.SenderID, e.ClientMsgID)
}
