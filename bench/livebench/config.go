package livebench

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrConfig marks a Config that cannot run; the message says why.
var ErrConfig = errors.New("invalid configuration")

// Defaults and limits of a run.
const (
	// DefaultViewers is the audience of a run without --viewers.
	DefaultViewers = 50
	// MaxViewers bounds the audience one generator opens.
	MaxViewers = 100_000
	// MaxRunTime bounds the measured window, so the members' minted
	// tokens (24 hours at most) outlive the run.
	MaxRunTime = 23 * time.Hour
	// MinDuration is the shortest window that measures a rate.
	MinDuration = time.Second
)

// Config describes one live benchmark run.
type Config struct {
	URL           string        // server base URL, http or https
	AdminPassword string        // password of the super admin "admin"
	Duration      time.Duration // the measured window, after every viewer joined
	Viewers       int           // players over WHEP, one member each
	// Record creates the live with recording on, and at the end fetches
	// the recordings and checks every file with ffprobe (when installed).
	// Without it the live is created with recording off.
	Record bool
	// MaxLoss is the share of packets that may be lost before the run
	// fails.
	MaxLoss float64
	// Keep leaves the run's members and the live at the end.
	Keep bool
	// Progress receives a line per phase and a line a second while
	// measuring; nil keeps quiet.
	Progress io.Writer
}

// Validate reports the first problem with c, wrapped in ErrConfig.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.URL == "":
		return bad("the server url is empty")
	case c.AdminPassword == "":
		return bad("no admin password: pass --admin-password or set PARLEY_ADMIN_PASSWORD")
	case c.Duration < MinDuration || c.Duration > MaxRunTime:
		return bad("--duration must be %v to %v", MinDuration, MaxRunTime)
	case c.Viewers < 1 || c.Viewers > MaxViewers:
		return bad("--viewers must be 1 to %d", MaxViewers)
	case !(c.MaxLoss >= 0 && c.MaxLoss <= 1):
		return bad("--max-loss must be 0 to 1")
	}
	return nil
}
