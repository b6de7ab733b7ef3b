package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"parley/storage"
)

// Query limits.
const (
	// DefaultQueryLimit is the page size when Query.Limit is zero.
	DefaultQueryLimit = 100
	// MaxQueryLimit caps Query.Limit.
	MaxQueryLimit = 1000
	// MaxQueryScan bounds how many stored entries one Query call reads.
	// Filters other than time are applied while scanning, so a rare actor
	// or action could otherwise make one call read the whole log. When the
	// bound is hit the page may be short, and next continues the scan.
	MaxQueryScan = 10000
)

// ErrInvalidCursor is returned by Query when Cursor is not an entry ID.
var ErrInvalidCursor = errors.New("invalid audit cursor")

// idLen is the length of the key suffix an ID encodes: unix nanos and a
// sequence number, 8 big-endian bytes each.
const idLen = 16

// sequence breaks ties between entries stamped with the same nanosecond.
// It is process-wide so that two Logs on one database never collide.
var sequence atomic.Uint64

// Log is the audit log stored under storage.PrefixAudit. It is safe for
// concurrent use.
type Log struct {
	db *storage.DB
}

// New returns the audit log kept in db.
func New(db *storage.DB) *Log {
	return &Log{db: db}
}

// Append adds e to batch b, so the entry commits atomically with the
// change it describes. It sets e.Time to now when it is zero and assigns
// e.ID, which sorts in time order. The stored entry is returned.
func (l *Log) Append(b *storage.Batch, e Entry) (Entry, error) {
	if e.Action == "" {
		return Entry{}, errors.New("append audit entry: action is empty")
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	nanos := e.Time.UnixNano()
	if nanos < 0 {
		return Entry{}, fmt.Errorf("append audit entry %s: time %s is before 1970", e.Action, e.Time)
	}
	key := timeKey(uint64(nanos))
	key = storage.AppendUint64(key, sequence.Add(1))
	e.ID = hex.EncodeToString(key[len(storage.PrefixAudit):])
	if err := b.SetJSON(key, e); err != nil {
		return Entry{}, fmt.Errorf("append audit entry %s: %w", e.Action, err)
	}
	return e, nil
}

// Record appends e in its own synced commit, for actions that change no
// other record (a sign-in, a failed authorization).
func (l *Log) Record(e Entry) (Entry, error) {
	b := l.db.NewBatch()
	e, err := l.Append(b, e)
	if err != nil {
		_ = l.db.Commit(b) // b is still empty; Commit closes it
		return Entry{}, err
	}
	if err := l.db.Commit(b); err != nil {
		return Entry{}, fmt.Errorf("record audit entry %s: %w", e.Action, err)
	}
	return e, nil
}

// Query returns the entries that match q, newest first, and the cursor for
// the following page ("" when there is none). Since and Until bound the
// key range, so a time-bounded query reads only that slice of the log. A
// page can be shorter than the limit with a non-empty cursor when the scan
// reached MaxQueryScan; callers simply continue with the cursor.
func (l *Log) Query(q Query) (entries []Entry, next string, err error) {
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultQueryLimit
	}
	if limit > MaxQueryLimit {
		limit = MaxQueryLimit
	}
	lower := []byte(storage.PrefixAudit)
	upper := storage.PrefixEnd(lower)
	if !q.Since.IsZero() {
		lower = timeKey(clampNanos(q.Since))
	}
	if !q.Until.IsZero() {
		upper = timeKey(clampNanos(q.Until))
	}
	if q.Cursor != "" {
		raw, err := hex.DecodeString(q.Cursor)
		if err != nil || len(raw) != idLen {
			return nil, "", fmt.Errorf("%w %q", ErrInvalidCursor, q.Cursor)
		}
		cursorKey := append([]byte(storage.PrefixAudit), raw...)
		if bytes.Compare(cursorKey, upper) < 0 {
			upper = cursorKey // exclusive: the cursor entry was on the last page
		}
	}
	entries = []Entry{}
	if bytes.Compare(lower, upper) >= 0 {
		return entries, "", nil
	}

	var (
		scanned   int
		lastKey   []byte
		fullPage  bool // one more match exists after a full page
		scanLimit bool // stopped at MaxQueryScan
		decodeErr error
	)
	err = l.db.Scan(lower, upper, true, 0, func(k, v []byte) bool {
		if scanned == MaxQueryScan {
			scanLimit = true
			return false
		}
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil {
			decodeErr = fmt.Errorf("decode audit entry %x: %w", k, err)
			return false
		}
		if !q.matches(e) {
			scanned++
			lastKey = append(lastKey[:0], k...)
			return true
		}
		if len(entries) == limit {
			fullPage = true
			return false
		}
		scanned++
		lastKey = append(lastKey[:0], k...)
		entries = append(entries, e)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return nil, "", fmt.Errorf("query audit log: %w", err)
	}
	switch {
	case fullPage:
		next = entries[len(entries)-1].ID
	case scanLimit:
		next = hex.EncodeToString(lastKey[len(storage.PrefixAudit):])
	}
	return entries, next, nil
}

// matches applies the filters that the key range cannot.
func (q Query) matches(e Entry) bool {
	return (q.Actor == "" || e.Actor == q.Actor) &&
		(q.Action == "" || e.Action == q.Action) &&
		(q.TargetType == "" || e.TargetType == q.TargetType) &&
		(q.TargetID == "" || e.TargetID == q.TargetID)
}

// JSON marshals v for Entry.Before and Entry.After. A nil v, including a
// nil pointer, gives nil so the field is left out. Values that cannot be
// marshaled (never the case for Parley's records) are described rather
// than dropped, so the entry still says something went wrong.
func JSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		raw, _ = json.Marshal(map[string]string{"marshal_error": err.Error()})
		return raw
	}
	if string(raw) == "null" {
		return nil
	}
	return raw
}

// timeKey is the smallest key of the entries stamped at nanos.
func timeKey(nanos uint64) []byte {
	k := make([]byte, 0, len(storage.PrefixAudit)+idLen)
	k = append(k, storage.PrefixAudit...)
	return storage.AppendUint64(k, nanos)
}

// clampNanos maps times before 1970, which no entry can have, to zero.
func clampNanos(t time.Time) uint64 {
	n := t.UnixNano()
	if n < 0 {
		return 0
	}
	return uint64(n)
}
