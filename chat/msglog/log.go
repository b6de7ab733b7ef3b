package msglog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"runtime"
	"sync"
	"sync/atomic"

	"parley/storage"
)

// Defaults for Options fields left at zero.
const (
	// DefaultMaxBatch is Options.MaxBatch when it is zero.
	DefaultMaxBatch = 512
	// DefaultCacheConversations is Options.CacheConversations when it is
	// zero.
	DefaultCacheConversations = 1 << 20
)

// Options tune the log. The zero value is what production uses.
type Options struct {
	// Shards is the number of committer goroutines. Conversations hash to
	// shards, so each conversation is ordered by exactly one goroutine.
	// Zero means runtime.GOMAXPROCS(0)*2.
	Shards int
	// MaxBatch is the most drafts one commit carries. Zero means
	// DefaultMaxBatch.
	MaxBatch int
	// MaxBodyBytes bounds Draft.Body; larger bodies are ErrTooLarge. Zero
	// means DefaultMaxBodyBytes.
	MaxBodyBytes int
	// CacheConversations bounds the in-memory cache of last seq and
	// durable watermark per conversation. An evicted conversation is
	// reloaded from disk on its next use. Zero means
	// DefaultCacheConversations.
	CacheConversations int
	// DedupIDs bounds the hashes of client msg ids kept in memory, about
	// 20 bytes each, so that new ids need no disk lookup (dedup.go). Zero
	// means DefaultDedupIDs.
	DedupIDs int
}

