// Package storage is Parley's only door to disk state: a Pebble database
// inside the data directory, the exclusive lock that keeps a second server
// off that directory, the key layout of every record (keys.go), synced
// batches for writes and bounded iterators for reads.
//
// Every write that callers acknowledge to a client goes through Commit, which
// syncs the write-ahead log before it returns. Pebble's commit pipeline lets
// concurrent synced commits share one fsync, so durability does not cost one
// disk flush per request.
package storage
