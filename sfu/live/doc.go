// Package live runs live broadcasts: it keeps what a live is, durably,
// and Broadcasts runs the live media of a node: WHIP ingest, WHEP and
// WebSocket playback, recording, replay.
//
// The records (Store): a live's title and schedule, its host and guests,
// who may watch it (its Scope), its status and on-air sessions, the
// secret stream key an encoder such as OBS publishes with, and its
// viewer statistics.
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
// interaction counts and replay views. Watching is counted per viewer
// id: a web viewer recorded by live.join and again by its playback, or
// in two tabs, watches once, and their watch time is the union of their
// records. The peak, interactions and replay views are written every
// FlushInterval (and by Flush, MarkEnded and Close). After a restart the
// number watching starts at zero, since the viewers' connections ended
// with the process; the other counters come back as last written, so a
// crash loses at most FlushInterval of interactions and none are lost on
// a clean Close. Viewer records left open by a crash are closed when the
// live next ends.
//
// The media (Broadcasts): one Broadcast per live whose publisher is
// connected to this node. Publish takes a WHIP offer (OBS or a browser)
// and makes an Ingest; each published track gets a media.Receiver, which
// outlives publisher sessions so a reconnecting encoder continues it.
// Play (WHEP) and Watch (the WebSocket, server offering) make a Playback
// with a DownTrack per track the player takes, recorded in the viewer
// statistics from start to close. A live that asks for it is recorded
// through package recording, one file per publisher session; Recordings
// and OpenRecording serve the finished ones for replay. Codecs pass
// through as the publisher sends them (AV1 and HEVC included), so a
// player that cannot take the live's codec is refused with ErrCodec.
// The HTTP side of all this is signaling/whip.
package live
