package api

import (
	_ "embed"
	"net/http"
	"strconv"
	"time"

	"parley/chat/audit"
	"parley/chat/directory"
	"parley/signaling/auth"
)

// auditEntry starts an audit entry for an action the API performs itself
// (directory changes write their own entries inside the directory).
func auditEntry(actor directory.Actor, action, targetType, targetID string) audit.Entry {
	return audit.Entry{Actor: actor.ID, ActorIP: actor.IP, Action: action, TargetType: targetType, TargetID: targetID}
}

func (a *API) queryAudit(w http.ResponseWriter, r *http.Request, _ *Principal, _ []byte) error {
	q := r.URL.Query()
	query := audit.Query{
		Actor:      q.Get("actor"),
		Action:     q.Get("action"),
		TargetType: q.Get("target_type"),
		TargetID:   q.Get("target_id"),
		Cursor:     q.Get("cursor"),
	}
	var err error
	if query.Since, err = parseTimeParam(q.Get("since"), "since"); err != nil {
		return err
	}
	if query.Until, err = parseTimeParam(q.Get("until"), "until"); err != nil {
		return err
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return errorf(http.StatusBadRequest, CodeInvalidArgument, "limit must be a positive whole number")
		}
		query.Limit = n
	}
	entries, next, err := a.audit.Query(query)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []audit.Entry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "next": next})
	return nil
}

func parseTimeParam(s, name string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, errorf(http.StatusBadRequest, CodeInvalidArgument, name+" must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	return t, nil
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request, _ *Principal, _ []byte) error {
	keys, err := a.auth.ListAPIKeys()
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []auth.APIKey{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": keys})
	return nil
}

type createAPIKeyRequest struct {
	Name string `json:"name"`
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req createAPIKeyRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	key, secret, err := a.auth.CreateAPIKey(req.Name, p.Member.ID)
	if err != nil {
		return err
	}
	e := auditEntry(p.Actor(), "apikey.create", "apikey", key.ID)
	e.After = audit.JSON(key)
	if _, err := a.audit.Record(e); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"api_key": key, "secret": secret})
	return nil
}

func (a *API) deleteAPIKey(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	id := r.PathValue("id")
	if err := a.auth.DeleteAPIKey(id); err != nil {
		return err
	}
	if _, err := a.audit.Record(auditEntry(p.Actor(), "apikey.delete", "apikey", id)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPIDocument is the OpenAPI 3 description of every route.
func OpenAPIDocument() []byte { return openAPIDocument }

func (a *API) openAPI(w http.ResponseWriter, r *http.Request, _ *Principal, _ []byte) error {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, err := w.Write(openAPIDocument)
	return err
}