func (o Options) withDefaults() (Options, error) {
	if o.Shards < 0 || o.MaxBatch < 0 || o.MaxBodyBytes < 0 || o.CacheConversations < 0 || o.DedupIDs < 0 {
		return o, fmt.Errorf("%w options: negative value in %+v", ErrInvalid, o)
	}
	if o.Shards == 0 {
		o.Shards = runtime.GOMAXPROCS(0) * 2
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.CacheConversations == 0 {
		o.CacheConversations = DefaultCacheConversations
	}
	if o.DedupIDs == 0 {
		o.DedupIDs = DefaultDedupIDs
	}
	return o, nil
}

// Log is the durable per-conversation message log. It is safe for
// concurrent use. Only one Log may be open on a database at a time: each
// assumes it is the only writer of the chat/msg, chat/dedup and
// chat/counted keys.
type Log struct {
	db     *storage.DB
	opts   Options
	seed   maphash.Seed
	shards []*shard

	quit      chan struct{} // closed by Close
	closeOnce sync.Once
	wg        sync.WaitGroup // committer goroutines

	onDurable atomic.Pointer[func(Entry, []byte)] // see OnDurable
	stats     logStats                            // see Stats
}

// OnDurable registers fn to see every newly stored entry, once, after its
// synced commit and before its Append returns, with raw, the entry's JSON
// as stored (Entry.AppendJSON), which fn may keep but must not modify. A
// committer calls it in seq order for each conversation, so publishing
// from fn keeps every conversation's order; publishing from the callers
// of Append would not, as they race once their commits return. fn runs on
// the committer: it must be quick and must not call into the Log.
// Resends (dup) are not reported again. Register it before the first
// Append.
func (l *Log) OnDurable(fn func(e Entry, raw []byte)) {
	l.onDurable.Store(&fn)
}

// Open starts the log kept in db. Nothing is read from disk until a
// conversation is first used. The caller keeps ownership of db and closes
// it after Log.Close.
func Open(db *storage.DB, opts Options) (*Log, error) {
	if db == nil {
		return nil, fmt.Errorf("%w: open message log: nil database", ErrInvalid)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("open message log: %w", err)
	}
	l := &Log{
		db:     db,
		opts:   opts,
		seed:   maphash.MakeSeed(),
		shards: make([]*shard, opts.Shards),
		quit:   make(chan struct{}),
	}
	perShard := max(1, (opts.CacheConversations+opts.Shards-1)/opts.Shards)
	idsPerShard := max(1, (opts.DedupIDs+opts.Shards-1)/opts.Shards)
	for i := range l.shards {
		l.shards[i] = newShard(l, perShard, idsPerShard)
	}
	l.wg.Add(len(l.shards))
	for _, s := range l.shards {
		go s.run()
	}
	return l, nil
}

// Close stops accepting appends (they fail with ErrClosed), lets the
// commit in flight on every shard finish and answer its senders, and stops
// the committers. Reads fail with ErrClosed afterwards too. Close does
// not close the database. It is safe to call more than once.
func (l *Log) Close() error {
	l.closeOnce.Do(func() { close(l.quit) })
	l.wg.Wait()
	return nil
}

func (l *Log) closed() bool {
	select {
	case <-l.quit:
		return true
	default:
		return false
	}
}

func (l *Log) shardFor(conv string) *shard {
	return l.shards[maphash.String(l.seed, conv)%uint64(len(l.shards))]
}

// Append stores d and returns the entry after it is durable (its batch was
// committed with a synced write-ahead log). dup reports that
// (ConversationID, SenderID, ClientMsgID) was stored before: the ORIGINAL
// entry is returned and nothing is written (OnCommit is not called). A
// resend is recognised across restarts, and whether or not its body
// matches the original.
//
// Cancelling ctx before the committer has taken the draft abandons it
// (ctx.Err() is returned and nothing is stored); once taken, Append waits
// for the commit, since a commit cannot be undone.
func (l *Log) Append(ctx context.Context, d Draft) (e Entry, dup bool, err error) {
	if l.closed() {
		return Entry{}, false, ErrClosed
	}
	d, err = prepare(d, l.opts.MaxBodyBytes)
	if err != nil {
		return Entry{}, false, err
	}
	if err := ctx.Err(); err != nil {
		return Entry{}, false, err
	}
	r := &request{d: d, done: make(chan struct{})}
	select {
	case l.shardFor(d.ConversationID).in <- r:
	case <-ctx.Done():
		return Entry{}, false, ctx.Err()
	case <-l.quit:
		return Entry{}, false, ErrClosed
	}
	<-r.done
	if r.err != nil {
		return Entry{}, false, fmt.Errorf("append to conversation %s: %w", d.ConversationID, r.err)
	}
	return r.e, r.dup, nil
}

// LastSeq returns the durable watermark of conv: the highest seq whose
// commit has been synced. It is 0 for a conversation with no entries.
func (l *Log) LastSeq(conv string) (uint64, error) {
	if l.closed() {
		return 0, ErrClosed
	}
	if err := checkID("conversation_id", conv, MaxConversationIDBytes); err != nil {
		return 0, err
	}
	return l.shardFor(conv).watermark(conv)
}

// Get returns entry seq of conv, or ErrNotFound when it is not stored or
// not yet durable.
func (l *Log) Get(conv string, seq uint64) (Entry, error) {
	w, err := l.LastSeq(conv)
	if err != nil {
		return Entry{}, err
	}
	if seq == 0 || seq > w {
		return Entry{}, fmt.Errorf("%w: conversation %s seq %d (last is %d)", ErrNotFound, conv, seq, w)
	}
	var e Entry
	err = l.db.GetJSON(msgKey(conv, seq), &e)
	if errors.Is(err, storage.ErrNotFound) {
		return Entry{}, fmt.Errorf("%w: conversation %s seq %d is missing below last %d", ErrNotFound, conv, seq, w)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("get conversation %s seq %d: %w", conv, seq, err)
	}
	return e, nil
}

// Read returns up to limit entries of conv with seq >= fromSeq, ascending,
// never past the durable watermark. A limit of zero or less means
// DefaultReadLimit; limits above MaxReadLimit are capped. The result is
// empty, not nil, when there is nothing to read.
func (l *Log) Read(conv string, fromSeq uint64, limit int) ([]Entry, error) {
	w, err := l.LastSeq(conv)
	if err != nil {
		return nil, err
	}
	if fromSeq == 0 {
		fromSeq = 1
	}
	if fromSeq > w {
		return []Entry{}, nil
	}
	return l.scan(conv, msgKey(conv, fromSeq), msgKey(conv, w+1), false, readLimit(limit))
}

// ReadBefore returns up to limit entries of conv with seq < beforeSeq,
// newest first, for history pages; beforeSeq 0 means from the newest
// durable entry. Limits work as in Read.
func (l *Log) ReadBefore(conv string, beforeSeq uint64, limit int) ([]Entry, error) {
	w, err := l.LastSeq(conv)
	if err != nil {
		return nil, err
	}
	upper := w + 1
	if beforeSeq != 0 && beforeSeq < upper {
		upper = beforeSeq
	}
	if upper <= 1 {
		return []Entry{}, nil
	}
	return l.scan(conv, msgKey(conv, 1), msgKey(conv, upper), true, readLimit(limit))
}

func readLimit(limit int) int {
	if limit <= 0 {
		return DefaultReadLimit
	}
	return min(limit, MaxReadLimit)
}

// scan decodes the entries of conv in [lower, upper).
func (l *Log) scan(conv string, lower, upper []byte, reverse bool, limit int) ([]Entry, error) {
	out := make([]Entry, 0, min(limit, 64))
	var decodeErr error
	err := l.db.Scan(lower, upper, reverse, limit, func(k, v []byte) bool {
		var e Entry
		if err := json.Unmarshal(v, &e); err != nil { // copies v: RawMessage and strings own their bytes
			decodeErr = fmt.Errorf("decode entry %x: %w", k, err)
			return false
		}
		out = append(out, e)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return nil, fmt.Errorf("read conversation %s: %w", conv, err)
	}
	return out, nil
}

// lastOnDisk finds the highest seq stored for conv with one reverse seek.
func (l *Log) lastOnDisk(conv string) (uint64, error) {
	prefix := msgPrefix(conv)
	var (
		last uint64
		kerr error
	)
	err := l.db.Scan(prefix, storage.PrefixEnd(prefix), true, 1, func(k, _ []byte) bool {
		last, kerr = seqFromKey(k)
		return false
	})
	if err == nil {
		err = kerr
	}
	if err != nil {
		return 0, fmt.Errorf("load last seq of conversation %s: %w", conv, err)
	}
	return last, nil
}

// Original returns the durable entry that sender stored in conv under
// clientMsgID, if any. Callers use it to answer a resend with its original
// ack even when a fresh send would now be refused.
func (l *Log) Original(conv, sender, clientMsgID string) (Entry, bool, error) {
	if l.closed() {
		return Entry{}, false, ErrClosed
	}
	e, ok, err := l.storedOriginal(Draft{ConversationID: conv, SenderID: sender, ClientMsgID: clientMsgID})
	if err != nil || !ok {
		return Entry{}, false, err
	}
	wm, err := l.LastSeq(conv)
	if err != nil {
		return Entry{}, false, err
	}
	if e.Seq > wm {
		return Entry{}, false, nil // still being committed: not durable yet
	}
	return e, true, nil
}

// storedOriginal returns the entry stored for d's (conversation, sender,
// client msg id), if any.
func (l *Log) storedOriginal(d Draft) (Entry, bool, error) {
	raw, err := l.db.Get(dedupKey(d.ConversationID, d.SenderID, d.ClientMsgID))
	if errors.Is(err, storage.ErrNotFound) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, fmt.Errorf("look up client msg id %s of %s: %w", d.ClientMsgID, d.SenderID, err)
	}
	if len(raw) != 8 {
		return Entry{}, false, fmt.Errorf("dedup record of client msg id %s of %s is %d bytes, want 8", d.ClientMsgID, d.SenderID, len(raw))
	}
	seq := storage.Uint64At(raw, 0)
	var e Entry
	if err := l.db.GetJSON(msgKey(d.ConversationID, seq), &e); err != nil {
		return Entry{}, false, fmt.Errorf("load original of client msg id %s of %s (seq %d): %w", d.ClientMsgID, d.SenderID, seq, err)
	}
	return e, true, nil
}
