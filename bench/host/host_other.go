//go:build !unix

package host

import (
	"errors"
	"time"
)

var errUnsupported = errors.New("not supported on this operating system")

// RaiseOpenFiles is a no-op where there is no RLIMIT_NOFILE.
func RaiseOpenFiles() (uint64, error) { return 0, errUnsupported }

// CPUTime is not available on this operating system.
func CPUTime() (time.Duration, error) { return 0, errUnsupported }
