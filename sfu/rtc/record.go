package rtc

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"parley/sfu/recording"
)

// Recording a meeting.
//
// A host or co-host starts and stops the recording (StartRecording,
// StopRecording), or the meeting's settings.auto_record starts it when
// media first flows (once per room: a host who stops it stops it for the
// room's life, and may start it again by hand). sfu/recording writes the
// files, in a folder of its own per recording under
// MediaDeps.RecordingDir/<meeting id>/<recording id>/.
//
// Each person's camera and microphone go to one file, named after their
// member (or guest) id; a screen share, with its audio, to a file of its
// own ("<id>-screen"). A person who leaves and comes back, on the same
// device or another, continues in the next file (segment) of the same
// name, and so does one who resumes after a dropped connection. The
// files' start offsets are in the manifest sfu/recording writes when the
// recording stops; beside it, RecordingPeopleName says whose each file
// is.
//
// A muted source is not recorded: the recorder's sink is gated on the
// track's mute state, whoever muted it, so the recording holds what the
// other participants heard and saw. Host mute in particular never leaks
// into the file.
//
// The room announces the recording with EventRecording: started once
// media is on disk (sfu/recording's Started), and stopped with a reason.
// A write error (a full disk above all) stops the recording; the meeting
// goes on.

// RecordingPeopleName is the file beside a recording's manifest that
// maps each file's participant name (FileEntry.Participant) to who it
// was: a JSON object of RecordedPerson. It is written when the recording
// stops.
const RecordingPeopleName = "participants.json"

// Recording states, in RecordingInfo and RecordingEvent.
const (
	// RecordingStarting: asked for, no media on disk yet.
	RecordingStarting = "starting"
	// RecordingStarted: media is on disk.
	RecordingStarted = "started"
	// RecordingStopped: the files and the manifest are finished.
	RecordingStopped = "stopped"
)

// Reasons a recording stopped, in RecordingEvent.
const (
	RecordingReasonRequested  = "requested"      // a host stopped it
	RecordingReasonClosed     = "meeting_closed" // the room closed: ended, emptied, or the server shut down
	RecordingReasonDiskFull   = string(recording.StopDiskFull)
	RecordingReasonWriteError = string(recording.StopWriteError)
)

// RecordingInfo is a room's recording in progress.
type RecordingInfo struct {
	ID    string `json:"recording_id"`
	State string `json:"state"`
	// By is the participant id of the host who started it; empty when
	// settings.auto_record did.
	By string `json:"by,omitempty"`
}

