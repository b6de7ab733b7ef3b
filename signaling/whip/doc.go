// Package whip is the HTTP edge of live media: WHIP ingest (RFC 9725) at
// /whip, WHEP playback at /whep/{live id}, and the replay of a live's
// recordings under /api/v1/lives/{id}/recordings.
//
// An encoder such as OBS publishes with POST /whip, its stream key as
// the bearer token; a host's browser may publish with its member token
// and ?live=<live id> instead. The answer is exactly 201 Created with the
// SDP answer, which lists every server candidate (OBS sends none and
// never trickles), a Location for the session, an ETag for PATCH, and a
// Link header per configured STUN or TURN server. DELETE on the Location
// ends the live; PATCH trickles candidates or restarts ICE under the
// RFC's If-Match rules.
//
// Players pull with POST /whep/{live id}. Who may watch is decided here
// (see Access): members by their token and the live's scope, external
// viewers by a viewer token, or by the viewer link's token when the live
// has no password. The media itself is sfu/live's: this package only
// speaks HTTP and maps its errors to the status codes the RFCs name.
package whip
