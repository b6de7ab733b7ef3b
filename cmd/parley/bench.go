package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"parley/bench/chatbench"
	"parley/bench/livebench"
	"parley/bench/meetbench"
)

// Defaults of "parley bench chat": a short run that already means
// something, against a server started with "go run ./cmd/parley".
const (
	benchDefaultURL        = "http://127.0.0.1:8080"
	benchDefaultDuration   = 10 * time.Second
	benchDefaultConns      = 200
	benchDefaultGroupSize  = 100
	benchDefaultInflight   = 1
	benchDefaultSize       = 64
	benchDefaultOut        = "bench/out"
	benchDefaultMemberRate = 50 // the server's default chat.send_per_second
)

func benchUsage(w io.Writer) {
	fmt.Fprint(w, `Usage: parley bench <scenario> [flags]

Scenarios:
  chat      chat over WebSockets: throughput, ack and end-to-end latency,
            and a check of every delivery; "parley bench chat -h" lists its flags
  meeting   meetings over WebRTC: forwarded packets, loss, join and first-frame
            times, and a check of every frame; "parley bench meeting -h"
  live      a live over WHIP to viewers over WHEP: bitrate, loss, join and
            first-frame times, recordings; "parley bench live -h"

The exit status is 0 when the run had no error and no correctness
violation (chat: a lost, duplicated or reordered delivery; media: a
subscription without media, a corrupt frame, a stream not starting on a
keyframe, loss above --max-loss), 1 when it had any, and 2 for bad usage.
`)
}

// bench runs the load generator.
func bench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		benchUsage(stderr)
		return fmt.Errorf("%w: name a scenario", errUsage)
	}
	switch args[0] {
	case "chat":
		return benchChat(args[1:], stdout, stderr)
	case "meeting":
		return benchMeeting(args[1:], stdout, stderr)
	case "live":
		return benchLive(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		benchUsage(stdout)
		return flag.ErrHelp
	default:
		benchUsage(stderr)
		return fmt.Errorf("%w: unknown scenario %q", errUsage, args[0])
	}
}

func benchChat(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley bench chat", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg chatbench.Config
	var jsonOut bool
	var sweep, out string
	var memberRate float64
	fs.StringVar(&cfg.URL, "url", benchDefaultURL, "server base URL")
	fs.StringVar(&cfg.AdminPassword, "admin-password", "", "password of the super admin \"admin\" (default $PARLEY_ADMIN_PASSWORD)")
	fs.DurationVar(&cfg.Duration, "duration", benchDefaultDuration, "sending time (of each step with --sweep)")
	fs.BoolVar(&jsonOut, "json", false, "print one JSON object on stdout instead of the summary, and no progress")
	fs.IntVar(&cfg.Conns, "conns", benchDefaultConns, "WebSocket connections that send and receive, one member each (default with --groups: groups × group-size)")
	fs.IntVar(&cfg.Groups, "groups", 0, "number of groups; 0 pairs connections in direct conversations")
	fs.IntVar(&cfg.GroupSize, "group-size", benchDefaultGroupSize, "members per group, online or not")
	fs.Float64Var(&cfg.Rate, "rate", 0, "total messages/s, open loop; 0 runs closed loop")
	fs.IntVar(&cfg.Inflight, "inflight", benchDefaultInflight, "closed loop: sends outstanding per connection (the server answers one connection in order)")
	fs.IntVar(&cfg.Size, "size", benchDefaultSize, "text bytes per message")
	fs.IntVar(&cfg.Idle, "idle", 0, "open this many idle connections and report the server's memory per connection")
	fs.IntVar(&cfg.Slow, "slow", 0, "run the load twice, the second time with this many more connections that never read, and compare the others' p99")
	fs.StringVar(&sweep, "sweep", "", "comma-separated offered rates, one open-loop step each; writes JSON and an SVG chart to --out")
	fs.StringVar(&out, "out", benchDefaultOut, "directory for --sweep files")
	fs.BoolVar(&cfg.Keep, "keep", false, "leave the run's members active at the end")
	fs.BoolVar(&cfg.AllowReorder, "allow-reorder", false, "count deliveries that arrive out of seq order but do not fail the run for them")
	fs.Float64Var(&memberRate, "member-rate", benchDefaultMemberRate, "highest send rate asked of one member (the server's chat.send_per_second); open loop raises a default --conns to stay under it; 0 turns this off")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.AdminPassword == "" {
		cfg.AdminPassword = os.Getenv("PARLEY_ADMIN_PASSWORD")
	}
	if cfg.Groups > 0 && !set["conns"] {
		cfg.Conns = cfg.Groups * cfg.GroupSize
	}
	for _, field := range strings.Split(sweep, ",") {
		if field = strings.TrimSpace(field); field == "" {
			continue
		}
		r, err := strconv.ParseFloat(field, 64)
		if err != nil {
			return fmt.Errorf("%w: --sweep: %q is not a rate", errUsage, field)
		}
		cfg.Sweep = append(cfg.Sweep, r)
	}
	fitMemberRate(&cfg, memberRate, set["conns"], stderr)
	if !jsonOut {
		cfg.Progress = stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := chatbench.Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, chatbench.ErrConfig) {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return err
	}
	if len(cfg.Sweep) > 0 {
		if err := rep.WriteSweepFiles(out); err != nil {
			return err
		}
	}
	if jsonOut {
		if err := json.NewEncoder(stdout).Encode(rep.JSONValue()); err != nil {
			return err
		}
	} else {
		rep.WriteSummary(stdout)
	}
	if f := rep.Failures(); len(f) > 0 {
		return fmt.Errorf("the run failed: %s", strings.Join(f, "; "))
	}
	return nil
}

