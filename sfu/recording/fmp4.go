package recording

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
)

// fmp4FragmentDuration is how long a fragment grows before the writer
// closes it; a video keyframe closes it sooner, so fragments start at
// keyframes whenever the sender makes them.
const fmp4FragmentDuration = time.Second

// fmp4MovieTimescale is the movie-level timescale: the unit of the
// overall duration in mehd.
const fmp4MovieTimescale = 1000

// mp4Track is one track of a fragmented MP4 being written.
type mp4Track struct {
	id        uint32
	timescale uint32
	video     bool
	// elstPos is the file offset of the duration of the track's empty
	// edit, patched when its first sample comes.
	elstPos int64
	// started is set by the first sample, which fixes offset: where on
	// the file's timeline the track's own media time zero lies (its
	// empty edit), in timescale units.
	started bool
	offset  uint64
	// held is the track's latest sample: its duration is only known when
	// the next one comes, so it waits.
	held    *mp4.FullSample
	lastDur uint32
	samples []mp4.FullSample // samples of the open fragment
	end     uint64           // end of the last sample placed, in timescale, in the track's media time
}

// fmp4Writer writes H.264 and Opus as fragmented MP4: an init segment
// (ftyp, then moov with mvex) followed by moof+mdat fragments, each
// holding about a second of every track. H.264 is stored as 'avc1' with
// an avcC built from the stream's in-band SPS and PPS, Opus as an 'Opus'
// sample entry with dOps. On close the overall duration is written into
// mehd, so players know the length without reading every fragment.
//
// A track that starts after the file's zero (video whose first keyframe
// came late) has its own media time start at its first sample, and an
// edit list that puts it in place: an empty edit as long as the delay,
// then the whole media (duration 0, "to the end", as a fragmented file
// has it). ffmpeg and browsers then see the track start late and last
// only as long as its media; with the delay in baseMediaDecodeTime
// instead, ffmpeg counts it twice (start time plus a duration from
// zero), and the file reads as long as the delay too long. The init
// segment is written before any sample, with every track's empty edit
// zero, and the edit is patched when the track's first sample comes.
//
// Frames must come in time order across tracks.
type fmp4Writer struct {
	out       *output
	tracks    []*mp4Track
	main      int   // the track whose frames decide fragment cuts
	mehdPos   int64 // file offset of mehd's duration
	seq       uint32
	fragStart time.Duration
	written   bool // a fragment has reached the disk
}

func (w *fmp4Writer) onDisk() bool { return w.written }

func newFMP4Writer(out *output, tracks []containerTrack) (*fmp4Writer, error) {
	init := mp4.NewMP4Init()
	init.AddChild(mp4.NewFtyp("iso6", 0, []string{"iso6", "isom", "avc1", "mp41"}))
	moov := mp4.NewMoovBox()
	init.AddChild(moov)
	mvhd := mp4.CreateMvhd()
	mvhd.Timescale = fmp4MovieTimescale
	moov.AddChild(mvhd)
	mvex := mp4.NewMvexBox()
	mvex.AddChild(&mp4.MehdBox{Version: 1})
	moov.AddChild(mvex)

	w := &fmp4Writer{out: out, seq: 1, fragStart: -1}
	for i, t := range tracks {
		switch t.codec {
		case codecH264:
			trak := init.AddEmptyTrack(t.codec.defaultClockRate(), "video", "und")
			if err := trak.SetAVCDescriptor("avc1", [][]byte{t.format.sps}, [][]byte{t.format.pps}, true); err != nil {
				return nil, fmt.Errorf("mp4 avc1: %w", err)
			}
			addEdits(trak)
			w.tracks = append(w.tracks, &mp4Track{id: trak.Tkhd.TrackID, timescale: t.codec.defaultClockRate(), video: true})
			w.main = i
		case codecOpus:
			trak := init.AddEmptyTrack(opusRate, "audio", "und")
			dops := &mp4.DopsBox{OutputChannelCount: opusChannels, InputSampleRate: opusRate}
			trak.Mdia.Minf.Stbl.Stsd.AddChild(mp4.CreateAudioSampleEntryBox("Opus", opusChannels, 16, opusRate, dops))
			addEdits(trak)
			w.tracks = append(w.tracks, &mp4Track{id: trak.Tkhd.TrackID, timescale: opusRate})
		default:
			return nil, fmt.Errorf("mp4: cannot hold %s", t.codec.mimeType())
		}
	}
	if len(w.tracks) == 0 {
		return nil, errors.New("mp4: no tracks")
	}
	var b bytes.Buffer
	if err := init.Encode(&b); err != nil {
		return nil, fmt.Errorf("mp4 init segment: %w", err)
	}
	at := bytes.Index(b.Bytes(), []byte("mehd"))
	if at < 0 {
		return nil, errors.New("mp4 init segment: no mehd")
	}
	w.mehdPos = int64(at) + 4 + 4 // past the type and version+flags
	// Each trak has one elst, in track order.
	from := 0
	for _, t := range w.tracks {
		at := bytes.Index(b.Bytes()[from:], []byte("elst"))
		if at < 0 {
			return nil, errors.New("mp4 init segment: a track has no elst")
		}
		from += at + 4
		t.elstPos = int64(from) + 4 + 4 // past version+flags and entry count
	}
	out.Write(b.Bytes())
	return w, out.err
}

