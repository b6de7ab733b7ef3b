package recording

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Limits of one participant's recorder.
const (
	// maxVideoTracks and maxAudioTracks bound the tracks of one file: a
	// player shows one video and plays one audio track. A screen share is
	// recorded as a participant of its own.
	maxVideoTracks = 1
	maxAudioTracks = 1
	// maxTrackIDLength bounds a track ID, which lands in the manifest.
	maxTrackIDLength = 128
	// maxStartupBytes bounds the frames held while a file waits to open.
	maxStartupBytes = 32 << 20
)

// Errors of the participant API.
var (
	// ErrStopped is returned once the recording has stopped.
	ErrStopped = errors.New("recording: stopped")
	// ErrTrackLimit is returned when a participant already has a live
	// track of the same kind.
	ErrTrackLimit = errors.New("recording: a participant records at most one audio and one video track")
)

// item is one entry of a participant's queue: a packet, a Sender Report,
// or an operation to run on the recorder's goroutine.
type item struct {
	track  *TrackWriter
	pkt    *packet
	sr     *senderReport
	op     func()
	opDone chan struct{}
}

// Participant records one publisher's tracks: one file at a time, a new
// file (segment) each time the publisher reconnects or its set of tracks
// changes. All of its work runs on one goroutine fed by a bounded queue,
// so a slow disk holds up only this participant, and never the caller of
// WriteRTP.
//
// A file opens once every live track has a frame (video from a keyframe)
// and a Sender Report, or once Config.SyncWait of media has piled up
// without them. Frames are placed on the file's timeline by their
// Sender Reports (see timeline), and written interleaved in time order.
type Participant struct {
	s       *Session
	id      string
	in      chan item
	done    chan struct{} // closed when the goroutine has ended
	stopped atomic.Bool   // set when the goroutine stops taking input

	// Owned by the goroutine.
	tracks   []*trackState
	tl       timeline // the sender's clock against ours, for all files
	seg      *segment
	segIndex int
	ending   bool  // endSegment is running
	err      error // the write error that stopped this participant
	exit     bool
}

func newParticipant(s *Session, id string, firstSegment int) *Participant {
	p := &Participant{
		s:        s,
		id:       id,
		in:       make(chan item, s.cfg.QueueLength),
		done:     make(chan struct{}),
		segIndex: firstSegment,
	}
	go p.run()
	return p
}

// ID is the participant's ID as given to Session.AddParticipant.
func (p *Participant) ID() string { return p.id }

// AddTrack starts recording a published track. The first file waits for
// tracks added together; a track added to a participant whose file is
// already open starts a new file once it has its first frame.
func (p *Participant) AddTrack(cfg TrackConfig) (*TrackWriter, error) {
	c, err := parseCodec(cfg.MimeType)
	if err != nil {
		return nil, err
	}
	if cfg.ID == "" || len(cfg.ID) > maxTrackIDLength {
		return nil, fmt.Errorf("recording: track ID must be 1 to %d bytes", maxTrackIDLength)
	}
	rate := cfg.ClockRate
	if rate == 0 {
		rate = c.defaultClockRate()
	}
	t := &TrackWriter{p: p, id: cfg.ID, codec: c, clockRate: rate, onKey: cfg.OnKeyframeNeeded}
	t.state = newTrackState(t)
	var addErr error
	if err := p.do(func() { addErr = p.addTrack(t.state) }); err != nil {
		return nil, err
	}
	if addErr != nil {
		return nil, addErr
	}
	return t, nil
}

// NewSegment ends the participant's current file, as when the publisher
// reconnected: what is buffered is written out, and what comes next goes
// to a new file, listed after this one in the manifest. A track that
// changes SSRC does the same by itself.
func (p *Participant) NewSegment() error {
	return p.do(p.flushSegments)
}

// Close ends the participant's recording, as when it left: buffered media
// is written and the file finished. The participant may be added again
// later; its files then continue the numbering.
func (p *Participant) Close() error {
	err := p.do(p.finish)
	<-p.done
	p.s.removeParticipant(p)
	if errors.Is(err, ErrStopped) {
		return nil
	}
	return err
}

// do runs op on the goroutine and waits for it.
func (p *Participant) do(op func()) error {
	done := make(chan struct{})
	select {
	case p.in <- item{op: op, opDone: done}:
	case <-p.done:
		return ErrStopped
	}
	select {
	case <-done:
		return nil
	case <-p.done:
		select {
		case <-done:
			return nil
		default:
			return ErrStopped
		}
	}
}

