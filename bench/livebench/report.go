package livebench

import (
	"fmt"
	"io"
	"math"
	"strings"

	"parley/bench/latency"
	"parley/bench/recordcheck"
	"parley/bench/runlog"
	"parley/bench/usage"
)

// Stream describes what the encoder sends.
type Stream struct {
	VideoCodec string  `json:"video_codec"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
	FPS        int     `json:"fps"`
	VideoKbps  float64 `json:"video_kbps"` // the clip's average
	AudioCodec string  `json:"audio_codec"`
	AudioKbps  float64 `json:"audio_kbps"`
}

// Report is what a live run measured. Its JSON form is what --json
// prints, plus "failures"; scripts read it, so every field is documented.
type Report struct {
	RunID          string `json:"run_id"`
	URL            string `json:"url"`
	OpenFilesLimit uint64 `json:"open_files_limit"`
	LiveID         string `json:"live_id"`
	Stream         Stream `json:"stream"`
	Viewers        int    `json:"viewers"` // asked for
	// Watching is how many viewers had a picture when the window began;
	// WithoutMedia how many had none.
	Watching     int `json:"viewers_watching"`
	WithoutMedia int `json:"viewers_without_media"`

	// The window: the live flowing for the configured duration after
	// every viewer joined. Figures are from it unless they say otherwise.
	DurationSeconds float64 `json:"duration_seconds"`
	SentBitrateBps  float64 `json:"sent_bitrate_bps"` // the encoder's payload
	// ReceivedBitrateBps is the payload a viewer received a second, the
	// mean over viewers watching; MinViewerBitrateBps the lowest.
	ReceivedBitrateBps  float64 `json:"received_bitrate_bps"`
	MinViewerBitrateBps float64 `json:"min_viewer_bitrate_bps"`
	ReceivedPackets     int64   `json:"received_packets"`
	LostPackets         int64   `json:"lost_packets"`
	Duplicates          int64   `json:"duplicate_packets"`
	LossRatio           float64 `json:"loss_ratio"` // lost / (received + lost)

	Frames    int64 `json:"frames"` // whole video frames, all viewers
	Keyframes int64 `json:"keyframes"`
	// The frame checks count over the whole run, joins included.
	CorruptFrames     int64 `json:"corrupt_frames"`
	BeforeKeyframe    int64 `json:"frames_before_keyframe"`
	UndecodableFrames int64 `json:"undecodable_frames"`
	ViewerPLIs        int64 `json:"viewer_keyframe_requests"` // PLIs the viewers sent
	KeyframeAnswers   int64 `json:"keyframe_requests"`        // PLIs or FIRs the encoder answered, whole run
	PublisherStalls   int64 `json:"publisher_stalls"`

	// JoinMs runs from the WHEP request to its 201; FirstFrameMs from the
	// viewer's first WHEP request to its first whole keyframe; LatencyMs
	// from the encoder writing a frame to the arrival of its last packet
	// at a viewer, an upper bound on what the server adds.
	JoinMs       latency.Summary `json:"join_ms"`
	FirstFrameMs latency.Summary `json:"first_frame_ms"`
	LatencyMs    latency.Summary `json:"latency_ms"`

	Server usage.Server `json:"server"`
	// ServerCPUUsPerViewerSecond is the server's CPU time in the window
	// over viewers watching × seconds.
	ServerCPUUsPerViewerSecond float64      `json:"server_cpu_us_per_viewer_second"`
	Client                     usage.Client `json:"client"`
	WallSeconds                float64      `json:"wall_seconds"`
	BenchBound                 bool         `json:"bench_bound"`

	// With --record: the files of the live's recordings, how many
	// ffprobe read (absent without ffprobe), and recorded against sent
	// time (the encoder's, from its WHIP request to its DELETE).
	Recordings      *int               `json:"recordings,omitempty"`
	RecordingsValid *int               `json:"recordings_valid,omitempty"`
	RecordedSeconds float64            `json:"recorded_seconds,omitempty"`
	SentSeconds     float64            `json:"sent_seconds,omitempty"`
	RecordingFiles  []recordcheck.File `json:"recording_files,omitempty"`

	Errors       int64    `json:"errors"`
	ErrorSamples []string `json:"error_samples,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
	Problems     []string `json:"problems,omitempty"`

	measured bool
	cfg      Config
}

