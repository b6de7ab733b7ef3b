// Package meeting keeps what a meeting is, durably: its title, schedule,
// host, co-hosts and invitees, its settings, its secret join link, who is
// banned from it, and the attendance records of everyone who joined. It
// holds no media and no live connections; the SFU asks it who may join
// and tells it who joined and left.
//
// Every write is one synced Pebble batch. Meeting records change rarely
// and under one mutex (read, check, write); attendance is written often
// (a meeting of hundreds fills in a minute), so a join takes the mutex
// only to allocate its sequence number and commits outside it, and
// leaves lock only the record they close, so concurrent joins and leaves
// share fsyncs.
//
// The package does not know the directory: member ids are opaque strings
// here, and whether an invitee exists is the caller's question.
package meeting
