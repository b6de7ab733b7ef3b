// Package media is the SFU's forwarding engine. It knows tracks, packets
// and subscribers; it knows nothing of rooms, participants or signaling.
//
// # Receiving
//
// A Receiver is one published track. Create it from the publisher
// connection's OnTrack, and hand it the track's further simulcast layers
// (one TrackRemote per rid) as they arrive:
//
//	pc.OnTrack(func(t *webrtc.TrackRemote, rr *webrtc.RTPReceiver) {
//		if r := byTrackID[t.ID()]; r != nil {
//			r.AddTrack(t, rr) // another rid of the same track
//			return
//		}
//		r, err := media.NewReceiver(t, rr, media.ReceiverConfig{WriteRTCP: pc.WriteRTCP, MaxBitrate: cap})
//		...
//	})
//
// Each layer has a goroutine that reads its packets and keeps the last
// ones in a packet cache, one per layer shared by every subscriber. It
// writes each packet itself to the first InlineFanout downtracks that
// want the layer (a UDP write does not wait on the subscriber), from the
// packet as it parsed it, with no copy; it puts a reference to the packet
// in the queue of every other consumer, which has its own goroutine and
// copies the packet back out of the cache. It never waits on a queue: a
// full one drops. The server-added latency of what it writes goes to the
// shared LatencyHistogram once per packet, not once per subscriber.
//
// Layers are known by quality index, 0 the lowest, as Receiver.Layers
// orders them: by picture size (read from VP8, VP9 and H.264 keyframes),
// else by measured bitrate, else by rid. Rid names are never assumed
// (browsers send q/h/f, OBS 0/1/2). Keyframe requests to the publisher
// (RequestKeyframe, and every subscriber's PLI) go out at most once per
// KeyframeRequestInterval per layer. ReceiverConfig.MaxBitrate caps the
// publisher: REMB asks it to stay under, and layers that keep the track
// over the cap are refused (not forwarded).
//
// # Forwarding
//
// A DownTrack carries one Receiver to one subscriber. It is a
// webrtc.TrackLocal; AddDownTrack puts it on a subscriber connection from
// transport.NewSubscriber. Negotiation binds it, but it forwards nothing
// until the connection's DTLS transport is up: Pion drops, without an
// error, what is written before the SRTP keys exist, and a stream that
// lost its opening keyframe that way would show nothing until the next
// one. It then starts on the keyframe that has just passed, replayed
// from the cache when it is recent enough, or else asks for one. It
// forwards one layer at a time and rewrites sequence numbers and
// timestamps, so the subscriber sees one continuous stream across layer
// switches and publisher SSRC changes; a switch waits for a keyframe on
// the new layer, which it requests. Where a keyframe starts is read from
// the payload for VP8, VP9, H.264, H.265 (parameter sets or a random
// access picture) and AV1 (the N bit, or a sequence header), so the
// pass-through codecs start late viewers on a picture too. It answers the
// subscriber's NACKs
// from the receiver's cache (at most MaxRetransmits times a packet) and
// turns PLI and FIR into a throttled keyframe request. Mute stops it at
// once; SetMaxLayer and SetMaxSize cap the layer (say, to the size the
// subscriber shows the video at).
//
// An Allocator per subscriber connection divides that connection's
// bandwidth estimate among its downtracks: audio first, then the lowest
// layer of every video, then higher layers round robin while the estimate
// holds them. Add each downtrack to it.
//
// # Sinks
//
// A Sink (a recorder, a live re-streamer) takes one layer in-process:
// Receiver.AddSink. It gets the publisher's packets as they arrived, not
// munged, and the publisher's sender reports for that layer (the
// NTP-to-RTP mapping for A/V sync). It has its own goroutine and queue,
// so a slow sink loses its own packets and stalls nothing; it asks for a
// keyframe with Receiver.RequestKeyframe and learns that the track ended
// from Receiver.Done.
//
// # Speakers
//
// A SpeakerDetector ranks audio receivers by the RFC 6464 audio level
// extension, with no decoding. Call Top every SpeakerInterval.
//
// # Performance
//
// BenchmarkForward measures one receiver feeding N downtracks (packets in
// and out per second, allocations per packet); the forwarding path itself
// allocates nothing per packet.
package media
