package whip_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v2"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"
	"github.com/pion/webrtc/v3/pkg/media"

	"parley/chat/audit"
	"parley/chat/directory"
	"parley/sfu/live"
	"parley/sfu/mediatest"
	"parley/sfu/transport"
	"parley/signaling/auth"
	"parley/signaling/whip"
	"parley/storage"
)

// Test STUN and TURN servers, announced in Link headers only.
const (
	testSTUN     = "stun:stun.example.net:3478"
	testTURN     = "turn:turn.example.net:3478?transport=udp"
	testTURNUser = "parley"
	testTURNPass = "s3cret"
)

// env is a WHIP/WHEP server on loopback over a real Pebble, auth
// service, directory and media transport.
type env struct {
	t    testing.TB
	url  string
	db   *storage.DB
	dir  *directory.Directory
	auth *auth.Service
	lv   *live.Store
	bc   *live.Broadcasts
	rec  string // recording folder

	statusMu sync.Mutex
	statuses []live.Status // what the OnStatus hook heard, in order
}

// heardStatuses is what the broadcasts' OnStatus hook has reported.
func (e *env) heardStatuses() []live.Status {
	e.statusMu.Lock()
	defer e.statusMu.Unlock()
	return append([]live.Status(nil), e.statuses...)
}

type envOptions struct {
	grace                     time.Duration
	maxBroadcasts, maxViewers int
}

func newEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	db, err := storage.Open(t.TempDir(), storage.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dir := directory.New(db, audit.New(db))
	if err := dir.Bootstrap("Test Co"); err != nil {
		t.Fatal(err)
	}
	sys := directory.Actor{ID: "system"}
	for _, m := range []struct{ id, name string }{{"alice", "Alice"}, {"bob", "Bob"}, {"carol", "Carol"}} {
		if _, err := dir.CreateMember(sys, directory.Member{ID: m.id, Name: m.name, Departments: []string{directory.RootDepartmentID}}); err != nil {
			t.Fatal(err)
		}
	}
	authSvc, err := auth.New(db, activeMembers{dir}, auth.Config{})
	if err != nil {
		t.Fatal(err)
	}
	lv := live.New(db, live.Options{FlushInterval: -1})
	t.Cleanup(func() { lv.Close() })
	tr, err := transport.New(transport.Config{
		LoopbackOnly: true,
		ICEServers: []webrtc.ICEServer{
			{URLs: []string{testSTUN}},
			{URLs: []string{testTURN}, Username: testTURNUser, Credential: testTURNPass},
		},
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	recDir := filepath.Join(t.TempDir(), "recordings")
	e := &env{t: t, db: db, dir: dir, auth: authSvc, lv: lv, rec: recDir}
	bcs, err := live.NewBroadcasts(live.MediaConfig{
		Transport: tr, Store: lv, RecordingDir: recDir, DisconnectGrace: opts.grace, Logger: logger,
		MaxBroadcasts: opts.maxBroadcasts, MaxViewers: opts.maxViewers,
		OnStatus: func(_ string, st live.Status, _ time.Time) {
			e.statusMu.Lock()
			e.statuses = append(e.statuses, st)
			e.statusMu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bcs.Close)
	h, err := whip.New(whip.Deps{
		Broadcasts: bcs,
		Access: &whip.Access{Lives: lv, Tokens: authSvc, Members: dir,
			// Every member is in an all-members scope; department scopes
			// cover nobody here.
			InScope: func(l live.Live, _ string) (bool, error) { return l.Scope.AllMembers, nil }},
		Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url, e.bc = srv.URL, bcs
	return e
}

type activeMembers struct{ dir *directory.Directory }

func (m activeMembers) MemberActive(id string) (bool, error) {
	mem, err := m.dir.GetMember(id)
	if err != nil {
		return false, nil
	}
	return mem.Status == directory.StatusActive, nil
}

// token is a member's access token.
func (e *env) token(memberID string) string {
	e.t.Helper()
	tok, err := e.auth.IssueAccess(memberID, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.AccessToken
}

// newLive creates a live hosted by alice and returns it with its key.
func (e *env) newLive(scope live.Scope) (live.Live, string) {
	e.t.Helper()
	if scope.Kind == "" {
		scope = live.Scope{Kind: live.ScopeInternal, AllMembers: true}
	}
	l, key, err := e.lv.Create(live.NewLive{Title: "Launch", HostID: "alice", Scope: scope})
	if err != nil {
		e.t.Fatal(err)
	}
	return l, key
}

// do sends a request with headers given as name, value pairs, the names
// exactly as given (so lower-case names reach the server lower-case).
func (e *env) do(method, path, body string, headers ...string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header[headers[i]] = append(req.Header[headers[i]], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func wantStatus(t testing.TB, resp *http.Response, want int) string {
	t.Helper()
	body := readAll(t, resp)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, want, body)
	}
	return body
}

// errorCode reads the error body's code.
func errorCode(t *testing.T, body string) (code, message string) {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string }
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q: %v", body, err)
	}
	return e.Error.Code, e.Error.Message
}

// obsClient stands in for OBS: a Pion peer whose codecs are what OBS
// offers (Opus on 111, H.264 on 96 as 42e01f, packetization mode 1),
// sending audio on mid 0 and video on mid 1, with sender reports and
// NACK answers.
type obsClient struct {
	pc           *webrtc.PeerConnection
	audio, video *mediatest.Track
	// keyframe is set by a PLI or FIR from the server; the video pacer
	// then sends a keyframe next, as an encoder would.
	keyframe atomic.Bool
}

func newOBSClient(t *testing.T) *obsClient {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1"},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine:  "profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1",
			RTCPFeedback: []webrtc.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}}},
		PayloadType: 96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, reg); err != nil {
		t.Fatal(err)
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		t.Fatal(err)
	}
	s := webrtc.SettingEngine{}
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	s.SetIncludeLoopbackCandidate(true)
	s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(s))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	c := &obsClient{
		pc:    pc,
		audio: mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "obs-audio", "obs", ""),
		video: mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264}, "obs-video", "obs", ""),
	}
	for _, tr := range []*mediatest.Track{c.audio, c.video} {
		x, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			t.Fatal(err)
		}
		go c.readRTCP(x.Sender())
	}
	return c
}

