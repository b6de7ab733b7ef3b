package whip

import (
	"net/http"

	"parley/sfu/live"
	"parley/sfu/transport"
)

// play is POST /whep/{live}: a new viewer session.
func (h *Handler) play(w http.ResponseWriter, r *http.Request) {
	cors(w)
	if !hasType(r, ContentTypeSDP) {
		h.fail(w, r, &httpError{status: http.StatusUnsupportedMediaType, code: CodeUnsupportedMedia,
			msg: "the offer must be sent as " + ContentTypeSDP})
		return
	}
	l, err := h.Access.Lives.Get(r.PathValue("live"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v, err := h.Access.Viewer(r, l)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	offer, err := readBody(r, transport.MaxSDPSize)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, answer, err := h.Broadcasts.Play(r.Context(), l.ID, v, offer)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.created(w, resourceURL(WHEPPath[1:], l.ID, p.ID()), p.ETag(), answer)
}

// playbackFor finds the path's viewer session and checks that the
// request may still watch its live.
func (h *Handler) playbackFor(r *http.Request) (*live.Playback, error) {
	l, err := h.Access.Lives.Get(r.PathValue("live"))
	if err != nil {
		return nil, err
	}
	if _, err := h.Access.Viewer(r, l); err != nil {
		return nil, err
	}
	p := h.Broadcasts.Playback(r.PathValue("resource"))
	if p == nil || p.LiveID() != l.ID {
		return nil, &httpError{status: http.StatusNotFound, code: CodeNotFound, msg: "no such viewer session"}
	}
	return p, nil
}

// deletePlayback is DELETE /whep/{live}/{resource}: the player stops.
func (h *Handler) deletePlayback(w http.ResponseWriter, r *http.Request) {
	cors(w)
	p, err := h.playbackFor(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p.Close()
	w.WriteHeader(http.StatusOK)
}

// patchPlayback is PATCH /whep/{live}/{resource}: trickle or ICE restart.
func (h *Handler) patchPlayback(w http.ResponseWriter, r *http.Request) {
	cors(w)
	p, err := h.playbackFor(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.patch(w, r, p)
}
