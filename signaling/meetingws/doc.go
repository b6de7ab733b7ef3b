// Package meetingws speaks meetings on the client WebSocket: the
// meeting.* requests (join, resume, leave; publish, subscribe and their
// SDP and ICE candidates; mute; the host controls) and the meeting.*
// frames the room pushes, which it encodes from sfu/rtc's events.
//
// It decides who a session is in a meeting: a member, on the member hub
// (/ws), joins by the meeting's id (an unguessable id, handed out by
// invitation or the join link); a guest connects to the guest endpoint
// (GuestPath), a hub of its own that admits only meeting guest tokens and
// carries only meeting.* requests, and joins the one meeting its token
// names. What the meeting itself allows (bans, lock, waiting room,
// capacity, guests at all) is the room's decision, in sfu/rtc. One
// session is in at most one meeting at a time.
//
// Each successful host control, recording included, is written to the
// audit log (chat/audit) with the meeting as its target.
//
// The guest endpoint is a signaling/guestws Endpoint: a guest renews its
// token there (auth.renew, then auth.refresh) for as long as the meeting
// would still admit it.
//
// A session that closes leaves its participant reconnecting, not gone:
// the client may open a new socket and resume it within the grace
// period with its resume token.
package meetingws
