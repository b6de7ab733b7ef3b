package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// ReadyTimeout bounds how long Start waits for the embedded server to open
// its listeners.
const ReadyTimeout = 10 * time.Second

// CloseDrainTimeout bounds how long Close waits for subscriptions to finish
// the messages already delivered to them and for pending publishes to be
// flushed. Past it the connection is closed and the rest is dropped, which
// core NATS allows (see the package comment).
const CloseDrainTimeout = 5 * time.Second

// closeSlack is how long Close waits beyond CloseDrainTimeout for the client
// library to report the connection closed, before closing it outright.
const closeSlack = time.Second

// Bus is this node's connection to the message bus and, unless an external
// URL is configured, the embedded NATS server it connects to.
type Bus struct {
	server    *server.Server // nil when connected to an external cluster
	conn      *nats.Conn
	clientURL string
	logger    *slog.Logger

	closed     chan struct{} // closed once the client connection is closed
	closedOnce sync.Once

	closeOnce sync.Once
	closeErr  error
}

// Start starts the embedded server (unless cfg.URL is set), waits up to
// ReadyTimeout for it to accept connections, and connects this node's client
// to it in-process (or to cfg.URL over TCP). Server and client logs go to
// logger with component=nats; a nil logger means slog.Default().
func Start(cfg Config, logger *slog.Logger) (*Bus, error) {
	if logger == nil {
		logger = slog.Default()
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &Bus{
		logger: logger.With("component", "nats"),
		closed: make(chan struct{}),
	}
	name := cfg.serverName()

	if cfg.URL != "" {
		conn, err := nats.Connect(cfg.URL, b.clientOptions(name)...)
		if err != nil {
			return nil, fmt.Errorf("connect to nats %s: %w", cfg.URL, err)
		}
		b.conn = conn
		return b, nil
	}

	opts, err := serverOptions(cfg, name)
	if err != nil {
		return nil, err
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("create embedded nats server: %w", err)
	}
	setServerLogger(s, b.logger)
	s.Start()
	if !s.ReadyForConnections(ReadyTimeout) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("embedded nats server not ready after %s (see its logs)", ReadyTimeout)
	}
	if cfg.Listen != "" {
		b.clientURL = s.ClientURL()
	}

	// The URL only names the server in the client's pool; InProcessServer
	// makes every connection, reconnections included, a pipe to s.
	conn, err := nats.Connect(s.ClientURL(), append(b.clientOptions(name), nats.InProcessServer(s))...)
	if err != nil {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, fmt.Errorf("connect to embedded nats server: %w", err)
	}
	b.server = s
	b.conn = conn
	return b, nil
}

// clientOptions are the options of this node's client connection.
func (b *Bus) clientOptions(serverName string) []nats.Option {
	name := "parley"
	if serverName != "" {
		name = "parley " + serverName
	}
	return []nats.Option{
		nats.Name(name),
		// Never give up: a node whose bus connection closed for good would
		// keep serving while silently missing every cross-node event. The
		// embedded server can also drop its in-process client (as a slow
		// consumer), and reconnecting restores it.
		nats.MaxReconnects(-1),
		nats.DrainTimeout(CloseDrainTimeout),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.logger.Warn("bus disconnected", "err", err)
				return
			}
			b.logger.Info("bus disconnected")
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			b.logger.Info("bus reconnected", "url", c.ConnectedUrlRedacted())
		}),
		nats.ClosedHandler(func(*nats.Conn) {
			b.closedOnce.Do(func() { close(b.closed) })
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				b.logger.Error("bus error", "subject", sub.Subject, "err", err)
				return
			}
			b.logger.Error("bus error", "err", err)
		}),
	}
}

// Conn is the client connection everything on this node publishes and
// subscribes on. It stays valid until Close.
func (b *Bus) Conn() *nats.Conn {
	return b.conn
}

// Ready reports whether the client connection is connected, for /readyz.
// It is false while reconnecting and after Close.
func (b *Bus) Ready() bool {
	return b.conn.IsConnected()
}

// ClientURL is the embedded server's client URL, as the server reports it,
// when Config.Listen is set, else "". With port 0 in Listen it carries the
// port actually chosen.
func (b *Bus) ClientURL() string {
	return b.clientURL
}

// Close drains the client connection, letting subscribers finish messages
// already delivered and flushing pending publishes, for at most
// CloseDrainTimeout; then it shuts the embedded server down and waits for it.
// Only the first call does the work; later calls return its result.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() { b.closeErr = b.close() })
	return b.closeErr
}

func (b *Bus) close() error {
	var errs []error
	// Drain refuses a connection that is already closed, and closes one that
	// is reconnecting instead of draining it; either way it ends closed.
	if err := b.conn.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		b.logger.Warn("bus closed without draining", "err", err)
	}
	timer := time.NewTimer(CloseDrainTimeout + closeSlack)
	select {
	case <-b.closed:
		timer.Stop()
	case <-timer.C:
		b.conn.Close()
		errs = append(errs, fmt.Errorf("drain bus connection: not closed after %s", CloseDrainTimeout+closeSlack))
	}
	if err := b.conn.LastError(); errors.Is(err, nats.ErrDrainTimeout) {
		errs = append(errs, fmt.Errorf("drain bus connection: %w", err))
	}
	if b.server != nil {
		b.server.Shutdown()
		b.server.WaitForShutdown()
	}
	return errors.Join(errs...)
}
