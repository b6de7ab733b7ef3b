package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"parley/signaling"
)

// option binds one setting to its flag, environment variable and YAML key.
// The table in options is the single list of what `parley serve` accepts;
// the help text, the env lookup and the deploy/parley.yaml check all read it.
type option struct {
	flag string // flag name, without dashes
	env  string // environment variable
	yaml string // dotted YAML path, as documented in deploy/parley.yaml
	help string
	ptr  any // *string, *int, *int64, *bool, *time.Duration or *[]string
}

func options(c *signaling.Config) []option {
	return []option{
		{"data", "PARLEY_DATA", "data", "data directory", &c.DataDir},
		{"http", "PARLEY_HTTP", "http", "HTTP listen address", &c.HTTPAddr},
		{"media-port", "PARLEY_MEDIA_PORT", "media_port", "UDP port shared by all WebRTC peers", &c.MediaPort},
		{"media-socket-buffer", "PARLEY_MEDIA_SOCKET_BUFFER", "media_socket_buffer", "receive and send buffer of the media socket, in bytes", &c.MediaSocketBuffer},
		{"public-ip", "PARLEY_PUBLIC_IP", "public_ip", "public (NAT 1:1) IP announced in ICE candidates", &c.PublicIP},
		{"ice-servers", "PARLEY_ICE_SERVERS", "ice_servers", "comma-separated STUN/TURN URLs handed to WebRTC clients (WHIP/WHEP Link headers)", &c.ICEServers},
		{"turn-username", "PARLEY_TURN_USERNAME", "turn_username", "username of the turn: URLs in ice_servers", &c.TURNUsername},
		{"turn-credential", "PARLEY_TURN_CREDENTIAL", "turn_credential", "credential of the turn: URLs in ice_servers", &c.TURNCredential},
		{"company-name", "PARLEY_COMPANY_NAME", "company_name", "name of the root department, used on first start", &c.CompanyName},
		{"allowed-origins", "PARLEY_ALLOWED_ORIGINS", "allowed_origins", "comma-separated origin host patterns allowed to open the WebSocket cross-origin", &c.AllowedOrigins},
		{"tls-cert", "PARLEY_TLS_CERT", "tls.cert", "TLS certificate file (PEM)", &c.TLS.Cert},
		{"tls-key", "PARLEY_TLS_KEY", "tls.key", "TLS private key file (PEM)", &c.TLS.Key},
		{"log-level", "PARLEY_LOG_LEVEL", "log.level", "log level: debug, info, warn, error", &c.Log.Level},
		{"log-format", "PARLEY_LOG_FORMAT", "log.format", "log format: text or json", &c.Log.Format},
		{"admin-password", "PARLEY_ADMIN_PASSWORD", "auth.admin_password", "first super admin's password (empty data dir only)", &c.Auth.AdminPassword},
		{"jwt-secret", "PARLEY_JWT_SECRET", "auth.jwt_secret", "access-token signing secret (>= 32 chars); shared by a cluster", &c.Auth.JWTSecret},
		{"access-ttl", "PARLEY_ACCESS_TTL", "auth.access_ttl", "access token lifetime", &c.Auth.AccessTTL},
		{"refresh-ttl", "PARLEY_REFRESH_TTL", "auth.refresh_ttl", "refresh token lifetime", &c.Auth.RefreshTTL},
		{"login-per-account", "PARLEY_LOGIN_PER_ACCOUNT", "auth.login_per_account_per_minute", "sign-in attempts per account per minute", &c.Auth.LoginPerAccountPerMinute},
		{"login-per-ip", "PARLEY_LOGIN_PER_IP", "auth.login_per_ip_per_minute", "sign-in attempts per client IP per minute", &c.Auth.LoginPerIPPerMinute},
		{"max-body-bytes", "PARLEY_MAX_BODY_BYTES", "limits.max_body_bytes", "largest JSON request body", &c.Limits.MaxBodyBytes},
		{"max-import-bytes", "PARLEY_MAX_IMPORT_BYTES", "limits.max_import_bytes", "largest CSV member import", &c.Limits.MaxImportBytes},
		{"ws-read-limit", "PARLEY_WS_READ_LIMIT", "limits.ws_read_limit", "largest WebSocket message from a client", &c.Limits.WSReadLimit},
		{"ws-send-queue", "PARLEY_WS_SEND_QUEUE", "limits.ws_send_queue", "outbound messages queued per WebSocket before it is closed as too slow", &c.Limits.WSSendQueue},
		{"ws-ping-interval", "PARLEY_WS_PING_INTERVAL", "limits.ws_ping_interval", "WebSocket ping interval", &c.Limits.WSPingInterval},
		{"chat-max-text-bytes", "PARLEY_CHAT_MAX_TEXT_BYTES", "chat.max_text_bytes", "largest text of one chat message", &c.Chat.MaxTextBytes},
		{"chat-max-group-members", "PARLEY_CHAT_MAX_GROUP_MEMBERS", "chat.max_group_members", "most members of one group", &c.Chat.MaxGroupMembers},
		{"chat-send-per-second", "PARLEY_CHAT_SEND_PER_SECOND", "chat.send_per_second", "messages one member may send per second", &c.Chat.SendPerSecond},
		{"chat-send-burst", "PARLEY_CHAT_SEND_BURST", "chat.send_burst", "messages one member may send in a burst", &c.Chat.SendBurst},
		{"chat-recall-window", "PARLEY_CHAT_RECALL_WINDOW", "chat.recall_window", "how long after sending a member may recall a message", &c.Chat.RecallWindow},
		{"chat-urgent-interval", "PARLEY_CHAT_URGENT_INTERVAL", "chat.urgent_interval", "default time between reminders of an urgent message (whole minutes)", &c.Chat.UrgentInterval},
		{"chat-urgent-max-repeats", "PARLEY_CHAT_URGENT_MAX_REPEATS", "chat.urgent_max_repeats", "default number of reminders of an urgent message", &c.Chat.UrgentMaxRepeats},
		{"chat-max-file-bytes", "PARLEY_CHAT_MAX_FILE_BYTES", "chat.max_file_bytes", "largest file a member may upload", &c.Chat.MaxFileBytes},
		{"chat-known-client-ids", "PARLEY_CHAT_KNOWN_CLIENT_IDS", "chat.known_client_ids", "client message ids kept in memory for the resend check (about 20 bytes each)", &c.Chat.KnownClientIDs},
		{"live-max-comment-bytes", "PARLEY_LIVE_MAX_COMMENT_BYTES", "live.max_comment_bytes", "largest comment or question in a live", &c.Live.MaxCommentBytes},
		{"live-comments-per-minute", "PARLEY_LIVE_COMMENTS_PER_MINUTE", "live.comments_per_minute", "comments one viewer may post per minute in a live", &c.Live.CommentsPerMinute},
		{"live-comment-burst", "PARLEY_LIVE_COMMENT_BURST", "live.comment_burst", "comments one viewer may post in a burst in a live", &c.Live.CommentBurst},
		{"live-tally-interval", "PARLEY_LIVE_TALLY_INTERVAL", "live.tally_interval", "how often a live's like and poll tallies and viewer count are published", &c.Live.TallyInterval},
		{"live-disconnect-grace", "PARLEY_LIVE_DISCONNECT_GRACE", "live.disconnect_grace", "how long a live stays on air after its encoder's connection drops", &c.Live.DisconnectGrace},
		{"live-max-broadcasts", "PARLEY_LIVE_MAX_BROADCASTS", "live.max_broadcasts", "lives on air at once on this node", &c.Live.MaxBroadcasts},
		{"live-max-viewers", "PARLEY_LIVE_MAX_VIEWERS", "live.max_viewers", "players of one live on this node", &c.Live.MaxViewers},
		{"meeting-reconnect-grace", "PARLEY_MEETING_RECONNECT_GRACE", "meeting.reconnect_grace", "how long a meeting participant whose connection dropped keeps its place to resume", &c.Meeting.ReconnectGrace},
		{"meeting-max-tracks", "PARLEY_MEETING_MAX_TRACKS", "meeting.max_tracks_per_participant", "tracks one meeting participant may publish at once (1 to 4)", &c.Meeting.MaxTracksPerParticipant},
		{"meeting-max-publish-bitrate", "PARLEY_MEETING_MAX_PUBLISH_BITRATE", "meeting.max_publish_bitrate", "bits per second one meeting participant may send", &c.Meeting.MaxPublishBitrate},
		{"meeting-max-waiting", "PARLEY_MEETING_MAX_WAITING", "meeting.max_waiting", "people one meeting's waiting room holds", &c.Meeting.MaxWaiting},
		{"cache-bytes", "PARLEY_CACHE_BYTES", "storage.cache_bytes", "Pebble block cache size", &c.Storage.CacheBytes},
		{"nats-url", "PARLEY_NATS_URL", "nats.url", "external NATS cluster URL(s); empty embeds a server", &c.NATS.URL},
		{"nats-listen", "PARLEY_NATS_LISTEN", "nats.listen", "embedded NATS client listen address; empty opens no port", &c.NATS.Listen},
		{"nats-server-name", "PARLEY_NATS_SERVER_NAME", "nats.server_name", "this node's name in the NATS cluster", &c.NATS.ServerName},
		{"nats-cluster-name", "PARLEY_NATS_CLUSTER_NAME", "nats.cluster.name", "NATS cluster name", &c.NATS.Cluster.Name},
		{"nats-cluster-listen", "PARLEY_NATS_CLUSTER_LISTEN", "nats.cluster.listen", "NATS route listen address; empty disables clustering", &c.NATS.Cluster.Listen},
		{"nats-routes", "PARLEY_NATS_ROUTES", "nats.cluster.routes", "comma-separated NATS seed routes", &c.NATS.Cluster.Routes},
	}
}

