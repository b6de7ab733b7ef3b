// Package fanout moves chat frames from the node that accepted them to
// every device that must see them, on whichever node it is connected.
//
// Each conversation has one NATS subject. A node subscribes to it while at
// least one member of the conversation has a session on that node, and
// keeps, per conversation, the set of those local members. A frame is
// encoded once by its sender, published once, and on every interested node
// handed as the same bytes to each local session of each local member: no
// per-recipient marshalling, and no storage reads on the delivery path.
//
// Each member also has an inbox subject for frames meant for that member
// alone (read receipts for a sender). A node subscribes to it while the
// member has a session there.
//
// Core NATS is at-most-once. fanout never stands between a client and its
// data: every chat frame carries a per-conversation sequence number, and a
// client that sees a gap pulls the missing entries from the durable log.
package fanout
