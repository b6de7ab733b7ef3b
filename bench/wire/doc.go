// Package wire speaks Parley's client protocol (signaling/PROTOCOL.md) from
// the client side, for the load generator: the REST calls it needs to sign
// in and provision members and conversations, the server's /metrics, the
// WebSocket dialer, and the chat frames a device sends and reads.
//
// It defines its own copies of the records it reads instead of importing
// the server's types, so it checks the documented protocol, not the
// server's idea of it, and so a benchmark of another build still compiles.
//
// Frames are built and read for speed: a load generator that spends its
// CPU on encoding/json measures itself. Outgoing chat.send frames are
// appended into a reused buffer (every value the generator puts in them is
// plain ASCII that needs no escaping), and incoming frames are checked and
// read by a scanner that keeps slices of the frame instead of allocating
// (scan.go). A chat run's connections, which receive up to a million
// messages a second between them, use Socket, a WebSocket client of its
// own that reads the network in bulk and passes messages on in place
// (socket.go); everything else uses coder/websocket.
package wire
