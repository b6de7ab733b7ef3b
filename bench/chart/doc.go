// Package chart draws small SVG line charts, such as latency percentiles
// against offered load from a rate sweep, so a result can be looked at in
// any browser without plotting tools.
package chart
