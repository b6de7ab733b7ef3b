package directory

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"parley/chat/audit"
	"parley/storage"
)

// Id sequence kinds, the key suffixes under storage.PrefixIDSequence.
const (
	seqDepartment = "dept"
	seqTag        = "tag"
)

// Directory is the company address book: the department tree, members and
// tags, kept in Pebble. Reads go straight to the database; mutations are
// serialized by one mutex because each reads, checks and then commits, and
// every mutation commits its audit entry in the same synced batch.
type Directory struct {
	db  *storage.DB
	log *audit.Log

	mu sync.Mutex // held by every mutation from its first read to its commit
}

// New returns the directory stored in db, auditing changes to log.
func New(db *storage.DB, log *audit.Log) *Directory {
	return &Directory{db: db, log: log}
}

// now is the timestamp for records and audit entries. UTC without a
// monotonic reading, so a returned record equals the stored one.
func now() time.Time { return time.Now().UTC() }

// nextID issues the next id of kind into b. The counter only moves when b
// commits, so each batch may issue at most one id per kind; callers hold
// d.mu.
func (d *Directory) nextID(b *storage.Batch, kind string) (string, error) {
	key := storage.Key(storage.PrefixIDSequence, kind)
	n, err := d.sequence(kind)
	if err != nil {
		return "", err
	}
	n++
	b.Set(key, storage.AppendUint64(nil, n))
	return strconv.FormatUint(n, 10), nil
}

// sequence returns the last id issued for kind, zero if none.
func (d *Directory) sequence(kind string) (uint64, error) {
	raw, err := d.db.Get(storage.Key(storage.PrefixIDSequence, kind))
	if errors.Is(err, storage.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("load %s id sequence: %w", kind, err)
	}
	if len(raw) != 8 {
		return 0, fmt.Errorf("load %s id sequence: value has %d bytes, want 8", kind, len(raw))
	}
	return storage.Uint64At(raw, 0), nil
}

// change describes one audited mutation.
type change struct {
	action     string
	targetType string
	targetID   string
	before     any
	after      any
}

// appendAudit adds the entry for c to b, stamped t.
func (d *Directory) appendAudit(b *storage.Batch, a Actor, t time.Time, c change) error {
	_, err := d.log.Append(b, audit.Entry{
		Time:       t,
		Actor:      a.ID,
		ActorIP:    a.IP,
		Action:     c.action,
		TargetType: c.targetType,
		TargetID:   c.targetID,
		Before:     audit.JSON(c.before),
		After:      audit.JSON(c.after),
	})
	return err
}

// checkActor refuses anonymous changes: the audit log must name someone.
func checkActor(a Actor) error {
	if a.ID == "" {
		return invalidf("actor", "is required")
	}
	return nil
}

// getJSON loads key into v, mapping a missing key to ErrNotFound with what
// names the record ("member alice").
func (d *Directory) getJSON(key []byte, what string, v any) error {
	err := d.db.GetJSON(key, v)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("load %s: %w", what, err)
	}
	return nil
}

// hasPrefix reports whether any key starts with prefix.
func (d *Directory) hasPrefix(prefix []byte) (bool, error) {
	found := false
	err := d.db.Scan(prefix, storage.PrefixEnd(prefix), false, 1, func(_, _ []byte) bool {
		found = true
		return false
	})
	return found, err
}

// suffixes returns the rest of every key under prefix, in key order: the
// child ids of an index such as dir/dept-member/<dept>/.
func (d *Directory) suffixes(prefix []byte) ([]string, error) {
	out := []string{}
	err := d.db.ScanPrefix(prefix, func(k, _ []byte) bool {
		out = append(out, string(k[len(prefix):]))
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// listLimit applies the default and cap shared by the paged listings.
func listLimit(n int) int {
	if n <= 0 {
		return DefaultListLimit
	}
	if n > MaxListLimit {
		return MaxListLimit
	}
	return n
}

// isNotFound reports whether err says a record is missing.
func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }
