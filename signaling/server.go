package signaling

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"parley/chat/audit"
	"parley/chat/bus"
	"parley/chat/conversation"
	"parley/chat/directory"
	"parley/chat/fanout"
	"parley/chat/files"
	"parley/chat/liveroom"
	"parley/chat/messaging"
	"parley/chat/msglog"
	"parley/chat/presence"
	"parley/chat/quickreply"
	"parley/chat/urgent"
	"parley/sfu/live"
	"parley/sfu/meeting"
	"parley/sfu/rtc"
	"parley/sfu/transport"
	"parley/signaling/api"
	"parley/signaling/auth"
	"parley/signaling/chatws"
	"parley/signaling/livews"
	"parley/signaling/meetingws"
	"parley/signaling/web"
	"parley/signaling/whip"
	"parley/signaling/ws"
	"parley/storage"
)

// SchemaVersion is the on-disk layout this build writes. A data directory
// written by a newer build is refused rather than misread.
const SchemaVersion = 1

// BootstrapAdminID is the username of the super admin created on first start.
const BootstrapAdminID = "admin"

// shutdownTimeout bounds the HTTP and WebSocket shutdown, together.
const shutdownTimeout = 10 * time.Second

// Server is one running Parley node.
type Server struct {
	cfg Config
	log *slog.Logger

	db      *storage.DB
	bus     *bus.Bus
	audit   *audit.Log
	dir     *directory.Directory
	auth    *auth.Service
	msgs    *msglog.Log
	convs   *conversation.Store
	fan     *fanout.Fanout
	chat    *messaging.Service
	files   *files.Store
	hub     *ws.Hub
	api     *api.API
	metrics *metrics
	handler http.Handler

	quickReplies *quickreply.Store
	presence     *presence.Tracker
	urgent       *urgent.Scheduler

	meetings *meeting.Store
	lives    *live.Store

	// transport is the node's one media port: every WebRTC peer
	// connection, of meetings and lives, is made on it.
	transport  *transport.Transport
	broadcasts *live.Broadcasts // live media: WHIP ingest, WHEP playback, recordings
	whip       *whip.Handler

	liveRooms   *liveroom.Service      // live interactions (comments, likes, polls, lottery)
	liveViewers *livews.ViewerEndpoint // the WebSocket of external viewers' tokens
	liveWS      *livews.Handlers       // the live.* requests of both hubs

	rooms         *rtc.Manager             // the meetings in progress on this node
	meetingGuests *meetingws.GuestEndpoint // the WebSocket of meeting guests' tokens

	memberSub *nats.Subscription
	closeOnce sync.Once
	closeErr  error
}

