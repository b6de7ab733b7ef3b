// Package live keeps what a live broadcast is, durably: its title and
// schedule, its host and guests, who may watch it (its Scope), its
// status and on-air sessions, the secret stream key an encoder such as
// OBS publishes with, and its viewer statistics. It holds no media; the
// WHIP ingest and WHEP playback that use these records live beside it.
//
// Who matches a Scope (members of some departments or tags) is decided by
// the caller, which knows the directory; this package only keeps the
// scope. An external live's password is kept only as the argon2id hash
// the caller computed.
//
// A stream key is shown once, when made, and stored only as its SHA-256
// in a unique index, so LiveByStreamKey is one lookup and a copy of the
// database holds no usable key. The key has 192 random bits, so a fast
// hash is enough.
//
// Viewer records (one per join) are written like meeting attendance, one
// synced batch each. The counters that change on every join, leave, like
// or comment are kept in memory: the number watching now, the peak,
// interaction counts and replay views. The peak, interactions and replay
// views are written every FlushInterval (and by Flush, MarkEnded and
// Close). After a restart the number watching starts at zero, since the
// viewers' connections ended with the process; the other counters come
// back as last written, so a crash loses at most FlushInterval of
// interactions and none are lost on a clean Close. Viewer records left
// open by a crash are closed when the live next ends.
package live
