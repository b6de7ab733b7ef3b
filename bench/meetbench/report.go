package meetbench

import (
	"fmt"
	"io"
	"strings"

	"parley/bench/latency"
	"parley/bench/recordcheck"
	"parley/bench/rtcpeer"
	"parley/bench/runlog"
	"parley/bench/usage"
)

// Media describes the clip every publisher sends.
type Media struct {
	Codec       string  `json:"codec"`
	Width       int     `json:"width,omitempty"`
	Height      int     `json:"height,omitempty"`
	BitrateKbps float64 `json:"bitrate_kbps"` // the clip's average
}

func mediaOf(c *rtcpeer.Clip) Media {
	return Media{Codec: c.MimeType, Width: c.Width, Height: c.Height, BitrateKbps: c.BitrateBps() / 1000}
}

// Report is what a meeting run measured. Its JSON form is what --json
// prints, plus "failures"; scripts read it, so every field is documented.
type Report struct {
	RunID          string `json:"run_id"`
	URL            string `json:"url"`
	OpenFilesLimit uint64 `json:"open_files_limit"`
	Layout         string `json:"layout"`
	Rooms          int    `json:"rooms"`
	Publishers     int    `json:"publishers"`  // per room; they receive too
	Subscribers    int    `json:"subscribers"` // per room; they only receive
	Participants   int    `json:"participants"`
	Media          Media  `json:"media"`
	// Subscriptions is how many (participant, track) pairs the run
	// expected media on; WithoutMedia of them got no whole frame.
	Subscriptions int `json:"subscriptions"`
	WithoutMedia  int `json:"subscriptions_without_media"`

	// The window: the media flowing for the configured duration after
	// everyone joined. Every figure below but join_ms and first_frame_ms
	// is from the window.
	DurationSeconds float64 `json:"duration_seconds"`
	SentFrames      int64   `json:"sent_frames"` // by all publishers

	ReceivedPackets int64   `json:"received_packets"` // distinct packets, all subscriptions
	LostPackets     int64   `json:"lost_packets"`     // sequence numbers that never arrived
	Duplicates      int64   `json:"duplicate_packets"`
	LossRatio       float64 `json:"loss_ratio"` // lost / (received + lost)
	// ForwardedPacketsPerSec is the packets the server forwarded that
	// arrived, a second: received_packets over the window.
	ForwardedPacketsPerSec float64 `json:"forwarded_packets_per_sec"`
	ReceivedBitrateBps     float64 `json:"received_bitrate_bps"` // payload, all subscriptions together

	Frames            int64 `json:"frames"` // whole frames received
	Keyframes         int64 `json:"keyframes"`
	CorruptFrames     int64 `json:"corrupt_frames"`         // matching no frame of the clip
	BeforeKeyframe    int64 `json:"frames_before_keyframe"` // a stream that did not start on a keyframe
	UndecodableFrames int64 `json:"undecodable_frames"`     // after a loss, before the next keyframe
	KeyframeAnswers   int64 `json:"keyframe_requests"`      // PLI or FIR the publishers answered
	PublisherStalls   int64 `json:"publisher_stalls"`       // see rtcpeer.SourceStats

	// JoinMs runs from meeting.join to meeting.joined. FirstFrameMs runs
	// from when a participant could ask for a track (its join, the
	// track's announcement, or its meeting.subscribe) to the first whole
	// frame it could show. LatencyMs runs from a publisher writing a
	// frame to the arrival of its last packet at a subscriber.
	JoinMs       latency.Summary `json:"join_ms"`
	FirstFrameMs latency.Summary `json:"first_frame_ms"`
	LatencyMs    latency.Summary `json:"latency_ms"`

	Server usage.Server `json:"server"`
	// ServerCPUUsPerForwardedPacket is the server's CPU time in the
	// window over the packets received in it.
	ServerCPUUsPerForwardedPacket float64      `json:"server_cpu_us_per_forwarded_packet"`
	Client                        usage.Client `json:"client"`
	WallSeconds                   float64      `json:"wall_seconds"`
	BenchBound                    bool         `json:"bench_bound"` // the generator used ≥ 90 % of its cores

	// With --record: the files of the rooms' recordings, how many
	// ffprobe read (absent without ffprobe), and recorded against sent
	// time (each publisher's, from the host's start to its stop). The
	// files must last at least minRecordedShare of the time from the
	// room's "started" (media on disk) to the stop, less recordedSlack.
	Recordings      *int               `json:"recordings,omitempty"`
	RecordingsValid *int               `json:"recordings_valid,omitempty"`
	RecordedSeconds float64            `json:"recorded_seconds,omitempty"`
	SentSeconds     float64            `json:"sent_seconds,omitempty"`
	RecordingFiles  []recordcheck.File `json:"recording_files,omitempty"`

	Errors       int64    `json:"errors"`
	ErrorSamples []string `json:"error_samples,omitempty"`
	Warnings     []string `json:"warnings,omitempty"`
	// Problems are failures outside the counters: a failed cleanup, an
	// interrupt.
	Problems []string `json:"problems,omitempty"`

	measured    bool
	minRecorded float64 // seconds the files must add up to at least
	cfg         Config
}

