// Package chatws speaks chat on the client WebSocket: it decodes the
// chat.* requests a device sends, applies the per-member send limit, calls
// the chat service, and answers in the envelope the hub defines. Frames the
// chat service pushes (messages, receipts, typing) reach devices through
// fanout and the hub, not through this package.
package chatws
