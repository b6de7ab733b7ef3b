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
	// held is the track's latest sample: its duration is only known when
	// the next one comes, so it waits.
	held    *mp4.FullSample
	lastDur uint32
	samples []mp4.FullSample // samples of the open fragment
	end     uint64           // end of the last sample placed, in timescale
}

// fmp4Writer writes H.264 and Opus as fragmented MP4: an init segment
// (ftyp, then moov with mvex) followed by moof+mdat fragments, each
// holding about a second of every track. H.264 is stored as 'avc1' with
// an avcC built from the stream's in-band SPS and PPS, Opus as an 'Opus'
// sample entry with dOps. On close the overall duration is written into
// mehd, so players know the length without reading every fragment.
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
			w.tracks = append(w.tracks, &mp4Track{id: trak.Tkhd.TrackID, timescale: t.codec.defaultClockRate(), video: true})
			w.main = i
		case codecOpus:
			trak := init.AddEmptyTrack(opusRate, "audio", "und")
			dops := &mp4.DopsBox{OutputChannelCount: opusChannels, InputSampleRate: opusRate}
			trak.Mdia.Minf.Stbl.Stsd.AddChild(mp4.CreateAudioSampleEntryBox("Opus", opusChannels, 16, opusRate, dops))
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
	out.Write(b.Bytes())
	return w, out.err
}

// writeFrame appends one frame of track i at pts from the file's start.
// For H.264, data is the access unit as length-prefixed NAL units.
func (w *fmp4Writer) writeFrame(i int, pts time.Duration, keyframe bool, data []byte) error {
	t := w.tracks[i]
	if w.fragStart < 0 {
		w.fragStart = pts
	}
	dt := toTimescale(pts, t.timescale)
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

// duration is where the file ends: the end of its longest track.
func (w *fmp4Writer) duration() time.Duration {
	var end time.Duration
	for _, t := range w.tracks {
		end = max(end, fromTimescale(t.end, t.timescale))
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
