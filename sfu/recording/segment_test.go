package recording

import (
	"path/filepath"
	"testing"
	"time"

	"parley/sfu/mediatest"
)

func TestReconnectStartsNewSegment(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	audio := mediatest.Audio(t, clipDuration)
	video := videoClip(t, MimeTypeVP8, clipDuration)
	for _, tc := range []struct {
		name     string
		explicit bool // the room layer calls NewSegment
	}{{"NewSegment", true}, {"new SSRC alone", false}} {
		t.Run(tc.name, func(t *testing.T) {
			s := startSession(t, nil)
			p, err := s.AddParticipant("dave")
			if err != nil {
				t.Fatal(err)
			}
			vw, _ := p.AddTrack(TrackConfig{ID: "cam", MimeType: MimeTypeVP8})
			aw, _ := p.AddTrack(TrackConfig{ID: "mic", MimeType: MimeTypeOpus})

			t0 := time.Now()
			vs := packetize(t, video, 0x100, 5000, 10, 0)
			as := packetize(t, audio, 0x200, 6000, 20, 0)
			vw.WriteSenderReport(vs.senderReport(t0))
			aw.WriteSenderReport(as.senderReport(t0))
			feed(perturb(interleave(map[*TrackWriter]*sentStream{vw: vs, aw: as})))

			// The publisher drops and comes back: new SSRCs, new timestamp
			// and sequence bases, its reports ahead of its first packets.
			if tc.explicit {
				if err := p.NewSegment(); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(20 * time.Millisecond) // the second file must start later on our clock
			vs2 := packetize(t, video, 0x300, 0x9000_0000, 30000, 0)
			as2 := packetize(t, audio, 0x400, 0x1234_5678, 40000, 0)
			t1 := time.Now()
			vw.WriteSenderReport(vs2.senderReport(t1))
			aw.WriteSenderReport(as2.senderReport(t1))
			feed(perturb(interleave(map[*TrackWriter]*sentStream{vw: vs2, aw: as2})))

			m, err := s.Stop()
			if err != nil {
				t.Fatal(err)
			}
			if len(m.Files) != 2 {
				t.Fatalf("manifest lists %d files, want 2: %+v", len(m.Files), m.Files)
			}
			first, second := m.Files[0], m.Files[1]
			if first.Name != "dave-000.webm" || second.Name != "dave-001.webm" || first.Segment != 0 || second.Segment != 1 {
				t.Fatalf("files %+v", m.Files)
			}
			if second.StartOffset <= first.StartOffset {
				t.Fatalf("second segment starts at %d ms, not after the first at %d ms", second.StartOffset, first.StartOffset)
			}
			sent := max(audio.Duration(), video.Duration())
			for _, e := range m.Files {
				path := filepath.Join(s.Dir(), e.Name)
				pr := ffprobe(t, path)
				if pr.Format.NbStreams != 2 {
					t.Fatalf("%s: %d streams", e.Name, pr.Format.NbStreams)
				}
				within(t, e.Name+" duration", seconds(t, pr.Format.Duration), sent, 0.05)
				decodes(t, path)
			}
			if got := vw.Stats().Frames; got != uint64(2*len(video.Frames)) {
				t.Fatalf("video frames written %d, want %d", got, 2*len(video.Frames))
			}
			if got := aw.Stats().Frames; got != uint64(2*len(audio.Frames)) {
				t.Fatalf("audio frames written %d, want %d", got, 2*len(audio.Frames))
			}
		})
	}
}

func TestCameraAddedLaterStartsNewFile(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	audio := mediatest.Audio(t, clipDuration)
	video := videoClip(t, MimeTypeH264, time.Second)
	s := startSession(t, nil)
	p, _ := s.AddParticipant("judy")
	aw, _ := p.AddTrack(TrackConfig{ID: "mic", MimeType: MimeTypeOpus})
	t0 := time.Now()
	as := packetize(t, audio, 1, 500, 5, 0)
	aw.WriteSenderReport(as.senderReport(t0))
	items := interleave(map[*TrackWriter]*sentStream{aw: as})
	half := len(items) / 2
	feed(items[:half])

	// The camera comes on halfway: a new file holds both tracks, in MP4
	// now that there is H.264.
	vw, err := p.AddTrack(TrackConfig{ID: "cam", MimeType: MimeTypeH264})
	if err != nil {
		t.Fatal(err)
	}
	vs := packetize(t, video, 2, 600, 6, items[half].at)
	vw.WriteSenderReport(vs.senderReport(t0))
	rest := interleave(map[*TrackWriter]*sentStream{aw: {packets: as.packets[half:]}, vw: vs})
	feed(rest)

	m, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != 2 || m.Files[0].Name != "judy-000.webm" || m.Files[1].Name != "judy-001.mp4" {
		t.Fatalf("files %+v, want judy-000.webm then judy-001.mp4", m.Files)
	}
	// The audio track and its Sender Reports carry on across the files,
	// so their offsets keep the sender's timing: the camera came on 1 s in.
	if d := time.Duration(m.Files[1].StartOffset-m.Files[0].StartOffset) * time.Millisecond; d < 960*time.Millisecond || d > 1040*time.Millisecond {
		t.Fatalf("second file starts %v after the first, want 1s within 40ms: %+v", d, m.Files)
	}
	audioOnly := ffprobe(t, filepath.Join(s.Dir(), m.Files[0].Name))
	if audioOnly.Format.NbStreams != 1 || audioOnly.Streams[0].CodecName != "opus" {
		t.Fatalf("first file: %+v", audioOnly)
	}
	// The audio file runs on until the video's first frames are through
	// the jitter buffer; the MP4 picks the audio up from there.
	if d := seconds(t, audioOnly.Format.Duration); d < audio.Duration()/2 || d > audio.Duration()/2+300*time.Millisecond {
		t.Fatalf("audio-only file lasts %v, want a little over %v", d, audio.Duration()/2)
	}
	both := ffprobe(t, filepath.Join(s.Dir(), m.Files[1].Name))
	if both.Format.NbStreams != 2 {
		t.Fatalf("second file: %+v", both)
	}
	decodes(t, filepath.Join(s.Dir(), m.Files[1].Name))
	if got, want := aw.Stats().Frames, uint64(len(audio.Frames)); got != want {
		t.Fatalf("audio frames written %d, want all %d across the two files", got, want)
	}
	if got, want := vw.Stats().Frames, uint64(len(video.Frames)); got != want {
		t.Fatalf("video frames written %d, want %d", got, want)
	}
}
