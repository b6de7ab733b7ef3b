package recording

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/at-wat/ebml-go"
	"github.com/at-wat/ebml-go/webm"

	"parley/sfu/mediatest"
)

func TestRecordCodecs(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	audio := mediatest.Audio(t, clipDuration)
	for _, tc := range []struct {
		mime      string
		codecName string
		container Container
	}{
		{MimeTypeVP8, "vp8", ContainerWebM},
		{MimeTypeH264, "h264", ContainerMP4},
		{MimeTypeVP9, "vp9", ContainerWebM},
	} {
		t.Run(tc.codecName, func(t *testing.T) {
			video := videoClip(t, tc.mime, clipDuration)
			s := startSession(t, nil)
			p, err := s.AddParticipant("alice")
			if err != nil {
				t.Fatal(err)
			}
			var keyRequests atomic.Int32
			vw, err := p.AddTrack(TrackConfig{ID: "cam", MimeType: tc.mime, OnKeyframeNeeded: func() { keyRequests.Add(1) }})
			if err != nil {
				t.Fatal(err)
			}
			aw, err := p.AddTrack(TrackConfig{ID: "mic", MimeType: MimeTypeOpus})
			if err != nil {
				t.Fatal(err)
			}
			// Timestamps near the 32-bit wrap and sequence numbers near
			// the 16-bit one, so both wrap during the clip.
			vs := packetize(t, video, 0x1111, 0xffff_0000, 100, 0)
			as := packetize(t, audio, 0x2222, 12345, 65500, 0)
			t0 := time.Now()
			vw.WriteSenderReport(vs.senderReport(t0))
			aw.WriteSenderReport(as.senderReport(t0))
			feed(perturb(interleave(map[*TrackWriter]*sentStream{vw: vs, aw: as})))

			m, err := s.Stop()
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Files) != 1 {
				t.Fatalf("manifest lists %d files, want 1: %+v", len(m.Files), m.Files)
			}
			entry := m.Files[0]
			if want := FileName("alice", 0, tc.container); entry.Name != want || entry.Container != tc.container {
				t.Fatalf("file %s (%s), want %s (%s)", entry.Name, entry.Container, want, tc.container)
			}
			path := filepath.Join(s.Dir(), entry.Name)
			if !entry.Complete || entry.Bytes != fileSize(t, path) {
				t.Fatalf("entry %+v, file has %d bytes", entry, fileSize(t, path))
			}

			pr := ffprobe(t, path)
			var names []string
			for _, st := range pr.Streams {
				names = append(names, st.CodecName)
			}
			slices.Sort(names)
			if want := []string{tc.codecName, "opus"}; pr.Format.NbStreams != 2 || !slices.Equal(names, sortedCopy(want)) {
				t.Fatalf("streams %v (%d), want %v", names, pr.Format.NbStreams, want)
			}
			sent := max(video.Duration(), audio.Duration())
			within(t, "ffprobe duration", seconds(t, pr.Format.Duration), sent, 0.05)
			within(t, "manifest duration", time.Duration(entry.Duration)*time.Millisecond, sent, 0.05)
			decodes(t, path)

			vst, ast := vw.Stats(), aw.Stats()
			if vst.Frames != uint64(len(video.Frames)) || ast.Frames != uint64(len(audio.Frames)) {
				t.Fatalf("frames written: video %d of %d, audio %d of %d", vst.Frames, len(video.Frames), ast.Frames, len(audio.Frames))
			}
			// A copy that comes after its original was released reads as
			// late; one that comes before, as a duplicate.
			if dup := vst.Duplicates + ast.Duplicates + vst.Late + ast.Late; dup != 2 {
				t.Fatalf("duplicates and late packets dropped = %d, want the 2 copies sent", dup)
			}
			if vst.QueueDrops+ast.QueueDrops+vst.Gaps+ast.Gaps+vst.FramesDropped != 0 {
				t.Fatalf("losses on a clean feed: video %+v audio %+v", vst, ast)
			}
			if keyRequests.Load() < 1 {
				t.Fatal("no keyframe request when the track started")
			}

			if tc.container == ContainerWebM {
				checkWebM(t, path, sent)
			} else {
				checkFMP4(t, path)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// checkWebM reads the file back with ebml-go and checks what browsers
// need to seek: a SeekHead that finds the Cues, Cues, and a Duration.
func checkWebM(t *testing.T, path string, sent time.Duration) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var doc struct {
		Header  webm.EBMLHeader `ebml:"EBML"`
		Segment webm.Segment    `ebml:"Segment"`
	}
	if err := ebml.Unmarshal(f, &doc); err != nil {
		t.Fatalf("parse webm: %v", err)
	}
	if doc.Header.DocType != "webm" {
		t.Fatalf("doc type %q", doc.Header.DocType)
	}
	if doc.Segment.Cues == nil || len(doc.Segment.Cues.CuePoint) == 0 {
		t.Fatal("no cues")
	}
	if doc.Segment.SeekHead == nil || len(doc.Segment.SeekHead.Seek) != 3 {
		t.Fatalf("seek head %+v, want Info, Tracks and Cues", doc.Segment.SeekHead)
	}
	cues := doc.Segment.SeekHead.Seek[2]
	if !bytes.Equal(cues.SeekID, ebml.ElementCues.Bytes()) {
		t.Fatalf("third seek entry is %x, want Cues", cues.SeekID)
	}
	within(t, "webm Duration", time.Duration(doc.Segment.Info.Duration*float64(time.Millisecond)), sent, 0.05)
	size := fileSize(t, path)
	for _, cp := range doc.Segment.Cues.CuePoint {
		if pos := cp.CueTrackPositions[0].CueClusterPosition; pos == 0 || int64(pos) >= size {
			t.Fatalf("cue point %+v outside the file", cp)
		}
	}
}

// checkFMP4 checks the box layout browsers play: ftyp and moov (with
// mvex, avcC and dOps), then moof+mdat pairs.
func checkFMP4(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var boxes []string
	for off := 0; off+8 <= len(data); {
		size := int(binary.BigEndian.Uint32(data[off:]))
		boxes = append(boxes, string(data[off+4:off+8]))
		if size < 8 {
			t.Fatalf("box %q at %d has size %d", data[off+4:off+8], off, size)
		}
		off += size
	}
	if len(boxes) < 4 || boxes[0] != "ftyp" || boxes[1] != "moov" {
		t.Fatalf("top-level boxes %v, want ftyp moov then fragments", boxes)
	}
	for i := 2; i < len(boxes); i += 2 {
		if boxes[i] != "moof" || i+1 >= len(boxes) || boxes[i+1] != "mdat" {
			t.Fatalf("top-level boxes %v, want moof+mdat pairs after moov", boxes)
		}
	}
	f, err := mp4.ReadMP4File(path)
	if err != nil {
		t.Fatalf("parse mp4: %v", err)
	}
	if f.Init == nil || f.Init.Moov.Mvex == nil || f.Init.Moov.Mvex.Mehd == nil || f.Init.Moov.Mvex.Mehd.FragmentDuration == 0 {
		t.Fatal("init segment lacks mvex with a duration")
	}
	var avcC, dOps bool
	for _, trak := range f.Init.Moov.Traks {
		stsd := trak.Mdia.Minf.Stbl.Stsd
		if stsd.AvcX != nil && stsd.AvcX.AvcC != nil && len(stsd.AvcX.AvcC.SPSnalus) == 1 && len(stsd.AvcX.AvcC.PPSnalus) == 1 {
			avcC = true
		}
		if stsd.Opus != nil && stsd.Opus.Dops != nil {
			dOps = true
		}
	}
	if !avcC || !dOps {
		t.Fatalf("sample entries: avcC with SPS and PPS %v, Opus with dOps %v", avcC, dOps)
	}
}

func TestVideoLossDropsUntilKeyframe(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	video := videoClip(t, MimeTypeVP8, 3*time.Second) // keyframes at frames 0, 30, 60
	s := startSession(t, nil)
	p, _ := s.AddParticipant("heidi")
	var keyRequests atomic.Int32
	vw, err := p.AddTrack(TrackConfig{ID: "cam", MimeType: MimeTypeVP8, OnKeyframeNeeded: func() { keyRequests.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	vs := packetize(t, video, 11, 110, 65000, 0)
	vw.WriteSenderReport(vs.senderReport(time.Now()))
	items := interleave(map[*TrackWriter]*sentStream{vw: vs})
	const lostFrame = 40
	if video.Frames[lostFrame].Keyframe || !video.Frames[60].Keyframe {
		t.Fatal("clip keyframes are not where the test expects")
	}
	lost := slices.IndexFunc(vs.packets, func(tp timedPacket) bool { return tp.frame == lostFrame })
	items = slices.Delete(items, lost, lost+1)
	if err := p.do(func() {}); err != nil { // the start's request is made
		t.Fatal(err)
	}
	before := keyRequests.Load()
	feed(items)
	m, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(s.Dir(), m.Files[0].Name)
	pr := ffprobe(t, path, "-count_packets")
	want := len(video.Frames) - (60 - lostFrame)
	if got := pr.Streams[0].NbReadPkts; got != itoa(want) {
		t.Fatalf("file holds %s video frames, want %d: frames %d to 59 dropped", got, want, lostFrame)
	}
	decodes(t, path)
	st := vw.Stats()
	if st.Gaps != 1 || st.FramesDropped < 60-lostFrame-1 {
		t.Fatalf("stats %+v: want one gap and the frames up to the keyframe dropped", st)
	}
	if keyRequests.Load() <= before {
		t.Fatal("no keyframe request after the loss")
	}
}
