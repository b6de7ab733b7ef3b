// Package urgent keeps the re-notify schedule of urgent messages (强制提醒):
// an urgent message reminds the members who have not read it every
// interval, up to a number of times.
//
// The schedule is the Pebble keys themselves, one per pending reminder,
// ordered by due time:
//
//	chat/urgent/<due unix ms BE8>/<conv>/<seq BE8>  ->  {sender, repeat, max, interval}
//
// The chat service writes the first key in the same commit as the urgent
// message (Stage, from the log's OnCommit hook), so a message is never
// stored without its schedule nor the other way round. One goroutine
// sleeps until the earliest key is due (or until Wake says a new one may
// be earlier), then for each due key asks who has not read the message,
// reminds them through the Notifier, and in one synced batch deletes the
// key and, while repeats and unreaders remain, writes the next one. A
// restart loses nothing: the next start finds the keys and fires whatever
// fell due while the node was down.
//
// A reminder is sent before its key moves on, so a crash in between sends
// it again after the restart: reminders are at least once, never lost.
// Each node keeps its own schedule for the messages it stored, like the
// rest of its Pebble database.
package urgent
