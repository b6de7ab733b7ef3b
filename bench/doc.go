// Package bench is the root of the load generator behind "parley bench".
// The generator is a client over the wire: it reaches a running server
// only through its public REST API, its WebSocket, WHIP and WHEP, WebRTC
// and /metrics, exactly as the clients described in
// signaling/PROTOCOL.md do, and it imports no server package (the media
// scenarios use sfu/mediatest, test media encoded by ffmpeg, which is
// data, not server code). It can therefore measure any Parley build, on this
// machine or another, and what it reports is what a client would see.
//
// The work is split into small packages with one job each:
//
//   - wire: the protocol as a client speaks it: the REST calls the
//     generator needs, the WebSocket dialer and the chat frames.
//   - latency: HDR histograms that many goroutines record into, summarised
//     as percentiles.
//   - host: the generator's own process: its open-file limit and its CPU
//     time.
//   - chart: a small SVG line chart for rate sweeps.
//   - chatbench: the chat scenario: provisioning, load, correctness checks
//     and the report.
//   - provision: the media scenarios' members: an API key, members with
//     minted tokens, and their removal.
//   - usage: the server's and the generator's CPU and memory over a
//     measured window.
//   - runlog: a run's phase lines, warnings and counted errors.
//   - rtcpeer: Pion peers that stand in for browsers and encoders, a
//     source that plays a real clip, and a receiver that checks every
//     frame.
//   - recordcheck: fetches a recording's files and checks them with
//     ffprobe.
//   - meetbench: the meeting scenario: rooms of publishers and
//     subscribers over the WebSocket and WebRTC.
//   - livebench: the live scenario: one encoder over WHIP, viewers over
//     WHEP, and the recordings.
//
// Results are recorded in bench/RESULTS.md.
package bench
