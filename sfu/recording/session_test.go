package recording

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"parley/sfu/mediatest"
)

func TestStartedOnlyOnceMediaIsOnDisk(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	audio := mediatest.Audio(t, clipDuration)
	video := videoClip(t, MimeTypeVP8, clipDuration)
	events := newEventLog()
	root := t.TempDir()
	var bytesAtStart atomic.Int64
	bytesAtStart.Store(-1)
	s, err := Start(Config{Dir: root, ID: "rec", QueueLength: 1 << 14, Logger: quietLogger, OnEvent: func(ev Event) {
		if ev.Type == EventStarted {
			if fi, err := os.Stat(filepath.Join(root, "rec", FileName("erin", 0, ContainerWebM))); err == nil {
				bytesAtStart.Store(fi.Size())
			}
		}
		events.record(ev)
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	p, _ := s.AddParticipant("erin")
	vw, _ := p.AddTrack(TrackConfig{ID: "cam", MimeType: MimeTypeVP8})
	aw, _ := p.AddTrack(TrackConfig{ID: "mic", MimeType: MimeTypeOpus})
	vs := packetize(t, video, 7, 70, 700, 0)
	as := packetize(t, audio, 8, 80, 800, 0)
	t0 := time.Now()
	vw.WriteSenderReport(vs.senderReport(t0))
	aw.WriteSenderReport(as.senderReport(t0))

	// Audio alone: the file waits for the video's first keyframe, so
	// nothing is on disk and nothing has started.
	feed(interleave(map[*TrackWriter]*sentStream{aw: as})[:20])
	if err := p.do(func() {}); err != nil { // the queue is processed
		t.Fatal(err)
	}
	if evs := events.list(); len(evs) != 0 {
		t.Fatalf("events before any video: %+v", evs)
	}
	feed(interleave(map[*TrackWriter]*sentStream{vw: vs}))
	events.waitFor(t, EventStarted)
	if n := bytesAtStart.Load(); n <= 0 {
		t.Fatalf("file had %d bytes when Started fired", n)
	}
	if _, err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	var types []EventType
	for _, ev := range events.list() {
		types = append(types, ev.Type)
	}
	if !slices.Equal(types, []EventType{EventStarted, EventStopped}) {
		t.Fatalf("events %v, want Started then Stopped", types)
	}
}

func TestDiskFullStopsRecording(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	audio := mediatest.Audio(t, clipDuration)
	video := videoClip(t, MimeTypeVP8, clipDuration)
	events := newEventLog()
	s := startSession(t, events)
	// Every write to the participant's file fails with ENOSPC.
	if err := os.Symlink("/dev/full", filepath.Join(s.Dir(), FileName("frank", 0, ContainerWebM))); err != nil {
		t.Fatal(err)
	}
	p, _ := s.AddParticipant("frank")
	vw, _ := p.AddTrack(TrackConfig{ID: "cam", MimeType: MimeTypeVP8})
	aw, _ := p.AddTrack(TrackConfig{ID: "mic", MimeType: MimeTypeOpus})
	vs := packetize(t, video, 9, 90, 900, 0)
	as := packetize(t, audio, 10, 100, 1000, 0)
	t0 := time.Now()
	vw.WriteSenderReport(vs.senderReport(t0))
	aw.WriteSenderReport(as.senderReport(t0))
	items := interleave(map[*TrackWriter]*sentStream{vw: vs, aw: as})
	feed(items)

	ev := events.waitFor(t, EventStopped)
	if ev.Reason != StopDiskFull || !errors.Is(ev.Err, syscall.ENOSPC) {
		t.Fatalf("stopped with %s: %v, want disk_full with ENOSPC", ev.Reason, ev.Err)
	}
	<-s.Done()
	for _, ev := range events.list() {
		if ev.Type == EventStarted {
			t.Fatal("Started fired though nothing reached the disk")
		}
	}

	// The meeting goes on: its media engine keeps writing, and every
	// write returns at once.
	done := make(chan struct{})
	go func() {
		for i := 0; i < 4; i++ {
			feed(items)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("WriteRTP blocked after the recording stopped")
	}

	m, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if m.StopReason != StopDiskFull || len(m.Files) != 1 || m.Files[0].Complete {
		t.Fatalf("manifest %+v", m)
	}
	if _, err := s.AddParticipant("grace"); !errors.Is(err, ErrStopped) {
		t.Fatalf("AddParticipant after stop = %v, want ErrStopped", err)
	}
}

func TestFullQueueDropsWithoutBlocking(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	video := videoClip(t, MimeTypeVP8, clipDuration)
	const queue = 16
	s, err := Start(Config{Dir: t.TempDir(), ID: "q", QueueLength: queue, Logger: quietLogger})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	p, _ := s.AddParticipant("kim")
	var keyRequests atomic.Int32
	vw, _ := p.AddTrack(TrackConfig{ID: "cam", MimeType: MimeTypeVP8, OnKeyframeNeeded: func() { keyRequests.Add(1) }})
	vs := packetize(t, video, 3, 300, 30, 0)
	vw.WriteSenderReport(vs.senderReport(time.Now()))
	items := interleave(map[*TrackWriter]*sentStream{vw: vs})
	third := len(items) / 3
	feedPaced(p, items[:third], queue/2)
	if d := vw.Stats().QueueDrops; d != 0 {
		t.Fatalf("%d packets dropped before the stall", d)
	}

	// The disk stalls: the recorder's goroutine is stuck, and the queue
	// fills. WriteRTP still returns, dropping what does not fit.
	stall := make(chan struct{})
	stalled := make(chan struct{})
	go p.do(func() { close(stalled); <-stall })
	<-stalled
	feed(items[third : 2*third])
	close(stall)
	p.do(func() {}) // the stall is over
	before := keyRequests.Load()
	feedPaced(p, items[2*third:], queue/2)
	m, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	st := vw.Stats()
	if want := uint64(third - queue); st.QueueDrops != want {
		t.Fatalf("queue drops %d, want %d (%d sent into a full queue of %d)", st.QueueDrops, want, third, queue)
	}
	if keyRequests.Load() <= before {
		t.Fatal("no keyframe request after the drops")
	}
	decodes(t, filepath.Join(s.Dir(), m.Files[0].Name))
}

func TestDownloadThroughManifest(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	audio := mediatest.Audio(t, 500*time.Millisecond)
	s := startSession(t, nil)
	p, _ := s.AddParticipant("ivan")
	aw, _ := p.AddTrack(TrackConfig{ID: "mic", MimeType: MimeTypeOpus})
	as := packetize(t, audio, 1, 2, 3, 0)
	feed(interleave(map[*TrackWriter]*sentStream{aw: as}))
	if _, _, err := OpenFile(filepath.Dir(s.Dir()), s.ID(), "ivan-000.webm"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("OpenFile while recording = %v, want ErrNotFound (no manifest yet)", err)
	}
	if _, err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(s.Dir())
	m, err := LoadManifest(root, s.ID())
	if err != nil || len(m.Files) != 1 || m.StopReason != StopRequested || m.Version != ManifestVersion {
		t.Fatalf("load manifest: %+v, %v", m, err)
	}
	name := m.Files[0].Name
	if name != "ivan-000.webm" || len(m.Files[0].Tracks) != 1 || m.Files[0].Tracks[0].Codec != MimeTypeOpus {
		t.Fatalf("file %+v", m.Files[0])
	}
	f, e, err := OpenFile(root, s.ID(), name)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	f.Close()
	if e.Name != name || fi.Size() != e.Bytes {
		t.Fatalf("opened %s of %d bytes, manifest says %s of %d", fi.Name(), fi.Size(), e.Name, e.Bytes)
	}
	// A name the manifest does not list is not served, whatever it is;
	// nor is a listed name replaced by a symlink out of the folder.
	for _, bad := range []string{"../rec1/" + name, ManifestName, "/etc/passwd", name + "/..", "", "."} {
		if _, _, err := OpenFile(root, s.ID(), bad); !errors.Is(err, ErrNotFound) {
			t.Fatalf("OpenFile(%q) = %v, want ErrNotFound", bad, err)
		}
	}
	for _, bad := range []string{"../" + s.ID(), "", ".", "..", "a/b"} {
		if _, _, err := OpenFile(root, bad, name); !errors.Is(err, ErrNotFound) {
			t.Fatalf("OpenFile(recording %q) = %v, want ErrNotFound", bad, err)
		}
	}
	path := filepath.Join(s.Dir(), name)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", path); err != nil {
		t.Fatal(err)
	}
	if f, _, err := OpenFile(root, s.ID(), name); err == nil {
		f.Close()
		t.Fatal("OpenFile followed a symlink out of the recording's folder")
	}
}
