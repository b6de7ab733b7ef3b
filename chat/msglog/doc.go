// Package msglog is the durable per-conversation message log: it stores
// chat messages so that none is lost, duplicated or reordered, and hands
// out each conversation's entries by sequence number.
//
// # Guarantees
//
//   - Every conversation numbers its entries 1, 2, 3, ... with no gaps, and
//     an entry never changes once stored.
//   - Append returns only after the entry's batch was committed with a
//     synced write-ahead log, so an acknowledged message survives a crash.
//   - A resend with the same (conversation, sender, client_msg_id) returns
//     the original entry and stores nothing, also when the first attempt's
//     ack was lost and across restarts.
//   - Readers never see an entry whose commit has not returned.
//
// # Group commit
//
// Conversations hash to Options.Shards committer goroutines, so all appends
// to one conversation are ordered by exactly one goroutine and need no
// lock. Append hands its draft to the shard over an unbuffered channel:
// the moment the committer receives it is the moment the draft is "taken",
// before which a cancelled context simply abandons it. The committer loop
// blocks for one draft, then takes every draft already waiting, up to
// Options.MaxBatch, without waiting for more. For that batch it
//
//  1. answers resends of entries stored earlier from the dedup index,
//     skipping the lookup of an id its conversation's set of known ids
//     proves new (dedup.go);
//  2. pins each conversation's cached state (loading the last seq from
//     disk with one reverse seek on first touch);
//  3. builds ONE storage batch: per draft the entry, its dedup record and
//     whatever Draft.OnCommit adds, assigning seqs last+1, last+2, ...; a
//     second draft with the same dedup key in the same batch is a resend
//     of the first;
//  4. commits it with one synced write (storage.DB.Commit);
//  5. advances the conversations' durable watermarks and answers every
//     sender.
//
// While one batch syncs, new senders queue up and ride the next batch, so
// a hot conversation costs one fsync per batch, not per message. Shards
// commit concurrently, and Pebble's commit pipeline lets their synced
// commits share one fsync too.
//
// Failures never leave a gap. If Draft.OnCommit fails (or panics), that
// draft alone gets the error and the batch is rebuilt from scratch without
// it, so seqs are assigned only to drafts that reach disk; OnCommit may
// therefore run more than once for a draft. If the commit itself fails,
// every draft in it gets the error and the conversations are marked
// failed: their last seq is reloaded from disk before the next batch, their
// watermark does not move until a commit succeeds, and a resend whose
// original sits above the watermark gets an error instead of an ack.
//
// # Durable watermark
//
// Pebble makes a batch visible to readers when it is applied to the
// memtable, which happens before its WAL sync returns. If a reader could
// see seq N at that point, a client could receive N, the server crash
// before the sync, and N be assigned to a different message after restart:
// the client would hold a message the log never had. So every read (Read,
// ReadBefore, Get, LastSeq) is capped at a per-conversation watermark
// kept in memory, which the committer advances only after the synced
// commit has returned. A conversation that is not cached is loaded from
// disk under the shard's lock: nothing is in flight for it (pinned states
// are never evicted), so everything on disk is durable. After a restart
// that holds too: Pebble replays the WAL and flushes it on open.
//
// The cache of last seq and watermark is bounded by
// Options.CacheConversations, split evenly over shards, least recently
// used first out. Evicting a conversation only means reloading it from
// disk next time; conversations with drafts in flight, or whose last
// commit failed, are never evicted.
//
// # Key layout
//
// (see storage/keys.go; ids are validated never to contain '/' or control
// bytes, so the keys split unambiguously)
//
//	chat/msg/<conv>/<seq BE8>                      -> Entry as JSON
//	chat/dedup/<conv>/<sender>/<client_msg_id>     -> seq, 8 bytes BE
//	chat/counted/<conv>/<seq BE8>                  -> uvarint running total
//	chat/counted-by/<conv>/<sender>/<seq BE8>      -> uvarint running total
//
// Big-endian seqs make key order seq order, so Read and ReadBefore are
// plain range scans and the last seq is one reverse seek. The dedup index
// is scoped to the conversation (the brief proposed
// chat/dedup/<sender>/<client_msg_id>): that way the check runs inside
// the one shard that owns the conversation, against records that shard
// committed itself, so two shards can never race on one key and no shard
// can read another's not-yet-synced record. A resend goes to the
// conversation the original went to; a sender that reuses a client id in
// another conversation gets a second, separate message. It also lets a
// conversation's whole state be dropped with four prefix deletes.
//
// The two chat/counted prefixes hold running totals of the entries a
// draft marked Counted (members' messages, for unread badges), per
// conversation and per sender, written in each such entry's commit;
// count.go explains them and Counted reads them with one seek each.
//
// The log assumes it is the only writer of these keys: open one Log per
// database.
package msglog
