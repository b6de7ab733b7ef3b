// Package conversation keeps who talks with whom: direct conversations and
// groups, their members and roles, group settings, and each member's read
// and delivery cursors in the conversation's message log.
//
// # Model
//
// A direct conversation has exactly two members and no owner. Its id is
// DirectID(a, b), a hash of the sorted pair, so asking twice for the same
// pair finds the same conversation: creation is idempotent. A group has a
// random id (NewGroupID), a name, an avatar, an announcement, a welcome
// message for new members, exactly one owner, any number of admins, and at
// most Options.MaxGroupMembers members. The owner and admins manage it;
// it can be muted for all (the owner and admins still speak), single
// members can be muted, and the owner can dissolve it. A dissolved group
// keeps its members and history but refuses sends and changes.
//
// Members see the log only from the system entry that added them: that
// entry's seq is Membership.JoinedSeq. Each member has a read cursor and a
// delivery cursor, which only move forward (a lower value is ignored, as
// acks from several devices arrive in any order). Both start at
// JoinedSeq-1.
//
// # Check, stage, commit
//
// Every membership or settings change is also a "system" entry in the
// conversation's message log (package msglog), and the two must never
// disagree: a member added but never announced, or announced but never
// added, would confuse every client. So this package does not commit such
// changes itself. The chat service does, in three steps:
//
//	unlock := store.Lock(convID)
//	defer unlock()
//	toAdd, err := store.CheckAddMembers(convID, ids)   // validate; no writes
//	// ... refuse on err, skip if nothing to do ...
//	log.Append(ctx, msglog.Draft{..., Type: msglog.TypeSystem,
//		OnCommit: func(b *storage.Batch, e msglog.Entry) error {
//			return store.StageAddMembers(b, convID, toAdd, e.Seq, e.CreatedAt)
//		}})
//
// Check* reads the current state and says whether (and what) the change
// would do, so an invalid request never reaches the log. Stage* runs the
// same decision again and adds its writes to the log's batch, which
// commits them and the system entry in one synced write. Stage* only
// reads Pebble and fills the batch, so it is quick enough for the log's
// committer goroutine, and it is a pure function of the stored state, so
// it may run again with a new seq when the log rebuilds a batch. Lock
// (striped mutexes) keeps every other change to the conversation out from
// the check to the commit, which is what lets Stage* trust what Check*
// saw. Permissions (who may do what) are the service's call, helped by
// CanSend, CanManage, CanModerate and RequireOwner.
//
// Cursor advances are not logged; AdvanceRead and AdvanceDelivered commit
// on their own. They share the conversation's lock (readers' side) so a
// cursor write never lands between a member's removal and its commit, and
// a per-member lock keeps concurrent advances monotonic.
//
// # Key layout
//
// All keys are under the chat/ prefixes of storage/keys.go:
//
//	chat/conv/<conv>                  Conversation, JSON
//	chat/conv-member/<conv>/<member>  Membership, JSON
//	chat/member-conv/<member>/<conv>  empty: ListForMember's index
//	chat/cursor/<conv>/<member>       uvarint read, delivered, joined seq
//
// Members and cursors share the conversation as key prefix, so one prefix
// scan lists a conversation's members. The cursor record is deliberately
// tiny and carries the joined seq: Readers ("read by N of M, and who") and
// MemberIDs (the fan-out list of every message) scan only those records,
// O(members) however long the log, which answers a 10,000-member group in
// milliseconds. A member's three keys (membership, index, cursors) are
// written and deleted together. Conversation and member ids never hold '/'
// or control bytes (checked, ErrInvalid), which keeps the composite keys
// unambiguous.
package conversation
