package signaling

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/chat/directory"
	"parley/sfu/mediatest"
	"parley/sfu/recording"
	"parley/sfu/rtc"
)

// recordedClip is how long each publisher plays its clips, once.
const recordedClip = 4 * time.Second

var recordingClips struct {
	once            sync.Once
	vp8, h264, opus mediatest.Clip
	err             error
}

// clipsToRecord encodes the clips once per test binary.
func clipsToRecord(t *testing.T) (vp8, h264, opus mediatest.Clip) {
	t.Helper()
	mediatest.RequireFFmpeg(t)
	c := &recordingClips
	c.once.Do(func() {
		// Every frame a keyframe: the recorder joins a stream after its
		// first packet and asks for a keyframe, which a browser sends at
		// once but a prerecorded clip cannot; with keyframes throughout,
		// the recording misses at most the first frame, as it would with
		// a browser.
		spec := mediatest.VideoSpec{Width: 160, Height: 120, FPS: 15, Duration: recordedClip,
			KeyframeInterval: time.Second / 15}
		spec.MimeType = webrtc.MimeTypeVP8
		if c.vp8, c.err = mediatest.EncodeVideo(spec); c.err != nil {
			return
		}
		spec.MimeType = webrtc.MimeTypeH264
		if c.h264, c.err = mediatest.EncodeVideo(spec); c.err != nil {
			return
		}
		c.opus, c.err = mediatest.EncodeAudio(recordedClip)
	})
	if c.err != nil {
		t.Fatal(c.err)
	}
	return c.vp8, c.h264, c.opus
}

// requireFFprobe skips without ffprobe, or fails when media tools are
// required.
func requireFFprobe(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		if os.Getenv(mediatest.RequireEnv) != "" {
			t.Fatalf("ffprobe is required (%s is set): %v", mediatest.RequireEnv, err)
		}
		t.Skip("ffprobe not installed")
	}
}

// publisher is a meeting participant over the real /ws with a Pion peer
// as its publisher connection.
type publisher struct {
	ws     *wsClient
	snap   rtc.Snapshot
	pc     *mediatest.Peer
	tracks map[*mediatest.Track]mediatest.Clip
}

// publish sends one offer carrying every track given, each as its
// source, and waits until the connection is up.
func (p *publisher) publish(t *testing.T, sources map[rtc.Source]*mediatest.Track, clips map[rtc.Source]mediatest.Clip) {
	t.Helper()
	p.pc = mediatest.NewPeer(t, mediatest.ClientConfig{})
	p.tracks = map[*mediatest.Track]mediatest.Clip{}
	for _, tr := range sources {
		p.pc.Publish(tr)
	}
	offer := p.pc.Offer()
	var decl []rtc.PublishTrack
	for src, tr := range sources {
		for _, x := range p.pc.PC.GetTransceivers() {
			if s := x.Sender(); s != nil && s.Track() != nil && s.Track().ID() == tr.ID() {
				decl = append(decl, rtc.PublishTrack{Mid: x.Mid(), Source: src})
			}
		}
		p.tracks[tr] = clips[src]
	}
	var rep struct{ SDP string }
	if typ := p.ws.call("meeting.publish", map[string]any{"sdp": offer, "tracks": decl}, &rep); typ != "meeting.published" {
		t.Fatalf("meeting.publish: %s", typ)
	}
	p.pc.Accept(rep.SDP)
	p.pc.WaitConnected(10 * time.Second)
}

// playOnce plays every publisher's clips once, all at the same time,
// and waits for the end.
func playOnce(t *testing.T, pubs ...*publisher) {
	t.Helper()
	var wg sync.WaitGroup
	for _, p := range pubs {
		for tr, clip := range p.tracks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := mediatest.Play(context.Background(), tr, clip, false); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
}

func cameraAndMic(id string, video webrtc.RTPCodecCapability) map[rtc.Source]*mediatest.Track {
	return map[rtc.Source]*mediatest.Track{
		rtc.SourceCamera:     mediatest.NewTrack(video, id+"-cam", id, ""),
		rtc.SourceMicrophone: mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, id+"-mic", id, ""),
	}
}

var h264Baseline = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}

// recordingFixture is a server, a meeting hosted by alice, and people.
type recordingFixture struct {
	srv  *testServer
	ps   *people
	m    meetingBody
	root string // the meeting's recordings folder
}

