package livebench

import (
	"context"
	"io"
	"time"

	"parley/bench/recordcheck"
	"parley/bench/wire"
)

// Checking the recordings.
const (
	// recordingWait bounds the wait for the live's recording to be
	// listed, which happens once it is finished.
	recordingWait = 30 * time.Second
	// minRecordedShare and recordedSlack bound how much shorter than
	// what was sent the recording may be: it starts at the WHIP request
	// and ends at its DELETE, so only the first frames' trip and the
	// last ones' may be missing.
	minRecordedShare = 0.9
	recordedSlack    = time.Second
)

// checkRecordings waits for the live's recording, downloads every file,
// and checks each with ffprobe when it is installed.
func (r *runner) checkRecordings(ctx context.Context, rep *Report) {
	r.log.Phase("fetching the recordings")
	rep.SentSeconds = r.sendEnd.Sub(r.sendStart).Seconds()
	var recs []wire.Recording
	deadline := time.Now().Add(recordingWait)
	for {
		var err error
		recs, err = r.api.LiveRecordings(ctx, r.hostToken(), r.live.ID)
		if err != nil {
			r.log.Error("", err.Error())
			return
		}
		if len(recs) > 0 || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(4 * pollInterval)
	}
	var entries []recordcheck.Entry
	for _, rec := range recs {
		for _, f := range rec.Files {
			entries = append(entries, recordcheck.Entry{Path: f.URL, Name: rec.ID + "-" + f.Name, Container: f.Container,
				Complete: f.Complete, DurationMs: f.DurationMs})
		}
	}
	res, err := recordcheck.Check(ctx, entries, func(ctx context.Context, path string, w io.Writer) (int64, error) {
		return r.api.Download(ctx, r.hostToken(), path, w)
	}, "video")
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
