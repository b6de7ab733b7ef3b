package signaling

import (
	"fmt"
	"strings"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/chat/bus"
	"parley/chat/directory"
	"parley/chat/files"
	"parley/chat/msglog"
	"parley/chat/urgent"
	"parley/sfu/live"
	"parley/sfu/rtc"
	"parley/sfu/transport"
)

// Config is everything `parley serve` can be told. cmd/parley fills it from
// defaults, an optional YAML file, PARLEY_* environment variables and flags,
// in rising order of precedence; deploy/parley.yaml documents every field.
type Config struct {
	// DataDir holds the Pebble database, uploads and recordings.
	DataDir string `yaml:"data"`
	// HTTPAddr is the listen address for the API, WebSocket and web client.
	HTTPAddr string `yaml:"http"`
	// MediaPort is the one UDP port every WebRTC peer shares (ICE UDP mux).
	MediaPort int `yaml:"media_port"`
	// MediaSocketBuffer is the media socket's receive and send buffer in
	// bytes. The kernel caps it at net.core.rmem_max unless the server
	// runs as root or with CAP_NET_ADMIN; a smaller grant is logged.
	MediaSocketBuffer int `yaml:"media_socket_buffer"`
	// PublicIP is announced in ICE candidates when the server sits behind a
	// 1:1 NAT (a cloud VM's elastic IP). Empty announces local addresses.
	PublicIP string `yaml:"public_ip"`
	// ICEServers are the STUN and TURN URLs handed to WebRTC clients (in
	// WHIP and WHEP Link headers, and to browsers): "stun:host:3478",
	// "turn:host:3478?transport=udp", "turns:host:5349". The server itself
	// needs none: it has one host candidate on MediaPort.
	ICEServers []string `yaml:"ice_servers"`
	// TURNUsername and TURNCredential are the long-term credentials of the
	// turn: and turns: URLs in ICEServers.
	TURNUsername   string `yaml:"turn_username"`
	TURNCredential string `yaml:"turn_credential"`
	// CompanyName names the root department on first start.
	CompanyName string `yaml:"company_name"`
	// AllowedOrigins lets browser pages on other origins open the
	// WebSocket (host patterns such as "app.example.com" or
	// "*.example.com"). The server's own origin is always allowed.
	AllowedOrigins []string `yaml:"allowed_origins"`

	TLS     TLSConfig     `yaml:"tls"`
	Log     LogConfig     `yaml:"log"`
	Auth    AuthConfig    `yaml:"auth"`
	Limits  LimitsConfig  `yaml:"limits"`
	Chat    ChatConfig    `yaml:"chat"`
	Live    LiveConfig    `yaml:"live"`
	Meeting MeetingConfig `yaml:"meeting"`
	NATS    bus.Config    `yaml:"nats"`
	Storage StorageConfig `yaml:"storage"`
}

// TLSConfig enables HTTPS when both files are set.
type TLSConfig struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// LogConfig selects the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
}

// AuthConfig tunes sign-in and tokens.
type AuthConfig struct {
	// AdminPassword is the first super admin's password, used only when the
	// data directory is empty. Set it with PARLEY_ADMIN_PASSWORD rather than
	// in a file.
	AdminPassword string `yaml:"admin_password"`
	// JWTSecret signs access tokens. Empty generates one and keeps it in the
	// data directory; nodes of one cluster must share a configured secret.
	JWTSecret  string        `yaml:"jwt_secret"`
	AccessTTL  time.Duration `yaml:"access_ttl"`
	RefreshTTL time.Duration `yaml:"refresh_ttl"`
	// LoginPerAccountPerMinute and LoginPerIPPerMinute cap sign-in attempts.
	LoginPerAccountPerMinute int `yaml:"login_per_account_per_minute"`
	LoginPerIPPerMinute      int `yaml:"login_per_ip_per_minute"`
}

// LimitsConfig names the request limits of the front door.
type LimitsConfig struct {
	// MaxBodyBytes caps JSON request bodies.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxImportBytes caps CSV member imports.
	MaxImportBytes int64 `yaml:"max_import_bytes"`
	// WSReadLimit caps one WebSocket message from a client.
	WSReadLimit int64 `yaml:"ws_read_limit"`
	// WSSendQueue is how many outbound messages a WebSocket may have queued
	// before the server gives up on it as too slow.
	WSSendQueue int `yaml:"ws_send_queue"`
	// WSPingInterval is how often the server pings an idle WebSocket.
	WSPingInterval time.Duration `yaml:"ws_ping_interval"`
}

