package livebench

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/bench/host"
	"parley/bench/latency"
	"parley/bench/provision"
	"parley/bench/rtcpeer"
	"parley/bench/runlog"
	"parley/bench/usage"
	"parley/bench/wire"
	"parley/sfu/mediatest"
)

// The stream the encoder sends: what OBS sends for a 720p live, H.264
// constrained baseline (OBS's WHIP output offers profile-level-id
// 42e01f) at 2.5 Mbit/s with a keyframe every 2 s, and Opus; real clips
// encoded once by ffmpeg and cached, played in a loop.
const (
	clipLength       = 10 * time.Second
	videoWidth       = 1280
	videoHeight      = 720
	videoFPS         = 30
	videoKbps        = 2500
	keyframeInterval = 2 * time.Second
	h264Fmtp         = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"
)

// Concurrency, files and timing.
const (
	joinWorkers     = 16 // viewers joining at once
	closeWorkers    = 64
	fdsPerViewer    = 3 // a UDP socket or two, and an HTTP connection now and then
	fdReserve       = 100
	onAirTimeout    = 20 * time.Second // from WHIP until the live says "live"
	firstFrameWait  = 20 * time.Second // for every viewer's first picture
	tokenMargin     = 30 * time.Minute
	teardownTimeout = 30 * time.Second
	pollInterval    = 50 * time.Millisecond
	progressEvery   = time.Second
)

// runner holds the state of one run.
type runner struct {
	cfg   *Config
	runID string
	api   *wire.Client
	fleet *provision.Fleet
	stack *rtcpeer.Stack
	log   *runlog.Log

	videoClip, audioClip *rtcpeer.Clip
	videoSrc, audioSrc   *rtcpeer.Source
	publisher            *webrtc.PeerConnection
	session              wire.SDPSession // the WHIP session
	live                 wire.Live
	hostName             string
	sendStart            time.Time
	sendEnd              time.Time

	viewers   []*viewer
	join, lat *latency.Recorder
	closing   atomic.Bool
}

// Run provisions, runs and tears down one live benchmark. It returns an
// error when the run could not measure (bad configuration, no ffmpeg,
// provisioning or publishing failed); a report with Failures is a run
// that measured and found errors or violations. Cleanup runs in every
// case once provisioning started, also when ctx is cancelled.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	api, err := wire.NewClient(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	limit, limitErr := host.RaiseOpenFiles()
	if limitErr == nil {
		if need := uint64(cfg.Viewers*fdsPerViewer + fdReserve); need > limit {
			return nil, fmt.Errorf("%w: %d viewers need about %d open files, and the limit (RLIMIT_NOFILE, hard) is %d",
				ErrConfig, cfg.Viewers, need, limit)
		}
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return nil, fmt.Errorf("the live bench sends clips encoded by ffmpeg, which is not installed: %w", err)
	}
	r := &runner{cfg: &cfg, runID: provision.NewRunID(), api: api, log: runlog.New(cfg.Progress),
		join: latency.NewRecorder(), lat: latency.NewRecorder(), hostName: "host"}
	r.fleet = provision.New(api, r.runID, cfg.AdminPassword)
	rep := &Report{RunID: r.runID, URL: cfg.URL, OpenFilesLimit: limit, Viewers: cfg.Viewers, cfg: cfg}
	if limitErr != nil {
		r.log.Warn("open-file limit: %v", limitErr)
	}
	r.log.Phase("run %s against %s: one live, %d viewers", r.runID, cfg.URL, cfg.Viewers)
	if err := r.prepareMedia(rep); err != nil {
		return nil, err
	}
	err = r.execute(ctx, rep)
	r.teardown(rep)
	if cfg.Record && rep.measured && ctx.Err() == nil {
		r.checkRecordings(ctx, rep)
	}
	r.deleteLive(rep)
	if cerr := r.fleet.Cleanup(cfg.Keep); cerr != nil {
		rep.Problems = append(rep.Problems, cerr.Error())
	}
	if err == nil && ctx.Err() != nil {
		rep.Problems = append(rep.Problems, "interrupted before the end")
	}
	rep.Errors, rep.ErrorSamples = r.log.Errors(), r.log.Samples()
	rep.Warnings = append(rep.Warnings, r.log.Warnings()...)
	return rep, err
}

// prepareMedia encodes (or finds cached) the clips and builds the WebRTC
// stack.
func (r *runner) prepareMedia(rep *Report) error {
	r.log.Phase("encoding the %dp clip with ffmpeg (cached after the first run)", videoHeight)
	video, err := mediatest.EncodeVideo(mediatest.VideoSpec{MimeType: webrtc.MimeTypeH264, Width: videoWidth, Height: videoHeight,
		FPS: videoFPS, Duration: clipLength, BitrateKbps: videoKbps, KeyframeInterval: keyframeInterval})
	if err != nil {
		return fmt.Errorf("encode the video clip: %w", err)
	}
	audio, err := mediatest.EncodeAudio(clipLength)
	if err != nil {
		return fmt.Errorf("encode the audio clip: %w", err)
	}
	r.videoClip, r.audioClip = rtcpeer.NewClip(video), rtcpeer.NewClip(audio)
	rep.Stream = Stream{VideoCodec: video.MimeType, Width: video.Width, Height: video.Height, FPS: videoFPS,
		VideoKbps: r.videoClip.BitrateBps() / 1000, AudioCodec: audio.MimeType, AudioKbps: r.audioClip.BitrateBps() / 1000}
	if r.stack, err = rtcpeer.NewStack(); err != nil {
		return err
	}
	return nil
}

