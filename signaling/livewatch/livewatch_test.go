package livewatch_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v3"

	"parley/chat/audit"
	"parley/chat/directory"
	"parley/sfu/live"
	"parley/sfu/mediatest"
	"parley/sfu/transport"
	"parley/signaling/auth"
	"parley/signaling/livewatch"
	"parley/signaling/whip"
	"parley/signaling/ws"
	"parley/storage"
)

type activeMembers struct{ dir *directory.Directory }

func (m activeMembers) MemberActive(id string) (bool, error) {
	mem, err := m.dir.GetMember(id)
	if err != nil {
		return false, nil
	}
	return mem.Status == directory.StatusActive, nil
}

type env struct {
	t    *testing.T
	url  string
	auth *auth.Service
	lv   *live.Store
	bc   *live.Broadcasts
}

func newEnv(t *testing.T) *env {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := storage.Open(t.TempDir(), storage.Options{Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dir := directory.New(db, audit.New(db))
	if err := dir.Bootstrap("Test Co"); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"alice", "bob", "carol"} {
		if _, err := dir.CreateMember(directory.Actor{ID: "system"},
			directory.Member{ID: id, Name: strings.ToUpper(id[:1]) + id[1:], Departments: []string{directory.RootDepartmentID}}); err != nil {
			t.Fatal(err)
		}
	}
	authSvc, err := auth.New(db, activeMembers{dir}, auth.Config{})
	if err != nil {
		t.Fatal(err)
	}
	lv := live.New(db, live.Options{FlushInterval: -1})
	t.Cleanup(func() { lv.Close() })
	tr, err := transport.New(transport.Config{LoopbackOnly: true}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	bcs, err := live.NewBroadcasts(live.MediaConfig{Transport: tr, Store: lv, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bcs.Close)
	hub := ws.NewHub(ws.Config{ReadLimit: 1 << 20, SendQueue: 64, PingInterval: time.Minute}, authSvc, activeMembers{dir}, logger)
	err = livewatch.Register(hub, livewatch.Deps{
		Broadcasts: bcs,
		Access: &whip.Access{Lives: lv, Tokens: authSvc, Members: dir,
			InScope: func(l live.Live, _ string) (bool, error) { return l.Scope.AllMembers, nil }},
		Logger: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(hub)
	t.Cleanup(srv.Close)
	return &env{t: t, url: srv.URL, auth: authSvc, lv: lv, bc: bcs}
}

// msg is a frame as the client reads it.
type msg struct {
	Type string          `json:"type"`
	ID   string          `json:"id"`
	Data json.RawMessage `json:"data"`
}

// client is a member's WebSocket.
type client struct {
	t    *testing.T
	conn *websocket.Conn
	in   chan msg
	mu   sync.Mutex
	n    int
}

func (e *env) dial(member string) *client {
	e.t.Helper()
	tok, err := e.auth.IssueAccess(member, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	conn, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(e.url, "http"), &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + tok.AccessToken}},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	conn.SetReadLimit(1 << 20)
	c := &client{t: e.t, conn: conn, in: make(chan msg, 64)}
	go func() {
		defer close(c.in)
		for {
			_, raw, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			var m msg
			if json.Unmarshal(raw, &m) == nil {
				c.in <- m
			}
		}
	}()
	e.t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "") })
	return c
}

// call sends a request and returns the reply's type and data.
func (c *client) call(typ string, data any) (string, json.RawMessage) {
	c.t.Helper()
	c.mu.Lock()
	c.n++
	id := fmt.Sprintf("r%d", c.n)
	c.mu.Unlock()
	raw, _ := json.Marshal(data)
	frame, _ := json.Marshal(msg{Type: typ, ID: id, Data: raw})
	if err := c.conn.Write(context.Background(), websocket.MessageText, frame); err != nil {
		c.t.Fatal(err)
	}
	return c.next(func(m msg) bool { return m.ID == id })
}

// next waits for a frame that match accepts.
func (c *client) next(match func(msg) bool) (string, json.RawMessage) {
	c.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case m, ok := <-c.in:
			if !ok {
				c.t.Fatal("socket closed")
			}
			if match(m) {
				return m.Type, m.Data
			}
		case <-timeout:
			c.t.Fatal("no reply")
		}
	}
}

// errCode is an error reply's code, or the reply's type if it is not
// an error.
func errCode(typ string, data json.RawMessage) string {
	if typ != "error" {
		return "reply " + typ
	}
	var e struct{ Code string }
	json.Unmarshal(data, &e)
	return e.Code
}

