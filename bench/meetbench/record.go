package meetbench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"parley/bench/recordcheck"
	"parley/bench/wire"
)

// Recording the meetings (Config.Record).
const (
	// recordStartTimeout bounds the wait for meeting.recording "started",
	// which the room sends once media is on disk.
	recordStartTimeout = 15 * time.Second
	// recordingWait bounds the wait for a stopped recording's manifest.
	recordingWait = 30 * time.Second
	// minRecordedShare and recordedSlack bound how much shorter than the
	// recording's span, from the room's "started" (media on disk) to the
	// host's stop, each publisher's file may be.
	minRecordedShare = 0.9
	recordedSlack    = time.Second
)

// recordingState handles a meeting.recording push.
func (p *participant) recordingState(raw json.RawMessage) {
	var st wire.MeetingRecordingState
	if err := json.Unmarshal(raw, &st); err != nil {
		p.r.log.Error("", fmt.Sprintf("%s: undecodable meeting.recording: %v", p.name(), err))
		return
	}
	switch {
	case st.State == wire.RecordingStarted:
		p.room.startedOnce.Do(func() {
			p.room.mu.Lock()
			p.room.mediaOnDisk = time.Now()
			p.room.mu.Unlock()
			close(p.room.recordingStarted)
		})
	case st.State == wire.RecordingStopped && st.Reason != wire.RecordingRequested && st.Reason != wire.RecordingMeetingClose && !p.r.closing.Load():
		p.r.log.Error("", fmt.Sprintf("meeting %s: the recording stopped: %s", p.room.meetingID, st.Reason))
	}
}

// startRecording has each room's host start recording, and waits until
// every room says media is on disk.
func (r *runner) startRecording(ctx context.Context) {
	r.log.Phase("starting the recordings")
	for _, rm := range r.rooms {
		host := rm.all[0]
		if host == nil || host.conn == nil {
			continue
		}
		var st wire.MeetingRecordingState
		if err := host.conn.call(ctx, wire.TypeMeetingHostRecord, wire.MeetingHostRecord{Recording: true}, wire.TypeMeetingOK, &st); err != nil {
			r.log.Error(codeOf(err), fmt.Sprintf("meeting %s: start recording: %v", rm.meetingID, err))
			continue
		}
		rm.recordingID, rm.recordStart = st.RecordingID, time.Now()
	}
	deadline := time.NewTimer(recordStartTimeout)
	defer deadline.Stop()
	for _, rm := range r.rooms {
		if rm.recordingID == "" {
			continue
		}
		select {
		case <-rm.recordingStarted:
		case <-deadline.C:
			r.log.Error("", fmt.Sprintf("meeting %s: no meeting.recording \"started\" within %v", rm.meetingID, recordStartTimeout))
			return
		case <-ctx.Done():
			return
		}
	}
}

// stopRecording has each recording room's host stop the recording.
func (r *runner) stopRecording(ctx context.Context) {
	for _, rm := range r.rooms {
		if rm.recordingID == "" {
			continue
		}
		var st wire.MeetingRecordingState
		if err := rm.all[0].conn.call(ctx, wire.TypeMeetingHostRecord, wire.MeetingHostRecord{Recording: false}, wire.TypeMeetingOK, &st); err != nil {
			r.log.Error(codeOf(err), fmt.Sprintf("meeting %s: stop recording: %v", rm.meetingID, err))
		}
		rm.recordStop = time.Now()
	}
}

// checkRecordings waits for each room's recording to be finished,
// downloads its files and checks them: one per publisher that was up,
// each about as long as the recording.
func (r *runner) checkRecordings(ctx context.Context, rep *Report) {
	r.log.Phase("fetching the recordings")
	kind := "audio"
	if r.cfg.Layout == LayoutVideo {
		kind = "video"
	}
	var entries []recordcheck.Entry
	for _, rm := range r.rooms {
		if rm.recordingID == "" {
			continue
		}
		rm.mu.Lock()
		publishers, onDisk := len(rm.trackOf), rm.mediaOnDisk
		rm.mu.Unlock()
		if onDisk.IsZero() {
			onDisk = rm.recordStart
		}
		// Media went to the server from the host's request on; the room
		// says "started" once it is on disk, and no file may be much
		// shorter than from then on.
		rep.SentSeconds += float64(publishers) * rm.recordStop.Sub(rm.recordStart).Seconds()
		span := rm.recordStop.Sub(onDisk)
		rep.minRecorded += float64(publishers) * max(0, minRecordedShare*span.Seconds()-recordedSlack.Seconds())
		rec, err := r.finishedRecording(ctx, rm)
		if err != nil {
			r.log.Error("", err.Error())
			continue
		}
		if len(rec.Manifest.Files) < publishers {
			r.log.Error("", fmt.Sprintf("meeting %s: the recording has %d files for %d publishers", rm.meetingID, len(rec.Manifest.Files), publishers))
		}
		for _, f := range rec.Manifest.Files {
			entries = append(entries, recordcheck.Entry{Path: wire.MeetingRecordingPath(rm.meetingID, rec.RecordingID, f.Name),
				Name: f.Name, Container: f.Container, Complete: f.Complete, DurationMs: f.DurationMs})
			if secs := float64(f.DurationMs) / 1000; secs < minRecordedShare*span.Seconds()-recordedSlack.Seconds() {
				r.log.Error("", fmt.Sprintf("meeting %s: file %s lasts %.1fs of the recording's %.1fs", rm.meetingID, f.Name, secs, span.Seconds()))
			}
		}
	}
	// A super admin may download any meeting's recordings.
	res, err := recordcheck.Check(ctx, entries, func(ctx context.Context, path string, w io.Writer) (int64, error) {
		admin, err := r.fleet.AdminToken(ctx)
		if err != nil {
			return 0, err
		}
		return r.api.Download(ctx, admin, path, w)
	}, kind)
	if err != nil {
		r.log.Error("", err.Error())
		return
	}
	if res.Warning != "" {
		r.log.Warn("%s", res.Warning)
	}
	n := len(res.Files)
	rep.Recordings, rep.RecordingsValid, rep.RecordedSeconds, rep.RecordingFiles = &n, res.Valid, res.Seconds, res.Files
}

// finishedRecording polls the room's recordings until its recording is
// finished, with its manifest.
func (r *runner) finishedRecording(ctx context.Context, rm *room) (wire.MeetingRecording, error) {
	deadline := time.Now().Add(recordingWait)
	for {
		recs, err := r.api.MeetingRecordings(ctx, r.fleet.Token(rm.members[0]), rm.meetingID)
		if err != nil {
			return wire.MeetingRecording{}, err
		}
		for _, rec := range recs {
			if rec.RecordingID == rm.recordingID && rec.State == wire.MeetingRecordingFinished && rec.Manifest != nil {
				return rec, nil
			}
		}
		if time.Now().After(deadline) {
			return wire.MeetingRecording{}, fmt.Errorf("meeting %s: recording %s not finished %v after it stopped", rm.meetingID, rm.recordingID, recordingWait)
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return wire.MeetingRecording{}, ctx.Err()
		}
	}
}
