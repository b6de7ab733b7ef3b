package whip_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"

	"parley/sfu/live"
	"parley/sfu/mediatest"
)

// clipDuration is the length of the test clips: three keyframes. The
// encoder plays them in a loop for as long as a test needs.
const clipDuration = 3 * time.Second

func testClips(t *testing.T) (video, audio mediatest.Clip) {
	t.Helper()
	mediatest.RequireFFmpeg(t)
	video = mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeH264, Width: 320, Height: 180, Duration: clipDuration})
	audio = mediatest.Audio(t, clipDuration)
	return video, audio
}

// warmUp sends one non-key video frame lasting d and waits d, so the
// live goes on air without a keyframe yet.
func warmUp(t *testing.T, c *obsClient, video mediatest.Clip, d time.Duration) {
	t.Helper()
	if video.Frames[1].Keyframe {
		t.Fatal("the clip's second frame is a keyframe")
	}
	if err := c.video.WriteSample(media.Sample{Data: video.Frames[1].Data, Duration: d}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(d)
}

// playBoth plays the clips into the client's tracks together, looping,
// and returns the function that stops them once they have played for at
// least atLeast and returns how long the media sent lasts. A keyframe
// request makes the client send the clip's first frame again at once,
// as an encoder would.
func playBoth(t *testing.T, c *obsClient, video, audio mediatest.Clip) (stop func(atLeast time.Duration) time.Duration) {
	begun := time.Now()
	quit := make(chan struct{})
	var wg sync.WaitGroup
	var dv, da time.Duration
	wg.Add(2)
	go func() { defer wg.Done(); dv = playUntil(t, c.video, video, quit, &c.keyframe) }()
	go func() { defer wg.Done(); da = playUntil(t, c.audio, audio, quit, nil) }()
	return func(atLeast time.Duration) time.Duration {
		time.Sleep(time.Until(begun.Add(atLeast)))
		close(quit)
		wg.Wait()
		time.Sleep(300 * time.Millisecond) // the last packets cross loopback
		return max(dv, da)
	}
}

// recordingFiles lists the live's recordings through the replay API.
func recordingFiles(t *testing.T, e *env, liveID, token string) []struct {
	Name, URL string
	Segment   int
} {
	t.Helper()
	resp := e.do("GET", "/api/v1/lives/"+liveID+"/recordings", "", "Authorization", "Bearer "+token)
	body := wantStatus(t, resp, http.StatusOK)
	var list struct {
		Recordings []struct {
			ID    string
			Files []struct {
				Name, URL string
				Segment   int
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Recordings) != 1 {
		t.Fatalf("want one recording, got %s", body)
	}
	return list.Recordings[0].Files
}

// download fetches a recording file in two Range requests and writes it
// to a temporary file.
func download(t *testing.T, e *env, url, token string) string {
	t.Helper()
	head := e.do("GET", url, "", "Authorization", "Bearer "+token, "Range", "bytes=0-99")
	first := wantStatus(t, head, http.StatusPartialContent)
	if len(first) != 100 || head.Header.Get("Content-Type") != "video/mp4" {
		t.Fatalf("first range: %d bytes, type %q", len(first), head.Header.Get("Content-Type"))
	}
	rest := wantStatus(t, e.do("GET", url, "", "Authorization", "Bearer "+token, "Range", "bytes=100-"), http.StatusPartialContent)
	path := filepath.Join(t.TempDir(), filepath.Base(url))
	if err := os.WriteFile(path, []byte(first+rest), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// wantDuration checks a recording file with ffprobe: it reads without
// error, holds H.264 and Opus, and both its media (measured from its
// packets) and the container's own duration last want within 5%. Video
// often starts after the audio here (its first keyframe comes late);
// sfu/recording puts that delay in the video track's edit list, so the
// container counts it once.
func wantDuration(t *testing.T, path string, want time.Duration) {
	t.Helper()
	p := probe(t, path)
	if !slices.Contains(p.Codecs, "h264") || !slices.Contains(p.Codecs, "opus") {
		t.Fatalf("%s has streams %v, want h264 and opus", filepath.Base(path), p.Codecs)
	}
	for _, got := range []time.Duration{p.Span, p.Duration} {
		if diff := got - want; diff < -want/20 || diff > want/20 {
			t.Fatalf("%s holds %v of media and the container says %v, want %v within 5%%", filepath.Base(path), p.Span, p.Duration, want)
		}
	}
}

// TestOBSToPlayers publishes real H.264 and Opus from an OBS-shaped
// client (no candidates in its offer, so the server must learn its
// address from its checks), plays it to several WHEP players that each
// depacketize whole frames, and checks the recording with ffprobe and
// the viewer statistics.
func TestOBSToPlayers(t *testing.T) {
	video, audio := testClips(t)
	e := newEnv(t, envOptions{})
	l, key := e.newLive(live.Scope{})

	obs := newOBSClient(t)
	loc := obs.publish(t, e, key)
	waitConnected(t, obs.pc)
	stop := playBoth(t, obs, video, audio)

	waitFor(t, 10*time.Second, "the live to go on air", func() bool {
		got, err := e.lv.Get(l.ID)
		return err == nil && got.Status == live.StatusLive
	})
	var players []*player
	for _, who := range []string{"alice", "bob", "carol"} {
		players = append(players, e.play(t, l.ID, e.token(who)))
	}
	for _, p := range players {
		wholeFrames(t, p.video, video, 20)
		if !p.audio.WaitFor(10*time.Second, func(f []mediatest.ReceivedFrame) bool { return len(f) >= 20 }) {
			t.Fatalf("a player got %d audio frames", len(p.audio.Frames()))
		}
	}
	if n := e.bc.Broadcast(l.ID).Viewers(); n != 3 {
		t.Fatalf("%d viewers, want 3", n)
	}
	// Each player started on a keyframe (wholeFrames): one replayed from
	// the server's cache, or one the server asked the encoder for, which
	// sfu/media's TestStartReplaysRecentKeyframe tells apart.
	played := stop(clipDuration)

	wantStatus(t, e.do("DELETE", loc, "", "Authorization", "Bearer "+key), http.StatusOK)
	got, err := e.lv.Get(l.ID)
	if err != nil || got.Status != live.StatusEnded || len(got.Sessions) != 1 {
		t.Fatalf("live after DELETE: %+v, %v", got, err)
	}
	st, err := e.lv.Stats(l.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.UniqueViewers != 3 || st.Concurrent != 0 || st.OpenRecords != 0 || st.PeakConcurrent != 3 {
		t.Fatalf("viewer stats %+v", st)
	}

	files := recordingFiles(t, e, l.ID, e.token("bob"))
	if len(files) != 1 || files[0].Name != "host-000.mp4" {
		t.Fatalf("recording files %+v", files)
	}
	wantDuration(t, download(t, e, files[0].URL, e.token("bob")), played)
	if err := e.lv.Flush(); err != nil {
		t.Fatal(err)
	}
	if st, _ := e.lv.Stats(l.ID); st.ReplayViews != 1 {
		t.Fatalf("replay views %d, want 1 (one play from the start, one later range)", st.ReplayViews)
	}
	// Replay is for those who may watch the live.
	wantStatus(t, e.do("GET", files[0].URL, ""), http.StatusUnauthorized)
}

// TestOBSReconnect has a second POST with the same stream key replace a
// session that still lingers, as when OBS reconnects: the old resource
// is gone, the player goes on with no break in its sequence numbers,
// the live stays in one on-air session, and the recording continues in
// a new file listed in the manifest.
func TestOBSReconnect(t *testing.T) {
	video, audio := testClips(t)
	e := newEnv(t, envOptions{})
	l, key := e.newLive(live.Scope{})
	obs1 := newOBSClient(t)
	loc1 := obs1.publish(t, e, key)
	waitConnected(t, obs1.pc)
	stop := playBoth(t, obs1, video, audio)
	waitFor(t, 10*time.Second, "the live to go on air", func() bool { return e.bc.Broadcast(l.ID).OnAir() })
	p := e.play(t, l.ID, e.token("bob"))
	wholeFrames(t, p.video, video, 15)
	first := stop(2 * time.Second)
	before := len(p.video.Frames())

	// OBS comes back while its old session lingers.
	obs2 := newOBSClient(t)
	loc2 := obs2.publish(t, e, key)
	if loc2 == loc1 {
		t.Fatal("the new session has the old Location")
	}
	wantStatus(t, e.do("DELETE", loc1, "", "Authorization", "Bearer "+key), http.StatusNotFound)
	waitConnected(t, obs2.pc)
	stop = playBoth(t, obs2, video, audio)
	if !p.video.WaitFor(15*time.Second, func(f []mediatest.ReceivedFrame) bool { return len(f) >= before+30 }) {
		t.Fatalf("the player got %d frames after the reconnect", len(p.video.Frames())-before)
	}
	second := stop(clipDuration)
	wholeFrames(t, p.video, video, before+30)
	pkts := p.video.Packets()
	for i := 1; i < len(pkts); i++ {
		if d := int16(pkts[i].SequenceNumber - pkts[i-1].SequenceNumber); d > 100 || d < -100 {
			t.Fatalf("sequence number jumps by %d at packet %d", d, i)
		}
	}

	wantStatus(t, e.do("DELETE", loc2, "", "Authorization", "Bearer "+key), http.StatusOK)
	got, err := e.lv.Get(l.ID)
	if err != nil || got.Status != live.StatusEnded || len(got.Sessions) != 1 {
		t.Fatalf("live after the reconnect and DELETE: %+v, %v", got, err)
	}
	files := recordingFiles(t, e, l.ID, e.token("alice"))
	if len(files) != 2 || files[0].Segment != 0 || files[1].Segment != 1 ||
		files[0].Name != "host-000.mp4" || files[1].Name != "host-001.mp4" {
		t.Fatalf("recording files %+v, want two segments", files)
	}
	wantDuration(t, download(t, e, files[0].URL, e.token("alice")), first)
	wantDuration(t, download(t, e, files[1].URL, e.token("alice")), second)
}

// TestDisconnectGrace ends a live whose publisher vanished without a
// DELETE once the grace has passed.
func TestDisconnectGrace(t *testing.T) {
	video, _ := testClips(t)
	e := newEnv(t, envOptions{grace: 300 * time.Millisecond})
	l, key := e.newLive(live.Scope{})
	obs := newOBSClient(t)
	obs.publish(t, e, key)
	waitConnected(t, obs.pc)
	warmUp(t, obs, video, 100*time.Millisecond)
	waitFor(t, 10*time.Second, "the live to go on air", func() bool {
		got, _ := e.lv.Get(l.ID)
		return got.Status == live.StatusLive
	})
	bc := e.bc.Broadcast(l.ID)
	obs.pc.Close() // gone, without a DELETE
	// ICE notices within its disconnect timeout (5 s in Pion); then the
	// grace runs.
	select {
	case <-bc.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the broadcast did not end after its publisher vanished")
	}
	got, err := e.lv.Get(l.ID)
	if err != nil || got.Status != live.StatusEnded {
		t.Fatalf("live after the grace: %+v, %v", got, err)
	}
	// The room heard both changes, in order, from the OnStatus hook.
	if heard := e.heardStatuses(); len(heard) != 2 || heard[0] != live.StatusLive || heard[1] != live.StatusEnded {
		t.Fatalf("OnStatus heard %v, want [live ended]", heard)
	}
}

// TestSimulcastFromBrowser publishes three simulcast layers with rids
// "0", "1" and "2" (as OBS 32.1 does) from a browser-like peer with the
// host's member token, and plays them to players that each get whole
// frames of one layer; a player beyond the limit gets 503.
func TestSimulcastFromBrowser(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	e := newEnv(t, envOptions{maxViewers: 2})
	l, _ := e.newLive(live.Scope{})
	sizes := [][2]int{{160, 90}, {320, 180}, {640, 360}}
	var clips []mediatest.Clip
	index := map[string]int{}
	pub := mediatest.NewPeer(t, mediatest.ClientConfig{})
	var layers []*mediatest.Track
	for i, sz := range sizes {
		c := mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeH264, Width: sz[0], Height: sz[1], Duration: 2 * time.Second})
		clips = append(clips, c)
		for k := range clipIndex(c) {
			index[k] = i
		}
		layers = append(layers, mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "camera", "host", strconv.Itoa(i)))
	}
	pub.Publish(layers...)
	offer := pub.Offer()
	if !strings.Contains(offer, "a=simulcast:send 0;1;2") {
		t.Fatalf("the offer is not simulcast:\n%s", offer)
	}
	resp := e.do("POST", "/whip?live="+l.ID, offer, "Content-Type", sdpType, "Authorization", "Bearer "+e.token("alice"))
	pub.Accept(wantStatus(t, resp, http.StatusCreated))
	pub.WaitConnected(10 * time.Second)
	var stops []func()
	for i, tr := range layers {
		stops = append(stops, mediatest.PlayUntil(tr, clips[i]))
	}
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	waitFor(t, 10*time.Second, "three layers", func() bool {
		bc := e.bc.Broadcast(l.ID)
		if bc == nil || !bc.OnAir() {
			return false
		}
		tracks := bc.Tracks()
		return len(tracks) == 1 && len(tracks[0].Layers) == 3
	})
	var rids []string
	for _, ly := range e.bc.Broadcast(l.ID).Tracks()[0].Layers {
		rids = append(rids, ly.RID)
	}
	slices.Sort(rids)
	if !slices.Equal(rids, []string{"0", "1", "2"}) {
		t.Fatalf("layers %v", rids)
	}

	var bobsLocation, bobsETag string
	for _, who := range []string{"bob", "carol"} {
		p := mediatest.NewPeer(t, mediatest.ClientConfig{})
		if _, err := p.PC.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
		resp := e.do("POST", "/whep/"+l.ID, p.Offer(), "Content-Type", sdpType, "Authorization", "Bearer "+e.token(who))
		p.Accept(wantStatus(t, resp, http.StatusCreated))
		if who == "bob" {
			bobsLocation, bobsETag = resp.Header.Get("Location"), resp.Header.Get("ETag")
		}
		r := p.NextTrack(10 * time.Second)
		ok := r.WaitFor(10*time.Second, func(frames []mediatest.ReceivedFrame) bool {
			whole := 0
			for _, f := range frames {
				if _, ok := index[frameKey(f.Data)]; ok {
					whole++
				}
			}
			return whole >= 20
		})
		if !ok {
			t.Fatalf("%s got %d frames, too few whole frames of any layer", who, len(r.Frames()))
		}
	}
	p := mediatest.NewPeer(t, mediatest.ClientConfig{})
	if _, err := p.PC.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
		webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	full := e.do("POST", "/whep/"+l.ID, p.Offer(), "Content-Type", sdpType, "Authorization", "Bearer "+e.token("alice"))
	wantStatus(t, full, http.StatusServiceUnavailable)
	if full.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}

	// WHEP sessions take PATCH and DELETE like WHIP's.
	if !strings.HasPrefix(bobsLocation, "/whep/"+l.ID+"/") {
		t.Fatalf("WHEP Location %q", bobsLocation)
	}
	frag := "a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host\r\n"
	bob := "Bearer " + e.token("bob")
	fragType := "application/trickle-ice-sdpfrag"
	wantStatus(t, e.do("PATCH", bobsLocation, frag, "Content-Type", fragType, "Authorization", bob), http.StatusPreconditionRequired)
	wantStatus(t, e.do("PATCH", bobsLocation, frag, "Content-Type", fragType, "Authorization", bob, "If-Match", `"old"`), http.StatusPreconditionFailed)
	wantStatus(t, e.do("PATCH", bobsLocation, frag, "Content-Type", fragType, "Authorization", bob, "If-Match", bobsETag), http.StatusNoContent)
	wantStatus(t, e.do("DELETE", bobsLocation, ""), http.StatusUnauthorized)
	wantStatus(t, e.do("DELETE", "/whep/"+l.ID+"/NOSUCHRESOURCE", "", "Authorization", bob), http.StatusNotFound)
	wantStatus(t, e.do("DELETE", bobsLocation, "", "Authorization", bob), http.StatusOK)
	if n := e.bc.Broadcast(l.ID).Viewers(); n != 1 {
		t.Fatalf("%d viewers after a DELETE, want 1", n)
	}
}
