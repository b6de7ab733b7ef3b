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