// fill sets the window's figures from the counts at its start and end.
func (rep *Report) fill(after, before viewerCounts, w usage.Window, r *runner) {
	rep.measured = true
	rep.DurationSeconds, rep.WallSeconds = w.WallSeconds, w.WallSeconds
	d, video := after.all.Sub(before.all), after.video.Sub(before.video)
	rep.ReceivedPackets, rep.LostPackets, rep.Duplicates = d.Packets, d.Lost(), d.Duplicates
	if total := d.Packets + d.Lost(); total > 0 {
		rep.LossRatio = float64(d.Lost()) / float64(total)
	}
	rep.Frames, rep.Keyframes = video.Frames, video.Keyframes
	rep.CorruptFrames, rep.BeforeKeyframe, rep.UndecodableFrames = after.all.Corrupt, after.all.BeforeKeyframe, after.all.Undecodable
	if rep.BeforeKeyframe > 0 {
		// Not a failure: a decoder drops them and asks for a keyframe, as
		// these viewers do. It costs first-picture time, so say so.
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d video frames arrived before their stream's first keyframe (dropped, as a decoder would; they delay the first picture)", rep.BeforeKeyframe))
	}
	rep.ViewerPLIs = after.all.PLIs
	rep.Watching = rep.Viewers - rep.WithoutMedia
	if w.WallSeconds > 0 && rep.Watching > 0 {
		rep.ReceivedBitrateBps = float64(d.Bytes) * 8 / w.WallSeconds / float64(rep.Watching)
		rep.MinViewerBitrateBps = math.Inf(1)
		for _, v := range r.viewers {
			if _, ok := v.firstFrame(); !ok {
				continue
			}
			v.mu.Lock()
			bps := float64(v.after.Sub(v.before).Bytes) * 8 / w.WallSeconds
			v.mu.Unlock()
			rep.MinViewerBitrateBps = min(rep.MinViewerBitrateBps, bps)
		}
		rep.ServerCPUUsPerViewerSecond = w.Server.CPUSeconds * 1e6 / (float64(rep.Watching) * w.WallSeconds)
	}
	if math.IsInf(rep.MinViewerBitrateBps, 1) {
		rep.MinViewerBitrateBps = 0
	}
	rep.JoinMs, rep.LatencyMs = r.join.Summary(), r.lat.Summary()
	rep.Server, rep.Client, rep.BenchBound = w.Server, w.Client, w.BenchBound
}

// Failures lists everything that makes the run fail.
func (rep *Report) Failures() []string {
	var out []string
	if rep.Errors > 0 {
		out = append(out, fmt.Sprintf("%d errors", rep.Errors))
	}
	if rep.WithoutMedia > 0 {
		out = append(out, fmt.Sprintf("%d of %d viewers got no whole picture", rep.WithoutMedia, rep.Viewers))
	}
	if rep.measured {
		if rep.ReceivedPackets == 0 {
			out = append(out, "no media arrived in the window")
		}
		if rep.CorruptFrames > 0 {
			out = append(out, fmt.Sprintf("%d frames arrived that match no frame sent", rep.CorruptFrames))
		}
		if rep.LossRatio > rep.cfg.MaxLoss {
			out = append(out, fmt.Sprintf("lost %.3f %% of packets, more than --max-loss %.3f %%", 100*rep.LossRatio, 100*rep.cfg.MaxLoss))
		}
	}
	if rep.cfg.Record && rep.measured {
		least := minRecordedShare*rep.SentSeconds - recordedSlack.Seconds()
		if f := recordcheck.Failure("the live was recorded", rep.Recordings, rep.RecordingsValid, rep.RecordedSeconds, least, rep.SentSeconds); f != "" {
			out = append(out, f)
		}
	}
	return append(out, rep.Problems...)
}

