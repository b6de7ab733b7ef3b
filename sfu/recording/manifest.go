package recording

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// ManifestName is the manifest's file name in a recording's folder.
const ManifestName = "manifest.json"

// ManifestVersion is the version of the manifest's format.
const ManifestVersion = 1

// Limits of names and manifests.
const (
	// maxNameLength bounds recording and participant IDs, which name
	// folders and files.
	maxNameLength = 64
	// maxManifestBytes bounds a manifest read back from disk.
	maxManifestBytes = 4 << 20
)

// Container is a recording file's format.
type Container string

const (
	// ContainerWebM holds VP8 or VP9 video and Opus audio.
	ContainerWebM Container = "webm"
	// ContainerMP4 is fragmented MP4 holding H.264 video and Opus audio.
	ContainerMP4 Container = "mp4"
)

// ContentType is the MIME type to serve a file of this container as.
func (c Container) ContentType() string {
	if c == ContainerMP4 {
		return "video/mp4"
	}
	return "video/webm"
}

// Manifest lists the files of a stopped recording.
type Manifest struct {
	Version     int        `json:"version"`
	RecordingID string     `json:"recording_id"`
	StartedAt   time.Time  `json:"started_at"`
	StoppedAt   time.Time  `json:"stopped_at"`
	StopReason  StopReason `json:"stop_reason"`
	// Files are ordered by start offset.
	Files []FileEntry `json:"files"`
}

// FileEntry is one file of a recording: one participant's segment.
type FileEntry struct {
	// Name is the file's name in the recording's folder.
	Name        string `json:"name"`
	Participant string `json:"participant"`
	// Segment counts the participant's files from 0; a reconnect starts
	// the next.
	Segment   int          `json:"segment"`
	Container Container    `json:"container"`
	Tracks    []TrackEntry `json:"tracks"`
	// StartOffset is when the file's time zero falls, in milliseconds
	// after the recording started.
	StartOffset int64 `json:"start_offset_ms"`
	// Duration is the file's length in milliseconds.
	Duration int64 `json:"duration_ms"`
	Bytes    int64 `json:"bytes"`
	// Complete is false for a file cut short by a write error; it holds
	// what reached the disk.
	Complete bool `json:"complete"`
}

// TrackEntry is one track of a file.
type TrackEntry struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`  // "audio" or "video"
	Codec string `json:"codec"` // MIME type, as MimeTypeVP8
}

// ErrNotFound is returned for a recording or a file that does not exist
// (or whose name could not be one).
var ErrNotFound = errors.New("recording: not found")

// ValidName reports whether s may name a recording or a participant: 1
// to 64 letters, digits, '_', '-' and '.', not starting with '.'. Such a
// name is safe as a path element.
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > maxNameLength || s[0] == '.' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// FileName is the name of a participant's file for a segment, such as
// "alice-000.webm".
func FileName(participant string, segment int, c Container) string {
	return fmt.Sprintf("%s-%03d.%s", participant, segment, c)
}

// writeManifest writes m into dir through a synced temporary file, so a
// reader finds the old manifest or the whole new one.
func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ManifestName+".*.tmp")
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ManifestName)); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// LoadManifest reads the manifest of recording id under root. A recording
// still running has none yet: ErrNotFound.
func LoadManifest(root, id string) (*Manifest, error) {
	if !ValidName(id) {
		return nil, fmt.Errorf("recording %q: %w", id, ErrNotFound)
	}
	f, err := os.Open(filepath.Join(root, id, ManifestName))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("recording %s: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("recording %s: %w", id, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("recording %s: read manifest: %w", id, err)
	}
	if len(b) > maxManifestBytes {
		return nil, fmt.Errorf("recording %s: manifest over %d bytes", id, maxManifestBytes)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("recording %s: decode manifest: %w", id, err)
	}
	return &m, nil
}

// OpenFile opens a file of recording id under root for download. Only a
// file the manifest lists is served, and it is opened through os.Root, so
// no name (nor a symlink planted in the folder) reaches outside the
// recording's folder. The caller closes the file; http.ServeContent on
// it answers Range requests.
func OpenFile(root, id, name string) (*os.File, *FileEntry, error) {
	m, err := LoadManifest(root, id)
	if err != nil {
		return nil, nil, err
	}
	var entry *FileEntry
	for i := range m.Files {
		if m.Files[i].Name == name {
			entry = &m.Files[i]
			break
		}
	}
	if entry == nil {
		return nil, nil, fmt.Errorf("recording %s file %q: %w", id, name, ErrNotFound)
	}
	dir, err := os.OpenRoot(filepath.Join(root, id))
	if err != nil {
		return nil, nil, fmt.Errorf("recording %s: %w", id, err)
	}
	defer dir.Close()
	f, err := dir.Open(name)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil, fmt.Errorf("recording %s file %s: %w", id, name, ErrNotFound)
		}
		return nil, nil, fmt.Errorf("recording %s file %s: %w", id, name, err)
	}
	return f, entry, nil
}
