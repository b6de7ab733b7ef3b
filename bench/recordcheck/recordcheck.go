// Package recordcheck fetches the files of a server's recording and
// checks each one with ffprobe, when it is installed: a file is valid
// when ffprobe reads it without error, finds a duration and a stream of
// the kind the run sent. Without ffprobe the files are only counted and
// their durations taken from the manifest.
package recordcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// probeTimeout bounds one ffprobe.
const probeTimeout = time.Minute

// Entry is one file a recording's manifest lists.
type Entry struct {
	Path       string // where the server serves it
	Name       string
	Container  string
	Complete   bool
	DurationMs int64
}

// File is one recorded file as the run checked it.
type File struct {
	URL        string   `json:"url"`
	Bytes      int64    `json:"bytes"`
	Container  string   `json:"container"`
	Complete   bool     `json:"complete"`    // as the manifest says
	DurationMs int64    `json:"duration_ms"` // as the manifest says
	Probed     bool     `json:"probed"`      // ffprobe ran on it
	Valid      bool     `json:"valid"`       // ffprobe read it, with a duration and a stream of the kind sent
	Seconds    float64  `json:"probed_seconds,omitempty"`
	Streams    []string `json:"streams,omitempty"` // "video:h264", "audio:opus", as ffprobe names them
	Error      string   `json:"error,omitempty"`
}

// Result is what a check found.
type Result struct {
	Files []File
	// Valid counts the files ffprobe read; nil when ffprobe is not
	// installed.
	Valid *int
	// Seconds is the files' total duration: ffprobe's for valid files,
	// the manifest's when ffprobe is not installed.
	Seconds float64
	// Warning says what could not be checked, if anything.
	Warning string
}

// Fetcher writes the file the server serves at path to w.
type Fetcher func(ctx context.Context, path string, w io.Writer) (int64, error)

// Check downloads every entry into a temporary directory, removed at the
// end, and probes it. kind is the stream kind ("audio" or "video") a
// valid file must hold.
func Check(ctx context.Context, entries []Entry, fetch Fetcher, kind string) (Result, error) {
	var res Result
	ffprobe, probeErr := exec.LookPath("ffprobe")
	if probeErr != nil {
		res.Warning = "ffprobe is not installed: recordings are counted from the manifest, not checked"
	} else {
		res.Valid = new(int)
	}
	dir, err := os.MkdirTemp("", "parley-bench-rec-")
	if err != nil {
		return res, fmt.Errorf("recordings: %w", err)
	}
	defer os.RemoveAll(dir)
	for i, e := range entries {
		f := File{URL: e.Path, Container: e.Container, Complete: e.Complete, DurationMs: e.DurationMs}
		path := filepath.Join(dir, strconv.Itoa(i)+"-"+filepath.Base(e.Name))
		f.Bytes, err = download(ctx, fetch, e.Path, path)
		switch {
		case err != nil:
			f.Error = err.Error()
		case res.Valid != nil:
			f.Probed = true
			f.Seconds, f.Streams, err = Probe(ctx, ffprobe, path)
			if err != nil {
				f.Error = err.Error()
			}
			f.Valid = err == nil && f.Seconds > 0 && hasKind(f.Streams, kind)
			if err == nil && !f.Valid {
				f.Error = fmt.Sprintf("ffprobe found %.3fs and streams %v, want a duration and %s", f.Seconds, f.Streams, kind)
			}
		default:
			res.Seconds += float64(e.DurationMs) / 1000
		}
		if f.Valid {
			*res.Valid++
			res.Seconds += f.Seconds
		}
		res.Files = append(res.Files, f)
	}
	return res, nil
}

func download(ctx context.Context, fetch Fetcher, url, path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	n, err := fetch(ctx, url, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// Probe runs ffprobe on a file and returns its duration in seconds and
// its streams as "kind:codec". Anything ffprobe reports at error level
// is an error.
func Probe(ctx context.Context, ffprobe, path string) (float64, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffprobe, "-v", "error", "-show_entries", "format=duration:stream=codec_type,codec_name", "-of", "json", path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return 0, nil, fmt.Errorf("ffprobe: %w: %s", err, bytes.TrimSpace(stderr.Bytes()))
	}
	var out struct {
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
		Streams []struct {
			CodecType string `json:"codec_type"`
			CodecName string `json:"codec_name"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return 0, nil, fmt.Errorf("ffprobe output: %w", err)
	}
	var streams []string
	for _, s := range out.Streams {
		streams = append(streams, s.CodecType+":"+s.CodecName)
	}
	d, err := strconv.ParseFloat(out.Format.Duration, 64)
	if err != nil {
		return 0, streams, errors.New("ffprobe found no duration")
	}
	if stderr.Len() > 0 {
		return d, streams, fmt.Errorf("ffprobe: %s", bytes.TrimSpace(stderr.Bytes()))
	}
	return d, streams, nil
}

func hasKind(streams []string, kind string) bool {
	for _, s := range streams {
		if strings.HasPrefix(s, kind+":") {
			return true
		}
	}
	return false
}
