// Package transport builds the Pion WebRTC peer connections every
// participant, live encoder and viewer uses: one UDP port shared by all of
// them, the codec table, and the RTCP interceptors for each role. It knows
// nothing of media forwarding (package media) or of rooms (package rtc).
//
// One Transport serves the whole node:
//
//	tr, err := transport.New(transport.Config{MediaPort: 7882, PublicIP: ip}, logger)
//	defer tr.Close()
//
// Every connection is one of two roles, so renegotiation never glares:
//
//   - NewPublisher: the client sends media and makes the offers; the
//     server answers with Answer. Its interceptors send NACKs for lost
//     packets, receiver reports, and transport-cc feedback so the
//     client's own bandwidth estimate works.
//   - NewSubscriber: the server sends media and makes the offers with
//     Offer; the client's answer goes to AcceptAnswer. It comes with the
//     connection's own bandwidth estimator (Google congestion control fed
//     by the client's transport-cc reports), which media.Allocator reads.
//     Its interceptors stamp transport-wide sequence numbers and send
//     sender reports. NACKs and PLIs from the client are answered by the
//     media package from the publisher's packet cache, not here.
//
// Answer, Offer and AcceptAnswer wait for ICE gathering, so descriptions
// carry every candidate (OBS and other WHIP clients do not trickle).
// Offer takes WithICERestart for a server-side ICE restart. All SDP from
// clients is checked before Pion sees it (CheckSDP for offers, the same
// checks inside AcceptAnswer for answers): a size limit and a section
// limit (MaxMediaSections for offers, MaxAnswerSections for answers to
// the server's offers), a=mid on every section, ICE credentials and a
// DTLS fingerprint that every section agrees on, candidates that parse,
// no data channel (Parley carries nothing over DTLS, see the Pion v3
// advisory in the field notes), and at least one codec Parley knows in
// each section. Pion finds some of these only after changing the
// connection's signaling state, which leaves it unable to negotiate
// again; checked first, a bad description changes nothing. The errors
// wrap ErrMalformedSDP, ErrSDPTooLarge, ErrDataChannel or
// ErrUnsupportedCodec and name the section.
//
// Codecs lists what is registered: Opus, VP8, VP9 (profile 0), H.264 in
// profiles 42e01f, 42001f, 4d001f and 64001f, each in packetization modes
// 1 and 0, AV1, and H.265 (Main and Main 10, any level) for pass-through,
// every video codec with NACK, PLI, FIR, transport-cc and goog-remb
// feedback; no RTX. Header extensions: mid, rid, repaired rid, audio level,
// transport-cc and video orientation.
//
// The server gathers only host candidates on the media port (announced
// under Config.PublicIP behind a 1:1 NAT), never a second port; the STUN
// and TURN servers in Config.ICEServers are for clients.
package transport
