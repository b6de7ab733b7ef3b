// Package latency records latencies from many goroutines into HDR
// histograms and summarises them as percentiles.
//
// An HDR histogram keeps a fixed relative precision over its whole range,
// so p99.9 and max are as trustworthy as p50, and it costs a constant few
// nanoseconds per value. One histogram is not safe for concurrent use, so a
// Recorder holds a few shards, each behind its own lock; callers pick a
// shard (a connection's index does) and contention stays low.
package latency
