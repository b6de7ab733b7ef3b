package live

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"parley/sfu/recording"
)

// MaxReplayRecordings bounds the recordings Recordings lists for one
// live: at most one per on-air session, and a live has at most
// MaxSessions of those.
const MaxReplayRecordings = MaxSessions

// Recordings lists the finished recordings of a live, oldest first: one
// per broadcast (from the encoder's first session to the live's end),
// each with its files (a reconnect of the encoder starts a new file). A recording still in progress has no manifest yet
// and is not listed.
func (b *Broadcasts) Recordings(liveID string) ([]*recording.Manifest, error) {
	dir := b.cfg.RecordingDir
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list recordings of live %s: %w", liveID, err)
	}
	var out []*recording.Manifest
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), liveID+"-") {
			continue
		}
		m, err := recording.LoadManifest(dir, e.Name())
		if errors.Is(err, recording.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list recordings of live %s: %w", liveID, err)
		}
		if len(m.Files) == 0 {
			continue // the encoder never sent media
		}
		out = append(out, m)
		if len(out) == MaxReplayRecordings {
			break
		}
	}
	slices.SortFunc(out, func(a, b *recording.Manifest) int { return a.StartedAt.Compare(b.StartedAt) })
	return out, nil
}

// OpenRecording opens a file of one of the live's finished recordings,
// for serving with Range (http.ServeContent). A recording of another
// live, or a file its manifest does not list, is recording.ErrNotFound.
func (b *Broadcasts) OpenRecording(liveID, recordingID, name string) (*os.File, *recording.FileEntry, error) {
	if b.cfg.RecordingDir == "" || !strings.HasPrefix(recordingID, liveID+"-") {
		return nil, nil, fmt.Errorf("recording %q of live %s: %w", recordingID, liveID, recording.ErrNotFound)
	}
	return recording.OpenFile(b.cfg.RecordingDir, recordingID, name)
}