// fill sets the window's figures from c, and the frame checks from
// total, what arrived over the whole run: a stream's start, which the
// checks are mostly about, comes before the window.
func (rep *Report) fill(c, total rtcpeer.Counts, w usage.Window, r *runner) {
	rep.measured = true
	rep.DurationSeconds = w.WallSeconds
	rep.WallSeconds = w.WallSeconds
	rep.ReceivedPackets, rep.LostPackets, rep.Duplicates = c.Packets, c.Lost(), c.Duplicates
	if total := c.Packets + c.Lost(); total > 0 {
		rep.LossRatio = float64(c.Lost()) / float64(total)
	}
	if w.WallSeconds > 0 {
		rep.ForwardedPacketsPerSec = float64(c.Packets) / w.WallSeconds
		rep.ReceivedBitrateBps = float64(c.Bytes) * 8 / w.WallSeconds
	}
	rep.Frames, rep.Keyframes = c.Frames, c.Keyframes
	rep.CorruptFrames, rep.BeforeKeyframe, rep.UndecodableFrames = total.Corrupt, total.BeforeKeyframe, total.Undecodable
	if rep.BeforeKeyframe > 0 {
		// Not a failure: a decoder drops them and asks for a keyframe, as
		// these viewers do. It costs first-picture time, so say so.
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("%d video frames arrived before their stream's first keyframe (dropped, as a decoder would; they delay the first picture)", rep.BeforeKeyframe))
	}
	rep.JoinMs = r.join.Summary()
	rep.LatencyMs = r.lat.Summary()
	rep.Server, rep.Client, rep.BenchBound = w.Server, w.Client, w.BenchBound
	if c.Packets > 0 {
		rep.ServerCPUUsPerForwardedPacket = w.Server.CPUSeconds * 1e6 / float64(c.Packets)
	}
}

// Failures lists everything that makes the run fail.
func (rep *Report) Failures() []string {
	var out []string
	if rep.Errors > 0 {
		out = append(out, fmt.Sprintf("%d errors", rep.Errors))
	}
	if rep.WithoutMedia > 0 {
		out = append(out, fmt.Sprintf("%d of %d subscriptions got no whole frame", rep.WithoutMedia, rep.Subscriptions))
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
		if f := recordcheck.Failure("the meetings were recorded", rep.Recordings, rep.RecordingsValid, rep.RecordedSeconds, rep.minRecorded, rep.SentSeconds); f != "" {
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
	fmt.Fprintf(w, "parley bench meeting: run %s against %s\n", rep.RunID, rep.URL)
	shape := fmt.Sprintf("%d publishers (microphones) and %d listeners, everyone hears every microphone", rep.Publishers, rep.Subscribers)
	if rep.Layout == LayoutVideo {
		shape = fmt.Sprintf("%d publishers (cameras) and %d subscribers, each picking up to %d cameras", rep.Publishers, rep.Subscribers, VideosPerSubscriber)
	}
	fmt.Fprintf(w, "  %d room(s) of %s: %d participants, %d subscriptions\n", rep.Rooms, shape, rep.Participants, rep.Subscriptions)
	m := rep.Media
	if m.Width > 0 {
		fmt.Fprintf(w, "  media: %s %dx%d, %.0f kbit/s\n", m.Codec, m.Width, m.Height, m.BitrateKbps)
	} else {
		fmt.Fprintf(w, "  media: %s, %.0f kbit/s\n", m.Codec, m.BitrateKbps)
	}
	if !rep.measured {
		fmt.Fprintln(w, "  the run ended before the measured window")
	} else {
		fmt.Fprintf(w, "  window %.1fs: received %d packets (%.0f/s forwarded, %.2f Mbit/s), lost %d (%.4f %%), %d duplicates\n",
			rep.DurationSeconds, rep.ReceivedPackets, rep.ForwardedPacketsPerSec, rep.ReceivedBitrateBps/1e6,
			rep.LostPackets, 100*rep.LossRatio, rep.Duplicates)
		fmt.Fprintf(w, "  frames: %d whole, %d keyframes, %d corrupt, %d before a keyframe, %d undecodable after a loss; %d keyframe requests answered\n",
			rep.Frames, rep.Keyframes, rep.CorruptFrames, rep.BeforeKeyframe, rep.UndecodableFrames, rep.KeyframeAnswers)
	}
	fmt.Fprintf(w, "  %-28s %9s %9s %9s %9s\n", "latency (ms)", "p50", "p90", "p99", "max")
	for _, l := range []struct {
		name string
		s    latency.Summary
	}{{"join", rep.JoinMs}, {"first frame", rep.FirstFrameMs}, {"frame, publisher to viewer", rep.LatencyMs}} {
		fmt.Fprintf(w, "  %-28s %9.3f %9.3f %9.3f %9.3f\n", l.name, l.s.P50, l.s.P90, l.s.P99, l.s.Max)
	}
	if rep.measured {
		wall := max(rep.WallSeconds, 1e-9)
		fmt.Fprintf(w, "  server: %.2f CPU seconds (%.2f cores), %.2f µs per forwarded packet, RSS %.1f MiB at the end\n",
			rep.Server.CPUSeconds, rep.Server.CPUSeconds/wall, rep.ServerCPUUsPerForwardedPacket, float64(rep.Server.RSSBytes)/(1<<20))
		usage.WriteForward(w, rep.Server, "meeting")
		usage.WriteClient(w, rep.Client, rep.WallSeconds, rep.BenchBound)
	}
	if rep.Recordings != nil {
		recordcheck.WriteSummary(w, *rep.Recordings, rep.RecordingsValid, rep.RecordedSeconds, rep.SentSeconds)
	}
	runlog.WriteNotes(w, rep.Warnings, rep.ErrorSamples)
	if f := rep.Failures(); len(f) > 0 {
		fmt.Fprintf(w, "  FAILED: %s\n", strings.Join(f, "; "))
	} else {
		fmt.Fprintln(w, "  correctness: every subscription got whole frames of what was sent, starting on a keyframe")
	}
}