// New opens the data directory, starts the bus and the services, and
// creates the first super admin on an empty data directory. It does not
// listen yet; call Serve or ListenAndServe.
func New(cfg Config, logger *slog.Logger) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: logger}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()

	s.db, err = storage.Open(cfg.DataDir, storage.Options{CacheBytes: cfg.Storage.CacheBytes, Logger: logger})
	if err != nil {
		return nil, err
	}
	s.bus, err = bus.Start(cfg.NATS, logger)
	if err != nil {
		return nil, fmt.Errorf("start message bus: %w", err)
	}
	s.audit = audit.New(s.db)
	s.dir = directory.New(s.db, s.audit)
	members := memberStatus{s.dir}
	s.auth, err = auth.New(s.db, members, auth.Config{
		AccessTTL:       cfg.Auth.AccessTTL,
		RefreshTTL:      cfg.Auth.RefreshTTL,
		Secret:          []byte(cfg.Auth.JWTSecret),
		LoginPerAccount: auth.Limit{Every: time.Minute / time.Duration(cfg.Auth.LoginPerAccountPerMinute), Burst: cfg.Auth.LoginPerAccountPerMinute},
		LoginPerIP:      auth.Limit{Every: time.Minute / time.Duration(cfg.Auth.LoginPerIPPerMinute), Burst: cfg.Auth.LoginPerIPPerMinute},
	})
	if err != nil {
		return nil, fmt.Errorf("start auth: %w", err)
	}
	if err := s.bootstrap(); err != nil {
		return nil, err
	}

	s.msgs, err = msglog.Open(s.db, msglog.Options{DedupIDs: cfg.Chat.KnownClientIDs})
	if err != nil {
		return nil, fmt.Errorf("open message log: %w", err)
	}
	s.convs = conversation.New(s.db, conversation.Options{MaxGroupMembers: cfg.Chat.MaxGroupMembers})

	s.metrics = newMetrics(s)
	s.hub = ws.NewHub(ws.Config{
		ReadLimit:      cfg.Limits.WSReadLimit,
		SendQueue:      cfg.Limits.WSSendQueue,
		PingInterval:   cfg.Limits.WSPingInterval,
		OriginPatterns: cfg.AllowedOrigins,
	}, s.auth, members, logger)
	s.hub.OnCount(func(n int) { s.metrics.wsSessions.Set(float64(n)) })
	s.presence, err = presence.Start(s.bus.Conn(), s.db, presence.Options{NodeName: presenceNodeName(cfg), Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("start presence: %w", err)
	}
	registerPresence(s.hub, s.presence, logger)
	s.quickReplies = quickreply.New(s.db, s.audit, quickreply.Limits{})
	s.meetings = meeting.New(s.db, meeting.Options{})
	s.lives = live.New(s.db, live.Options{})
	s.fan = fanout.New(s.bus.Conn(), s.hub, s.convs, logger)
	s.hub.OnSession(
		func(sess *ws.Session) error {
			s.presence.SessionOpened(sess.MemberID())
			return s.fan.SessionOpened(sess.MemberID())
		},
		func(sess *ws.Session) {
			s.fan.SessionClosed(sess.MemberID())
			s.presence.Unwatch(sess)
			s.presence.SessionClosed(sess.MemberID())
		},
	)
	limits := messaging.DefaultLimits()
	limits.MaxTextBytes = cfg.Chat.MaxTextBytes
	limits.RecallWindow = cfg.Chat.RecallWindow
	limits.UrgentInterval, limits.UrgentMaxRepeats = cfg.Chat.UrgentInterval, cfg.Chat.UrgentMaxRepeats
	s.files, err = files.New(s.db, files.Options{MaxBytes: cfg.Chat.MaxFileBytes})
	if err != nil {
		return nil, fmt.Errorf("open file store: %w", err)
	}
	s.chat = messaging.New(messaging.Deps{
		DB: s.db, Log: s.msgs, Conversations: s.convs, Fanout: s.fan, Members: members,
		Events: memberEvents{s.bus.Conn()}, Files: s.files, Limits: limits, Logger: logger,
	})
	s.urgent = urgent.New(s.db, s.convs, s.chat, urgent.Options{Logger: logger})
	s.chat.SetUrgent(s.urgent)
	s.urgent.Start()
	chatws.Register(s.hub, s.chat, chatws.Config{SendPerSecond: cfg.Chat.SendPerSecond, SendBurst: cfg.Chat.SendBurst}, logger)
	s.memberSub, err = subscribeMemberEvents(s.bus.Conn(), s.hub, s.fan, logger)
	if err != nil {
		return nil, err
	}
	s.transport, err = transport.New(transport.Config{MediaPort: cfg.MediaPort, PublicIP: cfg.PublicIP, ICEServers: cfg.iceServers(),
		SocketBuffer: cfg.MediaSocketBuffer}, logger)
	if err != nil {
		return nil, fmt.Errorf("open media port: %w", err)
	}
	// The rooms come before the API, which tells them of changes made
	// over REST.
	s.rooms, err = rtc.NewManager(cfg.Meeting.rooms(), s.meetings, rtc.MediaDeps{
		Transport:    s.transport,
		RecordingDir: filepath.Join(cfg.DataDir, filepath.FromSlash(meetingRecordingsDir)),
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("start meeting rooms: %w", err)
	}
	s.api = api.New(api.Deps{
		Directory: s.dir,
		Audit:     s.audit,
		Auth:      s.auth,
		Events:    s.bus.Conn(),
		Messaging: s.chat,
		Files:     s.files,
		Limits:    api.Limits{MaxBodyBytes: cfg.Limits.MaxBodyBytes, MaxImportBytes: cfg.Limits.MaxImportBytes},
		Logger:    logger,

		QuickReplies: s.quickReplies,
		Presence:     s.presence,
		Meetings:     s.meetings,
		Lives:        s.lives,

		MeetingRooms:      s.rooms,
		MeetingRecordings: filepath.Join(cfg.DataDir, filepath.FromSlash(meetingRecordingsDir)),
	})
	if err := s.startLiveRooms(cfg, logger); err != nil {
		return nil, err
	}
	if err := s.startLiveMedia(cfg, logger); err != nil {
		return nil, err
	}
	if err := s.startMeetings(cfg, logger); err != nil {
		return nil, err
	}
	s.metrics.registerServices(s)
	s.handler = s.routes()
	return s, nil
}

// bootstrap prepares an empty data directory: the root department and the
// first super admin. On later starts it only checks the schema version.
func (s *Server) bootstrap() error {
	raw, err := s.db.Get(storage.KeySchemaVersion)
	switch {
	case err == nil:
		v, perr := strconv.Atoi(string(raw))
		if perr != nil || v > SchemaVersion {
			return fmt.Errorf("data directory %s has schema version %q; this build understands up to %d", s.cfg.DataDir, raw, SchemaVersion)
		}
		return nil
	case !errors.Is(err, storage.ErrNotFound):
		return fmt.Errorf("read schema version: %w", err)
	}

	if err := s.dir.Bootstrap(s.cfg.CompanyName); err != nil {
		return fmt.Errorf("create root department: %w", err)
	}
	password, generated := s.cfg.Auth.AdminPassword, false
	if password == "" {
		password, generated = randomPassword(), true
	} else if err := auth.ValidatePassword(password); err != nil {
		return fmt.Errorf("PARLEY_ADMIN_PASSWORD: %w", err)
	}
	system := directory.Actor{ID: "system"}
	if _, err := s.dir.CreateMember(system, directory.Member{
		ID: BootstrapAdminID, Name: "Administrator", Departments: []string{directory.RootDepartmentID},
	}); err != nil && !errors.Is(err, directory.ErrConflict) {
		return fmt.Errorf("create first super admin: %w", err)
	}
	if _, err := s.dir.SetRole(system, BootstrapAdminID, directory.RoleSuperAdmin, nil); err != nil {
		return fmt.Errorf("make %s super admin: %w", BootstrapAdminID, err)
	}
	if err := s.auth.SetPassword(BootstrapAdminID, password); err != nil {
		return fmt.Errorf("set first super admin's password: %w", err)
	}
	if generated {
		// Logged once, on the start that created it. Nothing else keeps it.
		s.log.Warn("created super admin with a generated password; sign in and change it",
			"username", BootstrapAdminID, "password", password)
	} else {
		s.log.Info("created super admin from PARLEY_ADMIN_PASSWORD", "username", BootstrapAdminID)
	}
	return s.db.Update(func(b *storage.Batch) error {
		b.Set(storage.KeySchemaVersion, []byte(strconv.Itoa(SchemaVersion)))
		return nil
	})
}

func randomPassword() string {
	buf := make([]byte, 18)
	_, _ = rand.Read(buf) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(buf)
}

// Handler is the whole HTTP surface, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.handler }

// API is the REST API, for tests that enumerate its routes.
func (s *Server) API() *api.API { return s.api }

// Directory is the company directory, for offline admin tasks and tests.
func (s *Server) Directory() *directory.Directory { return s.dir }

// Auth is the auth service, for offline admin tasks and tests.
func (s *Server) Auth() *auth.Service { return s.auth }

// Chat is the chat service, for tests that set up conversations.
func (s *Server) Chat() *messaging.Service { return s.chat }

// Hub is this node's WebSocket hub.
func (s *Server) Hub() *ws.Hub { return s.hub }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", s.api)
	mux.Handle("GET /ws", s.hub)
	mux.Handle("GET "+livews.ViewerPath, s.liveViewers)
	mux.Handle("GET "+meetingws.GuestPath, s.meetingGuests)
	s.whip.Register(mux) // /whip, /whep and the live recordings' replay
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writePlain(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.Handle("/", web.MustNew()) // the web client; "/" because "GET /" would conflict with the API's method-less prefix
	return s.metrics.instrument(mux)
}

// readyz answers 200 only while this node can do its work: the bus is
// connected and storage answers.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.bus.Ready() {
		writePlain(w, http.StatusServiceUnavailable, "message bus not connected\n")
		return
	}
	if _, err := s.db.Has(storage.KeySchemaVersion); err != nil {
		writePlain(w, http.StatusServiceUnavailable, "storage: "+err.Error()+"\n")
		return
	}
	writePlain(w, http.StatusOK, "ready\n")
}

