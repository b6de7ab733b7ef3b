package rtc_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"parley/sfu/meeting"
	"parley/sfu/recording"
	"parley/sfu/rtc"
)

// recordingEvent waits for a recording event of state.
func (l *eventLog) recordingEvent(t *testing.T, state string) rtc.RecordingEvent {
	t.Helper()
	return l.waitMatch(t, rtc.EventRecording, func(ev rtc.Event) bool {
		return ev.Data.(rtc.RecordingEvent).State == state
	}).Data.(rtc.RecordingEvent)
}

// The recording holds what the others heard: a muted microphone is not
// recorded until it is unmuted. A screen share has a file of its own,
// and a participant who resumes continues in a new segment.
func TestRecordingGatesMuteAndSplitsFiles(t *testing.T) {
	video, audio := testClips(t)
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	alice := e.connect(t, m.ID, "alice")
	bob := e.connect(t, m.ID, "bob")
	room := alice.p.Room()
	screen := alice.publish(t, rtc.SourceScreenShare, vp8Track("screen"), video)
	mic := bob.publish(t, rtc.SourceMicrophone, opusTrack("mic"), audio)
	live := map[string]bool{}
	alice.ev.waitMatch(t, rtc.EventTrackPublished, func(ev rtc.Event) bool {
		live[ev.Data.(rtc.TrackInfo).ID] = true
		return live[screen.ID] && live[mic.ID]
	})
	if _, err := room.Mute(alice.p, bob.p.ID(), rtc.SourceMicrophone, false); err != nil {
		t.Fatal(err)
	}

	if _, err := room.StartRecording(bob.p); err == nil {
		t.Fatal("a member started the recording")
	}
	begun := time.Now()
	info, err := room.StartRecording(alice.p)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != rtc.RecordingStarting || info.By != alice.p.ID() {
		t.Fatalf("started %+v", info)
	}
	wantErr(t, func() error { _, err := room.StartRecording(alice.p); return err }(), rtc.ErrState)
	if ev := bob.ev.recordingEvent(t, rtc.RecordingStarted); ev.ID != info.ID {
		t.Fatalf("started event %+v", ev)
	}
	if got, ok := room.Recording(); !ok || got.State != rtc.RecordingStarted {
		t.Fatalf("room recording %+v %v", got, ok)
	}

	// A second of bob muted by the host, then he may speak.
	time.Sleep(time.Second)
	if _, err := room.Mute(alice.p, bob.p.ID(), rtc.SourceMicrophone, true); err != nil {
		t.Fatal(err)
	}
	if err := bob.p.SetMuted(rtc.SourceMicrophone, false); err != nil {
		t.Fatal(err)
	}
	muted := time.Since(begun)
	time.Sleep(time.Second)

	// Bob's connection drops and he resumes: a new segment.
	bob.p.Disconnect(bob.ev)
	p, _, err := e.rooms.Resume(m.ID, bob.p.ID(), bob.snap.ResumeToken, rtc.Identity{ID: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	fresh := newEventLog()
	p.Attach(fresh)
	time.Sleep(time.Second)

	if _, err := room.StopRecording(alice.p); err != nil {
		t.Fatal(err)
	}
	if ev := alice.ev.recordingEvent(t, rtc.RecordingStopped); ev.Reason != rtc.RecordingReasonRequested || ev.By != alice.p.ID() {
		t.Fatalf("stopped event %+v", ev)
	}
	if _, ok := room.Recording(); ok {
		t.Fatal("the room still shows a recording")
	}

	root := filepath.Join(e.recordings, m.ID)
	man, err := recording.LoadManifest(root, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]recording.FileEntry{}
	for _, f := range man.Files {
		files[f.Name] = f
	}
	scr, ok := files["alice-screen-000.webm"]
	if !ok || len(scr.Tracks) != 1 || scr.Tracks[0].Kind != "video" {
		t.Fatalf("no screen share file of its own: %+v", man.Files)
	}
	first, ok := files["bob-000.webm"]
	if !ok || len(first.Tracks) != 1 || first.Tracks[0].Kind != "audio" {
		t.Fatalf("no file of bob's microphone: %+v", man.Files)
	}
	// Nothing of the muted second is in it: bob's file starts when he
	// was unmuted.
	if at := time.Duration(first.StartOffset) * time.Millisecond; at < muted-300*time.Millisecond {
		t.Fatalf("bob's file starts %v into the recording, but he was muted for %v", at, muted)
	}
	if next, ok := files["bob-001.webm"]; !ok || next.Segment != 1 || next.StartOffset < first.StartOffset+first.Duration-100 {
		t.Fatalf("no second segment after bob resumed: %+v", man.Files)
	}
	if fi, err := os.Stat(filepath.Join(root, info.ID, "bob-000.webm")); err != nil || fi.Size() == 0 {
		t.Fatalf("bob's file: %v", err)
	}
	people, err := rtc.ReadRecordingPeople(root, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if people["bob"].UserID != "bob" || people["bob"].Name != "Name of bob" || !people["alice-screen"].ScreenShare {
		t.Fatalf("people %+v", people)
	}
}

// With settings.auto_record, the room records as soon as media flows,
// and the recording stops, files finished, when the room closes.
func TestAutoRecordAndStopOnClose(t *testing.T) {
	_, audio := testClips(t)
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{AutoRecord: boolp(true)})
	alice := e.connect(t, m.ID, "alice")
	if snap := alice.snap; snap.Recording != nil {
		t.Fatalf("recording before any media: %+v", snap.Recording)
	}
	if !alice.snap.RecordingAvailable {
		t.Fatal("a server with a recording folder says recording is not available")
	}
	alice.publish(t, rtc.SourceMicrophone, opusTrack("mic"), audio)
	ev := alice.ev.recordingEvent(t, rtc.RecordingStarted)
	if ev.By != "" {
		t.Fatalf("auto-recording started by %q", ev.By)
	}
	bob := e.join(t, m.ID, "bob", false)
	if bob.snap.Recording == nil || bob.snap.Recording.ID != ev.ID {
		t.Fatalf("a newcomer's snapshot does not show the recording: %+v", bob.snap.Recording)
	}
	bob.p.Leave()
	if err := alice.p.Room().End(alice.p); err != nil {
		t.Fatal(err)
	}
	man, err := recording.LoadManifest(filepath.Join(e.recordings, m.ID), ev.ID)
	if err != nil {
		t.Fatalf("no manifest once the meeting ended: %v", err)
	}
	if len(man.Files) != 1 || man.Files[0].Participant != "alice" || man.Files[0].Duration == 0 {
		t.Fatalf("manifest %+v", man)
	}
}
