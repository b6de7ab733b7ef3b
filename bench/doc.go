// Package bench is the root of the load generator behind "parley bench".
// The generator is a client over the wire: it reaches a running server
// only through its public REST API, its WebSocket and /metrics, exactly as
// the clients described in signaling/PROTOCOL.md do, and it imports no
// server package. It can therefore measure any Parley build, on this
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
//
// Meetings and live streaming get their own scenario packages when those
// features exist. Results are recorded in bench/RESULTS.md.
package bench
