// Package signaling is Parley's front door: it assembles the storage, the
// message bus and the domain services into one Server, and serves them over
// HTTP — the REST API (package api), the client WebSocket (package ws),
// health and readiness probes, and Prometheus metrics.
//
// Startup order is storage, bus, services, listener; shutdown runs the
// other way: stop accepting, close sessions, drain the bus, close NATS,
// close Pebble. Serving starts only after the embedded NATS server is
// ready for connections.
package signaling
