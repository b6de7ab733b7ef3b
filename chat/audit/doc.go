// Package audit keeps the append-only log of administrative actions: who did
// what, when, from where, and the record before and after. Entries are
// written in the same batch as the change they describe, so the log never
// disagrees with the data.
package audit
