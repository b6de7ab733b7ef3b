// Package bus connects this node to the message bus that carries events
// between Parley nodes: by default a NATS server embedded in the process,
// or an external NATS cluster when one is configured. It owns the server's
// options, the one client connection everything publishes on, and the names
// of every subject Parley uses (subjects.go).
//
// # Delivery guarantees
//
// The bus is core NATS, which delivers at most once: it drops messages for
// slow consumers, while a connection or route is down, and when no node is
// subscribed. The bus is therefore never the durable record of anything.
// The Pebble log in package storage is: a change is committed (synced) there
// first and only then announced on the bus. Subscribers that need every
// event detect gaps by the sequence numbers the events carry and catch up
// from storage; those that only need a hint (for example "member disabled,
// drop their sessions") re-read the state they act on. JetStream is not
// used.
//
// # Listening ports
//
// The zero Config opens no port at all: the node's own client talks to the
// embedded server in-process. A client port is opened only when Listen is
// set, or, bound to a random port on 127.0.0.1, when clustering is
// configured without Listen, because nats-server starts routes only once its
// client listener is up. Neither the client port nor the route port asks
// for credentials or uses TLS, so bind them to loopback or a private network.
package bus