func newRecordingFixture(t *testing.T, settings map[string]any, members ...string) *recordingFixture {
	t.Helper()
	cfg := testConfig(t, t.TempDir())
	f := &recordingFixture{srv: startServer(t, cfg)}
	f.ps = newPeople(t, f.srv)
	f.ps.add("alice", "", directory.RoleMember)
	for _, id := range members {
		f.ps.add(id, "", directory.RoleMember)
	}
	body := map[string]any{"title": "Recorded", "settings": settings, "invitees": members}
	if status, raw := f.ps.do("alice", "POST", "/meetings", body, &f.m); status != http.StatusCreated {
		t.Fatalf("create meeting: %d %s", status, raw)
	}
	f.root = filepath.Join(cfg.DataDir, filepath.FromSlash(meetingRecordingsDir), f.m.ID)
	return f
}

func (f *recordingFixture) join(t *testing.T, id string) *publisher {
	t.Helper()
	p := &publisher{ws: newWSClient(t, f.srv.URL, f.ps.tokens[id])}
	p.snap = joinMeeting(t, p.ws, f.m.ID)
	return p
}

// recordingPush waits for the n-th meeting.recording push to c.
func recordingPush(t *testing.T, c *wsClient, n int, within time.Duration) rtc.RecordingEvent {
	t.Helper()
	got := c.waitPushed("meeting.recording", n, within)
	var ev rtc.RecordingEvent
	if err := json.Unmarshal(got[n-1].Data, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// nonEmptyFiles counts the files with bytes in a recording's folder.
func nonEmptyFiles(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.Size() > 0 {
			n++
		}
	}
	return n
}

type probed struct {
	Streams []struct {
		CodecName string `json:"codec_name"`
		CodecType string `json:"codec_type"`
		StartTime string `json:"start_time"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

func ffprobe(t *testing.T, path string) probed {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json", path)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v: %s", path, err, stderr.String())
	}
	var p probed
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// The host records a meeting over the real signaling: two participants
// send VP8 and Opus, one H.264 and Opus. The started event comes once a
// file holds media; on stop, the manifest lists one file per
// participant, each with the codecs sent and the length played; the
// files download, by range, to the host only.
func TestHostRecordsAMeeting(t *testing.T) {
	requireFFprobe(t)
	vp8, h264, opus := clipsToRecord(t)
	f := newRecordingFixture(t, nil, "bob", "carol", "erin")
	f.ps.add("root", "", directory.RoleSuperAdmin)
	alice := f.join(t, "alice")
	bob, carol, erin := f.join(t, "bob"), f.join(t, "carol"), f.join(t, "erin")

	var refused struct{ Code string }
	if typ := bob.ws.call("meeting.host.record", map[string]any{"recording": true}, &refused); typ != "error" || refused.Code != "forbidden" {
		t.Fatalf("a member starts the recording: %s %+v", typ, refused)
	}
	var info rtc.RecordingInfo
	if typ := alice.ws.call("meeting.host.record", map[string]any{"recording": true}, &info); typ != "meeting.ok" || info.State != rtc.RecordingStarting {
		t.Fatalf("host starts the recording: %s %+v", typ, info)
	}
	dir := filepath.Join(f.root, info.ID)
	if n := nonEmptyFiles(t, dir); n != 0 {
		t.Fatalf("%d files before any media", n)
	}

	bob.publish(t, cameraAndMic("bob", webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}),
		map[rtc.Source]mediatest.Clip{rtc.SourceCamera: vp8, rtc.SourceMicrophone: opus})
	carol.publish(t, cameraAndMic("carol", webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}),
		map[rtc.Source]mediatest.Clip{rtc.SourceCamera: vp8, rtc.SourceMicrophone: opus})
	erin.publish(t, cameraAndMic("erin", h264Baseline),
		map[rtc.Source]mediatest.Clip{rtc.SourceCamera: h264, rtc.SourceMicrophone: opus})
	played := make(chan struct{})
	go func() {
		defer close(played)
		playOnce(t, bob, carol, erin)
	}()

	// Started fires once media is on disk.
	ev := recordingPush(t, bob.ws, 1, 15*time.Second)
	if ev.ID != info.ID || ev.State != rtc.RecordingStarted || ev.By != alice.snap.Self.ID {
		t.Fatalf("meeting.recording %+v", ev)
	}
	if n := nonEmptyFiles(t, dir); n == 0 {
		t.Fatal("the started event came before any file held media")
	}
	<-played
	time.Sleep(300 * time.Millisecond) // the last packets land
	var stopped rtc.RecordingInfo
	if typ := alice.ws.call("meeting.host.record", map[string]any{"recording": false}, &stopped); typ != "meeting.ok" || stopped.State != rtc.RecordingStopped {
		t.Fatalf("host stops the recording: %s %+v", typ, stopped)
	}
	if ev := recordingPush(t, carol.ws, 2, 10*time.Second); ev.State != rtc.RecordingStopped || ev.Reason != rtc.RecordingReasonRequested {
		t.Fatalf("meeting.recording %+v", ev)
	}

	// The manifest lists one file per participant, WebM for VP8, MP4 for
	// H.264; ffprobe agrees on the codecs and the length.
	man, err := recording.LoadManifest(f.root, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"bob-000.webm":   {"vp8", "opus"},
		"carol-000.webm": {"vp8", "opus"},
		"erin-000.mp4":   {"h264", "opus"},
	}
	if len(man.Files) != len(want) {
		t.Fatalf("manifest files %+v", man.Files)
	}
	for _, fe := range man.Files {
		codecs, ok := want[fe.Name]
		if !ok || !fe.Complete || len(fe.Tracks) != 2 {
			t.Fatalf("manifest file %+v", fe)
		}
		p := ffprobe(t, filepath.Join(dir, fe.Name))
		var got []string
		for _, s := range p.Streams {
			got = append(got, s.CodecName)
			// Both tracks start together, as they were sent.
			if start, err := strconv.ParseFloat(s.StartTime, 64); err != nil || start > 0.2 {
				t.Fatalf("%s: %s starts at %q s", fe.Name, s.CodecName, s.StartTime)
			}
		}
		if len(got) != 2 || !sameSet(got, codecs) {
			t.Fatalf("%s: ffprobe streams %v, want %v", fe.Name, got, codecs)
		}
		secs, err := strconv.ParseFloat(p.Format.Duration, 64)
		if err != nil {
			t.Fatalf("%s: duration %q", fe.Name, p.Format.Duration)
		}
		if sent := recordedClip.Seconds(); math.Abs(secs-sent) > 0.05*sent {
			t.Fatalf("%s: %.3f s recorded of %.3f s sent", fe.Name, secs, sent)
		}
	}

	// The listing shows the recording and whose each file is.
	var list struct {
		Recordings []struct {
			ID           string                        `json:"recording_id"`
			State        string                        `json:"state"`
			Manifest     *recording.Manifest           `json:"manifest"`
			Participants map[string]rtc.RecordedPerson `json:"participants"`
		} `json:"recordings"`
	}
	path := "/meetings/" + f.m.ID + "/recordings"
	if status, raw := f.ps.do("alice", "GET", path, nil, &list); status != http.StatusOK {
		t.Fatalf("list: %d %s", status, raw)
	}
	if len(list.Recordings) != 1 || list.Recordings[0].ID != info.ID || list.Recordings[0].State != "finished" ||
		list.Recordings[0].Manifest == nil || list.Recordings[0].Participants["erin"].UserID != "erin" {
		t.Fatalf("listing %+v", list)
	}
	f.ps.expect("bob", "GET", path, nil, http.StatusForbidden, "forbidden")

	// Download with a Range: 206 and exactly those bytes. A participant
	// who is not a host is refused; a super admin is not.
	file := path + "/" + info.ID + "/files/bob-000.webm"
	whole, err := os.ReadFile(filepath.Join(dir, "bob-000.webm"))
	if err != nil {
		t.Fatal(err)
	}
	status, hdr, body := download(t, f.srv.URL+"/api/v1"+file, f.ps.tokens["alice"], "bytes=100-1123")
	if status != http.StatusPartialContent || !bytes.Equal(body, whole[100:1124]) ||
		hdr.Get("Content-Range") != fmt.Sprintf("bytes 100-1123/%d", len(whole)) || hdr.Get("Content-Type") != "video/webm" {
		t.Fatalf("range download: %d %v, %d bytes", status, hdr, len(body))
	}
	if status, _, body := download(t, f.srv.URL+"/api/v1"+file, f.ps.tokens["root"], ""); status != http.StatusOK || !bytes.Equal(body, whole) {
		t.Fatalf("super admin download: %d, %d of %d bytes", status, len(body), len(whole))
	}
	f.ps.expect("bob", "GET", file, nil, http.StatusForbidden, "forbidden")
	f.ps.expect("alice", "GET", path+"/"+info.ID+"/files/manifest.json", nil, http.StatusNotFound, "not_found")
	f.ps.expect("alice", "GET", path+"/"+info.ID+"/files/..%2F..%2Fmanifest.json", nil, http.StatusNotFound, "not_found")
}

func sameSet(a, b []string) bool {
	seen := map[string]int{}
	for _, x := range a {
		seen[x]++
	}
	for _, x := range b {
		seen[x]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return len(a) == len(b)
}

// download GETs url with an optional Range header.
func download(t *testing.T, url, token, rng string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// With settings.auto_record, the meeting records as soon as media flows,
// with no host action, and the recording is finished when the meeting
// ends.
func TestAutoRecordOverTheSocket(t *testing.T) {
	_, _, opus := clipsToRecord(t)
	f := newRecordingFixture(t, map[string]any{"auto_record": true}, "bob")
	alice, bob := f.join(t, "alice"), f.join(t, "bob")
	bob.publish(t, map[rtc.Source]*mediatest.Track{
		rtc.SourceMicrophone: mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "bob", ""),
	}, map[rtc.Source]mediatest.Clip{rtc.SourceMicrophone: opus})
	played := make(chan struct{})
	go func() {
		defer close(played)
		playOnce(t, bob)
	}()
	ev := recordingPush(t, alice.ws, 1, 15*time.Second)
	if ev.State != rtc.RecordingStarted || ev.By != "" {
		t.Fatalf("auto-recording: %+v", ev)
	}
	<-played
	if typ := alice.ws.call("meeting.host.end", nil, nil); typ != "meeting.ok" {
		t.Fatalf("end: %s", typ)
	}
	man, err := recording.LoadManifest(f.root, ev.ID)
	if err != nil {
		t.Fatalf("no manifest after the meeting ended: %v", err)
	}
	if len(man.Files) != 1 || man.Files[0].Name != "bob-000.webm" || man.Files[0].Duration < 1000 {
		t.Fatalf("manifest %+v", man)
	}
}

// A recording whose disk fills stops with an event, and the meeting goes
// on: media still flows to its participants. The participant's file is
// /dev/full, so every write fails with ENOSPC, a real OS error.
func TestDiskFullStopsTheRecordingNotTheMeeting(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	_, _, opus := clipsToRecord(t)
	f := newRecordingFixture(t, nil, "bob")
	alice, bob := f.join(t, "alice"), f.join(t, "bob")
	var info rtc.RecordingInfo
	if typ := alice.ws.call("meeting.host.record", map[string]any{"recording": true}, &info); typ != "meeting.ok" {
		t.Fatalf("start recording: %s", typ)
	}
	if err := os.Symlink("/dev/full", filepath.Join(f.root, info.ID, "bob-000.webm")); err != nil {
		t.Fatal(err)
	}
	mic := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "bob", "")
	bob.publish(t, map[rtc.Source]*mediatest.Track{rtc.SourceMicrophone: mic}, nil)
	t.Cleanup(mediatest.PlayUntil(mic, opus))

	ev := recordingPush(t, alice.ws, 1, 15*time.Second)
	if ev.ID != info.ID || ev.State != rtc.RecordingStopped || ev.Reason != rtc.RecordingReasonDiskFull {
		t.Fatalf("meeting.recording %+v, want stopped for disk_full", ev)
	}
	man, err := recording.LoadManifest(f.root, info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if man.StopReason != recording.StopDiskFull {
		t.Fatalf("manifest stop reason %q", man.StopReason)
	}

	// The meeting goes on: alice subscribes to bob's microphone and hears
	// him, and may record again.
	var track string
	for _, m := range alice.ws.waitPushed("meeting.track_published", 1, 10*time.Second) {
		var ti rtc.TrackInfo
		_ = json.Unmarshal(m.Data, &ti)
		track = ti.ID
	}
	if typ := alice.ws.call("meeting.subscribe", map[string]any{"track_id": track}, nil); typ != "meeting.ok" {
		t.Fatalf("subscribe: %s", typ)
	}
	sub := mediatest.NewPeer(t, mediatest.ClientConfig{})
	var offer rtc.SDPEvent
	if err := json.Unmarshal(alice.ws.waitPushed("meeting.subscriber_offer", 1, 10*time.Second)[0].Data, &offer); err != nil {
		t.Fatal(err)
	}
	if typ := alice.ws.call("meeting.subscriber_answer", map[string]any{"sdp": sub.Answer(offer.SDP)}, nil); typ != "meeting.ok" {
		t.Fatalf("subscriber answer: %s", typ)
	}
	r := sub.NextTrack(10 * time.Second)
	if !r.WaitFor(10*time.Second, func(fr []mediatest.ReceivedFrame) bool { return len(fr) >= 20 }) {
		t.Fatalf("alice does not hear bob after the recording stopped: %d frames", len(r.Frames()))
	}
	if typ := alice.ws.call("meeting.host.record", map[string]any{"recording": true}, &info); typ != "meeting.ok" || info.State != rtc.RecordingStarting {
		t.Fatalf("record again after the disk filled: %s %+v", typ, info)
	}
	if !strings.HasPrefix(bob.snap.Self.ID, "p_") {
		t.Fatalf("bob's participant %+v", bob.snap.Self)
	}
}
