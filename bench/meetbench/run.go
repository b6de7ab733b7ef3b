package meetbench

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

// The media every publisher sends: real clips encoded once by ffmpeg
// (and cached in the temp directory), played in a loop. The camera is
// what a browser sends for a gallery tile: VP8, 640x360, 30 fps.
const (
	clipLength        = 10 * time.Second
	videoWidth        = 640
	videoHeight       = 360
	videoFPS          = 30
	videoKbps         = 600
	keyframeInterval  = 2 * time.Second
	videoMime         = webrtc.MimeTypeVP8
	joinWorkers       = 16 // participants joining at once
	closeWorkers      = 64
	fdsPerParticipant = 5 // a socket, and a UDP socket or two per peer connection
	fdReserve         = 100
)

// Timing of the phases.
const (
	// liveTimeout bounds the wait for every publisher's track to be
	// announced, which the server does when its media first arrives.
	liveTimeout = 20 * time.Second
	// firstFrameTimeout bounds the wait for every subscription's first
	// whole frame.
	firstFrameTimeout = 20 * time.Second
	// tokenMargin is how much longer than the window a member's minted
	// token lives, for setup and teardown.
	tokenMargin = 30 * time.Minute
	// endTimeout bounds the host's meeting.host.end at teardown.
	endTimeout = 5 * time.Second
	// progressInterval is the period of the progress line.
	progressInterval = time.Second
	// pollInterval is how often the waits look.
	pollInterval = 20 * time.Millisecond
)

// runner holds the state of one run.
type runner struct {
	cfg    *Config
	runID  string
	api    *wire.Client
	dialer *wire.Dialer
	fleet  *provision.Fleet
	stack  *rtcpeer.Stack
	clip   *rtcpeer.Clip
	rooms  []*room

	join, lat *latency.Recorder
	closing   atomic.Bool
	log       *runlog.Log
}

// Run provisions, runs and tears down one meeting benchmark. It returns
// an error when the run could not measure (bad configuration, no ffmpeg,
// provisioning failed); a report with Failures is a run that measured
// and found errors or violations. Cleanup runs in every case once
// provisioning started, also when ctx is cancelled.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	api, err := wire.NewClient(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	dialer, err := wire.NewDialer(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	participants := cfg.Rooms * (cfg.Publishers + cfg.Subscribers)
	limit, limitErr := host.RaiseOpenFiles()
	if limitErr == nil {
		if need := uint64(participants*fdsPerParticipant + fdReserve); need > limit {
			return nil, fmt.Errorf("%w: %d participants need about %d open files, and the limit (RLIMIT_NOFILE, hard) is %d",
				ErrConfig, participants, need, limit)
		}
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return nil, fmt.Errorf("the meeting bench sends clips encoded by ffmpeg, which is not installed: %w", err)
	}
	r := &runner{cfg: &cfg, runID: provision.NewRunID(), api: api, dialer: dialer,
		join: latency.NewRecorder(), lat: latency.NewRecorder(), log: runlog.New(cfg.Progress)}
	r.fleet = provision.New(api, r.runID, cfg.AdminPassword)
	rep := &Report{RunID: r.runID, URL: cfg.URL, Layout: cfg.Layout, Rooms: cfg.Rooms, Publishers: cfg.Publishers,
		Subscribers: cfg.Subscribers, Participants: participants, OpenFilesLimit: limit, cfg: cfg}
	if limitErr != nil {
		r.log.Warn("open-file limit: %v", limitErr)
	}
	r.log.Phase("run %s against %s: %d room(s) of %d publishers and %d subscribers, %s layout",
		r.runID, cfg.URL, cfg.Rooms, cfg.Publishers, cfg.Subscribers, cfg.Layout)

	if err := r.prepareMedia(rep); err != nil {
		return nil, err
	}
	err = r.execute(ctx, rep)
	r.teardown()
	if cfg.Record && rep.measured && ctx.Err() == nil {
		r.checkRecordings(ctx, rep)
	}
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

