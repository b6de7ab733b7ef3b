package recording

import (
	"testing"
	"time"

	"parley/sfu/mediatest"
)

// BenchmarkRecordClip records a 2 s VP8+Opus clip (320x180) per
// iteration, from WriteRTP to a finished, synced WebM file and manifest,
// and reports how many seconds of media are recorded per second.
func BenchmarkRecordClip(b *testing.B) {
	audio, err := mediatest.EncodeAudio(clipDuration)
	if err != nil {
		b.Skip(err)
	}
	video, err := mediatest.EncodeVideo(mediatest.VideoSpec{MimeType: MimeTypeVP8, Width: clipWidth, Height: clipHeight, Duration: clipDuration})
	if err != nil {
		b.Skip(err)
	}
	vs := packetize(b, video, 1, 1000, 1, 0)
	as := packetize(b, audio, 2, 2000, 2, 0)
	dir := b.TempDir()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := Start(Config{Dir: dir, ID: "b" + itoa(i), QueueLength: 1 << 14, Logger: quietLogger})
		if err != nil {
			b.Fatal(err)
		}
		p, _ := s.AddParticipant("p")
		vw, _ := p.AddTrack(TrackConfig{ID: "v", MimeType: MimeTypeVP8})
		aw, _ := p.AddTrack(TrackConfig{ID: "a", MimeType: MimeTypeOpus})
		t0 := time.Now()
		vw.WriteSenderReport(vs.senderReport(t0))
		aw.WriteSenderReport(as.senderReport(t0))
		feed(interleave(map[*TrackWriter]*sentStream{vw: vs, aw: as}))
		if _, err := s.Stop(); err != nil {
			b.Fatal(err)
		}
	}
	perIter := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(clipDuration.Seconds()/perIter.Seconds(), "media-s/s")
}
