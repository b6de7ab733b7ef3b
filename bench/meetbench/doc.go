// Package meetbench is the meeting scenario of the load generator: it
// provisions members and meetings on a running server, has them join over
// the WebSocket and send and receive real media over WebRTC, as browsers
// do, and measures and checks what the server forwards.
//
// # Shapes
//
// A run has Config.Rooms meetings of the same shape, those of LiveKit's
// published benchmarks. In the audio layout the publishers send one
// microphone each (Opus) and everyone in the room hears every
// microphone, subscribers included, through auto-subscribe. In the video
// layout the publishers send one camera each (VP8, 640x360) and join
// without auto-subscribe; every participant, publisher or subscriber,
// picks VideosPerSubscriber cameras with meeting.subscribe, as a gallery
// view does.
//
// # Phases
//
// Members are created as in chatbench (an API key, minted tokens, ids
// "bench-<run id>-r<room>-p<i>" and "-s<i>"), and each room's first
// publisher creates its meeting (title "parley bench <run id> room <n>")
// and hosts it. Publishers join and publish first, then subscribers join;
// each participant has the two peer connections of the protocol and
// answers the server's subscriber offers. Once every subscription has
// shown a first frame (or a timeout passed), the window runs for
// Config.Duration. With Config.Record each room's host starts the
// recording (meeting.host.record) before the window and stops it after.
// At the end each host ends its meeting, every socket and connection
// closes; with Config.Record the recordings are listed, downloaded and
// checked with ffprobe (package recordcheck), one file per publisher.
// Then the members are disabled and the key deleted. Ended meetings
// cannot be deleted; their titles carry the run id.
//
// # Measurement and checks
//
// Join time runs from meeting.join to its reply; first-frame time from
// the moment a participant could ask for a track to the first whole frame
// it could show. In the window, every receiver counts packets, losses and
// whole frames (package rtcpeer); a subscription without media, a corrupt
// frame, a video stream that does not start on a keyframe, loss above
// Config.MaxLoss, a missing, unreadable or short recording, or any
// signaling error fails the run. The server's CPU
// and memory come from its /metrics at the start and end of the window.
package meetbench
