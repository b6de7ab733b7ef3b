// Package ws runs the client WebSocket at /ws: one connection per device,
// carrying JSON envelopes {"type","id","data"} both ways.
//
// A Hub authenticates each upgrade with an access token, tracks sessions by
// member so events about a member (disabled, tokens revoked) close all of
// that member's sockets on every node, and dispatches inbound messages to
// handlers that other packages register by message type. Each session owns
// a bounded send queue drained by one writer goroutine: a client that stops
// reading fills only its own queue and is closed as too slow, so it never
// holds up anyone else.
package ws
