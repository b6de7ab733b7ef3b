package wire

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Source addresses used for connections to a loopback server. A TCP
// connection is named by its four-tuple, so one source address reaches one
// server address from at most the ephemeral port range (about 28,000
// ports); spreading connections over 253 loopback addresses lifts that
// ceiling far above what one machine holds.
const (
	firstLoopbackSource = 2
	lastLoopbackSource  = 254
)

// ReadLimit is the largest frame the generator accepts. The server sends
// nothing near it (a chat entry is at most about 24 KiB of text plus its
// envelope); it only keeps a broken server from making the generator
// buffer without bound.
const ReadLimit = 1 << 20

// dialTimeout bounds one WebSocket handshake.
const dialTimeout = 30 * time.Second

// Dialer opens WebSockets to one server. It is safe for concurrent use.
type Dialer struct {
	wsURL    string
	addr     string // host:port of the server, for DialSocket
	secure   bool   // wss: DialSocket speaks TLS
	host     string // the server's host name, for TLS
	client   *http.Client
	loopback bool
	next     atomic.Uint32
	// ReceiveBuffer, when positive, is the socket receive buffer
	// (SO_RCVBUF) of the connections dialed afterwards, set before they
	// connect so the advertised window stays that small: a client that
	// stops reading then fills the server's side within a few frames
	// rather than after megabytes of kernel buffering.
	ReceiveBuffer int
}

// NewDialer returns a dialer for the /ws endpoint of the server at baseURL.
// When the server's host is an IPv4 loopback address or "localhost",
// connections take their source address in turn from 127.0.0.2 to
// 127.0.0.254.
func NewDialer(baseURL string) (*Dialer, error) {
	u, err := url.Parse(baseURL)
	if err != nil {
		return nil, fmt.Errorf("server url %q: %w", baseURL, err)
	}
	ws := *u
	switch u.Scheme {
	case "http":
		ws.Scheme = "ws"
	case "https":
		ws.Scheme = "wss"
	default:
		return nil, fmt.Errorf("server url %q: want http or https", baseURL)
	}
	ws.Path, ws.RawQuery, ws.Fragment = "/ws", "", ""
	d := &Dialer{wsURL: ws.String(), addr: u.Host, secure: ws.Scheme == "wss", host: u.Hostname(), loopback: isLoopback(u.Hostname())}
	if u.Port() == "" {
		port := "80"
		if d.secure {
			port = "443"
		}
		d.addr = net.JoinHostPort(u.Hostname(), port)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = d.dialTCP
	tr.MaxIdleConnsPerHost = -1  // an upgraded connection is never reused
	tr.ForceAttemptHTTP2 = false // the upgrade is an HTTP/1.1 exchange
	d.client = &http.Client{Transport: tr}
	return d, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() != nil && ip.IsLoopback()
}

// SpreadsSources reports whether connections take their source address
// from the loopback range.
func (d *Dialer) SpreadsSources() bool { return d.loopback }

func (d *Dialer) dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	nd := net.Dialer{Timeout: dialTimeout, KeepAlive: -1}
	if d.ReceiveBuffer > 0 {
		nd.Control = receiveBufferControl(d.ReceiveBuffer)
	}
	if d.loopback {
		n := d.next.Add(1) - 1
		last := byte(firstLoopbackSource + n%(lastLoopbackSource-firstLoopbackSource+1))
		nd.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, last)}
		network = "tcp4"
	}
	return nd.DialContext(ctx, network, addr)
}

// Dial opens one WebSocket signed in with an access token.
func (d *Dialer) Dial(ctx context.Context, token string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, d.wsURL, &websocket.DialOptions{
		HTTPClient: d.client,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("open websocket: %s: %w", resp.Status, err)
		}
		return nil, fmt.Errorf("open websocket: %w", err)
	}
	conn.SetReadLimit(ReadLimit)
	return conn, nil
}
