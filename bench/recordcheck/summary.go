package recordcheck

import (
	"fmt"
	"io"
)

// WriteSummary prints one line on a run's recordings: how many files,
// how many ffprobe read (valid is nil when ffprobe was not there), and
// the recorded duration against the sent one.
func WriteSummary(w io.Writer, files int, valid *int, recordedSeconds, sentSeconds float64) {
	checked := "not checked (no ffprobe)"
	if valid != nil {
		checked = fmt.Sprintf("%d read by ffprobe", *valid)
	}
	fmt.Fprintf(w, "  recordings: %d files, %s; %.1fs recorded of %.1fs sent\n", files, checked, recordedSeconds, sentSeconds)
}

// Failure says why a run's recordings fail, or "" when they pass: no file
// was listed for what was recorded (such as "the live was recorded"),
// ffprobe could not read every file (valid is nil when ffprobe was not
// there), or the files last less than minSeconds.
func Failure(recorded string, files *int, valid *int, recordedSeconds, minSeconds, sentSeconds float64) string {
	switch {
	case files == nil || *files == 0:
		return recorded + ", but no recording file was listed"
	case valid != nil && *valid < *files:
		return fmt.Sprintf("ffprobe read %d of %d recording files", *valid, *files)
	case recordedSeconds < minSeconds:
		return fmt.Sprintf("the recordings last %.1fs of the %.1fs sent", recordedSeconds, sentSeconds)
	}
	return ""
}
