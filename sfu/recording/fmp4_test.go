package recording

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"parley/sfu/mediatest"
)

// TestFMP4LateTrackDuration records video that starts half a second
// after the audio, as when the first keyframe comes late. ffprobe must
// read the container as long as the media (the late start counted
// once), with the video starting late, so it stays in sync.
func TestFMP4LateTrackDuration(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	const late = 500 * time.Millisecond
	audio := mediatest.Audio(t, clipDuration)
	video := videoClip(t, MimeTypeH264, clipDuration)
	s := startSession(t, nil)
	p, err := s.AddParticipant("alice")
	if err != nil {
		t.Fatal(err)
	}
	vw, err := p.AddTrack(TrackConfig{ID: "cam", MimeType: MimeTypeH264})
	if err != nil {
		t.Fatal(err)
	}
	aw, err := p.AddTrack(TrackConfig{ID: "mic", MimeType: MimeTypeOpus})
	if err != nil {
		t.Fatal(err)
	}
	vs := packetize(t, video, 0x1111, 1000, 100, late)
	as := packetize(t, audio, 0x2222, 12345, 65500, 0)
	t0 := time.Now()
	vw.WriteSenderReport(vs.senderReport(t0))
	aw.WriteSenderReport(as.senderReport(t0))
	feedPaced(p, interleave(map[*TrackWriter]*sentStream{vw: vs, aw: as}), 50)
	m, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 1 {
		t.Fatalf("manifest lists %d files, want 1", len(m.Files))
	}
	path := filepath.Join(s.Dir(), m.Files[0].Name)
	want := late + video.Duration()

	pr := ffprobe(t, path)
	within(t, "ffprobe container duration", seconds(t, pr.Format.Duration), want, 0.05)
	within(t, "manifest duration", time.Duration(m.Files[0].Duration)*time.Millisecond, want, 0.05)
	for _, st := range pr.Streams {
		start := seconds(t, st.StartTime)
		switch st.CodecType {
		case "video":
			within(t, "video start", start, late, 0.05)
		case "audio":
			if start != 0 {
				t.Fatalf("audio starts at %v, want 0", start)
			}
		}
	}
	decodes(t, path)
	checkFMP4(t, path)

	// The delay is in the video track's edit list, once, and not also in
	// its decode times.
	f, err := mp4.ReadMP4File(path)
	if err != nil {
		t.Fatal(err)
	}
	empty := map[string]uint64{}
	for _, trak := range f.Init.Moov.Traks {
		if trak.Edts == nil || len(trak.Edts.Elst) != 1 || len(trak.Edts.Elst[0].Entries) != 2 {
			t.Fatalf("track %d has no two-entry edit list", trak.Tkhd.TrackID)
		}
		e := trak.Edts.Elst[0].Entries
		if e[0].MediaTime != -1 || e[1].MediaTime != 0 || e[1].SegmentDuration != 0 {
			t.Fatalf("track %d edits %+v, want an empty edit then the whole media", trak.Tkhd.TrackID, e)
		}
		empty[trak.Mdia.Hdlr.HandlerType] = e[0].SegmentDuration
	}
	if empty["vide"] != uint64(late/time.Millisecond) || empty["soun"] != 0 {
		t.Fatalf("empty edits %v ms, want video %d and audio 0", empty, late/time.Millisecond)
	}
	frag := f.Segments[0].Fragments[0]
	for _, traf := range frag.Moof.Trafs {
		if bmdt := traf.Tfdt.BaseMediaDecodeTime(); bmdt > 90000/100 {
			t.Fatalf("track %d's first fragment starts at %d, want its own media time near 0", traf.Tfhd.TrackID, bmdt)
		}
	}
}
