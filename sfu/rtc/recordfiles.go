package rtc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"parley/sfu/media"
	"parley/sfu/recording"
)

// Which file each track goes to: one recorder per person (and one more
// per screen share), fed through a gate that drops muted media, and the
// file beside the manifest that says whose each file is.

// maxPeopleBytes bounds a RecordingPeopleName file read back.
const maxPeopleBytes = 4 << 20

// recordGate feeds one track to its recorder, except while the track is
// muted. Its methods run on the receiver's sink goroutine.
type recordGate struct {
	t *publishedTrack
	w *recording.TrackWriter
}

func (g *recordGate) WriteRTP(p *rtp.Packet) {
	if !g.t.muted.Load() {
		g.w.WriteRTP(p)
	}
}

func (g *recordGate) WriteSenderReport(sr *rtcp.SenderReport) { g.w.WriteSenderReport(sr) }

// recordTrack adds a live track to the recording, if one runs. The
// wait on the recorder (AddTrack) happens outside the recorder's lock,
// so tracks that arrive together start being recorded together.
func (r *Room) recordTrack(t *publishedTrack) {
	r.recorder.mu.Lock()
	run := r.recorder.run
	if run == nil || t.closed.Load() || run.tracks[t] != nil {
		r.recorder.mu.Unlock()
		return
	}
	r.mu.Lock()
	owner, src, recv := t.owner, t.info.Source, t.recv
	r.mu.Unlock()
	person, err := r.personLocked(run, owner, src.IsScreenShare())
	if err != nil {
		r.recorder.mu.Unlock()
		r.log.Warn("rtc: cannot record participant", "recording", run.id, "participant", owner.id, "err", err)
		return
	}
	part := person.part
	slot := &recordedTrack{} // reserved: no second add, and a drop meanwhile shows
	run.tracks[t] = slot
	r.recorder.mu.Unlock()

	codec := recv.Codec()
	w, err := part.AddTrack(recording.TrackConfig{
		ID: t.id, MimeType: codec.MimeType, ClockRate: codec.ClockRate,
		OnKeyframeNeeded: func() { recv.RequestKeyframe(media.HighestLayer) },
	})
	var detach func()
	if err == nil {
		detach = recv.AddSink(&recordGate{t: t, w: w}, media.HighestLayer)
	}

	r.recorder.mu.Lock()
	defer r.recorder.mu.Unlock()
	if err == nil && r.recorder.run == run && run.tracks[t] == slot {
		slot.w, slot.detach = w, detach
		return
	}
	// Failed, or the track was dropped or the recording finished meanwhile.
	if run.tracks[t] == slot {
		delete(run.tracks, t)
	}
	if err != nil {
		r.log.Warn("rtc: cannot record track", "recording", run.id, "track", t.id, "err", err)
		return
	}
	detach()
	_ = w.Close()
}

// personLocked returns the recorder of owner's camera and microphone (or
// screen share), opening it if needed. The same member or guest keeps
// one file name across leaving and coming back; another participant (a
// new device) continues it in a new segment.
func (r *Room) personLocked(run *activeRecording, owner *Participant, screen bool) (*recordedPerson, error) {
	key := personKey{userID: owner.userID, screen: screen}
	name, known := run.byKey[key]
	if !known {
		name = fileStem(owner.userID, screen, run.people)
		run.byKey[key] = name
		run.people[name] = &recordedPerson{name: name,
			info: RecordedPerson{UserID: owner.userID, Name: owner.name, Guest: owner.guest, ScreenShare: screen}}
	}
	p := run.people[name]
	switch {
	case p.part == nil:
		part, err := run.sess.AddParticipant(name)
		if err != nil {
			return nil, err
		}
		p.part = part
	case p.owner != owner:
		if err := p.part.NewSegment(); err != nil {
			return nil, err
		}
	}
	p.owner = owner
	return p, nil
}

