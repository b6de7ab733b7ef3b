// Package guestws runs the WebSocket endpoints of people without an
// account: meeting guests (/ws/meeting) and outside viewers of external
// lives (/ws/live). Both packages that speak to them, meetingws and
// livews, build theirs from an Endpoint.
//
// An Endpoint is a ws.Hub of its own that admits only restricted tokens
// (signaling/auth) of one scope kind, meeting or live, and on which only
// that package's requests are registered, so a guest can send nothing
// else. A session knows only its subject, the guest id; the Endpoint
// keeps, per guest id, what the token said (its meeting or live, the
// name) for as long as the token is valid, and Guest returns it.
//
// Guest tokens last 15 minutes. A guest keeps its id, and its socket,
// past that with two requests before the token expires: auth.renew with
// the current token returns a new one for the same guest id (if the
// Endpoint's MayRenew allows: the meeting still admits the guest, say),
// and the hub's ordinary auth.refresh with the new token extends the
// socket.
package guestws
