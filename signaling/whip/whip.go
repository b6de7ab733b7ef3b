package whip

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/live"
	"parley/sfu/transport"
)

// Paths, and the content types the endpoints speak.
const (
	WHIPPath = "/whip"
	WHEPPath = "/whep"
	// RecordingsPath is below a live's API path: /api/v1/lives/{id}/recordings.
	RecordingsPath = "/api/v1/lives/{id}/recordings"

	ContentTypeSDP     = "application/sdp"
	ContentTypeSDPFrag = "application/trickle-ice-sdpfrag"
)

// Limits and hints of the HTTP edge.
const (
	// MaxSDPFragBytes bounds a PATCH body: a few candidates and
	// credentials.
	MaxSDPFragBytes = 16 << 10
	// NotOnAirRetryAfter is the Retry-After of a 409 to a player whose
	// live is not on air.
	NotOnAirRetryAfter = 5 * time.Second
	// CapacityRetryAfter is the Retry-After of a 503 when this server has
	// no room for another live or viewer.
	CapacityRetryAfter = 30 * time.Second
	// corsMaxAge is how long browsers may cache a preflight answer.
	corsMaxAge = 24 * time.Hour
)

// ErrBadRequest is a request this package cannot read (a bad query, a
// malformed SDP fragment).
var ErrBadRequest = errors.New("bad request")

// Error codes, the same strings as the REST API's where they mean the
// same (PROTOCOL.md, "WHIP and WHEP").
const (
	CodeBadRequest         = "bad_request"
	CodeUnauthenticated    = "unauthenticated"
	CodeForbidden          = "forbidden"
	CodeNotFound           = "not_found"
	CodeNotOnAir           = "not_on_air"
	CodePreconditionFailed = "precondition_failed"
	CodePreconditionNeeded = "precondition_required"
	CodeTooLarge           = "body_too_large"
	CodeUnsupportedMedia   = "unsupported_media_type"
	CodeUnsupportedCodec   = "unsupported_codec"
	CodeUnprocessable      = "unprocessable"
	CodeCapacity           = "capacity"
	CodeInternal           = "internal"
)

// Deps are what the handlers stand on. All are required.
type Deps struct {
	Broadcasts *live.Broadcasts
	Access     *Access
	Logger     *slog.Logger
}

// Handler serves WHIP, WHEP and the recordings' replay.
type Handler struct {
	Deps
}

// New checks the dependencies and returns the handler.
func New(d Deps) (*Handler, error) {
	if d.Broadcasts == nil || d.Access == nil || d.Logger == nil ||
		d.Access.Lives == nil || d.Access.Tokens == nil || d.Access.Members == nil || d.Access.InScope == nil {
		return nil, errors.New("whip: Broadcasts, Access (with Lives, Tokens, Members, InScope) and Logger are required")
	}
	return &Handler{Deps: d}, nil
}

// Register mounts the routes on mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("OPTIONS "+WHIPPath, h.options("POST", true, false))
	mux.HandleFunc("POST "+WHIPPath, h.publish)
	mux.HandleFunc("OPTIONS "+WHIPPath+"/{resource}", h.options("PATCH, DELETE", false, true))
	mux.HandleFunc("PATCH "+WHIPPath+"/{resource}", h.patchIngest)
	mux.HandleFunc("DELETE "+WHIPPath+"/{resource}", h.deleteIngest)

	mux.HandleFunc("OPTIONS "+WHEPPath+"/{live}", h.options("POST", true, false))
	mux.HandleFunc("POST "+WHEPPath+"/{live}", h.play)
	mux.HandleFunc("OPTIONS "+WHEPPath+"/{live}/{resource}", h.options("PATCH, DELETE", false, true))
	mux.HandleFunc("PATCH "+WHEPPath+"/{live}/{resource}", h.patchPlayback)
	mux.HandleFunc("DELETE "+WHEPPath+"/{live}/{resource}", h.deletePlayback)

	mux.HandleFunc("GET "+RecordingsPath, h.listRecordings)
	mux.HandleFunc("GET "+RecordingsPath+"/{recording}/{file}", h.serveRecording)
}

// cors lets players and publishing pages on any origin call: the
// endpoints authenticate with bearer tokens, never cookies, so a page of
// another origin gains nothing a token does not already give.
func cors(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Expose-Headers", "Location, ETag, Link, Retry-After, Accept-Post, Accept-Patch")
}