func (r *runner) execute(ctx context.Context, rep *Report) error {
	names := []string{r.hostName}
	for i := range r.cfg.Viewers {
		names = append(names, fmt.Sprintf("v%d", i))
	}
	r.log.Phase("creating %d members (bench-%s-…)", len(names), r.runID)
	if err := r.fleet.Create(ctx, names, r.cfg.Duration+tokenMargin); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	live, err := r.api.CreateLive(ctx, r.hostToken(), wire.NewLive{
		Title: "parley bench " + r.runID, Scope: wire.LiveScope{Kind: "internal", AllMembers: true}, Record: r.cfg.Record})
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	r.live = live
	rep.LiveID = live.ID
	if live.Record != r.cfg.Record {
		r.log.Error("", fmt.Sprintf("asked for a live with record=%v, got record=%v", r.cfg.Record, live.Record))
	}

	r.log.Phase("publishing over WHIP")
	if err := r.publish(ctx); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if err := r.waitOnAir(ctx); err != nil {
		return err
	}

	r.log.Phase("%d viewers joining over WHEP", r.cfg.Viewers)
	r.viewers = make([]*viewer, r.cfg.Viewers)
	for i := range r.viewers {
		r.viewers[i] = &viewer{r: r, index: i, name: names[i+1]}
	}
	_ = provision.ForEach(ctx, len(r.viewers), joinWorkers, func(ctx context.Context, i int) error {
		if err := r.viewers[i].join(ctx); err != nil && ctx.Err() == nil {
			r.log.Error(codeOf(err), err.Error())
		}
		return nil
	})
	if ctx.Err() != nil {
		return nil
	}
	r.log.Phase("waiting for every viewer's first picture")
	r.waitFirstFrames(ctx, rep)
	if ctx.Err() != nil {
		return nil
	}
	r.measure(ctx, rep)
	return nil
}

func (r *runner) hostToken() string { return r.fleet.Token(r.fleet.MemberID(r.hostName)) }

// publish sends the encoder's offer (Opus and H.264, sendonly) to WHIP
// with the stream key and starts playing the clips.
func (r *runner) publish(ctx context.Context) error {
	pc, err := r.stack.NewPeerConnection()
	if err != nil {
		return err
	}
	r.publisher = pc
	audio := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "live", "")
	video := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, SDPFmtpLine: h264Fmtp}, "video", "live", "")
	for _, t := range []*mediatest.Track{audio, video} {
		if _, err := pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			return fmt.Errorf("add track: %w", err)
		}
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed && !r.closing.Load() {
			r.log.Error("", "the publisher's connection failed")
		}
	})
	offer, err := rtcpeer.Offer(ctx, pc)
	if err != nil {
		return err
	}
	s, err := r.api.PublishWHIP(ctx, r.live.StreamKey, offer)
	if err != nil {
		return err
	}
	r.session = s
	if err := rtcpeer.Accept(pc, s.Answer); err != nil {
		return err
	}
	if err := rtcpeer.WaitConnected(ctx, pc); err != nil {
		return fmt.Errorf("the encoder's connection: %w", err)
	}
	r.videoSrc, r.audioSrc = rtcpeer.NewSource(r.videoClip, video), rtcpeer.NewSource(r.audioClip, audio)
	r.sendStart = time.Now()
	r.videoSrc.Start()
	r.audioSrc.Start()
	return nil
}

