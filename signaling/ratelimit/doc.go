// Package ratelimit keeps bounded tables of token buckets, one bucket per
// key, for the front door's per-account, per-address and per-member limits.
// A table never grows past its bound, so a flood of new keys cannot exhaust
// memory; when full of buckets still refilling, it refuses new keys rather
// than forgetting old ones, so a limit cannot be reset by flooding.
package ratelimit