// addEdits gives trak an edit list of two entries (version 1, so both
// durations have 64 bits): an empty edit, zero until the track's first
// sample says how late it starts, then the whole media from its time
// zero. The trak's children stay in the standard order: tkhd, edts,
// mdia.
func addEdits(trak *mp4.TrakBox) {
	elst := &mp4.ElstBox{Version: 1, Entries: []mp4.ElstEntry{
		{SegmentDuration: 0, MediaTime: -1, MediaRateInteger: 1},
		{SegmentDuration: 0, MediaTime: 0, MediaRateInteger: 1},
	}}
	edts := &mp4.EdtsBox{}
	edts.AddChild(elst)
	trak.Edts = edts
	for i, c := range trak.Children {
		if c == mp4.Box(trak.Tkhd) {
			trak.Children = append(trak.Children[:i+1], append([]mp4.Box{edts}, trak.Children[i+1:]...)...)
			return
		}
	}
	trak.AddChild(edts)
}

// start fixes where track t begins, at its first sample's pts: its
// empty edit, whole movie-timescale units (milliseconds) that fit
// before pts, is patched into the init segment, and the track's media
// time counts from there.
func (w *fmp4Writer) start(t *mp4Track, pts time.Duration) {
	t.started = true
	ms := uint64(pts / (time.Second / fmp4MovieTimescale))
	t.offset = ms * uint64(t.timescale) / fmp4MovieTimescale
	if ms > 0 {
		var d [8]byte
		binary.BigEndian.PutUint64(d[:], ms)
		w.out.patch(t.elstPos, d[:])
	}
}

// writeFrame appends one frame of track i at pts from the file's start.
// For H.264, data is the access unit as length-prefixed NAL units.
func (w *fmp4Writer) writeFrame(i int, pts time.Duration, keyframe bool, data []byte) error {
	t := w.tracks[i]
	if w.fragStart < 0 {
		w.fragStart = pts
	}
	if !t.started {
		w.start(t, pts)
	}
	dt := toTimescale(pts, t.timescale)
	dt -= min(dt, t.offset) // nothing goes before the track's start
	if t.held != nil {
		if dt <= t.held.DecodeTime {
			dt = t.held.DecodeTime + 1
		}
		w.place(t, uint32(dt-t.held.DecodeTime))
	}
	// Cut at the main track's keyframes, or once a fragment is long
	// enough; the other tracks cut too if the main one has gone quiet,
	// so a silent video track cannot grow one fragment for ever.
	long := pts-w.fragStart >= fmp4FragmentDuration
	if (i == w.main && (keyframe && t.video || long)) || pts-w.fragStart >= 2*fmp4FragmentDuration {
		if err := w.flushFragment(); err != nil {
			return err
		}
		w.fragStart = pts
	}
	flags := mp4.SyncSampleFlags
	if !keyframe {
		flags = mp4.NonSyncSampleFlags
	}
	t.held = &mp4.FullSample{
		Sample:     mp4.Sample{Flags: flags, Size: uint32(len(data))},
		DecodeTime: dt,
		Data:       data,
	}
	return w.out.err
}

// place moves t's held sample, now that its duration is known, into the
// open fragment.
func (w *fmp4Writer) place(t *mp4Track, dur uint32) {
	s := *t.held
	s.Dur = dur
	t.samples = append(t.samples, s)
	t.lastDur = dur
	t.end = s.DecodeTime + uint64(dur)
	t.held = nil
}

// flushFragment writes the open fragment, if it holds anything.
func (w *fmp4Writer) flushFragment() error {
	var ids []uint32
	for _, t := range w.tracks {
		if len(t.samples) > 0 {
			ids = append(ids, t.id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	frag, err := mp4.CreateMultiTrackFragment(w.seq, ids)
	if err != nil {
		return fmt.Errorf("mp4 fragment: %w", err)
	}
	w.seq++
	for _, t := range w.tracks {
		for _, s := range t.samples {
			if err := frag.AddFullSampleToTrack(s, t.id); err != nil {
				return fmt.Errorf("mp4 fragment: %w", err)
			}
		}
		t.samples = t.samples[:0]
	}
	if err := frag.Encode(w.out); err != nil {
		return fmt.Errorf("mp4 fragment: %w", err)
	}
	if !w.written {
		if err := w.out.flush(true); err != nil {
			return err
		}
		w.written = true
	}
	return w.out.err
}

// duration is where the file ends: the end of its longest track, its
// empty edit included.
func (w *fmp4Writer) duration() time.Duration {
	var end time.Duration
	for _, t := range w.tracks {
		if t.end > 0 {
			end = max(end, fromTimescale(t.offset+t.end, t.timescale))
		}
	}
	return end
}

// close places the held samples, with the length of the one before, writes
// the last fragment and the duration, and syncs the file.
func (w *fmp4Writer) close() error {
	for _, t := range w.tracks {
		if t.held == nil {
			continue
		}
		dur := t.lastDur
		if dur == 0 {
			dur = t.timescale / 50 // a lone sample: call it 20 ms
		}
		w.place(t, dur)
	}
	w.flushFragment()
	var d [8]byte
	binary.BigEndian.PutUint64(d[:], toTimescale(w.duration(), fmp4MovieTimescale))
	w.out.patch(w.mehdPos, d[:])
	return w.out.close()
}

// toTimescale converts a non-negative duration into units of 1/scale
// seconds, rounding to the nearest, without overflowing for long files.
func toTimescale(d time.Duration, scale uint32) uint64 {
	sec, frac := d/time.Second, d%time.Second
	return uint64(sec)*uint64(scale) + uint64((frac*time.Duration(scale)+time.Second/2)/time.Second)
}

// fromTimescale converts units of 1/scale seconds into a duration.
func fromTimescale(v uint64, scale uint32) time.Duration {
	sec, frac := v/uint64(scale), v%uint64(scale)
	return time.Duration(sec)*time.Second + time.Duration(frac)*time.Second/time.Duration(scale)
}