// fitMemberRate makes sure no member is asked to send faster than
// memberRate in open loop: the server limits sends per member, so a run
// needs at least rate/memberRate members sending. When --conns was left
// at its default it is raised (and said so); otherwise the run goes ahead
// with a warning, and the rate_limited errors will show in the report.
func fitMemberRate(cfg *chatbench.Config, memberRate float64, connsSet bool, stderr io.Writer) {
	top := cfg.Rate
	for _, r := range cfg.Sweep {
		top = max(top, r)
	}
	if memberRate <= 0 || top <= 0 || cfg.Conns <= 0 {
		return
	}
	need := int(math.Ceil(top / memberRate))
	if cfg.Groups == 0 && need%2 == 1 {
		need++
	}
	if need <= cfg.Conns {
		return
	}
	if !connsSet && (cfg.Groups == 0 || need <= cfg.Groups*cfg.GroupSize) {
		fmt.Fprintf(stderr, "parley bench: raising --conns from %d to %d so no member sends more than %g messages/s (--member-rate)\n", cfg.Conns, need, memberRate)
		cfg.Conns = need
		return
	}
	fmt.Fprintf(stderr, "parley bench: warning: %g messages/s over %d connections is %.0f per member, above --member-rate %g; expect rate_limited errors unless the server allows more\n",
		top, cfg.Conns, top/float64(cfg.Conns), memberRate)
}

// benchDefaultMediaDuration is the measured window of "parley bench
// meeting" and "parley bench live": media runs a little longer than the
// window, for joining and first frames.
const benchDefaultMediaDuration = 10 * time.Second

// benchDefaultMaxLoss is the share of packets a media run may lose before
// it fails: on loopback, loss means a side ran out of CPU or buffers.
const benchDefaultMaxLoss = 0.01