// readRTCP reads a sender's RTCP, which also feeds the NACK responder,
// and notes keyframe requests.
func (c *obsClient) readRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return
		}
		pkts, err := rtcp.Unmarshal(buf[:n])
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				c.keyframe.Store(true)
			}
		}
	}
}

// playUntil sends clip into w in real time, looping it, until stop is
// closed, and returns how long the media it sent lasts. With restart
// set, a keyframe request makes it go back to the clip's first frame, a
// keyframe, as an encoder answers one. Time stays on schedule either
// way.
func playUntil(t *testing.T, w mediatest.SampleWriter, clip mediatest.Clip, stop <-chan struct{}, restart *atomic.Bool) time.Duration {
	start := time.Now()
	var at time.Duration
	pos := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		if restart != nil && restart.Swap(false) {
			pos = 0
		}
		f := clip.Frames[pos%len(clip.Frames)]
		timer.Reset(time.Until(start.Add(at)))
		select {
		case <-stop:
			return at
		case <-timer.C:
		}
		if err := w.WriteSample(media.Sample{Data: f.Data, Duration: f.Duration}); err != nil {
			t.Error(err)
			return at
		}
		at += f.Duration
		pos++
	}
}

// offer makes the client's offer and rewrites it into OBS's shape.
func (c *obsClient) offer(t *testing.T) string {
	t.Helper()
	o, err := c.pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-gathered
	return obsShape(t, c.pc.LocalDescription().SDP)
}

// obsShape rewrites a Pion offer the way OBS 30.2+ shapes its own: no
// candidates at all, the ICE credentials at session level, and the
// group:LS, msid-semantic and ice2 options OBS sends.
func obsShape(t *testing.T, raw string) string {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(raw); err != nil {
		t.Fatal(err)
	}
	var ufrag, pwd string
	var mids []string
	for _, m := range d.MediaDescriptions {
		var kept []sdp.Attribute
		for _, a := range m.Attributes {
			switch a.Key {
			case "ice-ufrag":
				ufrag = a.Value
			case "ice-pwd":
				pwd = a.Value
			case "candidate", "end-of-candidates", "ice-options":
			case "mid":
				mids = append(mids, a.Value)
				kept = append(kept, a)
			default:
				kept = append(kept, a)
			}
		}
		m.Attributes = kept
	}
	var session []sdp.Attribute
	for _, a := range d.Attributes {
		if a.Key != "ice-options" && a.Key != "msid-semantic" {
			session = append(session, a)
		}
	}
	session = append(session,
		sdp.Attribute{Key: "group", Value: "LS " + strings.Join(mids, " ")},
		sdp.Attribute{Key: "msid-semantic", Value: "WMS *"},
		sdp.Attribute{Key: "ice-ufrag", Value: ufrag},
		sdp.Attribute{Key: "ice-pwd", Value: pwd},
		sdp.Attribute{Key: "ice-options", Value: "ice2,trickle"},
	)
	d.Attributes = session
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	if strings.Contains(out, "a=candidate") || !strings.Contains(out, "a=group:LS 0 1") {
		t.Fatalf("offer not in OBS's shape:\n%s", out)
	}
	return out
}

