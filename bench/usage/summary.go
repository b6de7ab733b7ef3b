package usage

import (
	"fmt"
	"io"
)

// WriteClient prints the generator's own CPU over a window of
// wallSeconds, and says so when the generator was itself the bottleneck,
// so a reader does not take the bench's limit for the server's.
func WriteClient(w io.Writer, c Client, wallSeconds float64, benchBound bool) {
	wall := max(wallSeconds, 1e-9)
	fmt.Fprintf(w, "  client: %.2f CPU seconds (%.2f of %d cores)\n", c.CPUSeconds, c.CPUSeconds/wall, c.Cores)
	if benchBound {
		fmt.Fprintln(w, "  the load generator itself was the bottleneck: it used at least 90% of its cores")
	}
}