// RecordingEvent says the recording started (media is on disk) or
// stopped, and why.
type RecordingEvent struct {
	ID     string `json:"recording_id"`
	State  string `json:"state"`
	By     string `json:"by,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// RecordedPerson says whose a recording's files are.
type RecordedPerson struct {
	UserID      string `json:"user_id"`
	Name        string `json:"name"`
	Guest       bool   `json:"guest,omitempty"`
	ScreenShare bool   `json:"screen_share,omitempty"`
}

// recordingState is the recording as the room shows it. Guarded by
// room.mu.
type recordingState struct {
	info *RecordingInfo // in progress, or nil
	used bool           // one was started in this room: auto_record starts only the first
	// stopBy and stopReason are why the room asked the recording to stop.
	stopBy, stopReason string
	// closing is set when the room closes: its closing finishes the
	// recording itself, so a write error's cleanup starts no goroutine.
	closing bool
}

// recorder is the room's side of sfu/recording. Its lock guards the
// running recording and its maps, and is held across the waits of
// finishing files and stopping (adding a track waits outside it); it is
// taken before room.mu, never while holding it.
type recorder struct {
	mu  sync.Mutex
	run *activeRecording
	// cleanups counts the goroutines finishing a recording a write error
	// stopped; the room's closing waits for them.
	cleanups sync.WaitGroup
}

type activeRecording struct {
	id     string
	sess   *recording.Session
	people map[string]*recordedPerson // by file name
	byKey  map[personKey]string       // who → file name
	tracks map[*publishedTrack]*recordedTrack
}

// personKey is one file's owner: a member or guest, and whether it is
// their screen share.
type personKey struct {
	userID string
	screen bool
}

type recordedPerson struct {
	name  string
	part  *recording.Participant // nil while they are away
	owner *Participant           // the participant whose tracks it records now
	info  RecordedPerson
}

type recordedTrack struct {
	w      *recording.TrackWriter
	detach func()
}

// Recording is the room's recording in progress, if any.
func (r *Room) Recording() (RecordingInfo, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recording.info == nil {
		return RecordingInfo{}, false
	}
	return *r.recording.info, true
}

// StartRecording starts recording the meeting: host or co-host. It
// returns in state starting; everyone hears EventRecording (started)
// once media is on disk. A meeting already recording is ErrState, and so
// is a server with no recording folder.
func (r *Room) StartRecording(actor *Participant) (RecordingInfo, error) {
	r.mu.Lock()
	err := r.authorizeLocked(actor, false)
	r.mu.Unlock()
	if err != nil {
		return RecordingInfo{}, err
	}
	return r.startRecording(actor.id)
}

// StopRecording stops the recording: host or co-host. When it returns,
// the files and the manifest are finished and everyone has heard
// EventRecording (stopped, reason requested).
func (r *Room) StopRecording(actor *Participant) (RecordingInfo, error) {
	r.mu.Lock()
	if err := r.authorizeLocked(actor, false); err != nil {
		r.mu.Unlock()
		return RecordingInfo{}, err
	}
	info := r.recording.info
	if info == nil {
		r.mu.Unlock()
		return RecordingInfo{}, fmt.Errorf("%w: meeting %s is not recording", ErrState, r.id)
	}
	id := info.ID
	r.recording.stopBy, r.recording.stopReason = actor.id, RecordingReasonRequested
	r.mu.Unlock()
	r.finishRecording(id)
	return RecordingInfo{ID: id, State: RecordingStopped}, nil
}

func (r *Room) startRecording(by string) (RecordingInfo, error) {
	root := r.mgr.media.recordingDir
	if root == "" {
		return RecordingInfo{}, fmt.Errorf("%w: recording is not set up on this server", ErrState)
	}
	if !recording.ValidName(r.id) {
		return RecordingInfo{}, fmt.Errorf("%w: meeting id %q cannot name a folder", ErrInvalid, r.id)
	}
	r.recorder.mu.Lock()
	r.mu.Lock()
	switch {
	case r.closed:
		r.mu.Unlock()
		r.recorder.mu.Unlock()
		return RecordingInfo{}, fmt.Errorf("meeting %s: %w", r.id, ErrEnded)
	case r.recording.info != nil:
		r.mu.Unlock()
		r.recorder.mu.Unlock()
		return RecordingInfo{}, fmt.Errorf("%w: meeting %s is recording already", ErrState, r.id)
	}
	r.mu.Unlock()
	if old := r.recorder.run; old != nil {
		r.finishLocked(old) // stopped by a write error; its cleanup has not run yet
	}
	id := r.mgr.now().UTC().Format("20060102T150405Z") + "-" + randomID(6)
	sess, err := recording.Start(recording.Config{
		Dir:     filepath.Join(root, r.id),
		ID:      id,
		OnEvent: func(ev recording.Event) { r.recordingEvent(id, ev) },
		Logger:  r.log,
	})
	if err != nil {
		r.recorder.mu.Unlock()
		return RecordingInfo{}, fmt.Errorf("start recording meeting %s: %w", r.id, err)
	}
	run := &activeRecording{id: id, sess: sess, people: map[string]*recordedPerson{},
		byKey: map[personKey]string{}, tracks: map[*publishedTrack]*recordedTrack{}}
	r.recorder.run = run
	info := RecordingInfo{ID: id, State: RecordingStarting, By: by}
	r.mu.Lock()
	shown := info // the room's copy changes state under its lock
	// A room closing meanwhile waits on the recorder's lock, and then
	// finishes this recording; closing stays as it is.
	r.recording.info, r.recording.used = &shown, true
	r.recording.stopBy, r.recording.stopReason = "", ""
	tracks := make([]*publishedTrack, 0, len(r.tracks))
	for _, t := range r.tracks {
		tracks = append(tracks, t)
	}
	r.mu.Unlock()
	r.recorder.mu.Unlock()
	r.log.Info("rtc: recording started", "recording", id, "by", by)
	var wg sync.WaitGroup
	for _, t := range tracks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.recordTrack(t)
		}()
	}
	wg.Wait()
	return info, nil
}

// recordingEvent takes sfu/recording's events. It runs on the recorder's
// goroutines (or inside Stop), holding no room lock.
func (r *Room) recordingEvent(id string, ev recording.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	info := r.recording.info
	if info == nil || info.ID != id {
		return
	}
	switch ev.Type {
	case recording.EventStarted:
		info.State = RecordingStarted
		r.broadcastLocked(Event{Type: EventRecording, Data: RecordingEvent{ID: id, State: RecordingStarted, By: info.By}}, nil)
	case recording.EventStopped:
		reason, by := string(ev.Reason), ""
		if ev.Reason == recording.StopRequested {
			reason, by = r.recording.stopReason, r.recording.stopBy
		} else {
			r.log.Error("rtc: recording stopped by a write error", "recording", id, "reason", ev.Reason, "err", ev.Err)
		}
		r.recording.info = nil
		r.broadcastLocked(Event{Type: EventRecording, Data: RecordingEvent{ID: id, State: RecordingStopped, By: by, Reason: reason}}, nil)
		if !r.recording.closing {
			// Detach the sinks; the meeting goes on. Not here: a stop we
			// asked for calls this from inside finishLocked.
			r.recorder.cleanups.Add(1)
			go func() {
				defer r.recorder.cleanups.Done()
				r.finishRecording(id)
			}()
		}
	}
}

// finishRecording stops recording id, if it is the room's, and lets go
// of it.
func (r *Room) finishRecording(id string) {
	r.recorder.mu.Lock()
	defer r.recorder.mu.Unlock()
	if run := r.recorder.run; run != nil && run.id == id {
		r.finishLocked(run)
	}
}

// finishLocked detaches every sink, stops the session (finishing the
// files and the manifest) and writes who is who beside them.
func (r *Room) finishLocked(run *activeRecording) {
	for t, rt := range run.tracks {
		if rt.detach != nil { // one still being added is undone by its adder
			rt.detach()
		}
		delete(run.tracks, t)
	}
	if _, err := run.sess.Stop(); err != nil {
		r.log.Error("rtc: recording manifest", "recording", run.id, "err", err)
	}
	people := map[string]RecordedPerson{}
	for name, p := range run.people {
		people[name] = p.info
	}
	if err := writePeople(run.sess.Dir(), people); err != nil {
		r.log.Error("rtc: recording participants", "recording", run.id, "err", err)
	}
	if r.recorder.run == run {
		r.recorder.run = nil
	}
	r.log.Info("rtc: recording finished", "recording", run.id, "dir", run.sess.Dir())
}

// stopRecordingFor stops the recording because the room closed, and
// returns once every file is finished.
func (r *Room) stopRecordingFor(reason string) {
	r.mu.Lock()
	r.recording.closing = true
	if r.recording.info != nil {
		r.recording.stopBy, r.recording.stopReason = "", reason
	}
	r.mu.Unlock()
	r.recorder.mu.Lock()
	if run := r.recorder.run; run != nil {
		r.finishLocked(run)
	}
	r.recorder.mu.Unlock()
	r.recorder.cleanups.Wait()
}

// autoRecordLocked reports whether the room should start recording by
// itself now: settings.auto_record is on, media flows, and no recording
// was started in this room yet. It claims the start.
func (r *Room) autoRecordLocked() bool {
	if !r.rec.Settings.AutoRecord || r.recording.used || r.closed || len(r.tracks) == 0 {
		return false
	}
	r.recording.used = true
	if r.mgr.media.recordingDir == "" {
		r.log.Warn("rtc: auto_record is on, but recording is not set up on this server")
		return false
	}
	return true
}

// autoRecord starts the recording settings.auto_record asks for.
func (r *Room) autoRecord() {
	if _, err := r.startRecording(""); err != nil && !errors.Is(err, ErrState) && !errors.Is(err, ErrEnded) {
		r.log.Error("rtc: auto_record", "err", err)
	}
}