// publish puts a browser-like publisher of H.264 and Opus on air for l.
func (e *env) publish(l live.Live) *live.Ingest {
	t := e.t
	video := mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeH264, Width: 320, Height: 180, Duration: 2 * time.Second})
	audio := mediatest.Audio(t, 2*time.Second)
	pub := mediatest.NewPeer(t, mediatest.ClientConfig{})
	vt := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, "camera", "host", "")
	at := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "host", "")
	pub.Publish(at)
	pub.Publish(vt)
	ing, answer, err := e.bc.Publish(context.Background(), l, pub.Offer())
	if err != nil {
		t.Fatal(err)
	}
	pub.Accept(answer)
	pub.WaitConnected(10 * time.Second)
	stopV, stopA := mediatest.PlayUntil(vt, video), mediatest.PlayUntil(at, audio)
	t.Cleanup(func() { stopV(); stopA() })
	deadline := time.Now().Add(10 * time.Second)
	for bc := e.bc.Broadcast(l.ID); bc == nil || !bc.OnAir() || len(bc.Tracks()) < 2; bc = e.bc.Broadcast(l.ID) {
		if time.Now().After(deadline) {
			t.Fatal("the live did not go on air")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ing
}

func TestWatchOverWebSocket(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	e := newEnv(t)
	l, _, err := e.lv.Create(live.NewLive{Title: "All hands", HostID: "alice", Scope: live.Scope{Kind: live.ScopeInternal, AllMembers: true}})
	if err != nil {
		t.Fatal(err)
	}
	scoped, _, err := e.lv.Create(live.NewLive{Title: "Sales", HostID: "alice", Scope: live.Scope{Kind: live.ScopeInternal, Departments: []string{"sales"}}})
	if err != nil {
		t.Fatal(err)
	}
	bob := e.dial("bob")

	// Refusals before anything is on air.
	if c := errCode(bob.call("live.watch", map[string]any{"live_id": l.ID})); c != livewatch.CodeNotOnAir {
		t.Fatalf("watching a live off air: %s", c)
	}
	if c := errCode(bob.call("live.watch", map[string]any{"live_id": scoped.ID})); c != livewatch.CodeNotFound {
		t.Fatalf("watching out of scope: %s", c)
	}
	if c := errCode(bob.call("live.watch", "not an object")); c != livewatch.CodeInvalid {
		t.Fatalf("malformed watch: %s", c)
	}
	if c := errCode(bob.call("live.watch.answer", map[string]any{"live_id": l.ID, "sdp": "v=0"})); c != livewatch.CodeNotWatch {
		t.Fatalf("answer without a watch: %s", c)
	}

	ing := e.publish(l)
	typ, data := bob.call("live.watch", map[string]any{"live_id": l.ID, "max_height": 720})
	if typ != "live.watch.offer" {
		t.Fatalf("watch reply %s %s", typ, data)
	}
	var offer struct{ LiveID, SDP string }
	json.Unmarshal(data, &offer)
	if !strings.Contains(offer.SDP, "a=candidate:") || !strings.Contains(offer.SDP, "m=audio") || !strings.Contains(offer.SDP, "m=video") {
		t.Fatalf("server offer:\n%s", offer.SDP)
	}
	viewer := mediatest.NewPeer(t, mediatest.ClientConfig{})
	if typ, data := bob.call("live.watch.answer", map[string]any{"live_id": l.ID, "sdp": viewer.Answer(offer.SDP)}); typ != "live.watch.ok" {
		t.Fatalf("answer reply %s %s", typ, data)
	}
	var videoIn *mediatest.Received
	for range 2 {
		if r := viewer.NextTrack(10 * time.Second); r.Track.Kind() == webrtc.RTPCodecTypeVideo {
			videoIn = r
		}
	}
	if videoIn == nil {
		t.Fatal("no video track")
	}
	if !videoIn.WaitFor(10*time.Second, func(frames []mediatest.ReceivedFrame) bool { return len(frames) >= 15 && frames[0].Keyframe }) {
		t.Fatalf("the watcher got %d frames", len(videoIn.Frames()))
	}
	bc := e.bc.Broadcast(l.ID)
	if n := bc.Viewers(); n != 1 {
		t.Fatalf("%d viewers, want 1", n)
	}
	if st, _ := e.lv.Stats(l.ID); st.Concurrent != 1 || len(st.Viewers) != 1 || st.Viewers[0].Viewer.MemberID != "bob" {
		t.Fatalf("viewer stats %+v", st)
	}

	if typ, _ := bob.call("live.unwatch", map[string]any{"live_id": l.ID}); typ != "live.unwatched" {
		t.Fatalf("unwatch reply %s", typ)
	}
	if n := bc.Viewers(); n != 0 {
		t.Fatalf("%d viewers after unwatch", n)
	}

	// Watch again, then the live ends: the watcher is told.
	typ, _ = bob.call("live.watch", map[string]any{"live_id": l.ID})
	if typ != "live.watch.offer" {
		t.Fatalf("second watch reply %s", typ)
	}
	ing.End()
	typ, data = bob.next(func(m msg) bool { return m.Type == "live.watch.ended" })
	if !strings.Contains(string(data), l.ID) {
		t.Fatalf("%s %s", typ, data)
	}
	if st, _ := e.lv.Stats(l.ID); st.Concurrent != 0 || st.OpenRecords != 0 || st.UniqueViewers != 1 {
		t.Fatalf("viewer stats after the end %+v", st)
	}
}