// fileStem makes a file name for userID: the id with every character a
// file name may not hold as '_', then "-screen" for a screen share, then
// a number if another person has it already.
func fileStem(userID string, screen bool, taken map[string]*recordedPerson) string {
	const maxBase = 48
	b := make([]byte, 0, len(userID))
	for i := 0; i < len(userID) && len(b) < maxBase; i++ {
		c := userID[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' {
			b = append(b, c)
		} else {
			b = append(b, '_')
		}
	}
	if len(b) == 0 || b[0] == '.' {
		b = append([]byte{'_'}, b...)
	}
	base := string(b)
	if screen {
		base += "-screen"
	}
	name := base
	for n := 2; taken[name] != nil; n++ {
		name = fmt.Sprintf("%s-%d", base, n)
	}
	return name
}

// unrecordTrack ends a dropped track's part of the recording.
func (r *Room) unrecordTrack(t *publishedTrack) {
	r.recorder.mu.Lock()
	defer r.recorder.mu.Unlock()
	run := r.recorder.run
	if run == nil || run.tracks[t] == nil {
		return
	}
	rt := run.tracks[t]
	delete(run.tracks, t)
	if rt.w == nil {
		return // still being added: the adder sees it is gone, and undoes it
	}
	rt.detach()
	if err := rt.w.Close(); err != nil {
		r.log.Debug("rtc: close recorded track", "track", t.id, "err", err)
	}
}

// recordLeave finishes the files of a participant who left.
func (r *Room) recordLeave(p *Participant) {
	r.recorder.mu.Lock()
	defer r.recorder.mu.Unlock()
	run := r.recorder.run
	if run == nil {
		return
	}
	for _, person := range run.people {
		if person.owner == p && person.part != nil {
			if err := person.part.Close(); err != nil && !errors.Is(err, recording.ErrStopped) {
				r.log.Warn("rtc: close participant recording", "participant", p.id, "err", err)
			}
			person.part, person.owner = nil, nil
		}
	}
}

// recordResume starts a new segment for a participant who resumed: its
// media comes back over a new network path, after a gap.
func (r *Room) recordResume(p *Participant) {
	r.recorder.mu.Lock()
	defer r.recorder.mu.Unlock()
	run := r.recorder.run
	if run == nil {
		return
	}
	for _, person := range run.people {
		if person.owner == p && person.part != nil {
			if err := person.part.NewSegment(); err != nil {
				r.log.Debug("rtc: new recording segment", "participant", p.id, "err", err)
			}
		}
	}
}

// writePeople writes RecordingPeopleName into dir through a temporary
// file, so a reader finds it whole or not at all.
func writePeople(dir string, people map[string]RecordedPerson) error {
	b, err := json.MarshalIndent(people, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", RecordingPeopleName, err)
	}
	tmp, err := os.CreateTemp(dir, RecordingPeopleName+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", RecordingPeopleName, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", RecordingPeopleName, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", RecordingPeopleName, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", RecordingPeopleName, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, RecordingPeopleName)); err != nil {
		return fmt.Errorf("write %s: %w", RecordingPeopleName, err)
	}
	return nil
}

// ReadRecordingPeople reads who is who in recording id under root (the
// meeting's recordings folder). A recording still running, or one whose
// file was never written, has none: an empty map.
func ReadRecordingPeople(root, id string) (map[string]RecordedPerson, error) {
	if !recording.ValidName(id) {
		return nil, fmt.Errorf("recording %q: %w", id, recording.ErrNotFound)
	}
	dir, err := os.OpenRoot(filepath.Join(root, id))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("recording %s: %w", id, recording.ErrNotFound)
		}
		return nil, fmt.Errorf("recording %s: %w", id, err)
	}
	defer dir.Close()
	f, err := dir.Open(RecordingPeopleName)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]RecordedPerson{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", id, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxPeopleBytes+1))
	if err != nil {
		return nil, fmt.Errorf("recording %s: read %s: %w", id, RecordingPeopleName, err)
	}
	if len(b) > maxPeopleBytes {
		return nil, fmt.Errorf("recording %s: %s is over %d bytes", id, RecordingPeopleName, maxPeopleBytes)
	}
	var people map[string]RecordedPerson
	if err := json.Unmarshal(b, &people); err != nil {
		return nil, fmt.Errorf("recording %s: decode %s: %w", id, RecordingPeopleName, err)
	}
	return people, nil
}
