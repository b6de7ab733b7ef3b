package main

import (
	"testing"

	"parley/sfu/mediatest"
)

// checkLatency fails unless out has a latency summary at name with
// ordered, positive percentiles.
func checkLatency(t *testing.T, out map[string]any, name string) {
	t.Helper()
	p50, p99, top := num(t, out, name+".p50"), num(t, out, name+".p99"), num(t, out, name+".max")
	if p50 <= 0 || p50 > p99 || p99 > top {
		t.Fatalf("%s: p50 %v, p99 %v, max %v: %v", name, p50, p99, top, out)
	}
}

// checkMedia fails unless a media run passed with media flowing and
// whole, clean frames.
func checkMedia(t *testing.T, exit int, out map[string]any, stderr string) {
	t.Helper()
	if exit != 0 {
		t.Fatalf("exit %d: failures %v, errors %v\n%s", exit, out["failures"], out["error_samples"], stderr)
	}
	if _, ok := out["failures"]; ok {
		t.Fatalf("a passing run lists failures: %v", out["failures"])
	}
	if num(t, out, "received_packets") <= 0 || num(t, out, "frames") <= 0 || num(t, out, "keyframes") <= 0 {
		t.Fatalf("no media: %v", out)
	}
	for _, f := range []string{"errors", "corrupt_frames", "frames_before_keyframe"} {
		if num(t, out, f) != 0 {
			t.Fatalf("%s = %v: %v", f, num(t, out, f), out)
		}
	}
	if lost, ratio := num(t, out, "lost_packets"), num(t, out, "loss_ratio"); ratio < 0 || ratio > 0.01 || (lost == 0) != (ratio == 0) {
		t.Fatalf("lost %v, ratio %v", lost, ratio)
	}
	for _, name := range []string{"join_ms", "first_frame_ms"} {
		checkLatency(t, out, name)
	}
	if num(t, out, "server.cpu_seconds") <= 0 || num(t, out, "server.rss_bytes") <= 0 || num(t, out, "client.cpu_seconds") <= 0 {
		t.Fatalf("server or client usage missing: %v", out)
	}
}

func TestBenchMeeting(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	addr, _, _ := startProcess(t, t.TempDir(), "PARLEY_ADMIN_PASSWORD="+benchAdminPassword)
	url := "http://" + addr

	t.Run("video", func(t *testing.T) {
		exit, out, stderr := benchRunScenario(t, "meeting", "--url", url, "--duration", "2s", "--layout", "video", "--publishers", "3")
		checkMedia(t, exit, out, stderr)
		// Three publishers, each picking the other two cameras.
		if num(t, out, "rooms") != 1 || num(t, out, "publishers") != 3 || num(t, out, "subscribers") != 0 ||
			num(t, out, "subscriptions") != 6 || num(t, out, "subscriptions_without_media") != 0 {
			t.Fatalf("shape: %v", out)
		}
		if num(t, out, "forwarded_packets_per_sec") <= 0 || num(t, out, "server_cpu_us_per_forwarded_packet") <= 0 {
			t.Fatalf("rates: %v", out)
		}
		if out["layout"] != "video" {
			t.Fatalf("layout %v", out["layout"])
		}
	})

	t.Run("audio", func(t *testing.T) {
		exit, out, stderr := benchRunScenario(t, "meeting", "--url", url, "--duration", "2s", "--layout", "audio",
			"--rooms", "2", "--publishers", "2", "--subscribers", "2", "--record")
		checkMedia(t, exit, out, stderr)
		checkRecordings(t, out, 4) // one file per publisher
		// Per room: two publishers hear each other (2), two listeners
		// hear both (4).
		if num(t, out, "rooms") != 2 || num(t, out, "participants") != 8 || num(t, out, "subscriptions") != 12 {
			t.Fatalf("shape: %v", out)
		}
		// Every Opus packet is a whole frame and a keyframe.
		if num(t, out, "frames") != num(t, out, "received_packets") {
			t.Fatalf("audio frames %v, packets %v", num(t, out, "frames"), num(t, out, "received_packets"))
		}
	})
}

func TestBenchLive(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	addr, _, _ := startProcess(t, t.TempDir(), "PARLEY_ADMIN_PASSWORD="+benchAdminPassword)
	exit, out, stderr := benchRunScenario(t, "live", "--url", "http://"+addr, "--duration", "2s", "--viewers", "2", "--record")
	checkMedia(t, exit, out, stderr)
	if num(t, out, "viewers") != 2 || num(t, out, "viewers_watching") != 2 {
		t.Fatalf("viewers: %v", out)
	}
	// The stream is about 2.6 Mbit/s of payload; each viewer gets it all.
	if bps := num(t, out, "received_bitrate_bps"); bps < 1.5e6 || bps > 4e6 {
		t.Fatalf("received_bitrate_bps %v", bps)
	}
	if num(t, out, "server_cpu_us_per_viewer_second") <= 0 {
		t.Fatalf("server cost: %v", out)
	}
	checkRecordings(t, out, 1)
}

// checkRecordings fails unless a run with --record found at least files
// recording files, every one read by ffprobe (when installed), lasting
// about as long as what was sent.
func checkRecordings(t *testing.T, out map[string]any, files float64) {
	t.Helper()
	if n := num(t, out, "recordings"); n < files {
		t.Fatalf("recordings %v, want %v: %v", n, files, out)
	}
	if _, ok := out["recordings_valid"]; ok && num(t, out, "recordings_valid") != num(t, out, "recordings") {
		t.Fatalf("invalid recordings: %v", out["recording_files"])
	}
	if rec, sent := num(t, out, "recorded_seconds"), num(t, out, "sent_seconds"); rec <= 0 || rec > sent+files {
		t.Fatalf("recorded %vs of %vs sent", rec, sent)
	}
}
