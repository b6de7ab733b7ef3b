package whip

import (
	"net/http"

	"parley/sfu/live"
	"parley/sfu/transport"
)

// publish is POST /whip: a new publisher session.
func (h *Handler) publish(w http.ResponseWriter, r *http.Request) {
	cors(w)
	if !hasType(r, ContentTypeSDP) {
		h.fail(w, r, &httpError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMedia,
			msg: "the offer must be sent as " + ContentTypeSDP})
		return
	}
	l, err := h.Access.Publisher(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	offer, err := readBody(r, transport.MaxSDPSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ing, answer, err := h.Broadcasts.Publish(r.Context(), l, offer)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.Logger.Info("live publisher session", "live", l.ID, "resource", ing.ID())
	h.created(w, resourceURL(WHIPPath[1:], ing.ID()), ing.ETag(), answer)
}

// ingestFor finds the path's publisher session and checks the request's
// credential for its live.
func (h *Handler) ingestFor(r *http.Request) (*live.Ingest, error) {
	if bearer(r) == "" {
		return nil, &httpError{status: http.StatusUnauthorized, code: CodeUnauthenticated,
			msg: "send the stream key as the bearer token"}
	}
	ing := h.Broadcasts.Ingest(r.PathValue("resource"))
	if ing == nil {
		return nil, &httpError{status: http.StatusNotFound, code: CodeNotFound, msg: "no such publisher session"}
	}
	l, err := h.Access.Lives.Get(ing.LiveID())
	if err != nil {
		return nil, err
	}
	if err := h.Access.PublisherOf(r, l); err != nil {
		return nil, err
	}
	return ing, nil
}

// deleteIngest is DELETE /whip/{resource}: the encoder stops, and the
// live ends.
func (h *Handler) deleteIngest(w http.ResponseWriter, r *http.Request) {
	cors(w)
	ing, err := h.ingestFor(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ing.End()
	h.Logger.Info("live publisher ended the stream", "live", ing.LiveID(), "resource", ing.ID())
	w.WriteHeader(http.StatusOK)
}

// patchIngest is PATCH /whip/{resource}: trickle or ICE restart.
func (h *Handler) patchIngest(w http.ResponseWriter, r *http.Request) {
	cors(w)
	ing, err := h.ingestFor(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.patch(w, r, ing)
}