func (p *Participant) run() {
	defer close(p.done)
	for !p.exit {
		it := <-p.in
		switch {
		case it.op != nil:
			it.op()
			close(it.opDone)
		case it.pkt != nil:
			p.handlePacket(it.track.state, it.pkt)
		case it.sr != nil:
			p.handleSenderReport(it.track.state, it.sr)
		}
		if p.err == nil && !p.exit {
			p.maybeOpen()
		}
		if p.err != nil {
			p.abort()
			return
		}
	}
	p.stopped.Store(true)
}

func (p *Participant) addTrack(s *trackState) error {
	video := 0
	audio := 0
	pending := false
	for _, o := range p.tracks {
		if o.closed {
			// A closed track of the same kind whose last frames wait for a
			// file would make two of a kind in the next one.
			pending = pending || (len(o.startup) > 0 && o.codec.video() == s.codec.video())
			continue
		}
		if o.codec.video() {
			video++
		} else {
			audio++
		}
	}
	if (s.codec.video() && video >= maxVideoTracks) || (!s.codec.video() && audio >= maxAudioTracks) {
		return ErrTrackLimit
	}
	if pending {
		p.flushSegments()
	}
	p.tracks = append(p.tracks, s)
	s.requestKeyframe(0, true)
	return nil
}

func (p *Participant) closeTrack(s *trackState) {
	if s.closed {
		return
	}
	p.drainTrack(s)
	s.closed = true
	if p.seg != nil {
		p.failOn(p.seg.release(false))
	}
}

func (p *Participant) handleSenderReport(s *trackState, sr *senderReport) {
	if s.closed {
		return
	}
	if !s.hasSSRC || sr.ssrc != s.ssrc {
		s.pendingSR = sr
		return
	}
	s.clock.senderReport(sr.ntp, sr.rtpTime)
}

func (p *Participant) handlePacket(s *trackState, pkt *packet) {
	if s.closed {
		return
	}
	if !s.hasSSRC || pkt.ssrc != s.ssrc {
		switch {
		case s.hasSSRC && s.inFile >= 0:
			// A new stream, as from a publisher that reconnected: the old
			// one's media is written out and the new one starts a new
			// file, with its own keyframe and its own Sender Reports.
			p.flushSegments()
			if p.err != nil {
				return
			}
		case s.hasSSRC:
			// The old stream's last frames came after its file ended (the
			// other track reconnected first). They belong to neither file.
			s.w.stats.framesDropped.Add(uint64(len(s.startup)))
			s.startup, s.startupBytes = nil, 0
		}
		if s.hasSSRC && p.seg == nil {
			// A new stream may come from another device, with another
			// clock. (While a file of the other tracks is open, their
			// timeline stays as it is.)
			p.tl = timeline{}
		}
		s.newStream(pkt.ssrc)
		s.requestKeyframe(pkt.ts, false)
	}
	if s.w.overflow.Swap(false) {
		s.requestKeyframe(pkt.ts, false)
	}
	switch s.jitter.push(pkt) {
	case pushDuplicate:
		s.w.stats.duplicates.Add(1)
	case pushLate:
		s.w.stats.late.Add(1)
	}
	for q := s.jitter.pop(); q != nil; q = s.jitter.pop() {
		p.handleOrdered(s, q)
	}
}

// handleOrdered takes the track's next packet in sequence order.
func (p *Participant) handleOrdered(s *trackState, q *packet) {
	lost := q.lost || s.lostPending
	if len(q.payload) == 0 {
		// Padding: it fills its place in the sequence and nothing else.
		s.lostPending = lost
		return
	}
	s.lostPending = false
	q.lost = lost
	if lost {
		s.w.stats.gaps.Add(1)
	}
	p.handleAssembled(s, s.asm.push(q), q.ts)
}

func (p *Participant) handleAssembled(s *trackState, res assembled, ts uint32) {
	if res.dropped > 0 {
		s.w.stats.framesDropped.Add(uint64(res.dropped))
	}
	if res.wantKeyframe {
		s.requestKeyframe(ts, false)
	}
	if res.frame == nil {
		return
	}
	if p.seg != nil && s.inFile >= 0 && res.frame.keyframe && !p.ending && p.seg.formatChanged(s) {
		// New H.264 parameters (a new resolution, say) cannot join the
		// file's avcC: the keyframe that carries them starts a new file.
		// The track's own buffers keep their order: only the others drain.
		p.endSegment(s)
	}
	if p.seg != nil && s.inFile >= 0 {
		p.failOn(p.seg.push(s, res.frame))
		return
	}
	s.startup = append(s.startup, res.frame)
	s.startupBytes += len(res.frame.data)
}