// prepareMedia encodes (or finds cached) the clip and builds the WebRTC
// stack.
func (r *runner) prepareMedia(rep *Report) error {
	var clip mediatest.Clip
	var err error
	if r.cfg.Layout == LayoutVideo {
		r.log.Phase("encoding the camera clip with ffmpeg (cached after the first run)")
		clip, err = mediatest.EncodeVideo(mediatest.VideoSpec{MimeType: videoMime, Width: videoWidth, Height: videoHeight,
			FPS: videoFPS, Duration: clipLength, BitrateKbps: videoKbps, KeyframeInterval: keyframeInterval})
	} else {
		clip, err = mediatest.EncodeAudio(clipLength)
	}
	if err != nil {
		return fmt.Errorf("encode the clip: %w", err)
	}
	r.clip = rtcpeer.NewClip(clip)
	rep.Media = mediaOf(r.clip)
	if r.stack, err = rtcpeer.NewStack(); err != nil {
		return err
	}
	return nil
}

func (r *runner) execute(ctx context.Context, rep *Report) error {
	if err := r.provision(ctx); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	var publishers, subscribers []*participant
	for _, rm := range r.rooms {
		for i := range rm.members {
			p := &participant{r: r, room: rm, index: i, shard: len(publishers) + len(subscribers), pubs: i < r.cfg.Publishers,
				live: make(chan struct{}), offers: make(chan string, offerQueue), stop: make(chan struct{}), subs: map[string]*subscription{}}
			p.ctx, p.cancel = context.WithCancel(ctx)
			rm.all[i] = p
			if p.pubs {
				publishers = append(publishers, p)
			} else {
				subscribers = append(subscribers, p)
			}
		}
	}

	r.log.Phase("joining %d publishers and publishing", len(publishers))
	up := r.startAll(ctx, publishers)
	r.waitLive(ctx, up)
	r.plan()
	if r.cfg.Layout == LayoutVideo {
		r.log.Phase("publishers pick %d cameras each", VideosPerSubscriber)
		r.subscribeAll(ctx, up)
	}
	if len(subscribers) > 0 {
		r.log.Phase("joining %d subscribers", len(subscribers))
		joined := r.startAll(ctx, subscribers)
		if r.cfg.Layout == LayoutVideo {
			r.subscribeAll(ctx, joined)
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	r.log.Phase("waiting for the first frame of every subscription")
	r.waitFirstFrames(ctx, rep)
	if ctx.Err() != nil {
		return nil
	}
	if r.cfg.Record {
		r.startRecording(ctx)
	}
	r.measure(ctx, rep)
	if r.cfg.Record {
		r.stopRecording(ctx)
	}
	return nil
}

// provision creates the members and one meeting per room, hosted by the
// room's first publisher.
func (r *runner) provision(ctx context.Context) error {
	var names []string
	for ri := range r.cfg.Rooms {
		rm := &room{index: ri, sources: map[string]*rtcpeer.Source{}, trackOf: map[int]string{}, recordingStarted: make(chan struct{})}
		for i := range r.cfg.Publishers + r.cfg.Subscribers {
			kind := "p"
			n := i
			if i >= r.cfg.Publishers {
				kind, n = "s", i-r.cfg.Publishers
			}
			name := fmt.Sprintf("r%d-%s%d", ri, kind, n)
			names = append(names, name)
			rm.members = append(rm.members, r.fleet.MemberID(name))
		}
		rm.all = make([]*participant, len(rm.members))
		r.rooms = append(r.rooms, rm)
	}
	r.log.Phase("creating %d members (bench-%s-…)", len(names), r.runID)
	if err := r.fleet.Create(ctx, names, r.cfg.Duration+tokenMargin); err != nil {
		return err
	}
	off := false
	r.log.Phase("creating %d meetings", len(r.rooms))
	return provision.ForEach(ctx, len(r.rooms), provision.Workers, func(ctx context.Context, i int) error {
		rm := r.rooms[i]
		m, err := r.api.CreateMeeting(ctx, r.fleet.Token(rm.members[0]), wire.NewMeeting{
			Title: fmt.Sprintf("parley bench %s room %d", r.runID, i),
			Settings: wire.MeetingSettings{Locked: &off, WaitingRoom: &off, MuteOnEntry: &off, AllowGuests: &off, AutoRecord: &off,
				MaxParticipants: len(rm.members)},
		})
		rm.meetingID = m.ID
		return err
	})
}

// startAll starts the participants, joinWorkers at a time, and returns
// those that started; each failure is a recorded error.
func (r *runner) startAll(ctx context.Context, ps []*participant) []*participant {
	ok := make([]bool, len(ps))
	_ = provision.ForEach(ctx, len(ps), joinWorkers, func(ctx context.Context, i int) error {
		if err := ps[i].start(ctx); err != nil {
			if ctx.Err() == nil {
				r.log.Error(codeOf(err), err.Error())
			}
			return nil
		}
		ok[i] = true
		return nil
	})
	var started []*participant
	for i, p := range ps {
		if ok[i] {
			started = append(started, p)
		}
	}
	return started
}

// waitLive waits until the room announced every started publisher's
// track (its media reached the server), or liveTimeout.
func (r *runner) waitLive(ctx context.Context, publishers []*participant) {
	deadline := time.NewTimer(liveTimeout)
	defer deadline.Stop()
	for _, p := range publishers {
		select {
		case <-p.live:
		case <-deadline.C:
			r.log.Error("", fmt.Sprintf("%s: the room did not announce its track (meeting.track_published) within %v of publishing", p.name(), liveTimeout))
			return
		case <-ctx.Done():
			return
		}
	}
}

// plan sets what each participant must receive, now that every
// publisher that could publish has.
func (r *runner) plan() {
	for _, rm := range r.rooms {
		rm.mu.Lock()
		trackOf := make(map[int]string, len(rm.trackOf))
		for k, v := range rm.trackOf {
			trackOf[k] = v
		}
		rm.mu.Unlock()
		for i, p := range rm.all {
			var want []string
			if r.cfg.Layout == LayoutAudio {
				for pi := range r.cfg.Publishers {
					if id, ok := trackOf[pi]; ok && pi != i {
						want = append(want, id)
					}
				}
			} else {
				for _, pi := range videoTargets(i, r.cfg.Publishers) {
					if id, ok := trackOf[pi]; ok {
						want = append(want, id)
					}
				}
			}
			p.mu.Lock()
			p.want = want
			p.mu.Unlock()
		}
	}
}

// videoTargets returns the publishers whose cameras participant i of a
// room picks in the video layout: the next VideosPerSubscriber
// publishers after itself (a publisher) or from its own offset (a
// subscriber), wrapping, so every camera has about as many viewers.
func videoTargets(i, publishers int) []int {
	var out []int
	if i < publishers {
		for k := 1; k <= min(VideosPerSubscriber, publishers-1); k++ {
			out = append(out, (i+k)%publishers)
		}
		return out
	}
	for k := range min(VideosPerSubscriber, publishers) {
		out = append(out, (i+k)%publishers)
	}
	return out
}

// subscribeAll makes each participant subscribe to the tracks it wants.
func (r *runner) subscribeAll(ctx context.Context, ps []*participant) {
	_ = provision.ForEach(ctx, len(ps), joinWorkers, func(ctx context.Context, i int) error {
		p := ps[i]
		p.mu.Lock()
		want := append([]string(nil), p.want...)
		p.mu.Unlock()
		if err := p.subscribe(ctx, want); err != nil && ctx.Err() == nil {
			r.log.Error(codeOf(err), err.Error())
		}
		return nil
	})
}

// waitFirstFrames waits until every wanted subscription has shown its
// first frame, or firstFrameTimeout; then records each one's time from
// its start and counts what is missing or unasked for.
func (r *runner) waitFirstFrames(ctx context.Context, rep *Report) {
	deadline := time.Now().Add(firstFrameTimeout)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if r.framesMissing() == 0 {
			break
		}
		time.Sleep(pollInterval)
	}
	first := latency.NewRecorder()
	for _, rm := range r.rooms {
		for _, p := range rm.all {
			p.mu.Lock()
			wanted := map[string]bool{}
			for _, id := range p.want {
				wanted[id] = true
				rep.Subscriptions++
				s := p.subs[id]
				var at time.Time
				ok := s != nil && s.recv != nil
				if ok {
					at, ok = s.recv.FirstFrame()
				}
				switch {
				case !ok:
					rep.WithoutMedia++
					r.log.Error("", fmt.Sprintf("%s received no whole frame of track %s within %v", p.name(), id, firstFrameTimeout))
				case s.start.IsZero():
					r.log.Error("", fmt.Sprintf("%s got track %s without being told of it (no meeting.track_published, not in its snapshot)", p.name(), id))
				default:
					first.Record(p.shard, max(0, at.Sub(s.start)))
				}
			}
			for id, s := range p.subs {
				if !wanted[id] && s.recv != nil {
					r.log.Error("", fmt.Sprintf("%s received track %s, which it did not subscribe to", p.name(), id))
				}
			}
			p.mu.Unlock()
		}
	}
	rep.FirstFrameMs = first.Summary()
}

// framesMissing counts wanted subscriptions without a first frame yet.
func (r *runner) framesMissing() int {
	n := 0
	for _, rm := range r.rooms {
		for _, p := range rm.all {
			p.mu.Lock()
			for _, id := range p.want {
				s := p.subs[id]
				if s == nil || s.recv == nil {
					n++
					continue
				}
				if _, ok := s.recv.FirstFrame(); !ok {
					n++
				}
			}
			p.mu.Unlock()
		}
	}
	return n
}

// counts adds up what every receiver of the run got so far.
func (r *runner) counts() rtcpeer.Counts {
	var c rtcpeer.Counts
	for _, rm := range r.rooms {
		for _, p := range rm.all {
			p.mu.Lock()
			for _, s := range p.subs {
				if s.recv != nil {
					c.Add(s.recv.Counts())
				}
			}
			p.mu.Unlock()
		}
	}
	return c
}

// sources adds up what every publisher sent so far.
func (r *runner) sources() rtcpeer.SourceStats {
	var s rtcpeer.SourceStats
	for _, rm := range r.rooms {
		for _, p := range rm.all {
			if p.source != nil {
				st := p.source.Stats()
				s.Frames += st.Frames
				s.Bytes += st.Bytes
				s.KeyframeAnswers += st.KeyframeAnswers
				s.Stalls += st.Stalls
				s.WriteErrors += st.WriteErrors
			}
		}
	}
	return s
}

// measure runs the window: the media flows for the configured duration
// while the counters, the frame times and the costs are read.
func (r *runner) measure(ctx context.Context, rep *Report) {
	r.log.Phase("measuring for %v", r.cfg.Duration)
	r.lat.Reset()
	before, sent0 := r.counts(), r.sources()
	meter := usage.Start(ctx, r.api)
	stop := r.progress(before)
	select {
	case <-time.After(r.cfg.Duration):
	case <-ctx.Done():
	}
	stop()
	after, sent1 := r.counts(), r.sources()
	w := meter.End(ctx)
	rep.fill(after.Sub(before), after, w, r)
	rep.SentFrames = sent1.Frames - sent0.Frames
	rep.KeyframeAnswers = sent1.KeyframeAnswers
	rep.PublisherStalls = sent1.Stalls
	if sent1.WriteErrors > 0 {
		r.log.Error("", fmt.Sprintf("publishers failed to send %d frames", sent1.WriteErrors))
	}
	if w.ServerErr != nil {
		r.log.Warn("server usage unknown: %v", w.ServerErr)
	}
	if sent1.Stalls > 0 {
		r.log.Warn("publishers fell more than %v behind their schedule %d times: the generator was short of CPU", 500*time.Millisecond, sent1.Stalls)
	}
}

// progress prints a line a second until the returned function is called.
func (r *runner) progress(start rtcpeer.Counts) (stop func()) {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(progressInterval)
		defer t.Stop()
		began := time.Now()
		prev, prevAt := start, began
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			now, at := r.counts(), time.Now()
			d, dt := now.Sub(prev), at.Sub(prevAt).Seconds()
			total := now.Sub(start)
			fmt.Fprintf(r.cfg.Progress, "%6.1fs  received %9.0f packets/s  %7.2f Mbit/s  %7.0f frames/s  lost %d  errors %d\n",
				at.Sub(began).Seconds(), float64(d.Packets)/dt, float64(d.Bytes)*8/dt/1e6, float64(d.Frames)/dt,
				total.Lost(), r.log.Errors())
			prev, prevAt = now, at
		}
	}()
	return func() { close(done); wg.Wait() }
}

// teardown ends each meeting (the host's meeting.host.end) and closes
// every socket and connection the run opened.
func (r *runner) teardown() {
	r.closing.Store(true)
	var all []*participant
	for _, rm := range r.rooms {
		if host := rm.all[0]; host != nil && host.conn != nil {
			ctx, cancel := context.WithTimeout(context.Background(), endTimeout)
			if err := host.conn.call(ctx, wire.TypeMeetingHostEnd, struct{}{}, wire.TypeMeetingOK, nil); err != nil && !errors.Is(err, errClosed) {
				r.log.Warn("end meeting %s: %v", rm.meetingID, err)
			}
			cancel()
		}
		for _, p := range rm.all {
			if p != nil && p.stop != nil {
				all = append(all, p)
			}
		}
	}
	if len(all) > 0 {
		r.log.Phase("closing %d participants", len(all))
	}
	_ = provision.ForEach(context.Background(), len(all), closeWorkers, func(_ context.Context, i int) error {
		all[i].close()
		return nil
	})
}
