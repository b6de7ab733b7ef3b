package recording

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// maxInterleaveDelay is how far the frames of one track may run ahead of
// a silent track of the same file before they are written without it.
// Frames go to the file in time order across tracks, which both WebM
// clusters and players want; a track that stalls must not hold the rest
// for ever.
const maxInterleaveDelay = time.Second

// containerWriter is a file format being written.
type containerWriter interface {
	// writeFrame appends a frame of track i, pts after the file's start.
	writeFrame(i int, pts time.Duration, keyframe bool, data []byte) error
	// onDisk reports whether a frame has been flushed and synced.
	onDisk() bool
	// duration is the file's length so far.
	duration() time.Duration
	// close finishes and syncs the file.
	close() error
}

// timedFrame is a frame placed on its file's timeline.
type timedFrame struct {
	pts time.Duration
	f   *frame
}

// segment is one open file of a participant.
type segment struct {
	p         *Participant
	index     int
	name      string
	container Container
	out       *output
	writer    containerWriter
	tracks    []*trackState  // in file order
	formats   []videoFormat  // per file track, as its header has it
	origin    time.Time      // the wall-clock instant at the file's time zero
	queues    [][]timedFrame // per file track: frames waiting to interleave
	announced bool           // the session has been told media is on disk
}

// containerFor picks the file format for a set of tracks: fragmented MP4
// when there is H.264, WebM otherwise.
func containerFor(tracks []*trackState) Container {
	for _, s := range tracks {
		if s.codec == codecH264 {
			return ContainerMP4
		}
	}
	return ContainerWebM
}

func openSegment(p *Participant, index int, tracks []*trackState, now time.Time) (*segment, error) {
	seg := &segment{
		p:         p,
		index:     index,
		container: containerFor(tracks),
		tracks:    tracks,
		queues:    make([][]timedFrame, len(tracks)),
	}
	seg.name = FileName(p.id, index, seg.container)
	out, err := createOutput(filepath.Join(p.s.dir, seg.name))
	if err != nil {
		return nil, err
	}
	seg.out = out
	ct := make([]containerTrack, len(tracks))
	for i, s := range tracks {
		ct[i] = containerTrack{codec: s.codec, format: s.asm.format}
		seg.formats = append(seg.formats, s.asm.format)
		s.inFile = i
		s.hasPTS = false
	}
	if seg.container == ContainerMP4 {
		seg.writer, err = newFMP4Writer(out, ct)
	} else {
		seg.writer, err = newWebMWriter(out, ct, now)
	}
	if err != nil {
		out.close()
		return nil, err
	}
	return seg, nil
}

// writeStartup places the frames that waited for this file on its
// timeline, which starts at the earliest of them, and writes them.
func (seg *segment) writeStartup() error {
	type waiting struct {
		s     *trackState
		local time.Time
		f     *frame
	}
	var all []waiting
	for _, s := range seg.tracks {
		for _, f := range s.startup {
			all = append(all, waiting{s, seg.p.tl.local(&s.clock, f.ts, f.arrival), f})
		}
		s.startup, s.startupBytes = nil, 0
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].local.Before(all[j].local) })
	seg.origin = all[0].local
	for _, w := range all {
		seg.queue(w.s, w.local, w.f)
	}
	return seg.release(false)
}

// push places a frame of a track in the file on the timeline and writes
// what is ready.
func (seg *segment) push(s *trackState, f *frame) error {
	seg.queue(s, seg.p.tl.local(&s.clock, f.ts, f.arrival), f)
	return seg.release(false)
}

func (seg *segment) queue(s *trackState, local time.Time, f *frame) {
	pts := max(local.Sub(seg.origin), 0)
	// A track's time only moves forward, even when a new Sender Report
	// pulls its mapping back. Audio that would overlap is dropped; video
	// is squeezed in, as later frames refer to it.
	if s.hasPTS && pts <= s.lastPTS {
		if !s.codec.video() {
			s.w.stats.framesDropped.Add(1)
			return
		}
		pts = s.lastPTS + time.Millisecond
	}
	s.lastPTS, s.hasPTS = pts, true
	seg.queues[s.inFile] = append(seg.queues[s.inFile], timedFrame{pts, f})
}

// release writes queued frames in time order while every live track of
// the file has one queued, or all of them with all set.
func (seg *segment) release(all bool) error {
	for {
		next, newest := -1, time.Duration(-1)
		waiting := false
		for i, q := range seg.queues {
			if len(q) == 0 {
				if !seg.tracks[i].closed {
					waiting = true
				}
				continue
			}
			if next < 0 || q[0].pts < seg.queues[next][0].pts {
				next = i
			}
			newest = max(newest, q[len(q)-1].pts)
		}
		if next < 0 {
			return nil
		}
		if waiting && !all && newest-seg.queues[next][0].pts < maxInterleaveDelay {
			return nil
		}
		tf := seg.queues[next][0]
		seg.queues[next] = seg.queues[next][1:]
		if err := seg.writer.writeFrame(next, tf.pts, tf.f.keyframe, tf.f.data); err != nil {
			return err
		}
		seg.tracks[next].w.stats.frames.Add(1)
		if !seg.announced && seg.writer.onDisk() {
			seg.announced = true
			seg.p.s.mediaOnDisk()
		}
	}
}

// formatChanged reports whether an H.264 track's latest keyframe carried
// parameter sets other than those in the file's header.
func (seg *segment) formatChanged(s *trackState) bool {
	if s.codec != codecH264 {
		return false
	}
	f := seg.formats[s.inFile]
	return !bytes.Equal(f.sps, s.asm.format.sps) || !bytes.Equal(f.pps, s.asm.format.pps)
}

// entry describes the file for the manifest.
func (seg *segment) entry(complete bool) FileEntry {
	e := FileEntry{
		Name:        seg.name,
		Participant: seg.p.id,
		Segment:     seg.index,
		Container:   seg.container,
		StartOffset: max(seg.origin.Sub(seg.p.s.start), 0).Milliseconds(),
		Duration:    seg.writer.duration().Milliseconds(),
		Bytes:       seg.out.n,
		Complete:    complete,
	}
	if !complete {
		// Bytes appended are not bytes written: ask the disk.
		e.Bytes = 0
		if fi, err := os.Stat(seg.out.path); err == nil && fi.Mode().IsRegular() {
			e.Bytes = fi.Size()
		}
	}
	for _, s := range seg.tracks {
		kind := "audio"
		if s.codec.video() {
			kind = "video"
		}
		e.Tracks = append(e.Tracks, TrackEntry{ID: s.w.id, Kind: kind, Codec: s.codec.mimeType()})
	}
	return e
}
