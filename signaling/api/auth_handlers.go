package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"parley/chat/bus"
	"parley/chat/directory"
	"parley/signaling/auth"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (a *API) login(w http.ResponseWriter, r *http.Request, _ *Principal, body []byte) error {
	var req loginRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if req.Username == "" || req.Password == "" {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, "username and password are required")
	}
	tokens, err := a.auth.Login(req.Username, req.Password, clientIP(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokens)
	return nil
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (a *API) refresh(w http.ResponseWriter, r *http.Request, _ *Principal, body []byte) error {
	var req refreshRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, "refresh_token is required")
	}
	tokens, err := a.auth.Refresh(req.RefreshToken)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokens)
	return nil
}

func (a *API) logout(w http.ResponseWriter, r *http.Request, _ *Principal, body []byte) error {
	var req refreshRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if err := a.auth.Logout(req.RefreshToken); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type mintTokenRequest struct {
	MemberID   string `json:"member_id"`
	TTLSeconds int    `json:"ttl_seconds"`
}

// mintToken lets a server-side integration act for a member: it proves
// itself with an API key as HTTP Basic credentials (key id, secret).
func (a *API) mintToken(w http.ResponseWriter, r *http.Request, _ *Principal, body []byte) error {
	keyID, secret, ok := r.BasicAuth()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="parley api key"`)
		return errorf(http.StatusUnauthorized, CodeUnauthenticated, "send the API key id and secret as HTTP Basic credentials")
	}
	if _, err := a.auth.CheckAPIKey(keyID, secret); err != nil {
		return errorf(http.StatusUnauthorized, CodeInvalidCredential, "wrong API key id or secret")
	}
	var req mintTokenRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	if req.TTLSeconds < 0 {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, "ttl_seconds must not be negative")
	}
	m, err := a.dir.GetMember(req.MemberID)
	if err != nil {
		return err
	}
	if m.Status != directory.StatusActive {
		return errorf(http.StatusForbidden, CodeMemberDisabled, fmt.Sprintf("member %s is disabled", m.ID))
	}
	tokens, err := a.auth.IssueAccess(m.ID, time.Duration(req.TTLSeconds)*time.Second)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokens)
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	return a.writeMember(w, http.StatusOK, p.Member)
}

type updateMeRequest struct {
	AvatarURL       *string                    `json:"avatar_url"`
	ExternalProfile *directory.ExternalProfile `json:"external_profile"`
}

func (a *API) updateMe(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req updateMeRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	m, err := a.dir.UpdateMember(p.Actor(), p.Member.ID, directory.MemberPatch{AvatarURL: req.AvatarURL, ExternalProfile: req.ExternalProfile})
	if err != nil {
		return err
	}
	return a.writeMember(w, http.StatusOK, m)
}

type changePasswordRequest struct {
	OldPassword string `json:"old_password"`
	NewPassword string `json:"new_password"`
}

// changeMyPassword revokes every session of the member, including the one
// making the request, and answers with a fresh token pair for it.
func (a *API) changeMyPassword(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req changePasswordRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	// The same rate limits as sign-in, so a stolen access token cannot be
	// used to guess the password.
	if err := a.auth.CheckLogin(p.Member.ID, req.OldPassword, clientIP(r)); err != nil {
		if errors.Is(err, auth.ErrInvalidCredentials) {
			return errorf(http.StatusForbidden, CodeInvalidCredential, "old_password is wrong")
		}
		return err
	}
	if err := a.auth.SetPassword(p.Member.ID, req.NewPassword); err != nil {
		return err
	}
	if err := a.revokeSessions(p.Member.ID, bus.MemberRevoked); err != nil {
		return err
	}
	if _, err := a.audit.Record(auditEntry(p.Actor(), "member.password_change", "member", p.Member.ID)); err != nil {
		return err
	}
	tokens, err := a.auth.StartSession(p.Member.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, tokens)
	return nil
}

// revokeSessions invalidates a member's tokens and tells every node to
// close the member's WebSockets.
func (a *API) revokeSessions(memberID, event string) error {
	if err := a.auth.RevokeMember(memberID); err != nil {
		return fmt.Errorf("revoke tokens of %s: %w", memberID, err)
	}
	data, err := json.Marshal(bus.MemberEvent{Type: event})
	if err != nil {
		return fmt.Errorf("encode member event: %w", err)
	}
	if err := a.events.Publish(bus.MemberEventsSubject(memberID), data); err != nil {
		// The tokens are already revoked, so the member is cut off at
		// the next request; only the live sockets linger until then.
		a.log.Warn("publish member event failed", "member", memberID, "event", event, "err", err)
	}
	return nil
}
