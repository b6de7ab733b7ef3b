// Package ws runs the client WebSocket at /ws: one connection per device,
// carrying JSON envelopes {"type","id","data"} both ways.
//
// A Hub authenticates each upgrade with an access token, tracks sessions by
// member so events about a member (disabled, tokens revoked) close all of
// that member's sockets on every node, and dispatches inbound messages to
// handlers that other packages register by message type. Each session owns
// a bounded send queue: a client that stops reading fills only its own
// queue and is closed as too slow, so it never holds up anyone else.
//
// Idle sockets are cheap and busy ones batch. A session's reader goroutine
// runs only while messages come: after a second without one it hands the
// socket to the hub's epoll poller and ends, and the poller starts a new
// reader when bytes arrive. The session answers pings and takes pongs
// itself (socketreader.go), below coder/websocket, so a keepalive does not
// need a reader. A writer goroutine exists only while frames are queued;
// it frames everything queued by then itself and writes it with one system
// call, so a burst of pushes to one device costs one write, not one per
// frame.
package ws
