package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"parley/chat/audit"
	"parley/chat/conversation"
	"parley/chat/directory"
	"parley/chat/messaging"
	"parley/chat/msglog"
	"parley/signaling/auth"
)

// Error is an API error with its HTTP status and a stable, machine-readable
// code. Clients branch on Code; Message is for people.
type Error struct {
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration // sets Retry-After when positive
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Error codes. They are part of the public contract (PROTOCOL.md).
const (
	CodeBadRequest        = "bad_request"
	CodeInvalidArgument   = "invalid_argument"
	CodeUnauthenticated   = "unauthenticated"
	CodeTokenExpired      = "token_expired"
	CodeInvalidCredential = "invalid_credentials"
	CodeMemberDisabled    = "member_disabled"
	CodeForbidden         = "forbidden"
	CodeNotFound          = "not_found"
	CodeMethodNotAllowed  = "method_not_allowed"
	CodeConflict          = "conflict"
	CodeNotEmpty          = "department_not_empty"
	CodeCycle             = "cycle"
	CodeLimitReached      = "limit_reached"
	CodeTooLarge          = "body_too_large"
	CodeUnsupportedMedia  = "unsupported_media_type"
	CodeRateLimited       = "rate_limited"
	CodeWeakPassword      = "weak_password"
	CodeInternal          = "internal"

	// Chat codes, the same as the WebSocket's (signaling/chatws).
	CodeNotMember       = "not_member" // no such conversation, or the caller is not in it
	CodeDissolved       = "dissolved"
	CodeMessageTooLarge = "too_large" // a message over its size limit; the body itself was fine
)

func errorf(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// toAPIError maps any error a handler returns to the one the client sees.
// Unknown errors become a 500 whose message hides internals.
func toAPIError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var rl *auth.RateLimitError
	if errors.As(err, &rl) {
		return &Error{Status: http.StatusTooManyRequests, Code: CodeRateLimited,
			Message: "too many sign-in attempts for this " + rl.Scope + "; try again later", RetryAfter: rl.RetryAfter}
	}
	if ae := chatError(err); ae != nil {
		return ae
	}
	switch {
	case errors.Is(err, directory.ErrNotFound), errors.Is(err, auth.ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, directory.ErrInvalid):
		return errorf(http.StatusBadRequest, CodeInvalidArgument, err.Error())
	case errors.Is(err, directory.ErrNotEmpty):
		return errorf(http.StatusConflict, CodeNotEmpty, err.Error())
	case errors.Is(err, directory.ErrCycle):
		return errorf(http.StatusConflict, CodeCycle, err.Error())
	case errors.Is(err, directory.ErrConflict):
		return errorf(http.StatusConflict, CodeConflict, err.Error())
	case errors.Is(err, auth.ErrInvalidCredentials):
		return errorf(http.StatusUnauthorized, CodeInvalidCredential, "wrong username or password")
	case errors.Is(err, auth.ErrMemberDisabled):
		return errorf(http.StatusForbidden, CodeMemberDisabled, "this account is disabled")
	case errors.Is(err, auth.ErrTokenExpired):
		return errorf(http.StatusUnauthorized, CodeTokenExpired, "token expired")
	case errors.Is(err, auth.ErrTokenInvalid):
		return errorf(http.StatusUnauthorized, CodeUnauthenticated, "invalid or revoked token")
	case errors.Is(err, auth.ErrInvalid), errors.Is(err, audit.ErrInvalidCursor):
		return errorf(http.StatusBadRequest, CodeInvalidArgument, err.Error())
	case errors.Is(err, auth.ErrLimit):
		return errorf(http.StatusConflict, CodeLimitReached, err.Error())
	case errors.Is(err, auth.ErrWeakPassword):
		return errorf(http.StatusBadRequest, CodeWeakPassword, err.Error())
	}
	return errorf(http.StatusInternalServerError, CodeInternal, "internal error")
}

// chatError maps the errors of the chat service, or returns nil. The codes
// match the WebSocket's, so a client handles a refused send the same way
// on both. A conversation that does not exist and one the caller is not in
// answer alike, so ids cannot be probed.
func chatError(err error) *Error {
	switch {
	case errors.Is(err, conversation.ErrNotMember), errors.Is(err, conversation.ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotMember, "no such conversation, or you are not a member of it")
	case errors.Is(err, conversation.ErrForbidden):
		return errorf(http.StatusForbidden, CodeForbidden, err.Error())
	case errors.Is(err, conversation.ErrDissolved):
		return errorf(http.StatusConflict, CodeDissolved, err.Error())
	case errors.Is(err, conversation.ErrLimit):
		return errorf(http.StatusConflict, CodeLimitReached, err.Error())
	case errors.Is(err, messaging.ErrTooLarge), errors.Is(err, msglog.ErrTooLarge):
		return errorf(http.StatusRequestEntityTooLarge, CodeMessageTooLarge, err.Error())
	case errors.Is(err, messaging.ErrInvalid), errors.Is(err, conversation.ErrInvalid), errors.Is(err, msglog.ErrInvalid):
		return errorf(http.StatusBadRequest, CodeInvalidArgument, err.Error())
	case errors.Is(err, conversation.ErrConflict):
		return errorf(http.StatusConflict, CodeConflict, err.Error())
	case errors.Is(err, msglog.ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotFound, err.Error())
	}
	return nil
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers with the one error shape. 5xx errors are logged with
// the underlying cause, which the client never sees.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if ae.RetryAfter > 0 {
		secs := int(ae.RetryAfter.Round(time.Second) / time.Second)
		if secs < 1 {
			secs = 1
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	var body errorBody
	body.Error.Code = ae.Code
	body.Error.Message = ae.Message
	writeJSON(w, ae.Status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // JSON for programs, not for inlining into HTML
	_ = enc.Encode(v)
}