func writePlain(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// ListenAndServe listens on the configured HTTP address (with TLS when
// configured) and serves until ctx ends, then shuts down in order.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.HTTPAddr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve serves on ln until ctx ends, then shuts down in order and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLS.Cert != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLS.Cert, s.cfg.TLS.Key)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	if s.cfg.TLS.Cert != "" {
		scheme = "https"
	}
	s.log.Info("parley serving", "addr", ln.Addr().String(), "url", scheme+"://"+ln.Addr().String(), "data", s.cfg.DataDir)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}

	s.log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil { // stop accepting, finish requests
		s.log.Warn("http shutdown", "err", err)
	}
	if err := s.hub.Shutdown(shutCtx); err != nil { // hijacked sockets are not http.Server's
		s.log.Warn("websocket shutdown", "err", err)
	}
	if err := s.liveViewers.Hub().Shutdown(shutCtx); err != nil {
		s.log.Warn("live viewer websocket shutdown", "err", err)
	}
	if err := s.meetingGuests.Hub().Shutdown(shutCtx); err != nil {
		s.log.Warn("meeting guest websocket shutdown", "err", err)
	}
	if err := s.liveWS.Wait(shutCtx); err != nil { // viewer leaves write to the stores Close closes
		s.log.Warn("live room shutdown", "err", err)
	}
	if err := s.Close(); err != nil {
		return err
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", serveErr)
	}
	return nil
}

