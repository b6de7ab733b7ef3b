// Package recording writes meetings and lives to disk, in-process: a
// subscriber inside the server that takes the original RTP packets of a
// published track (one simulcast layer) and the publisher's Sender
// Reports, and writes each participant's tracks into one file.
//
// The flow, one concern per file:
//
//   - track.go: TrackWriter, what the media engine calls. WriteRTP and
//     WriteSenderReport copy and queue, never block; a full queue drops
//     the packet and counts it.
//   - jitter.go: per track, packets back in sequence order; duplicates
//     and late packets dropped; a gap waited out for 500 ms of media, then
//     called lost.
//   - depacketize.go: packets into whole frames with Pion's
//     depacketizers; a video frame that lost a packet is dropped, and so
//     is everything after it until the next keyframe, which is asked for.
//   - sync.go: RTP time to wall clock through Sender Reports (arrival time
//     until the first one), so the tracks of a file share one timeline and
//     start as far apart as they really did.
//   - participant.go, segment.go: one goroutine per participant; a file
//     opens once every track has a frame and a report (or DefaultSyncWait
//     of media has piled up), frames are written interleaved in time
//     order, and a reconnect or a new track starts the next file (segment).
//   - webm.go: VP8 or VP9 with Opus into WebM through ebml-go, with a
//     SeekHead, Cues and Duration so browsers can seek.
//   - fmp4.go: H.264 with Opus into fragmented MP4 through mp4ff: ftyp and
//     moov (mvex, avcC from the in-band SPS/PPS, 'Opus' with dOps), then
//     moof+mdat fragments.
//   - session.go, manifest.go: a Session is one recording in its own
//     folder; it reports Started once media is on disk and Stopped with a
//     reason; a write error (a full disk above all) stops it without
//     touching the meeting. On stop, manifest.json lists every file with
//     its start offset; LoadManifest and OpenFile serve downloads safely.
//
// The package knows nothing of rooms or the media engine: the room layer
// adds participants and tracks and feeds them. It imports neither chat nor
// signaling, nor sfu/media.
//
// Limits: one audio and one video track per participant file (a screen
// share records as a participant of its own); H.264 without B-frames, as
// WebRTC sends it; VP9 without spatial layers in one picture.
package recording
