// Package rtcpeer is the WebRTC side of the load generator's media
// scenarios: Pion peer connections that stand in for browsers and
// encoders, a Source that plays a real encoded clip into a track the way
// a camera or microphone would, and a Receiver that reads a remote track
// and checks what arrives.
//
// # Peers
//
// A Stack builds every peer connection of a run from one API: Pion's
// default codecs, the mid and audio level header extensions, NACK (asking
// for and answering retransmissions), RTCP reports and transport-cc
// feedback, which is what a browser runs, so the server's congestion
// control and loss recovery see real clients. All connections share one
// DTLS certificate; generating one per connection would only measure the
// generator.
//
// # Media
//
// Media is a real clip encoded by ffmpeg (sfu/mediatest), never random
// bytes. A Source paces the clip's frames in real time, in a loop, and
// answers a PLI or FIR by jumping to the clip's next keyframe, as an
// encoder answers with a fresh one. It records when it sent each frame,
// so a receiver can time the frame's trip through the server.
//
// # Checks
//
// A Receiver counts packets by extended sequence number (received,
// duplicated, missing), depacketizes video with Pion's samplebuilder into
// whole frames, and looks each frame up in the clip by fingerprint: a
// frame that matches none of the clip's frames is corrupt. (An H.264
// frame whose slice is a clip frame's still counts when its parameter
// sets are missing: the builder starts a frame at the slice when only
// the packet before it was lost.) A video stream
// must start on a keyframe, and after a loss it is undecodable until the
// next one; both are counted. Opus needs no sample builder (each packet
// is one whole frame), so audio is checked packet by packet.
//
// Latency is timed from the moment the Source wrote a frame to the
// arrival of the frame's last packet; publisher and receiver run in the
// same process, on the same clock. It is an upper bound on what the
// server adds: both Pion stacks, the loopback and the generator's own
// scheduling are in it.
package rtcpeer