// MaxChatTextBytes is the largest chat.max_text_bytes allowed. A stored
// body may be twice its text (JSON escapes quotes and backslashes) plus up
// to 100 mentions, and must fit the log's 64 KiB body limit.
const MaxChatTextBytes = (msglog.DefaultMaxBodyBytes - 16<<10) / 2

// ChatConfig holds the chat limits.
type ChatConfig struct {
	// MaxTextBytes caps the text of one message.
	MaxTextBytes int `yaml:"max_text_bytes"`
	// MaxGroupMembers caps the members of one group.
	MaxGroupMembers int `yaml:"max_group_members"`
	// SendPerSecond and SendBurst limit how fast one member sends, over
	// all their devices on a node.
	SendPerSecond int `yaml:"send_per_second"`
	SendBurst     int `yaml:"send_burst"`
	// RecallWindow is how long after sending a member may recall their
	// own message; group owners and admins may recall at any time.
	RecallWindow time.Duration `yaml:"recall_window"`
	// UrgentInterval and UrgentMaxRepeats are how often, and how many
	// times, an urgent message reminds those who have not read it when
	// the sender does not say.
	UrgentInterval   time.Duration `yaml:"urgent_interval"`
	UrgentMaxRepeats int           `yaml:"urgent_max_repeats"`
	// MaxFileBytes caps one uploaded file.
	MaxFileBytes int64 `yaml:"max_file_bytes"`
	// KnownClientIDs bounds the hashes of client message ids that busy
	// conversations keep in memory, about 20 bytes each, so that a send
	// with a new id needs no disk lookup for the resend check. Past it,
	// the least recently used conversations look ids up on disk again.
	KnownClientIDs int `yaml:"known_client_ids"`
}

// LiveConfig holds the limits of live interactions (comments, likes,
// polls) in a live's room.
type LiveConfig struct {
	// MaxCommentBytes caps one comment or question.
	MaxCommentBytes int `yaml:"max_comment_bytes"`
	// CommentsPerMinute and CommentBurst limit how fast one viewer
	// comments and asks in one live, over all their sessions on a node.
	CommentsPerMinute int `yaml:"comments_per_minute"`
	CommentBurst      int `yaml:"comment_burst"`
	// TallyInterval is how often like and poll tallies and the viewer
	// count are published to a live's viewers, at most.
	TallyInterval time.Duration `yaml:"tally_interval"`
	// DisconnectGrace is how long a live stays on air after its encoder's
	// connection drops without a DELETE, waiting for it to reconnect.
	DisconnectGrace time.Duration `yaml:"disconnect_grace"`
	// MaxBroadcasts caps the lives on air at once on this node, and
	// MaxViewers the players (WHEP or WebSocket) of one live on it.
	MaxBroadcasts int `yaml:"max_broadcasts"`
	MaxViewers    int `yaml:"max_viewers"`
}

// MaxLiveCommentBytes is the largest live.max_comment_bytes allowed.
const MaxLiveCommentBytes = 4000

// MeetingConfig holds the limits of the meeting rooms a node hosts.
type MeetingConfig struct {
	// ReconnectGrace is how long a participant whose connection dropped
	// keeps its place and its tracks, waiting to resume.
	ReconnectGrace time.Duration `yaml:"reconnect_grace"`
	// MaxTracksPerParticipant caps the tracks one participant publishes
	// at once, 1 to 4 (one per source).
	MaxTracksPerParticipant int `yaml:"max_tracks_per_participant"`
	// MaxPublishBitrate caps what one participant sends, in bits per
	// second, over all its tracks.
	MaxPublishBitrate int `yaml:"max_publish_bitrate"`
	// MaxWaiting caps one meeting's waiting room.
	MaxWaiting int `yaml:"max_waiting"`
}

// rooms is the room configuration these settings make.
func (m MeetingConfig) rooms() rtc.Config {
	c := rtc.DefaultConfig()
	c.ReconnectGrace = m.ReconnectGrace
	c.MaxTracksPerParticipant = m.MaxTracksPerParticipant
	c.MaxPublishBitrate = m.MaxPublishBitrate
	c.MaxWaiting = m.MaxWaiting
	return c
}

func (m MeetingConfig) validate() error {
	switch {
	case m.ReconnectGrace < time.Second || m.ReconnectGrace > 10*time.Minute:
		return fmt.Errorf("meeting.reconnect_grace: %s is outside 1s..10m", m.ReconnectGrace)
	case m.MaxTracksPerParticipant < 1 || m.MaxTracksPerParticipant > 4:
		return fmt.Errorf("meeting.max_tracks_per_participant: %d is outside 1..4", m.MaxTracksPerParticipant)
	case m.MaxPublishBitrate < 100_000:
		return fmt.Errorf("meeting.max_publish_bitrate: %d is below 100000 bits/s", m.MaxPublishBitrate)
	case m.MaxWaiting < 1:
		return fmt.Errorf("meeting.max_waiting: must be at least 1")
	}
	return m.rooms().Validate()
}

