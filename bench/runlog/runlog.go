// Package runlog keeps what a benchmark run has to say besides its
// figures: a line per phase for the person watching, warnings for the
// report, and the errors, counted, with one sample message per kind so a
// flood of one kind does not hide the others.
package runlog

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// MaxSamples is how many distinct error messages a log keeps.
const MaxSamples = 5

// Log is one run's log. It is safe for concurrent use.
type Log struct {
	progress io.Writer
	errors   atomic.Int64

	mu       sync.Mutex
	samples  []string
	sampled  map[string]bool
	warnings []string
}

// New returns a log that writes phase lines to progress (nil: none).
func New(progress io.Writer) *Log {
	return &Log{progress: progress, sampled: map[string]bool{}}
}

// Phase writes one line about what the run is doing.
func (l *Log) Phase(format string, args ...any) {
	if l.progress != nil {
		fmt.Fprintf(l.progress, "parley bench: "+format+"\n", args...)
	}
}

// Warn records something the report should mention that does not fail
// the run, and says it.
func (l *Log) Warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	l.mu.Lock()
	l.warnings = append(l.warnings, msg)
	l.mu.Unlock()
	l.Phase("warning: %s", msg)
}

// Error counts one error. code is the server's error code, if any: one
// sample is kept per code, or per message for errors without one.
func (l *Log) Error(code, msg string) {
	l.errors.Add(1)
	key := code
	if key == "" {
		key = msg
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.samples) < MaxSamples && !l.sampled[key] {
		l.sampled[key] = true
		l.samples = append(l.samples, msg)
	}
}

// Errors is how many errors were counted.
func (l *Log) Errors() int64 { return l.errors.Load() }

// Samples returns the kept error messages.
func (l *Log) Samples() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.samples...)
}

// Warnings returns the warnings.
func (l *Log) Warnings() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.warnings...)
}
