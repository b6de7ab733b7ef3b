// Package presence knows which members are online, on any node, and when
// each was last seen.
//
// A member is online while they hold at least one session on at least one
// node. Each node counts its own sessions per member and announces on its
// bus subject (bus.PresenceSubject) when a member's count there goes from
// zero to one (online) or back to zero (offline, with the time). Every node
// listens to every other node and keeps, per member, the set of nodes that
// reported them online, so a member on two nodes goes offline only when
// both have reported zero.
//
// The bus delivers at most once, and a node that dies cannot say goodbye.
// So each node also republishes its whole online set every
// HeartbeatInterval (30 s), and an entry that no change or heartbeat has
// refreshed for ExpireAfter (90 s) expires: the members of a silent node
// go offline 90 to 120 s after its last heartbeat. A node that starts
// says hello in its first heartbeat, and the others answer with theirs at
// once, so it does not wait a full interval to know who is online.
//
// Each running node has its own name: the configured one plus a random
// suffix chosen at start, so a restarted node is a new node to the others
// and its previous incarnation's members simply expire.
//
// Presence is never stored as messages. The one stored part is the last
// seen time of each member (storage.PrefixPresenceLastSeen), which every
// node writes into its own database when it hears that a member's last
// session on some node closed, or that a node's entry for the member
// expired. Writes are batched off the delivery path.
//
// Devices watch up to MaxWatchMembers members per session; a change of a
// watched member's state is pushed to the session as a "presence" frame.
// A session's watch list lives in memory and ends with the session.
package presence
