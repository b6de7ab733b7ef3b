package recording

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Defaults for Config.
const (
	// DefaultQueueLength is the packets one participant may have queued
	// for its goroutine: about two seconds of a 2.5 Mbit/s camera and its
	// audio.
	DefaultQueueLength = 2048
	// DefaultSyncWait is how much media a new file waits for every track
	// to have a Sender Report. Browsers send their first audio report
	// within about 2.5 s.
	DefaultSyncWait = 3 * time.Second
)

// Config sets up a recording session.
type Config struct {
	// Dir is the folder under which recordings are kept, one folder each.
	Dir string
	// ID names the recording and its folder; see ValidName.
	ID string
	// OnEvent, if set, is told when the recording has started and when it
	// has stopped. It runs on the recorder's goroutines: it must not block,
	// nor call the Session or its participants (Stopped may call Stop).
	OnEvent func(Event)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// QueueLength defaults to DefaultQueueLength.
	QueueLength int
	// SyncWait defaults to DefaultSyncWait.
	SyncWait time.Duration
}

// EventType says what an Event reports.
type EventType string

const (
	// EventStarted fires once, when the first media of the recording has
	// been written and synced to disk.
	EventStarted EventType = "recording_started"
	// EventStopped fires once, when the recording has stopped and its
	// manifest has been written (or failed to be).
	EventStopped EventType = "recording_stopped"
)

// StopReason says why a recording stopped.
type StopReason string

const (
	// StopRequested: Stop was called.
	StopRequested StopReason = "requested"
	// StopDiskFull: a write failed with ENOSPC or EDQUOT.
	StopDiskFull StopReason = "disk_full"
	// StopWriteError: a write failed otherwise.
	StopWriteError StopReason = "write_error"
)

// Event reports a change in a recording's state.
type Event struct {
	Type        EventType
	RecordingID string
	// Reason and Err are set on EventStopped; Err is the write error that
	// stopped the recording, or the manifest's write error.
	Reason StopReason
	Err    error
}

// Session is one recording of a meeting or a live: a folder with a file
// per participant and segment, and a manifest once it stops. A write
// error anywhere (a full disk above all) stops the whole session, with an
// event; the meeting itself never notices.
type Session struct {
	cfg   Config
	dir   string
	start time.Time
	log   *slog.Logger

	mu           sync.Mutex
	participants map[string]*Participant
	nextSegment  map[string]int // per participant ID: index of its next file
	files        []FileEntry
	started      bool
	stopping     bool

	stopOnce    sync.Once
	done        chan struct{}
	manifest    *Manifest
	manifestErr error
}

// ErrExists is returned by Start when the recording's folder exists.
var ErrExists = errors.New("recording: already exists")

// Start creates the recording's folder and returns the running session.
func Start(cfg Config) (*Session, error) {
	if !ValidName(cfg.ID) {
		return nil, fmt.Errorf("recording: invalid recording ID %q", cfg.ID)
	}
	if cfg.Dir == "" {
		return nil, errors.New("recording: no folder for recordings")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.QueueLength <= 0 {
		cfg.QueueLength = DefaultQueueLength
	}
	if cfg.SyncWait <= 0 {
		cfg.SyncWait = DefaultSyncWait
	}
	if err := os.MkdirAll(cfg.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("recording %s: %w", cfg.ID, err)
	}
	dir := filepath.Join(cfg.Dir, cfg.ID)
	if err := os.Mkdir(dir, 0o750); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("recording %s: %w", cfg.ID, ErrExists)
		}
		return nil, fmt.Errorf("recording %s: %w", cfg.ID, err)
	}
	return &Session{
		cfg:          cfg,
		dir:          dir,
		start:        time.Now().Round(0),
		log:          cfg.Logger.With("recording", cfg.ID),
		participants: make(map[string]*Participant),
		nextSegment:  make(map[string]int),
		done:         make(chan struct{}),
	}, nil
}

// ID is the recording's ID.
func (s *Session) ID() string { return s.cfg.ID }

// Dir is the recording's folder.
func (s *Session) Dir() string { return s.dir }

