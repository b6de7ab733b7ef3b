package whip

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"parley/sfu/live"
	"parley/sfu/recording"
)

// recordingView is one finished recording as GET .../recordings lists it.
type recordingView struct {
	ID         string               `json:"id"`
	StartedAt  time.Time            `json:"started_at"`
	StoppedAt  time.Time            `json:"stopped_at"`
	StopReason recording.StopReason `json:"stop_reason"`
	Files      []recordingFileView  `json:"files"`
}

type recordingFileView struct {
	recording.FileEntry
	// URL is where the file is served, with Range.
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
}

// listRecordings is GET /api/v1/lives/{id}/recordings: the live's
// finished recordings, for whoever may watch the live.
func (h *Handler) listRecordings(w http.ResponseWriter, r *http.Request) {
	l, ok := h.replayLive(w, r)
	if !ok {
		return
	}
	ms, err := h.Broadcasts.Recordings(l.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]recordingView, 0, len(ms))
	for _, m := range ms {
		v := recordingView{ID: m.RecordingID, StartedAt: m.StartedAt, StoppedAt: m.StoppedAt, StopReason: m.StopReason,
			Files: make([]recordingFileView, 0, len(m.Files))}
		for _, f := range m.Files {
			v.Files = append(v.Files, recordingFileView{FileEntry: f, ContentType: f.Container.ContentType(),
				URL: strings.Replace(RecordingsPath, "{id}", l.ID, 1) + "/" + m.RecordingID + "/" + f.Name})
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"recordings": out})
}

// serveRecording is GET /api/v1/lives/{id}/recordings/{recording}/{file}:
// one file, with Range. Starting the first file of a recording from its
// beginning counts one replay view.
func (h *Handler) serveRecording(w http.ResponseWriter, r *http.Request) {
	l, ok := h.replayLive(w, r)
	if !ok {
		return
	}
	f, entry, err := h.Broadcasts.OpenRecording(l.ID, r.PathValue("recording"), r.PathValue("file"))
	if errors.Is(err, recording.ErrNotFound) {
		h.fail(w, r, &httpError{status: http.StatusNotFound, code: CodeNotFound, msg: "no such recording file"})
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if rg := r.Header.Get("Range"); r.Method == http.MethodGet && entry.Segment == 0 &&
		(rg == "" || strings.HasPrefix(strings.ReplaceAll(rg, " ", ""), "bytes=0-")) {
		if err := h.Access.Lives.CountReplayView(l.ID); err != nil {
			h.Logger.Warn("count replay view", "live", l.ID, "err", err)
		}
	}
	w.Header().Set("Content-Type", entry.Container.ContentType())
	w.Header().Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, entry.Name, st.ModTime(), f)
}

// replayLive loads the path's live and checks the caller may watch it.
func (h *Handler) replayLive(w http.ResponseWriter, r *http.Request) (live.Live, bool) {
	cors(w)
	l, err := h.Access.Lives.Get(r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return live.Live{}, false
	}
	if _, err := h.Access.Viewer(r, l); err != nil {
		h.fail(w, r, err)
		return live.Live{}, false
	}
	return l, true
}
