package api

import (
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"

	"parley/chat/audit"
	"parley/chat/directory"
	"parley/chat/files"
	"parley/chat/messaging"
	"parley/chat/presence"
	"parley/chat/quickreply"
	"parley/sfu/live"
	"parley/sfu/meeting"
	"parley/signaling/auth"
)

// Prefix is where the API lives.
const Prefix = "/api/v1"

// Publisher sends an event to every node. *nats.Conn satisfies it.
type Publisher interface {
	Publish(subject string, data []byte) error
}

// Limits are the API's size limits.
type Limits struct {
	MaxBodyBytes   int64
	MaxImportBytes int64
}

// Deps are the services the API stands on.
type Deps struct {
	Directory *directory.Directory
	Audit     *audit.Log
	Auth      *auth.Service
	Events    Publisher
	Messaging *messaging.Service
	Files     *files.Store
	Limits    Limits
	Logger    *slog.Logger

	QuickReplies *quickreply.Store
	Presence     *presence.Tracker

	Meetings *meeting.Store
	Lives    *live.Store
	// MeetingRooms are the meetings in progress on this node: a change
	// made over REST reaches a running room at once. Nil leaves a room to
	// catch up when its next participant joins.
	MeetingRooms MeetingRooms
	// MeetingRecordings is the folder of meeting recordings, one folder
	// per meeting holding one per recording; empty lists none.
	MeetingRecordings string
}

// API serves /api/v1.
type API struct {
	dir    *directory.Directory
	audit  *audit.Log
	auth   *auth.Service
	events Publisher
	chat   *messaging.Service
	files  *files.Store
	limits Limits
	log    *slog.Logger
	routes []Route
	mux    *http.ServeMux

	quickReplyStore *quickreply.Store
	presence        *presence.Tracker

	meetings   *meeting.Store
	lives      *live.Store
	rooms      MeetingRooms
	recordings string
}

// HandlerFunc is a route's handler. It gets the already read body and the
// authenticated principal (nil on public routes without a token), and
// either writes a response or returns an error for the router to write.
type HandlerFunc func(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error

// Route is one row of the routing table.
type Route struct {
	Method  string
	Path    string // ServeMux pattern path, e.g. /api/v1/members/{id}
	Policy  Policy
	Summary string
	// BodyLimit overrides Limits.MaxBodyBytes (the CSV import is larger).
	BodyLimit int64
	// Stream leaves the body unread for the handler, which gets nil and
	// reads r.Body itself, capped at the body limit: a file upload must
	// not be held in memory. Such a route's authorization cannot look at
	// the body.
	Stream bool
	handle HandlerFunc
}

// New builds the API and its router.
func New(d Deps) *API {
	a := &API{dir: d.Directory, audit: d.Audit, auth: d.Auth, events: d.Events, chat: d.Messaging, files: d.Files, limits: d.Limits, log: d.Logger}
	a.quickReplyStore, a.presence = d.QuickReplies, d.Presence
	a.meetings, a.lives = d.Meetings, d.Lives
	a.rooms, a.recordings = d.MeetingRooms, d.MeetingRecordings
	if a.log == nil {
		a.log = slog.Default()
	}
	a.routes = a.routeTable()
	a.mux = http.NewServeMux()
	paths := map[string][]string{}
	for _, rt := range a.routes {
		a.mux.Handle(rt.Method+" "+rt.Path, a.wrap(rt))
		paths[rt.Path] = append(paths[rt.Path], rt.Method)
	}
	// A known path with another method gets 405 in the JSON error shape
	// (ServeMux's own 405 is plain text). The fallbacks carry explicit
	// methods so that ServeMux's precedence rules stay unambiguous.
	for path, methods := range paths {
		sort.Strings(methods)
		allow := strings.Join(methods, ", ")
		for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
			if slices.Contains(methods, m) {
				continue
			}
			a.mux.HandleFunc(m+" "+path, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", allow)
				writeError(w, r, a.log, errorf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, r.Method+" is not allowed here; use "+allow))
			})
		}
	}
	a.mux.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, a.log, errorf(http.StatusNotFound, CodeNotFound, "no such API route: "+r.Method+" "+r.URL.Path))
	})
	return a
}

// Routes returns the routing table, for tests and documentation.
func (a *API) Routes() []Route { return append([]Route(nil), a.routes...) }

// ServeHTTP serves a request under Prefix.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Principal authenticates a request's bearer token the way every API route
// does, for other front-door handlers (file downloads, WHEP) that need it.
func (a *API) Principal(r *http.Request) (*Principal, error) { return a.authenticate(r) }

// wrap is the chain every route runs: read the body (unless the route
// streams it), authenticate, authorize, handle, and map any error to the
// one error shape.
func (a *API) wrap(rt Route) http.Handler {
	limit := rt.BodyLimit
	if limit == 0 {
		limit = a.limits.MaxBodyBytes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Authenticate from the headers before reading the body, so an
		// anonymous client cannot make the server read megabytes first.
		p, err := a.authenticate(r)
		if err != nil {
			if rt.Policy.Access != Public {
				writeError(w, r, a.log, err)
				return
			}
			// A stale token must not block the routes that replace it
			// (refresh, login): public routes treat it as no token.
			p = nil
		}
		if err := requireSignIn(p, rt.Policy); err != nil {
			writeError(w, r, a.log, err)
			return
		}
		var body []byte
		if rt.Stream {
			r.Body = http.MaxBytesReader(w, r.Body, limit)
		} else if body, err = readBody(r, limit); err != nil {
			writeError(w, r, a.log, err)
			return
		}
		if err := a.authorize(p, rt.Policy, r, body); err != nil {
			writeError(w, r, a.log, err)
			return
		}
		if err := rt.handle(w, r, p, body); err != nil {
			writeError(w, r, a.log, err)
		}
	})
}