// Done is closed once the session has stopped, for whatever reason.
func (s *Session) Done() <-chan struct{} { return s.done }

// AddParticipant starts recording a participant. id names its files (see
// FileName) and must be a ValidName. A participant that was closed may be
// added again; one that is still recording may not.
func (s *Session) AddParticipant(id string) (*Participant, error) {
	if !ValidName(id) {
		return nil, fmt.Errorf("recording: invalid participant ID %q", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return nil, ErrStopped
	}
	if _, ok := s.participants[id]; ok {
		return nil, fmt.Errorf("recording: participant %s is already recording", id)
	}
	p := newParticipant(s, id, s.nextSegment[id])
	s.participants[id] = p
	return p, nil
}

// Stop stops the recording: every participant's buffered media is
// written and its file finished, then the manifest is written. It returns
// the manifest, and the manifest's write error if any. Stopping a session
// that already stopped returns the same. Done is closed before the
// Stopped event fires.
func (s *Session) Stop() (*Manifest, error) {
	s.stop(StopRequested, nil)
	<-s.done
	return s.manifest, s.manifestErr
}

// fail stops the session because of a write error. It does not wait: it
// is called from a participant's goroutine, which stop waits for.
func (s *Session) fail(err error) {
	reason := StopWriteError
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		reason = StopDiskFull
	}
	s.log.Error("recording stopped by a write error", "reason", reason, "err", err)
	go s.stop(reason, err)
}

func (s *Session) stop(reason StopReason, cause error) {
	var stopped *Event
	s.stopOnce.Do(func() {
		s.mu.Lock()
		s.stopping = true
		parts := make([]*Participant, 0, len(s.participants))
		for _, p := range s.participants {
			parts = append(parts, p)
		}
		s.mu.Unlock()
		for _, p := range parts {
			p.do(p.finish)
			<-p.done
		}
		s.mu.Lock()
		files := append([]FileEntry(nil), s.files...)
		s.mu.Unlock()
		sort.SliceStable(files, func(i, j int) bool {
			if files[i].StartOffset != files[j].StartOffset {
				return files[i].StartOffset < files[j].StartOffset
			}
			return files[i].Name < files[j].Name
		})
		m := &Manifest{
			Version:     ManifestVersion,
			RecordingID: s.cfg.ID,
			StartedAt:   s.start.UTC(),
			StoppedAt:   time.Now().UTC(),
			StopReason:  reason,
			Files:       files,
		}
		s.manifest = m
		s.manifestErr = writeManifest(s.dir, m)
		if s.manifestErr != nil {
			s.log.Error("recording manifest not written", "err", s.manifestErr)
		}
		stopped = &Event{Type: EventStopped, RecordingID: s.cfg.ID, Reason: reason, Err: cause}
		if stopped.Err == nil {
			stopped.Err = s.manifestErr
		}
		close(s.done)
	})
	// Outside the Once, so a handler that calls Stop finds it done.
	if stopped != nil {
		s.emit(*stopped)
	}
}

// mediaOnDisk is called by a participant once its file holds media on
// disk; the first call starts the recording. A file that only opens while
// the session stops still counts, and its Started comes before Stopped,
// which waits for every participant.
func (s *Session) mediaOnDisk() {
	s.mu.Lock()
	first := !s.started
	s.started = true
	s.mu.Unlock()
	if first {
		s.emit(Event{Type: EventStarted, RecordingID: s.cfg.ID})
	}
}

func (s *Session) addFile(e FileEntry) {
	s.mu.Lock()
	s.files = append(s.files, e)
	if e.Segment >= s.nextSegment[e.Participant] {
		s.nextSegment[e.Participant] = e.Segment + 1
	}
	s.mu.Unlock()
}

func (s *Session) removeParticipant(p *Participant) {
	s.mu.Lock()
	if s.participants[p.id] == p {
		delete(s.participants, p.id)
	}
	s.mu.Unlock()
}

func (s *Session) emit(ev Event) {
	if s.cfg.OnEvent != nil {
		s.cfg.OnEvent(ev)
	}
}
