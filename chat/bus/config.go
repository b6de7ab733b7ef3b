package bus

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"

	"github.com/nats-io/nats-server/v2/server"
)

// DefaultClusterName is the NATS cluster name used when ClusterConfig.Name
// is empty. Every node of one Parley cluster must use the same name.
const DefaultClusterName = "parley"

// MaxPayload is the largest message, in bytes, the embedded server accepts.
// Parley's bus carries events and chat messages, not files (those go over
// HTTP), so real messages are far smaller; the limit leaves room for large
// batched events (e.g. a membership change in a 10,000-member group) while
// staying at the size above which nats-server warns that payloads hurt
// performance (server.MAX_PAYLOAD_MAX_SIZE): one huge message holds up every
// other message queued behind it on a route. With an external cluster
// (Config.URL) that cluster's own max_payload applies instead.
const MaxPayload = 8 << 20

// Config says how this node reaches the message bus. The zero value runs an
// embedded, single-node NATS server with no listening ports at all.
type Config struct {
	// URL, when set, connects to an external NATS cluster instead of
	// embedding one (e.g. "nats://10.0.0.5:4222,nats://10.0.0.6:4222").
	// Listen and Cluster must then be empty.
	URL string `yaml:"url"`
	// Listen, when set, opens the embedded server's client port (e.g.
	// "127.0.0.1:4222"), for tools like `nats sub` or other nodes' clients.
	// Port 0 picks a free port; see Bus.ClientURL. The port has no
	// authentication, so keep it on loopback or a private network.
	Listen string `yaml:"listen"`
	// ServerName names this node in the cluster; default is the hostname.
	// Names must be unique within a cluster: nats-server drops a route to
	// a server with the same name, so nodes sharing one host need it set.
	ServerName string `yaml:"server_name"`
	// Cluster joins the embedded server to other nodes' embedded servers.
	Cluster ClusterConfig `yaml:"cluster"`
}

// ClusterConfig joins embedded servers into one NATS cluster over routes.
type ClusterConfig struct {
	// Name is the cluster name, default DefaultClusterName.
	Name string `yaml:"name"`
	// Listen is the route listen address, e.g. "0.0.0.0:6222"; empty means
	// no clustering. Port 0 picks a free port.
	Listen string `yaml:"listen"`
	// Routes are seed routes, e.g. ["nats-route://10.0.0.5:6222"]. Listing
	// every node, this one included, is fine: nats-server ignores a route to
	// itself and discovers the rest of the cluster through the seeds.
	Routes []string `yaml:"routes"`
}

// validate rejects configurations that nats-server would accept but that
// cannot do what the operator asked.
func (c Config) validate() error {
	if c.URL != "" && (c.Listen != "" || c.Cluster.Listen != "" || len(c.Cluster.Routes) > 0) {
		return errors.New("bus config: url connects to an external NATS cluster, so listen and cluster must be empty")
	}
	if len(c.Cluster.Routes) > 0 && c.Cluster.Listen == "" {
		return errors.New("bus config: cluster.routes is set but cluster.listen is empty; routes need a route port")
	}
	return nil
}

// serverName is the configured name, else the hostname, else "" (in which
// case nats-server names itself after its random server id).
func (c Config) serverName() string {
	if c.ServerName != "" {
		return c.ServerName
	}
	host, err := os.Hostname()
	if err != nil {
		return ""
	}
	return host
}

// serverOptions translates a validated Config into nats-server options.
func serverOptions(cfg Config, name string) (*server.Options, error) {
	opts := &server.Options{
		ServerName: name,
		MaxPayload: MaxPayload,
		// The parley process owns signal handling and shuts the bus down
		// through Close.
		NoSigs: true,
		// Logging goes to slog through SetLoggerV2, not nats-server's own
		// file or stderr logger.
		NoLog: true,
	}

	switch {
	case cfg.Listen != "":
		host, port, err := splitListen(cfg.Listen)
		if err != nil {
			return nil, fmt.Errorf("bus config: listen: %w", err)
		}
		opts.Host, opts.Port = host, port
	case cfg.Cluster.Listen != "":
		// nats-server starts routes only after its client listener is up. With
		// DontListen that never happens: routes stay down and Shutdown waits
		// forever on the route goroutine. So a clustered node keeps a private
		// client port on loopback.
		opts.Host, opts.Port = "127.0.0.1", server.RANDOM_PORT
	default:
		opts.DontListen = true
	}

	if cfg.Cluster.Listen == "" {
		return opts, nil
	}
	host, port, err := splitListen(cfg.Cluster.Listen)
	if err != nil {
		return nil, fmt.Errorf("bus config: cluster.listen: %w", err)
	}
	opts.Cluster.Name = cfg.Cluster.Name
	if opts.Cluster.Name == "" {
		opts.Cluster.Name = DefaultClusterName
	}
	opts.Cluster.Host, opts.Cluster.Port = host, port
	// A node without Listen has only the private loopback client port; it
	// must not be gossiped to other nodes' TCP clients as a place to
	// reconnect to.
	opts.Cluster.NoAdvertise = cfg.Listen == ""
	for _, r := range cfg.Cluster.Routes {
		u, err := parseRoute(r)
		if err != nil {
			return nil, fmt.Errorf("bus config: cluster.routes: %w", err)
		}
		opts.Routes = append(opts.Routes, u)
	}
	return opts, nil
}

// splitListen parses "host:port". An empty host means all interfaces; port
// 0 becomes nats-server's RANDOM_PORT, because to nats-server port 0 means
// "the default port".
func splitListen(addr string) (string, int, error) {
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("parse %q: %w", addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("parse %q: port must be a number in 0..65535", addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}

// parseRoute parses one seed route. nats-server would silently skip a
// malformed one, leaving a node that never joins; we refuse to start.
func parseRoute(route string) (*url.URL, error) {
	u, err := url.Parse(route)
	if err != nil {
		return nil, fmt.Errorf("parse %q: %w", route, err)
	}
	if u.Scheme != "nats-route" && u.Scheme != "nats" {
		return nil, fmt.Errorf("parse %q: scheme must be nats-route:// or nats://", route)
	}
	if u.Hostname() == "" || u.Port() == "" {
		return nil, fmt.Errorf("parse %q: want nats-route://host:port", route)
	}
	return u, nil
}
