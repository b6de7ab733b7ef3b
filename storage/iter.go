package storage

import (
	"fmt"

	"github.com/cockroachdb/pebble"
)

// Scan calls fn for each key in [lower, upper) in ascending order, or
// descending order when reverse is set, until fn returns false or limit
// entries were visited (limit <= 0 means no limit). The key and value slices
// are only valid during the call; copy them to keep them.
func (db *DB) Scan(lower, upper []byte, reverse bool, limit int, fn func(key, value []byte) bool) error {
	it, err := db.pebble.NewIter(&pebble.IterOptions{LowerBound: lower, UpperBound: upper})
	if err != nil {
		return fmt.Errorf("new iterator: %w", err)
	}
	n := 0
	var ok bool
	if reverse {
		ok = it.Last()
	} else {
		ok = it.First()
	}
	for ok {
		if !fn(it.Key(), it.Value()) {
			break
		}
		n++
		if limit > 0 && n >= limit {
			break
		}
		if reverse {
			ok = it.Prev()
		} else {
			ok = it.Next()
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return fmt.Errorf("iterate [%q, %q): %w", lower, upper, err)
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("close iterator: %w", err)
	}
	return nil
}

// ScanPrefix calls fn for every key that starts with prefix, in ascending
// order, until fn returns false.
func (db *DB) ScanPrefix(prefix []byte, fn func(key, value []byte) bool) error {
	return db.Scan(prefix, PrefixEnd(prefix), false, 0, fn)
}

// PrefixEnd returns the smallest key greater than every key with prefix,
// the exclusive upper bound for a prefix scan. A prefix of all 0xff bytes
// has no such key; nil (no bound) is returned.
func PrefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