func benchMeeting(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley bench meeting", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg meetbench.Config
	var jsonOut bool
	fs.StringVar(&cfg.URL, "url", benchDefaultURL, "server base URL")
	fs.StringVar(&cfg.AdminPassword, "admin-password", "", "password of the super admin \"admin\" (default $PARLEY_ADMIN_PASSWORD)")
	fs.DurationVar(&cfg.Duration, "duration", benchDefaultMediaDuration, "measured time, once everyone has joined")
	fs.BoolVar(&jsonOut, "json", false, "print one JSON object on stdout instead of the summary, and no progress")
	fs.StringVar(&cfg.Layout, "layout", meetbench.LayoutVideo, "\"video\": every participant picks 6 cameras; \"audio\": everyone hears every microphone")
	fs.IntVar(&cfg.Rooms, "rooms", meetbench.DefaultRooms, "meetings at once, each of the same shape")
	fs.IntVar(&cfg.Publishers, "publishers", 0, fmt.Sprintf("participants per room that publish (and receive); default %d for video, %d for audio",
		meetbench.DefaultVideoPublishers, meetbench.DefaultAudioPublishers))
	fs.IntVar(&cfg.Subscribers, "subscribers", 0, fmt.Sprintf("participants per room that only receive; default %d for video, %d for audio",
		meetbench.DefaultVideoSubscribers, meetbench.DefaultAudioSubscribers))
	fs.BoolVar(&cfg.Record, "record", false, "have each room's host record the meeting, then fetch the recordings and check them with ffprobe")
	fs.Float64Var(&cfg.MaxLoss, "max-loss", benchDefaultMaxLoss, "share of packets that may be lost before the run fails")
	fs.BoolVar(&cfg.Keep, "keep", false, "leave the run's members active at the end")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["publishers"] {
		cfg.Publishers = meetbench.DefaultVideoPublishers
		if cfg.Layout == meetbench.LayoutAudio {
			cfg.Publishers = meetbench.DefaultAudioPublishers
		}
	}
	if !set["subscribers"] {
		cfg.Subscribers = meetbench.DefaultVideoSubscribers
		if cfg.Layout == meetbench.LayoutAudio {
			cfg.Subscribers = meetbench.DefaultAudioSubscribers
		}
	}
	if cfg.AdminPassword == "" {
		cfg.AdminPassword = os.Getenv("PARLEY_ADMIN_PASSWORD")
	}
	if !jsonOut {
		cfg.Progress = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := meetbench.Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, meetbench.ErrConfig) {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return err
	}
	return benchReport(rep, jsonOut, stdout)
}

// mediaReport is what the media scenarios' reports have in common.
type mediaReport interface {
	JSONValue() any
	WriteSummary(io.Writer)
	Failures() []string
}

// benchReport prints a media run's report and fails when the run did.
func benchReport(rep mediaReport, jsonOut bool, stdout io.Writer) error {
	if jsonOut {
		if err := json.NewEncoder(stdout).Encode(rep.JSONValue()); err != nil {
			return err
		}
	} else {
		rep.WriteSummary(stdout)
	}
	if f := rep.Failures(); len(f) > 0 {
		return fmt.Errorf("the run failed: %s", strings.Join(f, "; "))
	}
	return nil
}

func benchLive(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("parley bench live", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg livebench.Config
	var jsonOut bool
	fs.StringVar(&cfg.URL, "url", benchDefaultURL, "server base URL")
	fs.StringVar(&cfg.AdminPassword, "admin-password", "", "password of the super admin \"admin\" (default $PARLEY_ADMIN_PASSWORD)")
	fs.DurationVar(&cfg.Duration, "duration", benchDefaultMediaDuration, "measured time, once every viewer has a picture")
	fs.BoolVar(&jsonOut, "json", false, "print one JSON object on stdout instead of the summary, and no progress")
	fs.IntVar(&cfg.Viewers, "viewers", livebench.DefaultViewers, "players over WHEP, one member each")
	fs.BoolVar(&cfg.Record, "record", false, "record the live, then fetch the recordings and check them with ffprobe (without it the live is not recorded)")
	fs.Float64Var(&cfg.MaxLoss, "max-loss", benchDefaultMaxLoss, "share of packets that may be lost before the run fails")
	fs.BoolVar(&cfg.Keep, "keep", false, "leave the run's members and live at the end")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	if cfg.AdminPassword == "" {
		cfg.AdminPassword = os.Getenv("PARLEY_ADMIN_PASSWORD")
	}
	if !jsonOut {
		cfg.Progress = stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := livebench.Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, livebench.ErrConfig) {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return err
	}
	return benchReport(rep, jsonOut, stdout)
}
