package api

import (
	"net/http"

	"parley/chat/directory"
)

func (a *API) listTags(w http.ResponseWriter, r *http.Request, _ *Principal, _ []byte) error {
	tags, err := a.dir.ListTags()
	if err != nil {
		return err
	}
	if tags == nil {
		tags = []directory.Tag{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"tags": tags})
	return nil
}

type tagRequest struct {
	Name string `json:"name"`
}

func (a *API) createTag(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req tagRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	t, err := a.dir.CreateTag(p.Actor(), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

func (a *API) renameTag(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req tagRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	t, err := a.dir.RenameTag(p.Actor(), r.PathValue("id"), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

func (a *API) deleteTag(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	if err := a.dir.DeleteTag(p.Actor(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) tagMembers(w http.ResponseWriter, r *http.Request, _ *Principal, _ []byte) error {
	id := r.PathValue("id")
	if _, err := a.dir.GetTag(id); err != nil {
		return err
	}
	ids, err := a.dir.TagMembers(id)
	if err != nil {
		return err
	}
	if ids == nil {
		ids = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": ids})
	return nil
}

type tagMembersRequest struct {
	Add    []string `json:"add"`
	Remove []string `json:"remove"`
}

func (a *API) updateTagMembers(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
	var req tagMembersRequest
	if err := decodeJSON(r, body, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := a.dir.UpdateTagMembers(p.Actor(), id, req.Add, req.Remove); err != nil {
		return err
	}
	return a.tagMembers(w, r, p, nil)
}
