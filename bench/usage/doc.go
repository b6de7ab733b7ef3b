// Package usage measures what one window of a benchmark cost: the
// server's CPU time and resident memory, read from the process gauges of
// its /metrics at the start and the end, and the generator's own CPU
// time, so a report can say which side of the wire was the bottleneck.
package usage
