package recording

import (
	"path/filepath"
	"testing"
	"time"

	"parley/sfu/mediatest"
)

func TestSenderReportsAlignTracks(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	audio := mediatest.Audio(t, clipDuration)
	for _, tc := range []struct {
		name   string
		mime   string
		offset time.Duration // video's start after audio's, per the reports
	}{
		{"together", MimeTypeVP8, 0},
		{"video 500ms later", MimeTypeVP8, 500 * time.Millisecond},
		{"video 300ms earlier", MimeTypeVP8, -300 * time.Millisecond},
		{"h264 video 500ms later", MimeTypeH264, 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			video := videoClip(t, tc.mime, clipDuration)
			s := startSession(t, nil)
			p, err := s.AddParticipant("bob")
			if err != nil {
				t.Fatal(err)
			}
			vw, err := p.AddTrack(TrackConfig{ID: "cam", MimeType: tc.mime})
			if err != nil {
				t.Fatal(err)
			}
			aw, err := p.AddTrack(TrackConfig{ID: "mic", MimeType: MimeTypeOpus})
			if err != nil {
				t.Fatal(err)
			}
			// Unrelated random bases, as real senders pick.
			vs := packetize(t, video, 0xaaaa, 0x7b3c_91d2, 4000, max(tc.offset, 0))
			as := packetize(t, audio, 0xbbbb, 0x0e12_6f05, 9000, max(-tc.offset, 0))
			t0 := time.Now().Add(-time.Hour) // the sender's clock is not ours
			vw.WriteSenderReport(vs.senderReport(t0))
			aw.WriteSenderReport(as.senderReport(t0))
			// Fed all at once: arrival times say nothing of the offset.
			feed(perturb(interleave(map[*TrackWriter]*sentStream{vw: vs, aw: as})))
			m, err := s.Stop()
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Files) != 1 {
				t.Fatalf("%d files", len(m.Files))
			}
			pr := ffprobe(t, filepath.Join(s.Dir(), m.Files[0].Name))
			var vStart, aStart time.Duration
			for _, st := range pr.Streams {
				if st.CodecType == "video" {
					vStart = seconds(t, st.StartTime)
				} else {
					aStart = seconds(t, st.StartTime)
				}
			}
			if got := vStart - aStart; got-tc.offset > 40*time.Millisecond || tc.offset-got > 40*time.Millisecond {
				t.Fatalf("video starts %v after audio, want %v within 40ms (video %v, audio %v)", got, tc.offset, vStart, aStart)
			}
		})
	}
}

func TestWithoutSenderReportsArrivalPlacesTracks(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	audio := mediatest.Audio(t, clipDuration)
	video := videoClip(t, MimeTypeVP8, clipDuration)
	s, err := Start(Config{Dir: t.TempDir(), ID: "nosr", QueueLength: 1 << 14, Logger: quietLogger, SyncWait: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.AddParticipant("carol")
	vw, _ := p.AddTrack(TrackConfig{ID: "cam", MimeType: MimeTypeVP8})
	aw, _ := p.AddTrack(TrackConfig{ID: "mic", MimeType: MimeTypeOpus})
	vs := packetize(t, video, 1, 777, 1, 0)
	as := packetize(t, audio, 2, 888, 2, 0)
	feed(interleave(map[*TrackWriter]*sentStream{vw: vs, aw: as}))
	m, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 1 {
		t.Fatalf("%d files", len(m.Files))
	}
	path := filepath.Join(s.Dir(), m.Files[0].Name)
	pr := ffprobe(t, path)
	if pr.Format.NbStreams != 2 {
		t.Fatalf("%d streams", pr.Format.NbStreams)
	}
	// Both arrived together, so both start at the file's start.
	for _, st := range pr.Streams {
		if d := seconds(t, st.StartTime); d > 40*time.Millisecond {
			t.Fatalf("%s starts at %v, want about 0", st.CodecName, d)
		}
	}
	within(t, "duration", seconds(t, pr.Format.Duration), max(audio.Duration(), video.Duration()), 0.05)
}
