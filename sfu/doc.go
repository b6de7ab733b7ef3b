// Package sfu is Parley's media side: meetings, their recording, and live
// streaming. It holds no code itself; each concern is a package of its own.
//
//   - transport builds the Pion WebRTC API every peer connection uses: the
//     codecs, the RTCP interceptors and the one shared UDP port.
//   - media is the forwarding engine. It knows tracks, packets and
//     subscribers, never rooms or people.
//   - rtc is the meeting model in flight: rooms, participants, their
//     tracks and subscriptions, host controls.
//   - meeting and live keep what meetings and lives are in Pebble.
//   - recording writes tracks to WebM or fragmented MP4 files.
//   - mediatest makes real encoded media for tests.
//
// sfu imports storage and nothing of chat or signaling.
package sfu
