package api

import (
	"errors"
	"net/http"
	"strings"

	"parley/chat/presence"
)

// presenceStates answers who of the named members is online, as this node
// knows it. members is a comma-separated list (the parameter may also be
// repeated), at most presence.MaxQueryMembers ids.
func (a *API) presenceStates(w http.ResponseWriter, r *http.Request, _ *Principal, _ []byte) error {
	var ids []string
	for _, v := range r.URL.Query()["members"] {
		for id := range strings.SplitSeq(v, ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
	}
	states, err := a.presence.States(ids)
	if errors.Is(err, presence.ErrInvalid) {
		return errorf(http.StatusBadRequest, CodeInvalidArgument, err.Error())
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": states})
	return nil
}
