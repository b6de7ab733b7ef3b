package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/bloom"
)

// ErrNotFound is returned by Get and GetJSON when a key has no value.
var ErrNotFound = errors.New("storage: not found")

// ErrLocked is returned by Open when another process holds the data
// directory. The wrapped message names the lock file and, when known, the
// holder's PID.
var ErrLocked = errors.New("data directory is in use by another parley process")

// Options tune the database. The zero value is what production uses.
type Options struct {
	// CacheBytes is the block cache size. Zero means 64 MiB.
	CacheBytes int64
	// WALMinSyncInterval, when positive, lets the WAL wait this long before
	// a sync so that more concurrent commits share it. Zero syncs at once.
	WALMinSyncInterval time.Duration
	// Logger receives Pebble's own log lines. Nil discards them.
	Logger *slog.Logger
}

// DB is the open state of one data directory.
type DB struct {
	pebble *pebble.DB
	lock   *dirLock
	dir    string

	closeOnce sync.Once
	closeErr  error
}

// MemTableBytes is the size of Pebble's memtable. Every send does a
// point lookup that nearly always misses (the message log's dedup check),
// and a miss walks the memtable's skiplist with a cache miss per node:
// with 64 MiB that walk was 18 % of the server's CPU in a 1:1 chat
// benchmark, about 20 µs a lookup, while flushed sstables answer a miss
// from their bloom filters. A small memtable moves the cost to
// compaction instead: each small L0 file overlaps all of Lbase (message
// keys spread over every conversation), and at Pebble's default 4 MiB
// compaction took a quarter of the CPU. 16 MiB did best in 45 to 60 s
// runs (bench/RESULTS.md).
const MemTableBytes = 16 << 20

// Open locks dataDir, creating it if needed, and opens the Pebble database in
// dataDir/db. It fails at once with ErrLocked if another process has the
// directory open.
func Open(dataDir string, opts Options) (*DB, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory %s: %w", dataDir, err)
	}
	lock, err := lockDir(dataDir)
	if err != nil {
		return nil, err
	}
	cacheBytes := opts.CacheBytes
	if cacheBytes <= 0 {
		cacheBytes = 64 << 20
	}
	cache := pebble.NewCache(cacheBytes)
	defer cache.Unref()
	popts := &pebble.Options{
		Cache:        cache,
		MemTableSize: MemTableBytes,
		Logger:       pebbleLogger{opts.Logger},
	}
	// Bloom filters let a point lookup skip sstables without the key: the
	// message log's dedup check is such a lookup on every send, and nearly
	// always misses.
	popts.Levels = make([]pebble.LevelOptions, 7)
	for i := range popts.Levels {
		popts.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
		popts.Levels[i].FilterType = pebble.TableFilter
	}
	if d := opts.WALMinSyncInterval; d > 0 {
		popts.WALMinSyncInterval = func() time.Duration { return d }
	}
	pdb, err := pebble.Open(filepath.Join(dataDir, "db"), popts)
	if err != nil {
		lock.release()
		return nil, fmt.Errorf("open pebble in %s: %w", dataDir, err)
	}
	return &DB{pebble: pdb, lock: lock, dir: dataDir}, nil
}

// Dir is the data directory this database lives in. Other on-disk state
// (uploaded files, recordings) goes in sibling folders of it.
func (db *DB) Dir() string { return db.dir }

// Close flushes nothing extra (every acknowledged write is already synced),
// closes Pebble and releases the directory lock. Later calls return the
// first call's result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		err := db.pebble.Close()
		db.lock.release()
		if err != nil {
			db.closeErr = fmt.Errorf("close pebble: %w", err)
		}
	})
	return db.closeErr
}

// Get returns a copy of the value stored at key, or ErrNotFound.
func (db *DB) Get(key []byte) ([]byte, error) {
	v, closer, err := db.pebble.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	out := append([]byte(nil), v...)
	closer.Close()
	return out, nil
}

// Has reports whether key has a value.
func (db *DB) Has(key []byte) (bool, error) {
	_, closer, err := db.pebble.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("get %q: %w", key, err)
	}
	closer.Close()
	return true, nil
}

// GetJSON decodes the JSON value at key into v, or returns ErrNotFound.
func (db *DB) GetJSON(key []byte, v any) error {
	raw, err := db.Get(key)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %q: %w", key, err)
	}
	return nil
}

// NewBatch starts an empty write batch. Nothing is visible until Commit.
func (db *DB) NewBatch() *Batch {
	return &Batch{b: db.pebble.NewBatch()}
}

// Commit applies b atomically and returns only after the write-ahead log is
// synced to disk. Concurrent commits share one fsync. The batch is closed
// afterwards, whether or not the commit succeeded.
func (db *DB) Commit(b *Batch) error {
	defer b.b.Close()
	if b.b.Empty() {
		return nil
	}
	if err := db.pebble.Apply(b.b, pebble.Sync); err != nil {
		return fmt.Errorf("commit batch: %w", err)
	}
	return nil
}

// Update runs fn with a fresh batch and commits it if fn returns nil. It
// gives no isolation between concurrent callers: callers that read before
// they write serialize themselves.
func (db *DB) Update(fn func(b *Batch) error) error {
	b := db.NewBatch()
	if err := fn(b); err != nil {
		b.b.Close()
		return err
	}
	return db.Commit(b)
}

// Metrics returns Pebble's own statistics, for the /metrics endpoint.
func (db *DB) Metrics() *pebble.Metrics { return db.pebble.Metrics() }

// Batch collects writes that commit together.
type Batch struct {
	b *pebble.Batch
}

// Set stores value at key. Both slices may be reused once Set returns.
func (b *Batch) Set(key, value []byte) {
	_ = b.b.Set(key, value, nil) // only fails on a closed batch, a programming error
}

// SetJSON stores the JSON encoding of v at key.
func (b *Batch) SetJSON(key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %q: %w", key, err)
	}
	b.Set(key, raw)
	return nil
}

// Delete removes key.
func (b *Batch) Delete(key []byte) {
	_ = b.b.Delete(key, nil)
}

// DeletePrefix removes every key that starts with prefix.
func (b *Batch) DeletePrefix(prefix []byte) {
	_ = b.b.DeleteRange(prefix, PrefixEnd(prefix), nil)
}

// Len is the number of bytes in the batch's representation.
func (b *Batch) Len() int { return b.b.Len() }

type pebbleLogger struct{ l *slog.Logger }

func (p pebbleLogger) Infof(format string, args ...any) {
	if p.l != nil {
		p.l.Debug(fmt.Sprintf(format, args...), "component", "pebble")
	}
}

func (p pebbleLogger) Errorf(format string, args ...any) {
	if p.l != nil {
		p.l.Error(fmt.Sprintf(format, args...), "component", "pebble")
	}
}

func (p pebbleLogger) Fatalf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if p.l != nil {
		p.l.Error(msg, "component", "pebble")
	}
	panic(msg)
}
