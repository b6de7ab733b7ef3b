package recording

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"
)

// WebM layout limits.
const (
	// webmClusterDuration is the longest cluster the writer makes; a video
	// keyframe starts a new one sooner. Block times are 16-bit offsets in
	// milliseconds from their cluster, so this must stay under 32.7 s.
	webmClusterDuration = 5 * time.Second
	// opusSeekPreRoll is how much audio a decoder must run before a seek
	// point to converge, as the WebM Opus mapping recommends.
	opusSeekPreRoll = 80 * time.Millisecond
	// opusChannels is the channel count WebRTC always negotiates for
	// Opus; a mono stream decodes to two identical channels.
	opusChannels = 2
	opusRate     = 48000
)

// unknownSize is the 8-byte EBML size "not known yet". The writer opens
// the Segment and each Cluster with it and overwrites it with the real
// size once known, so a file cut short by a crash is still readable.
var unknownSize = []byte{0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

type webmSeek struct {
	SeekID       []byte `ebml:"SeekID"`
	SeekPosition uint64 `ebml:"SeekPosition,size=8"`
}

type webmSeekHead struct {
	Seek []webmSeek `ebml:"Seek"`
}

type webmInfo struct {
	TimecodeScale uint64    `ebml:"TimecodeScale"`
	Duration      float64   `ebml:"Duration,size=8"`
	DateUTC       time.Time `ebml:"DateUTC,size=8"`
	MuxingApp     string    `ebml:"MuxingApp"`
	WritingApp    string    `ebml:"WritingApp"`
}

// containerTrack describes one track of a file to its container writer.
type containerTrack struct {
	codec  codec
	format videoFormat // video only
}

// webmWriter writes VP8, VP9 and Opus into WebM, laid out as browsers and
// ffmpeg expect of a finished file: a SeekHead that finds Info, Tracks and
// Cues; a Duration; clusters that start at video keyframes; and Cues that
// index the keyframe clusters, written at the end.
//
// Frames must come in time order across tracks.
type webmWriter struct {
	out    *output
	tracks []containerTrack
	video  int // index of the video track, or -1

	segmentStart  int64 // file offset of the Segment's contents
	seekHeadSpace int   // bytes reserved at segmentStart for the SeekHead
	infoPos       int64 // Info, relative to segmentStart
	tracksPos     int64 // Tracks, relative to segmentStart
	durationPos   int64 // file offset of the Duration value

	clusterStart  int64 // file offset of the open Cluster, or -1
	clusterTime   int64 // its timestamp in milliseconds
	clusterBlocks int   // blocks in the open Cluster
	cues          []webm.CuePoint

	last    []time.Duration // per track: last frame time
	lastDur []time.Duration // per track: gap between its last two frames
	frames  []int           // per track: frames written
	written bool            // a frame has reached the disk
}

func newWebMWriter(out *output, tracks []containerTrack, created time.Time) (*webmWriter, error) {
	w := &webmWriter{
		out:          out,
		tracks:       tracks,
		video:        -1,
		clusterStart: -1,
		last:         make([]time.Duration, len(tracks)),
		lastDur:      make([]time.Duration, len(tracks)),
		frames:       make([]int, len(tracks)),
	}
	var entries []webm.TrackEntry
	for i, t := range tracks {
		e := webm.TrackEntry{TrackNumber: uint64(i + 1), TrackUID: uint64(i + 1)}
		switch t.codec {
		case codecVP8, codecVP9:
			if w.video >= 0 {
				return nil, errors.New("webm: more than one video track")
			}
			w.video = i
			e.CodecID = "V_VP8"
			if t.codec == codecVP9 {
				e.CodecID = "V_VP9"
			}
			e.TrackType = 1
			e.Video = &webm.Video{PixelWidth: uint64(t.format.width), PixelHeight: uint64(t.format.height)}
		case codecOpus:
			e.CodecID = "A_OPUS"
			e.TrackType = 2
			e.CodecPrivate = opusHead()
			e.SeekPreRoll = uint64(opusSeekPreRoll)
			e.Audio = &webm.Audio{SamplingFrequency: opusRate, Channels: opusChannels}
		default:
			return nil, fmt.Errorf("webm: cannot hold %s", t.codec.mimeType())
		}
		entries = append(entries, e)
	}

	header := struct {
		Header webm.EBMLHeader `ebml:"EBML"`
	}{*webm.DefaultEBMLHeader}
	if err := ebml.Marshal(&header, out); err != nil {
		return nil, fmt.Errorf("webm header: %w", err)
	}
	out.Write(ebml.ElementSegment.Bytes())
	out.Write(unknownSize)
	w.segmentStart = out.n

	// Reserve room for a SeekHead with three entries; until Cues exist it
	// holds two and a Void fills the rest.
	full, err := w.seekHead(0)
	if err != nil {
		return nil, err
	}
	w.seekHeadSpace = len(full)

	info, err := marshalEBML(&struct {
		Info webmInfo `ebml:"Info"`
	}{webmInfo{
		TimecodeScale: uint64(time.Millisecond),
		DateUTC:       created.UTC(),
		MuxingApp:     "parley",
		WritingApp:    "parley",
	}})
	if err != nil {
		return nil, fmt.Errorf("webm info: %w", err)
	}
	durationAt := bytes.Index(info, []byte{0x44, 0x89, 0x88})
	if durationAt < 0 {
		return nil, errors.New("webm info: no duration element")
	}
	trackBytes, err := marshalEBML(&struct {
		Tracks webm.Tracks `ebml:"Tracks"`
	}{webm.Tracks{TrackEntry: entries}})
	if err != nil {
		return nil, fmt.Errorf("webm tracks: %w", err)
	}
	w.infoPos = int64(w.seekHeadSpace)
	w.tracksPos = w.infoPos + int64(len(info))
	w.durationPos = w.segmentStart + w.infoPos + int64(durationAt) + 3

	partial, err := w.seekHead(-1)
	if err != nil {
		return nil, err
	}
	out.Write(partial)
	out.Write(voidElement(w.seekHeadSpace - len(partial)))
	out.Write(info)
	out.Write(trackBytes)
	return w, out.err
}

// seekHead marshals the SeekHead: Info, Tracks and, unless cuesPos is
// negative, Cues.
func (w *webmWriter) seekHead(cuesPos int64) ([]byte, error) {
	sh := webmSeekHead{Seek: []webmSeek{
		{SeekID: ebml.ElementInfo.Bytes(), SeekPosition: uint64(w.infoPos)},
		{SeekID: ebml.ElementTracks.Bytes(), SeekPosition: uint64(w.tracksPos)},
	}}
	if cuesPos >= 0 {
		sh.Seek = append(sh.Seek, webmSeek{SeekID: ebml.ElementCues.Bytes(), SeekPosition: uint64(cuesPos)})
	}
	b, err := marshalEBML(&struct {
		SeekHead webmSeekHead `ebml:"SeekHead"`
	}{sh})
	if err != nil {
		return nil, fmt.Errorf("webm seek head: %w", err)
	}
	return b, nil
}

// writeFrame appends one frame of track i at pts from the file's start.
func (w *webmWriter) writeFrame(i int, pts time.Duration, keyframe bool, data []byte) error {
	ms := pts.Round(time.Millisecond).Milliseconds()
	newCluster := w.clusterStart < 0 ||
		(i == w.video && keyframe && w.clusterBlocks > 0) ||
		ms-w.clusterTime >= webmClusterDuration.Milliseconds()
	if newCluster {
		if err := w.startCluster(ms, i, keyframe); err != nil {
			return err
		}
	}
	rel := ms - w.clusterTime
	if rel < math.MinInt16 {
		// Far behind the cluster: only a track stalled for half a minute
		// gets here, and its frame has no place left in the file.
		return nil
	}
	block := struct {
		Block ebml.Block `ebml:"SimpleBlock"`
	}{ebml.Block{TrackNumber: uint64(i + 1), Timecode: int16(rel), Keyframe: keyframe, Data: [][]byte{data}}}
	if err := ebml.Marshal(&block, w.out); err != nil {
		return fmt.Errorf("webm block: %w", err)
	}
	w.clusterBlocks++
	if w.frames[i] > 0 {
		w.lastDur[i] = pts - w.last[i]
	}
	w.last[i] = pts
	w.frames[i]++
	if !w.written {
		if err := w.out.flush(true); err != nil {
			return err
		}
		w.written = true
	}
	return w.out.err
}

func (w *webmWriter) onDisk() bool { return w.written }

func (w *webmWriter) startCluster(ms int64, track int, keyframe bool) error {
	if err := w.endCluster(); err != nil {
		return err
	}
	w.clusterStart = w.out.n
	w.clusterTime = ms
	w.clusterBlocks = 0
	// Cues index the clusters a player can start decoding from: those
	// that open on a video keyframe, and, before the video has begun (or
	// in a file without video), every cluster.
	if (track == w.video && keyframe) || w.video < 0 || w.frames[w.video] == 0 {
		w.cues = append(w.cues, webm.CuePoint{
			CueTime: uint64(ms),
			CueTrackPositions: []webm.CueTrackPosition{{
				CueTrack:           uint64(track + 1),
				CueClusterPosition: uint64(w.clusterStart - w.segmentStart),
			}},
		})
	}
	w.out.Write(ebml.ElementCluster.Bytes())
	w.out.Write(unknownSize)
	tc := struct {
		Timecode uint64 `ebml:"Timecode"`
	}{uint64(ms)}
	return ebml.Marshal(&tc, w.out)
}

// endCluster writes the open cluster's size over its placeholder.
func (w *webmWriter) endCluster() error {
	if w.clusterStart < 0 {
		return nil
	}
	sizeAt := w.clusterStart + int64(len(ebml.ElementCluster.Bytes()))
	err := w.out.patch(sizeAt, knownSize(w.out.n-sizeAt-int64(len(unknownSize))))
	w.clusterStart = -1
	return err
}

// duration is where the file ends: its latest frame plus that frame's
// own length, judged from the gap before it.
func (w *webmWriter) duration() time.Duration {
	var end time.Duration
	for i := range w.last {
		end = max(end, w.last[i]+w.lastDur[i])
	}
	return end
}

// close finishes the file: cluster size, Cues, SeekHead, Duration and
// Segment size, then syncs it.
func (w *webmWriter) close() error {
	w.endCluster()
	if len(w.cues) > 0 {
		cuesPos := w.out.n - w.segmentStart
		cues, err := marshalEBML(&struct {
			Cues webm.Cues `ebml:"Cues"`
		}{webm.Cues{CuePoint: w.cues}})
		if err != nil {
			return fmt.Errorf("webm cues: %w", err)
		}
		w.out.Write(cues)
		sh, err := w.seekHead(cuesPos)
		if err != nil {
			return err
		}
		w.out.patch(w.segmentStart, sh)
	}
	var d [8]byte
	binary.BigEndian.PutUint64(d[:], math.Float64bits(float64(w.duration())/float64(time.Millisecond)))
	w.out.patch(w.durationPos, d[:])
	w.out.patch(w.segmentStart-int64(len(unknownSize)), knownSize(w.out.n-w.segmentStart))
	return w.out.close()
}

func marshalEBML(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := ebml.Marshal(v, &b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// knownSize encodes n as an 8-byte EBML size, to overwrite unknownSize.
func knownSize(n int64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(n))
	b[0] = 0x01
	return b
}

// voidElement is an EBML Void of exactly n bytes (n >= 2).
func voidElement(n int) []byte {
	if n-2 < 0x7f {
		b := make([]byte, n)
		b[0], b[1] = 0xec, 0x80|byte(n-2)
		return b
	}
	b := make([]byte, n)
	b[0] = 0xec
	copy(b[1:], knownSize(int64(n-9)))
	return b
}

// opusHead is the Opus identification header (RFC 7845, 5.1) that WebM
// carries as the track's CodecPrivate. RTP carries no pre-skip, so none
// is claimed.
func opusHead() []byte {
	b := []byte("OpusHead")
	b = append(b, 1, opusChannels)
	b = binary.LittleEndian.AppendUint16(b, 0)        // pre-skip
	b = binary.LittleEndian.AppendUint32(b, opusRate) // input sample rate
	b = binary.LittleEndian.AppendUint16(b, 0)        // output gain
	return append(b, 0)                               // channel mapping family
}
