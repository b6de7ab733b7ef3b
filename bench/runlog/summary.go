package runlog

import (
	"fmt"
	"io"
)

// WriteNotes prints a report's warnings and error samples, one a line.
func WriteNotes(w io.Writer, warnings, errorSamples []string) {
	for _, s := range warnings {
		fmt.Fprintf(w, "  warning: %s\n", s)
	}
	for _, s := range errorSamples {
		fmt.Fprintf(w, "  error: %s\n", s)
	}
}