// options answers OPTIONS, the CORS preflight included.
func (h *Handler) options(methods string, post, patch bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		cors(w)
		hd := w.Header()
		hd.Set("Allow", "OPTIONS, "+methods)
		hd.Set("Access-Control-Allow-Methods", "OPTIONS, "+methods)
		hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, If-Match")
		hd.Set("Access-Control-Max-Age", strconv.Itoa(int(corsMaxAge/time.Second)))
		if post {
			hd.Set("Accept-Post", ContentTypeSDP)
		}
		if patch {
			hd.Set("Accept-Patch", ContentTypeSDPFrag)
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// iceLinks sets one Link header per STUN or TURN URL (RFC 9725 4.6), so
// clients that take no other configuration, OBS among them, use them.
func iceLinks(w http.ResponseWriter, servers []webrtc.ICEServer) {
	for _, s := range servers {
		for _, u := range s.URLs {
			link := "<" + u + `>; rel="ice-server"`
			if strings.HasPrefix(u, "turn") {
				if s.Username != "" {
					link += `; username="` + quoteEscape(s.Username) + `"`
				}
				if c, ok := s.Credential.(string); ok && c != "" {
					link += `; credential="` + quoteEscape(c) + `"; credential-type="password"`
				}
			}
			w.Header().Add("Link", link)
		}
	}
}

func quoteEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// hasType reports whether the request's Content-Type is want; the
// parameters and the case do not matter.
func hasType(r *http.Request, want string) bool {
	t, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && strings.EqualFold(t, want)
}

// readBody reads a body of at most limit bytes.
func readBody(r *http.Request, limit int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return "", fmt.Errorf("%w: read body: %v", ErrBadRequest, err)
	}
	if int64(len(b)) > limit {
		return "", &httpError{status: http.StatusRequestEntityTooLarge, code: CodeTooLarge,
			msg: fmt.Sprintf("the body is over %d bytes", limit)}
	}
	if len(b) == 0 {
		return "", fmt.Errorf("%w: the body is empty", ErrBadRequest)
	}
	return string(b), nil
}

// httpError is an answer other than success.
type httpError struct {
	status     int
	code       string
	msg        string
	retryAfter time.Duration
}

func (e *httpError) Error() string { return e.code + ": " + e.msg }

// toHTTP maps an error to the status the RFCs name for it.
func toHTTP(err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	e := func(status int, code string) *httpError {
		return &httpError{status: status, code: code, msg: err.Error()}
	}
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return e(http.StatusUnauthorized, CodeUnauthenticated)
	case errors.Is(err, ErrForbidden):
		return e(http.StatusForbidden, CodeForbidden)
	case errors.Is(err, ErrNoLive), errors.Is(err, live.ErrNotFound):
		return &httpError{status: http.StatusNotFound, code: CodeNotFound, msg: ErrNoLive.Error()}
	case errors.Is(err, ErrBadRequest), errors.Is(err, transport.ErrMalformedSDP):
		return e(http.StatusBadRequest, CodeBadRequest)
	case errors.Is(err, transport.ErrSDPTooLarge):
		return e(http.StatusRequestEntityTooLarge, CodeTooLarge)
	case errors.Is(err, live.ErrCodec), errors.Is(err, transport.ErrUnsupportedCodec):
		return e(http.StatusUnprocessableEntity, CodeUnsupportedCodec)
	case errors.Is(err, transport.ErrDataChannel), errors.Is(err, live.ErrInvalid), errors.Is(err, live.ErrICE):
		return e(http.StatusUnprocessableEntity, CodeUnprocessable)
	case errors.Is(err, live.ErrNotOnAir):
		he := e(http.StatusConflict, CodeNotOnAir)
		he.retryAfter = NotOnAirRetryAfter
		return he
	case errors.Is(err, live.ErrCapacity), errors.Is(err, context.DeadlineExceeded):
		he := e(http.StatusServiceUnavailable, CodeCapacity)
		he.retryAfter = CapacityRetryAfter
		return he
	}
	return &httpError{status: http.StatusInternalServerError, code: CodeInternal, msg: "internal error"}
}

// fail writes err in the REST API's error shape.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	he := toHTTP(err)
	if he.status >= 500 && he.code == CodeInternal {
		h.Logger.Error("live media request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if he.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="parley"`)
	}
	if he.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(he.retryAfter/time.Second)))
	}
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	body.Error.Code, body.Error.Message = he.code, he.msg
	writeJSON(w, he.status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// created answers a new session: exactly 201, the SDP, its Location and
// ETag, and the ICE servers.
func (h *Handler) created(w http.ResponseWriter, location, etag, sdp string) {
	hd := w.Header()
	hd.Set("Content-Type", ContentTypeSDP)
	hd.Set("Location", location)
	hd.Set("ETag", etag)
	hd.Set("Cache-Control", "no-store")
	iceLinks(w, h.Broadcasts.ICEServers())
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, sdp)
}

// resourceURL is the Location of a session resource.
func resourceURL(parts ...string) string {
	var b strings.Builder
	for _, p := range parts {
		b.WriteString("/")
		b.WriteString(url.PathEscape(p))
	}
	return b.String()
}
