package api

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"parley/sfu/recording"
	"parley/sfu/rtc"
)

// Meeting recordings. The host, the co-hosts and super admins list a
// meeting's recordings and download their files ("report" access, as
// for attendance); invitees and attendees may not. A recording holds
// what everyone said, including what a participant says in confidence to
// the few people in the room: who else hears it is the host's decision,
// made by handing the file on, not a right of having been invited.

// MaxListedRecordings bounds the recordings one listing returns: the
// newest ones.
const MaxListedRecordings = 500

// Recording states in a listing.
const (
	// RecordingFinished: stopped, with a manifest; its files download.
	RecordingFinished = "finished"
	// RecordingUnfinished: no manifest yet: in progress, or the server
	// stopped before it could write one. Its files do not download.
	RecordingUnfinished = "unfinished"
)

// recordingView is one recording in a listing.
type recordingView struct {
	ID    string `json:"recording_id"`
	State string `json:"state"`
	// Manifest lists the files with their start offsets; absent while
	// unfinished.
	Manifest *recording.Manifest `json:"manifest,omitempty"`
	// Participants says whose each file is, by the manifest's
	// participant names.
	Participants map[string]rtc.RecordedPerson `json:"participants"`
}

// meetingRecordingsDir is the folder of one meeting's recordings.
func (a *API) meetingRecordingsDir(meetingID string) (string, error) {
	if a.recordings == "" || !recording.ValidName(meetingID) {
		return "", errorf(http.StatusNotFound, CodeNotFound, "this meeting has no recordings")
	}
	return filepath.Join(a.recordings, meetingID), nil
}

func (a *API) listMeetingRecordings(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	m, err := a.meetingFor(r, p, "report")
	if err != nil {
		return err
	}
	out := []recordingView{}
	dir, err := a.meetingRecordingsDir(m.ID)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"recordings": out})
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("list recordings of meeting %s: %w", m.ID, err)
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && recording.ValidName(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	// Recording ids start with their UTC start time: newest first.
	slices.SortFunc(ids, func(x, y string) int { return strings.Compare(y, x) })
	if len(ids) > MaxListedRecordings {
		ids = ids[:MaxListedRecordings]
	}
	for _, id := range ids {
		v := recordingView{ID: id, State: RecordingFinished}
		man, err := recording.LoadManifest(dir, id)
		switch {
		case errors.Is(err, recording.ErrNotFound):
			v.State = RecordingUnfinished
		case err != nil:
			return fmt.Errorf("list recordings of meeting %s: %w", m.ID, err)
		default:
			v.Manifest = man
		}
		if v.Participants, err = rtc.ReadRecordingPeople(dir, id); err != nil {
			return fmt.Errorf("list recordings of meeting %s: %w", m.ID, err)
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"recordings": out})
	return nil
}

// downloadMeetingRecording serves one file of a finished recording,
// with Range requests (http.ServeContent). Only a file the manifest lists
// is served, and recording.OpenFile resolves its name inside the
// recording's folder, so no name reaches outside it.
func (a *API) downloadMeetingRecording(w http.ResponseWriter, r *http.Request, p *Principal, _ []byte) error {
	m, err := a.meetingFor(r, p, "report")
	if err != nil {
		return err
	}
	dir, err := a.meetingRecordingsDir(m.ID)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	f, entry, err := recording.OpenFile(dir, r.PathValue("recording"), name)
	if errors.Is(err, recording.ErrNotFound) {
		return errorf(http.StatusNotFound, CodeNotFound, "no such finished recording, or no such file in it")
	}
	if err != nil {
		return fmt.Errorf("open recording of meeting %s: %w", m.ID, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open recording of meeting %s: %w", m.ID, err)
	}
	w.Header().Set("Content-Type", entry.Container.ContentType())
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", entry.Name))
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, entry.Name, st.ModTime(), f)
	return nil
}