// loadConfig builds the serve configuration from defaults, then the YAML
// file named by --config (or PARLEY_CONFIG), then PARLEY_* variables, then
// flags. getenv is os.Getenv outside tests.
func loadConfig(args []string, getenv func(string) string) (signaling.Config, error) {
	cfg := signaling.DefaultConfig()
	opts := options(&cfg)

	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	configPath := fs.String("config", getenv("PARLEY_CONFIG"), "YAML configuration file (env PARLEY_CONFIG)")
	raw := make(map[string]*string, len(opts))
	for _, o := range opts {
		raw[o.flag] = fs.String(o.flag, "", fmt.Sprintf("%s (env %s, default %s)", o.help, o.env, formatValue(o.ptr)))
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: parley serve [flags]\n\nFlags override PARLEY_* variables, which override the --config file.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	if *configPath != "" {
		data, err := os.ReadFile(*configPath)
		if err != nil {
			return cfg, fmt.Errorf("read config: %w", err)
		}
		if err := decodeYAML(data, &cfg); err != nil {
			return cfg, fmt.Errorf("config %s: %w", *configPath, err)
		}
	}
	for _, o := range opts {
		if v, ok := lookupEnv(getenv, o.env); ok {
			if err := setValue(o.ptr, v); err != nil {
				return cfg, fmt.Errorf("%s: %w", o.env, err)
			}
		}
	}
	var flagErr error
	fs.Visit(func(f *flag.Flag) {
		if p, ok := raw[f.Name]; ok && flagErr == nil {
			for _, o := range opts {
				if o.flag == f.Name {
					if err := setValue(o.ptr, *p); err != nil {
						flagErr = fmt.Errorf("--%s: %w", f.Name, err)
					}
				}
			}
		}
	})
	if flagErr != nil {
		return cfg, flagErr
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("invalid configuration: %w", err)
	}
	return cfg, nil
}

// decodeYAML rejects unknown keys, so a typo in a config file is an error
// rather than a silently ignored setting.
func decodeYAML(data []byte, cfg *signaling.Config) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	// An empty file decodes to io.EOF; it simply sets nothing.
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

func lookupEnv(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func setValue(ptr any, s string) error {
	switch p := ptr.(type) {
	case *string:
		*p = s
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		*p = n
	case *bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		*p = b
	case *time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration such as 90s or 15m", s)
		}
		*p = d
	case *[]string:
		*p = nil
		for _, part := range strings.Split(s, ",") {
			if part = strings.TrimSpace(part); part != "" {
				*p = append(*p, part)
			}
		}
	default:
		panic(fmt.Sprintf("option of unsupported type %T", ptr))
	}
	return nil
}

func formatValue(ptr any) string {
	switch p := ptr.(type) {
	case *string:
		if *p == "" {
			return `""`
		}
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *bool:
		return strconv.FormatBool(*p)
	case *time.Duration:
		return p.String()
	case *[]string:
		return strings.Join(*p, ",")
	}
	return "?"
}
