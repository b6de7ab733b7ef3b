// Package messaging is the chat service: the rules that turn a member's
// request into log entries, membership changes and frames for devices.
//
// It stands on three parts that know nothing of each other: the durable log
// (msglog), which orders and stores every entry; the conversation store
// (conversation), which holds membership, roles and cursors; and fanout,
// which carries frames to devices over NATS.
//
// A send follows one path: check the sender may send, append to the log
// (acknowledged only once synced to disk; a resend of the same client
// message id returns the original), then encode the entry once and publish
// it on the conversation's subject. Membership changes are log entries too:
// a "system" entry whose commit also writes the membership change, so the
// log and the member list never disagree, even across a crash.
//
// Recalls, forwards and urgent reminders are entries too: a recall marks
// its original with a key written in the same commit, a forward copies the
// items it carries, and an urgent message schedules its reminders (package
// urgent) in the commit that stores it.
//
// A summary (summary.go) is a conversation as one member sees it: a direct
// conversation names the other member, computed per viewer, and the unread
// count is the other members' messages after the read cursor that were
// not recalled, read from running totals the log keeps (msglog.Counted)
// rather than from the entries. ClientLimits tells clients the limits in
// force.
//
// The bus may drop frames. Every frame that carries a log entry carries its
// sequence number, and clients pull what they miss (Pull, Sync).
package messaging
