// Package host reads and adjusts the process the load generator runs in:
// it raises the open-file limit so tens of thousands of sockets fit, and it
// reads the process's own CPU time so a report can tell when the generator,
// not the server, was the bottleneck.
package host