// drainTrack releases everything the track's buffers hold, gaps and all.
func (p *Participant) drainTrack(s *trackState) {
	var last uint32
	for _, q := range s.jitter.drain() {
		p.handleOrdered(s, q)
		last = q.ts
	}
	p.handleAssembled(s, s.asm.flush(), last)
}

// maybeOpen opens a file when the waiting tracks are ready, and ends the
// open file when a live track outside it has media to record.
func (p *Participant) maybeOpen() {
	if p.seg != nil {
		for _, s := range p.tracks {
			if !s.closed && s.inFile < 0 && len(s.startup) > 0 {
				p.endSegment(nil)
				break
			}
		}
		if p.seg != nil {
			return
		}
	}
	anyFrames, allReady, waited := false, true, false
	size := 0
	for _, s := range p.tracks {
		if len(s.startup) > 0 {
			anyFrames = true
			first, last := s.startup[0], s.startup[len(s.startup)-1]
			if ticks(int64(int32(last.ts-first.ts)), s.w.clockRate) >= p.s.cfg.SyncWait {
				waited = true
			}
			size += s.startupBytes
		}
		if !s.closed && (len(s.startup) == 0 || !s.clock.hasSR) {
			allReady = false
		}
	}
	if anyFrames && (allReady || waited || size > maxStartupBytes) {
		p.openSegment()
	}
}

// finish writes out everything buffered and ends the recording of this
// participant.
func (p *Participant) finish() {
	p.flushSegments()
	p.exit = true
}

// flushSegments writes everything buffered into files and leaves none
// open: the open file, and a file for frames still waiting for one.
func (p *Participant) flushSegments() {
	for _, s := range p.tracks {
		if !s.closed {
			p.drainTrack(s)
		}
	}
	// At most two files: the open one, and one for frames of tracks that
	// were waiting outside it.
	for range 2 {
		if p.err != nil {
			return
		}
		if p.seg == nil {
			p.openSegment()
		}
		if p.seg == nil {
			return
		}
		p.endSegment(nil)
	}
}

// abort ends the participant after a write error: the file is closed as
// far as it goes, and the session is told to stop.
func (p *Participant) abort() {
	p.stopped.Store(true)
	if p.seg != nil {
		p.seg.writer.close()
		p.s.addFile(p.seg.entry(false))
		p.seg = nil
	}
	p.s.log.Error("participant recording failed", "participant", p.id, "err", p.err)
	p.s.fail(p.err)
}

// failOn records the first write error; the goroutine then aborts.
func (p *Participant) failOn(err error) {
	if err != nil && p.err == nil {
		p.err = err
	}
}

// openSegment opens the next file with every track that has frames
// waiting or, being live, a known format, and writes the waiting frames.
func (p *Participant) openSegment() {
	var tracks []*trackState
	frames := 0
	for _, s := range p.tracks {
		if len(s.startup) > 0 || (!s.closed && s.formatKnown()) {
			tracks = append(tracks, s)
			frames += len(s.startup)
		}
	}
	if frames == 0 {
		return
	}
	seg, err := openSegment(p, p.segIndex, tracks, time.Now())
	if err != nil {
		p.failOn(err)
		return
	}
	p.seg = seg
	p.failOn(seg.writeStartup())
}

// endSegment finishes the open file and readies the tracks for the next:
// each video track waits for, and asks for, a keyframe. The buffers of
// every track in the file but except are drained into it first.
func (p *Participant) endSegment(except *trackState) {
	seg := p.seg
	p.ending = true
	defer func() { p.ending = false }()
	for _, s := range seg.tracks {
		if !s.closed && s != except {
			p.drainTrack(s)
		}
	}
	if err := seg.release(true); err != nil {
		p.failOn(err)
		return
	}
	if err := seg.writer.close(); err != nil {
		p.failOn(err)
		return
	}
	e := seg.entry(true)
	p.s.addFile(e)
	p.s.log.Info("recording file finished", "file", e.Name, "duration_ms", e.Duration, "bytes", e.Bytes)
	p.seg = nil
	p.segIndex++
	live := make([]*trackState, 0, len(p.tracks))
	for _, s := range p.tracks {
		if s.inFile >= 0 && !s.closed && s != except {
			s.asm.waitForKeyframe()
			s.requestKeyframe(0, true)
		}
		s.inFile = -1
		s.hasPTS = false
		if !s.closed || len(s.startup) > 0 {
			live = append(live, s)
		}
	}
	p.tracks = live
}