// waitOnAir waits until the live's status is "live": its media reached
// the server.
func (r *runner) waitOnAir(ctx context.Context) error {
	deadline := time.Now().Add(onAirTimeout)
	for {
		l, err := r.api.GetLive(ctx, r.hostToken(), r.live.ID)
		if err != nil {
			return err
		}
		if l.Status == "live" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the live was still %q %v after its encoder published", l.Status, onAirTimeout)
		}
		select {
		case <-time.After(pollInterval):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// waitFirstFrames waits until every viewer has a first picture, or
// firstFrameWait; then records each one's time from its first WHEP
// request and counts viewers without one.
func (r *runner) waitFirstFrames(ctx context.Context, rep *Report) {
	deadline := time.Now().Add(firstFrameWait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		waiting := 0
		for _, v := range r.viewers {
			if _, ok := v.firstFrame(); !ok {
				waiting++
			}
		}
		if waiting == 0 {
			break
		}
		time.Sleep(pollInterval)
	}
	first := latency.NewRecorder()
	for _, v := range r.viewers {
		at, ok := v.firstFrame()
		if !ok {
			rep.WithoutMedia++
			if v.joined { // a failed join is an error already
				r.log.Error("", fmt.Sprintf("%s got no whole picture within %v", v.name, firstFrameWait))
			}
			continue
		}
		first.Record(v.index, max(0, at.Sub(v.joinStart)))
	}
	rep.FirstFrameMs = first.Summary()
}

// measure runs the window.
func (r *runner) measure(ctx context.Context, rep *Report) {
	r.log.Phase("measuring for %v", r.cfg.Duration)
	r.lat.Reset()
	before := r.counts(func(v *viewer, all rtcpeer.Counts) { v.before = all })
	sent0 := r.videoSrc.Stats().Bytes + r.audioSrc.Stats().Bytes
	meter := usage.Start(ctx, r.api)
	stop := r.progress(before)
	select {
	case <-time.After(r.cfg.Duration):
	case <-ctx.Done():
	}
	stop()
	after := r.counts(func(v *viewer, all rtcpeer.Counts) { v.after = all })
	sent1 := r.videoSrc.Stats().Bytes + r.audioSrc.Stats().Bytes
	w := meter.End(ctx)
	rep.fill(after, before, w, r)
	if w.WallSeconds > 0 {
		rep.SentBitrateBps = float64(sent1-sent0) * 8 / w.WallSeconds
	}
	if w.ServerErr != nil {
		r.log.Warn("server usage unknown: %v", w.ServerErr)
	}
	var stalls, writeErrors int64
	for _, s := range []*rtcpeer.Source{r.videoSrc, r.audioSrc} {
		st := s.Stats()
		stalls += st.Stalls
		writeErrors += st.WriteErrors
		rep.KeyframeAnswers += st.KeyframeAnswers
	}
	rep.PublisherStalls = stalls
	if writeErrors > 0 {
		r.log.Error("", fmt.Sprintf("the publisher failed to send %d frames", writeErrors))
	}
	if stalls > 0 {
		r.log.Warn("the publisher fell behind its schedule %d times: the generator was short of CPU", stalls)
	}
}

// viewerCounts is what the viewers got: on all tracks, and on video.
type viewerCounts struct{ all, video rtcpeer.Counts }

// counts adds up what every viewer got so far. keep, when not nil, is
// handed each viewer's own total, under the viewer's lock.
func (r *runner) counts(keep func(v *viewer, all rtcpeer.Counts)) viewerCounts {
	var c viewerCounts
	for _, v := range r.viewers {
		all, video := v.counts()
		c.all.Add(all)
		c.video.Add(video)
		if keep != nil {
			v.mu.Lock()
			keep(v, all)
			v.mu.Unlock()
		}
	}
	return c
}

// progress prints a line a second until the returned function is called.
func (r *runner) progress(start viewerCounts) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		began := time.Now()
		prev, prevAt := start.all, began
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			now, at := r.counts(nil).all, time.Now()
			d, dt := now.Sub(prev), at.Sub(prevAt).Seconds()
			perViewer := float64(d.Bytes) * 8 / dt / float64(max(1, len(r.viewers)))
			fmt.Fprintf(r.cfg.Progress, "%6.1fs  received %9.0f packets/s  %7.2f Mbit/s per viewer  lost %d  errors %d\n",
				at.Sub(began).Seconds(), float64(d.Packets)/dt, perViewer/1e6, now.Sub(start.all).Lost(), r.log.Errors())
			prev, prevAt = now, at
		}
	}()
	return func() { close(done); wg.Wait() }
}

// teardown ends the WHIP session (the live ends, its recording is
// finished, viewers are disconnected), stops the clips and closes every
// connection.
func (r *runner) teardown(rep *Report) {
	r.closing.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	if r.session.Location != "" {
		r.log.Phase("ending the live")
		if err := r.api.EndSession(ctx, r.session.Location, r.live.StreamKey); err != nil {
			r.log.Error("", fmt.Sprintf("end the WHIP session: %v", err))
		}
	}
	for _, s := range []*rtcpeer.Source{r.videoSrc, r.audioSrc} {
		if s != nil {
			s.Stop()
		}
	}
	r.sendEnd = time.Now()
	if len(r.viewers) > 0 {
		r.log.Phase("closing %d viewers", len(r.viewers))
	}
	_ = provision.ForEach(ctx, len(r.viewers), closeWorkers, func(_ context.Context, i int) error {
		if pc := r.viewers[i].pc; pc != nil {
			_ = pc.Close()
		}
		return nil
	})
	if r.publisher != nil {
		_ = r.publisher.Close()
	}
}

// deleteLive deletes the run's live, unless Keep; its title carries the
// run id either way.
func (r *runner) deleteLive(rep *Report) {
	if r.live.ID == "" || r.cfg.Keep {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	if err := r.api.DeleteLive(ctx, r.hostToken(), r.live.ID); err != nil {
		rep.Problems = append(rep.Problems, fmt.Sprintf("cleanup: %v", err))
	}
}

// codeOf returns the server's error code of a refused request, "" for
// other errors.
func codeOf(err error) string {
	var e *wire.APIError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