// JSONValue is what --json prints: the report and "failures" (absent when
// the run passed).
func (rep *Report) JSONValue() any {
	return struct {
		*Report
		Failures []string `json:"failures,omitempty"`
	}{rep, rep.Failures()}
}

// WriteSummary writes the report for people.
func (rep *Report) WriteSummary(w io.Writer) {
	fmt.Fprintf(w, "parley bench live: run %s against %s, live %s\n", rep.RunID, rep.URL, rep.LiveID)
	s := rep.Stream
	fmt.Fprintf(w, "  stream: %s %dx%d %d fps %.0f kbit/s + %s %.0f kbit/s, over WHIP; %d viewers over WHEP (%d watching)\n",
		s.VideoCodec, s.Width, s.Height, s.FPS, s.VideoKbps, s.AudioCodec, s.AudioKbps, rep.Viewers, rep.Watching)
	if !rep.measured {
		fmt.Fprintln(w, "  the run ended before the measured window")
	} else {
		fmt.Fprintf(w, "  window %.1fs: sent %.2f Mbit/s; each viewer received %.2f Mbit/s (lowest %.2f)\n",
			rep.DurationSeconds, rep.SentBitrateBps/1e6, rep.ReceivedBitrateBps/1e6, rep.MinViewerBitrateBps/1e6)
		fmt.Fprintf(w, "  received %d packets, lost %d (%.4f %%), %d duplicates\n", rep.ReceivedPackets, rep.LostPackets, 100*rep.LossRatio, rep.Duplicates)
		fmt.Fprintf(w, "  frames: %d whole, %d keyframes; over the run %d corrupt, %d before a keyframe, %d undecodable after a loss\n",
			rep.Frames, rep.Keyframes, rep.CorruptFrames, rep.BeforeKeyframe, rep.UndecodableFrames)
	}
	fmt.Fprintf(w, "  %-28s %9s %9s %9s %9s\n", "latency (ms)", "p50", "p90", "p99", "max")
	for _, l := range []struct {
		name string
		s    latency.Summary
	}{{"join (WHEP)", rep.JoinMs}, {"first picture", rep.FirstFrameMs}, {"frame, encoder to viewer", rep.LatencyMs}} {
		fmt.Fprintf(w, "  %-28s %9.3f %9.3f %9.3f %9.3f\n", l.name, l.s.P50, l.s.P90, l.s.P99, l.s.Max)
	}
	if rep.measured {
		wall := max(rep.WallSeconds, 1e-9)
		fmt.Fprintf(w, "  server: %.2f CPU seconds (%.2f cores), %.0f µs per viewer-second, RSS %.1f MiB at the end\n",
			rep.Server.CPUSeconds, rep.Server.CPUSeconds/wall, rep.ServerCPUUsPerViewerSecond, float64(rep.Server.RSSBytes)/(1<<20))
		usage.WriteForward(w, rep.Server, "live")
		usage.WriteClient(w, rep.Client, rep.WallSeconds, rep.BenchBound)
	}
	if rep.Recordings != nil {
		recordcheck.WriteSummary(w, *rep.Recordings, rep.RecordingsValid, rep.RecordedSeconds, rep.SentSeconds)
	}
	runlog.WriteNotes(w, rep.Warnings, rep.ErrorSamples)
	if f := rep.Failures(); len(f) > 0 {
		fmt.Fprintf(w, "  FAILED: %s\n", strings.Join(f, "; "))
	} else {
		fmt.Fprintln(w, "  correctness: every viewer got whole frames of what was sent, starting on a keyframe")
	}
}
