// Package livews speaks the interactive side of a live stream on the
// client WebSocket: the live.* requests (join and leave a live's room,
// comment, like, ask, answer, polls, lottery draws, announcements,
// moderation), who may send each, and the glue between those
// interactions and the live's viewer statistics in sfu/live.
//
// A session joins a live's room with live.join, which decides once who
// the session is there: the host or a guest (who moderate), or a viewer.
// An internal live admits members in its scope; an external live admits
// the viewer token issued for it. Every later request names the live and
// must come from a session that joined it; moderation re-reads the live,
// so a guest removed meanwhile loses the right at once. A viewer joining
// while the live is on air is recorded in sfu/live (RecordViewerJoin),
// and its leave, or its socket's end, closes the record; each comment,
// like, question and vote counts as an interaction there.
//
// What a live's viewers see (entries, tallies, the viewer count) is
// pushed by chat/liveroom through the session's bounded queue, like any
// frame of the hub.
package livews