// StorageConfig tunes Pebble.
type StorageConfig struct {
	CacheBytes int64 `yaml:"cache_bytes"`
}

// DefaultConfig is the configuration of a bare `parley serve`.
func DefaultConfig() Config {
	return Config{
		DataDir:           "./parley-data",
		HTTPAddr:          ":8080",
		MediaPort:         7882,
		MediaSocketBuffer: transport.DefaultSocketBuffer,
		CompanyName:       "My Company",
		Log:               LogConfig{Level: "info", Format: "text"},
		Auth: AuthConfig{
			AccessTTL:                15 * time.Minute,
			RefreshTTL:               30 * 24 * time.Hour,
			LoginPerAccountPerMinute: 5,
			LoginPerIPPerMinute:      30,
		},
		Limits: LimitsConfig{
			MaxBodyBytes:   1 << 20,
			MaxImportBytes: 10 << 20,
			WSReadLimit:    64 << 10,
			WSSendQueue:    256,
			WSPingInterval: 20 * time.Second,
		},
		Chat: ChatConfig{
			MaxTextBytes:     16 << 10,
			MaxGroupMembers:  2000,
			SendPerSecond:    50,
			SendBurst:        200,
			RecallWindow:     24 * time.Hour,
			UrgentInterval:   5 * time.Minute,
			UrgentMaxRepeats: 3,
			MaxFileBytes:     files.DefaultMaxBytes,
			KnownClientIDs:   msglog.DefaultDedupIDs,
		},
		Live: LiveConfig{
			MaxCommentBytes:   500,
			CommentsPerMinute: 20,
			CommentBurst:      5,
			TallyInterval:     500 * time.Millisecond,
			DisconnectGrace:   live.DefaultDisconnectGrace,
			MaxBroadcasts:     live.DefaultMaxBroadcasts,
			MaxViewers:        live.DefaultMaxViewers,
		},
		Meeting: MeetingConfig{
			ReconnectGrace:          rtc.DefaultReconnectGrace,
			MaxTracksPerParticipant: rtc.DefaultMaxTracksPerParticipant,
			MaxPublishBitrate:       rtc.DefaultMaxPublishBitrate,
			MaxWaiting:              rtc.DefaultMaxWaiting,
		},
		Storage: StorageConfig{CacheBytes: 64 << 20},
	}
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	switch {
	case c.DataDir == "":
		return fmt.Errorf("data: must not be empty")
	case c.HTTPAddr == "":
		return fmt.Errorf("http: must not be empty")
	case c.MediaPort < 0 || c.MediaPort > 65535:
		return fmt.Errorf("media_port: %d is not a port number", c.MediaPort)
	case c.MediaSocketBuffer < 64<<10:
		return fmt.Errorf("media_socket_buffer: %d bytes is below 64 KiB", c.MediaSocketBuffer)
	case (c.TLS.Cert == "") != (c.TLS.Key == ""):
		return fmt.Errorf("tls: cert and key must be set together")
	case c.Log.Level != "debug" && c.Log.Level != "info" && c.Log.Level != "warn" && c.Log.Level != "error":
		return fmt.Errorf("log.level: %q is not one of debug, info, warn, error", c.Log.Level)
	case c.Log.Format != "text" && c.Log.Format != "json":
		return fmt.Errorf("log.format: %q is not text or json", c.Log.Format)
	case c.Auth.AccessTTL < time.Minute:
		return fmt.Errorf("auth.access_ttl: %s is shorter than a minute", c.Auth.AccessTTL)
	case c.Auth.RefreshTTL < c.Auth.AccessTTL:
		return fmt.Errorf("auth.refresh_ttl: must not be shorter than access_ttl")
	case c.Auth.LoginPerAccountPerMinute < 1 || c.Auth.LoginPerIPPerMinute < 1:
		return fmt.Errorf("auth: login rate limits must be at least 1 per minute")
	case c.Auth.JWTSecret != "" && len(c.Auth.JWTSecret) < 32:
		return fmt.Errorf("auth.jwt_secret: must be at least 32 characters")
	case c.Limits.MaxBodyBytes < 1024:
		return fmt.Errorf("limits.max_body_bytes: %d is below 1024", c.Limits.MaxBodyBytes)
	case c.Limits.MaxImportBytes < 1024 || c.Limits.MaxImportBytes > directory.MaxImportBytes:
		return fmt.Errorf("limits.max_import_bytes: %d is outside 1024..%d", c.Limits.MaxImportBytes, directory.MaxImportBytes)
	case c.Limits.WSReadLimit < 1024:
		return fmt.Errorf("limits.ws_read_limit: %d is below 1024", c.Limits.WSReadLimit)
	case c.Limits.WSSendQueue < 1:
		return fmt.Errorf("limits.ws_send_queue: must be at least 1")
	case c.Limits.WSPingInterval < time.Second:
		return fmt.Errorf("limits.ws_ping_interval: %s is shorter than a second", c.Limits.WSPingInterval)
	case c.Chat.MaxTextBytes < 1 || c.Chat.MaxTextBytes > MaxChatTextBytes:
		return fmt.Errorf("chat.max_text_bytes: %d is outside 1..%d", c.Chat.MaxTextBytes, MaxChatTextBytes)
	case c.Chat.MaxGroupMembers < 2:
		return fmt.Errorf("chat.max_group_members: must be at least 2")
	case c.Chat.SendPerSecond < 1 || c.Chat.SendBurst < 1:
		return fmt.Errorf("chat: send_per_second and send_burst must be at least 1")
	case c.Chat.RecallWindow < time.Second:
		return fmt.Errorf("chat.recall_window: %s is shorter than a second", c.Chat.RecallWindow)
	case c.Chat.UrgentInterval < urgent.MinInterval || c.Chat.UrgentInterval > urgent.MaxInterval || c.Chat.UrgentInterval%time.Minute != 0:
		return fmt.Errorf("chat.urgent_interval: %s is not a whole number of minutes from %s to %s", c.Chat.UrgentInterval, urgent.MinInterval, urgent.MaxInterval)
	case c.Chat.UrgentMaxRepeats < 1 || c.Chat.UrgentMaxRepeats > urgent.MaxRepeats:
		return fmt.Errorf("chat.urgent_max_repeats: %d is outside 1..%d", c.Chat.UrgentMaxRepeats, urgent.MaxRepeats)
	case c.Chat.MaxFileBytes < 1:
		return fmt.Errorf("chat.max_file_bytes: must be at least 1")
	case c.Chat.KnownClientIDs < 1:
		return fmt.Errorf("chat.known_client_ids: must be at least 1")
	case c.Live.MaxCommentBytes < 1 || c.Live.MaxCommentBytes > MaxLiveCommentBytes:
		return fmt.Errorf("live.max_comment_bytes: %d is outside 1..%d", c.Live.MaxCommentBytes, MaxLiveCommentBytes)
	case c.Live.CommentsPerMinute < 1 || c.Live.CommentBurst < 1:
		return fmt.Errorf("live: comments_per_minute and comment_burst must be at least 1")
	case c.Live.TallyInterval < 100*time.Millisecond || c.Live.TallyInterval > 10*time.Second:
		return fmt.Errorf("live.tally_interval: %s is outside 100ms..10s", c.Live.TallyInterval)
	case c.Live.DisconnectGrace < time.Second || c.Live.DisconnectGrace > 10*time.Minute:
		return fmt.Errorf("live.disconnect_grace: %s is outside 1s..10m", c.Live.DisconnectGrace)
	case c.Live.MaxBroadcasts < 1 || c.Live.MaxViewers < 1:
		return fmt.Errorf("live: max_broadcasts and max_viewers must be at least 1")
	}
	if err := c.checkICEServers(); err != nil {
		return err
	}
	return c.Meeting.validate()
}

