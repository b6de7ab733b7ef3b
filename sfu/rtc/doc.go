// Package rtc is the meeting model in flight: the rooms this node hosts,
// their participants, the tracks each publishes and the subscriptions
// that carry them to the others, and the host controls over all of it.
//
// A Manager holds the rooms. It opens a room on a meeting's first join,
// from the meeting's durable record (sfu/meeting), records every join and
// leave as attendance there, and closes the room when it empties or the
// host ends the meeting. The room decides who may enter (bans, lock,
// waiting room, capacity) against that record, read afresh on each join.
//
// A participant holds two PeerConnections, so renegotiation never glares:
// on the publisher the client offers and the server answers; on the
// subscriber the server offers and the client answers. The forwarding of
// packets is sfu/media's: a published track is a media.Receiver, a
// subscription a media.DownTrack. This package decides what is forwarded
// to whom, and stops it (mute, unpublish, removal) at once.
//
// Everything a client must hear about (participants, tracks, mute state,
// speakers, host actions, server offers and ICE candidates) is an Event
// queued for it. Each participant has its own bounded queue, drained by
// its own goroutine into a Sink the signaling layer supplies, so a slow
// client never holds up the room: when its queue overflows it is treated
// as disconnected and must resume, receiving a fresh snapshot.
//
// A participant whose connection drops is kept, with its tracks, for a
// grace period in the reconnecting state. Resuming with the resume token
// it was given on joining restores it; both PeerConnections then restart
// ICE, so media flows over the client's new network path.
//
// A host records the meeting (record.go, recordfiles.go), or its
// settings record it as media first flows: sfu/recording writes each
// person's tracks to a file, fed by media.Sinks on the receivers and
// gated on mute, and the room announces the recording once media is on
// disk.
//
// rtc imports sfu packages and storage, never chat or signaling.
package rtc
