package api

import (
	"errors"
	"net/http"

	"parley/chat/quickreply"
)

// The quick-reply routes come in two sets, one per library. The personal
// routes are signed and act on the caller's own library only, so another
// member's records are 404 to them; the enterprise routes that change
// anything are for super admins, as the route table states.

func (p *Principal) quickReplyActor() quickreply.Actor {
	return quickreply.Actor{ID: p.Member.ID, IP: p.IP}
}

// quickReplyError maps the store's errors to API errors; others pass
// through to toAPIError.
func quickReplyError(err error) error {
	switch {
	case errors.Is(err, quickreply.ErrNotFound):
		return errorf(http.StatusNotFound, CodeNotFound, err.Error())
	case errors.Is(err, quickreply.ErrInvalid):
		return errorf(http.StatusBadRequest, CodeInvalidArgument, err.Error())
	case errors.Is(err, quickreply.ErrNotEmpty):
		return errorf(http.StatusConflict, CodeConflict, err.Error())
	case errors.Is(err, quickreply.ErrLimit):
		return errorf(http.StatusConflict, CodeLimitReached, err.Error())
	}
	return err
}

func (a *API) quickReplies(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	lib, err := a.quickReplyStore.Library(p.Member.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, lib)
	return nil
}

func (a *API) createQuickReplyCategory(scope quickreply.Scope) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
		var req quickreply.NewCategory
		if err := decodeJSON(r, body, &req); err != nil {
			return err
		}
		c, err := a.quickReplyStore.CreateCategory(p.quickReplyActor(), scope, req)
		if err != nil {
			return quickReplyError(err)
		}
		writeJSON(w, http.StatusCreated, c)
		return nil
	}
}

func (a *API) updateQuickReplyCategory(scope quickreply.Scope) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
		var req quickreply.CategoryPatch
		if err := decodeJSON(r, body, &req); err != nil {
			return err
		}
		c, err := a.quickReplyStore.UpdateCategory(p.quickReplyActor(), scope, r.PathValue("id"), req)
		if err != nil {
			return quickReplyError(err)
		}
		writeJSON(w, http.StatusOK, c)
		return nil
	}
}

func (a *API) deleteQuickReplyCategory(scope quickreply.Scope) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
		if err := a.quickReplyStore.DeleteCategory(p.quickReplyActor(), scope, r.PathValue("id")); err != nil {
			return quickReplyError(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}

func (a *API) createQuickReply(scope quickreply.Scope) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
		var req quickreply.NewItem
		if err := decodeJSON(r, body, &req); err != nil {
			return err
		}
		it, err := a.quickReplyStore.CreateItem(p.quickReplyActor(), scope, req)
		if err != nil {
			return quickReplyError(err)
		}
		writeJSON(w, http.StatusCreated, it)
		return nil
	}
}

func (a *API) updateQuickReply(scope quickreply.Scope) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *Principal, body []byte) error {
		var req quickreply.ItemPatch
		if err := decodeJSON(r, body, &req); err != nil {
			return err
		}
		it, err := a.quickReplyStore.UpdateItem(p.quickReplyActor(), scope, r.PathValue("id"), req)
		if err != nil {
			return quickReplyError(err)
		}
		writeJSON(w, http.StatusOK, it)
		return nil
	}
}

func (a *API) deleteQuickReply(scope quickreply.Scope) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
		if err := a.quickReplyStore.DeleteItem(p.quickReplyActor(), scope, r.PathValue("id")); err != nil {
			return quickReplyError(err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
}