// checkICEServers refuses URLs a WebRTC client would not take, and TURN
// without credentials.
func (c Config) checkICEServers() error {
	for _, u := range c.ICEServers {
		scheme, rest, _ := strings.Cut(u, ":")
		switch {
		case rest == "" || strings.ContainsAny(u, " <>\"\r\n"):
			return fmt.Errorf("ice_servers: %q is not a STUN or TURN URL", u)
		case scheme == "stun" || scheme == "stuns":
		case scheme == "turn" || scheme == "turns":
			if c.TURNUsername == "" || c.TURNCredential == "" {
				return fmt.Errorf("ice_servers: %q needs turn_username and turn_credential", u)
			}
		default:
			return fmt.Errorf("ice_servers: %q does not start with stun:, stuns:, turn: or turns:", u)
		}
	}
	return nil
}

// iceServers are the configured STUN and TURN servers as WebRTC takes
// them: one entry per URL, with the TURN credentials on turn ones.
func (c Config) iceServers() []webrtc.ICEServer {
	var out []webrtc.ICEServer
	for _, u := range c.ICEServers {
		s := webrtc.ICEServer{URLs: []string{u}}
		if strings.HasPrefix(u, "turn") {
			s.Username, s.Credential = c.TURNUsername, c.TURNCredential
		}
		out = append(out, s)
	}
	return out
}