// Close drains the bus, stops NATS and closes Pebble. It is safe to call
// more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.urgent != nil {
			s.urgent.Close() // it sends through the chat service
		}
		if s.liveRooms != nil {
			s.liveRooms.Close() // writes the likes still pending
		}
		if s.broadcasts != nil {
			s.broadcasts.Close() // finishes recordings, records viewers' leaves
		}
		if s.rooms != nil {
			s.rooms.Close() // closes the peer connections, records the leaves
		}
		if s.transport != nil {
			if err := s.transport.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close media port: %w", err))
			}
		}
		if s.chat != nil {
			s.chat.Close()
		}
		if s.msgs != nil {
			if err := s.msgs.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close message log: %w", err))
			}
		}
		if s.presence != nil {
			s.presence.Close()
		}
		if s.memberSub != nil {
			_ = s.memberSub.Unsubscribe()
		}
		if s.bus != nil {
			if err := s.bus.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close bus: %w", err))
			}
		}
		if s.lives != nil {
			if err := s.lives.Close(); err != nil { // writes its counters
				errs = append(errs, fmt.Errorf("close live store: %w", err))
			}
		}
		if s.db != nil {
			if err := s.db.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// memberStatus answers "may this member hold a session?" from the
// directory, for auth and the WebSocket hub.
type memberStatus struct{ dir *directory.Directory }

func (m memberStatus) MemberActive(id string) (bool, error) {
	mem, err := m.dir.GetMember(id)
	if errors.Is(err, directory.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return mem.Status == directory.StatusActive, nil
}

// startLiveRooms starts the live interaction service and registers the
// live.* requests on the member hub and on the viewer endpoint, the
// socket of external viewers' tokens. It runs after the REST API exists:
// the socket asks the API's scope decision.
func (s *Server) startLiveRooms(cfg Config, logger *slog.Logger) error {
	var err error
	s.liveRooms, err = liveroom.New(liveroom.Deps{
		DB: s.db, Log: s.msgs, Conn: s.bus.Conn(), Logger: logger,
		Config: liveroom.Config{MaxCommentBytes: cfg.Live.MaxCommentBytes, TallyInterval: cfg.Live.TallyInterval},
	})
	if err != nil {
		return fmt.Errorf("start live rooms: %w", err)
	}
	s.liveViewers, err = livews.NewViewerEndpoint(ws.Config{
		ReadLimit:      cfg.Limits.WSReadLimit,
		SendQueue:      cfg.Limits.WSSendQueue,
		PingInterval:   cfg.Limits.WSPingInterval,
		OriginPatterns: cfg.AllowedOrigins,
	}, s.auth, logger)
	if err != nil {
		return fmt.Errorf("live viewer endpoint: %w", err)
	}
	s.liveWS, err = livews.Register(livews.Deps{
		Rooms: s.liveRooms, Lives: s.lives, Members: s.dir, Logger: logger,
		Config:   livews.Config{CommentsPerMinute: cfg.Live.CommentsPerMinute, CommentBurst: cfg.Live.CommentBurst},
		Identify: livews.Identifier{Directory: s.dir, Viewers: s.liveViewers}.Identify,
		InScope:  s.api.InLiveScope,
	}, s.hub, s.liveViewers.Hub())
	if err != nil {
		return fmt.Errorf("register live requests: %w", err)
	}
	return nil
}

// meetingRecordingsDir is where meeting recordings are kept, under the
// data directory: <meeting id>/<recording id>/ beneath it.
const meetingRecordingsDir = "recordings/meetings"

// startMeetings registers the meeting.* requests on the member hub and
// on the guest endpoint, the socket of meeting guests' tokens. The rooms
// were opened before the REST API.
func (s *Server) startMeetings(cfg Config, logger *slog.Logger) error {
	var err error
	s.meetingGuests, err = meetingws.NewGuestEndpoint(ws.Config{
		ReadLimit:      cfg.Limits.WSReadLimit,
		SendQueue:      cfg.Limits.WSSendQueue,
		PingInterval:   cfg.Limits.WSPingInterval,
		OriginPatterns: cfg.AllowedOrigins,
	}, s.auth, s.rooms, logger)
	if err != nil {
		return fmt.Errorf("meeting guest endpoint: %w", err)
	}
	err = meetingws.Register(meetingws.Deps{
		Rooms: s.rooms, Audit: s.audit, Logger: logger,
		Identify: meetingws.Identifier{Directory: s.dir, Guests: s.meetingGuests}.Identify,
	}, s.hub, s.meetingGuests.Hub())
	if err != nil {
		return fmt.Errorf("register meeting requests: %w", err)
	}
	return nil
}
