package chatbench

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrConfig marks a Config that cannot run; the message says why.
var ErrConfig = errors.New("invalid configuration")

// AdminUser is the super admin the generator signs in as.
const AdminUser = "admin"

// Limits of a run.
const (
	// StampBytes is the length of the send-time prefix every text
	// carries: 16 decimal digits of nanoseconds and a space.
	StampBytes = 17
	// MinTextBytes is the smallest text size: the prefix alone.
	MinTextBytes = StampBytes
	// MaxTextBytes is the server's default chat.max_text_bytes.
	MaxTextBytes = 16 << 10
	// MaxInflight bounds closed-loop sends outstanding on one connection.
	// The server answers one socket's requests in order, so more in
	// flight only queues; 256 is also the server's default per-socket
	// send queue.
	MaxInflight = 256
	// MaxBacklog bounds open-loop sends outstanding on one connection.
	// Beyond it the connection waits; the latency of what it sends later
	// still counts from the intended time, so the wait is not hidden.
	MaxBacklog = 1000
	// MaxRunTime bounds the sending time of a run, all sweep steps
	// together, so the members' minted tokens (24 hours at most) outlive
	// it.
	MaxRunTime = 23 * time.Hour
	// MinGroupSize is the smallest group: its owner and one more.
	MinGroupSize = 2
)

// Config describes one chat benchmark run.
type Config struct {
	URL           string        // server base URL, http or https
	AdminPassword string        // password of AdminUser
	Duration      time.Duration // sending time of the run, or of each sweep step
	// Conns is the number of WebSocket connections that send and receive,
	// one member each. Zero is allowed only with Idle.
	Conns int
	// Groups is the number of groups; 0 pairs the connections in direct
	// conversations instead (Conns must then be even). Connections are
	// spread round-robin over the groups, so each group has at least one
	// and at most GroupSize online; the rest of its GroupSize members are
	// provisioned but offline.
	Groups    int
	GroupSize int
	// Rate is the total send rate in messages a second (open loop); 0
	// runs closed loop.
	Rate float64
	// Inflight is the closed-loop number of sends outstanding per
	// connection.
	Inflight int
	Size     int // bytes of text per message
	// Idle opens this many extra connections, of members in no
	// conversation, before the load starts, and measures the server's
	// resident memory per connection. They stay open during the load.
	Idle int
	// Slow, when set, runs the step twice: as usual, then with this many
	// more connections that never read, opened as extra devices of the
	// first members; the report compares the others' p99 (see
	// SlowImpact). At most Conns.
	Slow int
	// Sweep, when set, runs one open-loop step per rate, in the order
	// given, each for Duration, instead of one step at Rate.
	Sweep []float64
	// Keep leaves the members active at the end (the API key is deleted
	// either way).
	Keep bool
	// AllowReorder still counts deliveries that arrive below a seq the
	// connection already has (out_of_order), but does not fail the run
	// for them. The protocol lets pushes arrive out of order (clients
	// apply entries in seq order, PROTOCOL.md client rules 1 and 2), and a
	// server that publishes concurrent senders' entries as their appends
	// return delivers them so; strict order is the default.
	AllowReorder bool
	// Progress receives a line a second while a step runs, and a line per
	// phase; nil keeps quiet.
	Progress io.Writer
}

// Validate reports the first problem with c, wrapped in ErrConfig.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrConfig, fmt.Sprintf(format, args...))
	}
	steps := max(1, len(c.Sweep))
	switch {
	case c.URL == "":
		return bad("the server url is empty")
	case c.AdminPassword == "":
		return bad("no admin password: pass --admin-password or set PARLEY_ADMIN_PASSWORD")
	case c.Conns < 0 || c.Idle < 0:
		return bad("--conns and --idle must not be negative")
	case c.Conns == 0 && c.Idle == 0:
		return bad("nothing to do: --conns is 0 and there is no --idle")
	case c.Conns > 0 && c.Duration <= 0:
		return bad("--duration must be positive")
	case time.Duration(steps)*c.Duration > MaxRunTime:
		return bad("the run would send for %v, more than %v", time.Duration(steps)*c.Duration, MaxRunTime)
	case c.Groups < 0:
		return bad("--groups must not be negative")
	case c.Groups == 0 && c.Conns%2 != 0:
		return bad("--conns must be even to pair connections in direct conversations (or use --groups)")
	case c.Groups > 0 && c.GroupSize < MinGroupSize:
		return bad("--group-size must be at least %d", MinGroupSize)
	case c.Groups > 0 && c.Conns > 0 && c.Conns < c.Groups:
		return bad("--conns (%d) must be at least --groups (%d): every group needs a connection", c.Conns, c.Groups)
	case c.Groups > 0 && c.Conns > c.Groups*c.GroupSize:
		return bad("--conns (%d) is more than --groups × --group-size (%d) members", c.Conns, c.Groups*c.GroupSize)
	case c.Rate < 0:
		return bad("--rate must not be negative")
	case c.Inflight < 1 || c.Inflight > MaxInflight:
		return bad("--inflight must be 1 to %d", MaxInflight)
	case c.Size < MinTextBytes || c.Size > MaxTextBytes:
		return bad("--size must be %d to %d bytes", MinTextBytes, MaxTextBytes)
	case len(c.Sweep) > 0 && c.Conns == 0:
		return bad("--sweep needs --conns")
	case c.Slow < 0 || c.Slow > c.Conns:
		return bad("--slow must be 0 to --conns (%d): slow connections are extra devices of the members that send", c.Conns)
	case c.Slow > 0 && len(c.Sweep) > 0:
		return bad("--slow and --sweep do not go together")
	}
	for _, r := range c.Sweep {
		if !(r > 0) {
			return bad("every --sweep rate must be positive, got %v", r)
		}
	}
	return nil
}

// openLoop reports whether the rate given is an open-loop rate.
func openLoop(rate float64) bool { return rate > 0 }
