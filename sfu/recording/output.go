package recording

import (
	"bufio"
	"fmt"
	"os"
)

// outputBufferSize is the write buffer of one recording file: large enough
// to turn frames into few system calls, small enough to lose little when
// the process dies.
const outputBufferSize = 64 << 10

// output is one file being written: appends go through a buffer, and
// bytes already written can be patched in place (sizes, durations, the
// seek index), which is how both containers finish a file.
//
// The first error sticks: every later call returns it, so a writer can
// carry on calling and check once.
type output struct {
	path   string
	f      *os.File
	w      *bufio.Writer
	n      int64 // bytes appended so far
	err    error
	closed bool
}

func createOutput(path string) (*output, error) {
	// Recordings are readable by the server's group only, like the rest
	// of its data.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &output{path: path, f: f, w: bufio.NewWriterSize(f, outputBufferSize)}, nil
}

// Write appends b.
func (o *output) Write(b []byte) (int, error) {
	if o.err != nil {
		return 0, o.err
	}
	n, err := o.w.Write(b)
	o.n += int64(n)
	if err != nil {
		o.err = fmt.Errorf("recording file: %w", err)
	}
	return n, o.err
}

// patch overwrites bytes at off, which must have been appended before.
func (o *output) patch(off int64, b []byte) error {
	if err := o.flush(false); err != nil {
		return err
	}
	if _, err := o.f.WriteAt(b, off); err != nil {
		o.err = fmt.Errorf("recording file: %w", err)
	}
	return o.err
}

// flush hands buffered bytes to the OS and, with sync, waits until they
// are on the disk.
func (o *output) flush(sync bool) error {
	if o.err != nil {
		return o.err
	}
	if err := o.w.Flush(); err != nil {
		o.err = fmt.Errorf("recording file: %w", err)
		return o.err
	}
	if sync {
		if err := o.f.Sync(); err != nil {
			o.err = fmt.Errorf("recording file: %w", err)
		}
	}
	return o.err
}

// close flushes, syncs and closes the file, and returns the first error
// the file ever met.
func (o *output) close() error {
	if o.closed {
		return o.err
	}
	o.closed = true
	o.flush(true)
	if err := o.f.Close(); err != nil && o.err == nil {
		o.err = fmt.Errorf("recording file: %w", err)
	}
	return o.err
}
