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
// alone (read receipts for a sender). Inboxes are grouped into
// bus.InboxShards shards, and a node subscribes to a whole shard while at
// least one of its members has a session there: a subscription per online
// member was the largest part of an idle connection's memory that Parley
// controls. A node drops the frames of its shards' members who are online
// only elsewhere.
//
// Core NATS is at-most-once. fanout never stands between a client and its
// data: every chat frame carries a per-conversation sequence number, and a
// client that sees a gap pulls the missing entries from the durable log.
package fanout
