package live

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/media"
	"parley/sfu/recording"
)

// recordingParticipant names the publisher's files in a live's
// recording: "host-000.mp4", then "host-001.mp4" after a reconnect.
const recordingParticipant = "host"

// maxRecordingNameTries bounds the names tried for one recording when a
// folder of its name exists already (two broadcasts in one second).
const maxRecordingNameTries = 10

// recorder is the recording of one broadcast of a live: a
// recording.Session with one participant, the publisher, whose tracks
// are fed by sinks on the broadcast's receivers. The broadcast calls it
// under its recMu only, so its fields need no lock of their own.
type recorder struct {
	sess *recording.Session
	part *recording.Participant
	log  *slog.Logger
	// ingest is the publisher session whose media the current file
	// holds; media from another one starts a new file.
	ingest *Ingest
}

// startRecorder starts a recording of a live under dir. Its id is
// "<live id>-<UTC start time>", such as "ABC-20261105T081532Z", so a
// live's recordings sort by time, with a suffix when a folder of that
// name exists.
func startRecorder(dir, liveID string, now time.Time, log *slog.Logger) (*recorder, error) {
	base := liveID + "-" + now.UTC().Format("20060102T150405Z")
	id := base
	for try := 1; ; try++ {
		sess, err := recording.Start(recording.Config{Dir: dir, ID: id, Logger: log})
		if errors.Is(err, recording.ErrExists) && try < maxRecordingNameTries {
			id = fmt.Sprintf("%s.%d", base, try)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("record live %s: %w", liveID, err)
		}
		part, err := sess.AddParticipant(recordingParticipant)
		if err != nil {
			sess.Stop()
			return nil, fmt.Errorf("record live %s: %w", liveID, err)
		}
		return &recorder{sess: sess, part: part, log: log.With("recording", id)}, nil
	}
}

// follow notes that media now comes from publisher session i; when the
// file holds another session's media, the next file begins, so an OBS
// reconnect is a new segment in the manifest.
func (r *recorder) follow(i *Ingest) {
	if r.ingest != nil && r.ingest != i {
		if err := r.part.NewSegment(); err != nil {
			r.log.Warn("live recording: new segment", "err", err)
		}
	}
	r.ingest = i
}

// newWriter adds a track of kind and codec to the recording. A codec the
// recorder cannot write (AV1, HEVC) is left out with a warning, as nil;
// the rest of the live is still recorded.
func (r *recorder) newWriter(kind webrtc.RTPCodecType, codec webrtc.RTPCodecParameters, keyframe func()) *recording.TrackWriter {
	w, err := r.part.AddTrack(recording.TrackConfig{
		ID: kind.String(), MimeType: codec.MimeType, ClockRate: codec.ClockRate, OnKeyframeNeeded: keyframe,
	})
	if err != nil {
		r.log.Warn("live recording: track not recorded", "kind", kind, "codec", codec.MimeType, "err", err)
		return nil
	}
	return w
}

// attach records t from its best active layer.
func (r *recorder) attach(t *liveTrack) {
	if t.writer != nil {
		return
	}
	recv := t.recv
	w := r.newWriter(t.kind, recv.Codec(), func() { recv.RequestKeyframe(media.HighestLayer) })
	if w == nil {
		return
	}
	t.writer = w
	r.sink(t)
}

// sink puts t's writer on its best active layer.
func (r *recorder) sink(t *liveTrack) {
	q, rid := bestLayer(t.recv)
	if t.unsink != nil {
		t.unsink()
	}
	t.unsink = t.recv.AddSink(t.writer, q)
	t.sinkRID = rid
}

// rehome moves t's writer to the best layer when that changed, as when
// a simulcast publisher's larger layers arrive after the first.
func (r *recorder) rehome(t *liveTrack) {
	if t.writer == nil {
		return
	}
	if _, rid := bestLayer(t.recv); rid != t.sinkRID {
		r.sink(t)
	}
}

// detach stops recording t; the file goes on with the other track.
func (r *recorder) detach(t *liveTrack) {
	if t.unsink != nil {
		t.unsink()
		t.unsink = nil
	}
	if t.writer != nil {
		if err := t.writer.Close(); err != nil {
			r.log.Warn("live recording: close track", "kind", t.kind, "err", err)
		}
		t.writer = nil
	}
}

// stop finishes the files and writes the manifest.
func (r *recorder) stop() {
	if err := r.part.Close(); err != nil {
		r.log.Warn("live recording: close", "err", err)
	}
	if _, err := r.sess.Stop(); err != nil {
		r.log.Error("live recording: manifest", "err", err)
	}
}

// bestLayer is the quality index and rid of recv's highest active
// layer, or of its highest layer when none is active yet.
func bestLayer(recv *media.Receiver) (int, string) {
	layers := recv.Layers()
	if len(layers) == 0 {
		return media.HighestLayer, ""
	}
	for q := len(layers) - 1; q >= 0; q-- {
		if layers[q].Active {
			return q, layers[q].RID
		}
	}
	return len(layers) - 1, layers[len(layers)-1].RID
}
