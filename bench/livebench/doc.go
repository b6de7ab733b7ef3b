// Package livebench is the live scenario of the load generator: one
// encoder publishes over WHIP, as OBS does, and many players watch over
// WHEP, as browsers do; it measures and checks what reaches them.
//
// # Phases
//
// A run creates its members as chatbench does (ids "bench-<run
// id>-host" and "-v<i>", one per viewer) and an internal live for all
// members hosted by the host member (title "parley bench <run id>"),
// with recording on only with Config.Record. The encoder, a Pion peer,
// offers Opus and H.264 (profile-level-id 42e01f, as OBS) and publishes
// with the stream key; the clips are 720p at 2.5 Mbit/s and Opus,
// encoded once by ffmpeg and played in a loop. Once the live is on air
// the viewers join, each with its member's token, and the window runs
// for Config.Duration once every viewer has a picture. At the end the
// encoder's DELETE ends the live; with Config.Record the recordings are
// listed, downloaded and checked with ffprobe (package recordcheck).
// Then the live is deleted (unless Config.Keep), the members disabled
// and the API key deleted.
//
// # Measurement and checks
//
// Join time is the WHEP request's round trip; first-picture time runs
// from a viewer's first WHEP request to its first whole keyframe. Every
// viewer checks its two tracks as package rtcpeer describes: a viewer
// without a picture, a corrupt frame, video before the stream's first
// keyframe, loss above Config.MaxLoss, a missing or unreadable recording
// or any error fails the run. The server's CPU per viewer-second and its
// memory come from its /metrics at the start and end of the window.
//
// Every viewer decrypts SRTP and assembles frames in this process, so on
// one machine the generator is often the bound: its CPU is reported, and
// the report says when it used nearly all of its cores.
package livebench