// publish sends the OBS-shaped offer to POST /whip and applies the
// answer; it returns the session's Location.
func (c *obsClient) publish(t *testing.T, e *env, key string) string {
	t.Helper()
	resp := e.do("POST", "/whip", c.offer(t), "Content-Type", "application/sdp", "Authorization", "Bearer "+key)
	answer := wantStatus(t, resp, http.StatusCreated)
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		t.Fatal(err)
	}
	return resp.Header.Get("Location")
}

func waitConnected(t *testing.T, pc *webrtc.PeerConnection) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
		if time.Now().After(deadline) {
			t.Fatalf("not connected (state %s)", pc.ConnectionState())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// player is a WHEP player: a Pion peer with browser codecs that receives
// audio and video.
type player struct {
	*mediatest.Peer
	location string
	audio    *mediatest.Received
	video    *mediatest.Received
}

// play opens a WHEP session with token as the bearer.
func (e *env) play(t *testing.T, liveID, token string) *player {
	t.Helper()
	p := &player{Peer: mediatest.NewPeer(t, mediatest.ClientConfig{})}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := p.PC.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	resp := e.do("POST", "/whep/"+liveID, p.Offer(), "Content-Type", "application/sdp", "Authorization", "Bearer "+token)
	answer := wantStatus(t, resp, http.StatusCreated)
	p.location = resp.Header.Get("Location")
	p.Accept(answer)
	for range 2 {
		r := p.NextTrack(15 * time.Second)
		if r.Track.Kind() == webrtc.RTPCodecTypeAudio {
			p.audio = r
		} else {
			p.video = r
		}
	}
	if p.audio == nil || p.video == nil {
		t.Fatal("the player did not get both an audio and a video track")
	}
	return p
}

// clipIndex maps an H.264 frame's content to its place in a clip, so a
// player's frames can be checked to be whole frames of what was sent.
func clipIndex(clip mediatest.Clip) map[string]int {
	idx := map[string]int{}
	for i, f := range clip.Frames {
		idx[frameKey(f.Data)] = i
	}
	return idx
}

// frameKey is an access unit's NAL units, without the start codes and
// the units an RTP packetizer drops (access unit delimiters, filler).
func frameKey(au []byte) string {
	var b bytes.Buffer
	for _, nal := range mediatest.SplitAnnexB(au) {
		if t := nal[0] & 0x1f; t == 9 || t == 12 {
			continue
		}
		b.Write([]byte{0, 0, 1})
		b.Write(nal)
	}
	return b.String()
}

// wholeFrames waits until r has n frames from its first keyframe on,
// every one of them a whole frame of clip.
func wholeFrames(t *testing.T, r *mediatest.Received, clip mediatest.Clip, n int) {
	t.Helper()
	idx := clipIndex(clip)
	ok := r.WaitFor(20*time.Second, func(frames []mediatest.ReceivedFrame) bool {
		good, started := 0, false
		for _, f := range frames {
			if !started && !f.Keyframe {
				continue // the decoder waits for its first keyframe
			}
			started = true
			if _, ok := idx[frameKey(f.Data)]; ok {
				good++
			}
		}
		return good >= n
	})
	if !ok {
		frames := r.Frames()
		bad := 0
		for _, f := range frames {
			if _, ok := idx[frameKey(f.Data)]; !ok {
				bad++
			}
		}
		t.Fatalf("got %d frames, %d of them not whole frames of the clip; want %d whole frames from a keyframe", len(frames), bad, n)
	}
}

// probed is what ffprobe reads of a file.
type probed struct {
	// Duration is the container's.
	Duration time.Duration
	Codecs   []string
	// Span runs from the earliest packet to the end of the latest.
	Span time.Duration
}

// probe runs ffprobe on a file, failing on any error it reports.
func probe(t *testing.T, path string) probed {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries",
		"format=duration:stream=codec_name:packet=pts_time,duration_time", "-of", "json", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	var r struct {
		Format  struct{ Duration string }
		Streams []struct {
			CodecName string `json:"codec_name"`
		}
		Packets []struct {
			PTS string `json:"pts_time"`
			Dur string `json:"duration_time"`
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("ffprobe output %q: %v", out, err)
	}
	secs := func(s string) time.Duration {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("ffprobe time %q: %v", s, err)
		}
		return time.Duration(f * float64(time.Second))
	}
	p := probed{Duration: secs(r.Format.Duration)}
	for _, s := range r.Streams {
		p.Codecs = append(p.Codecs, s.CodecName)
	}
	if len(r.Packets) == 0 {
		t.Fatalf("%s has no packets", path)
	}
	first, last := time.Duration(1<<62), time.Duration(0)
	for _, pk := range r.Packets {
		at := secs(pk.PTS)
		first = min(first, at)
		if pk.Dur != "" {
			at += secs(pk.Dur)
		}
		last = max(last, at)
	}
	p.Span = last - first
	return p
}
