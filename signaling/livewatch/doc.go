// Package livewatch lets a signed-in member watch a live over the client
// WebSocket instead of WHEP: live.watch makes a viewer session on which
// the server offers the live's tracks, live.watch.answer and
// live.watch.candidate complete it, and live.unwatch ends it. The server
// pushes live.watch.ended when the session ends on its own (the live
// ended, the connection failed). Who may watch is decided as for WHEP
// (signaling/whip's Access); the media is sfu/live's.
//
// A session's watches end with the socket. The comments, likes and the
// rest of a live's room are signaling/livews's.
package livewatch
