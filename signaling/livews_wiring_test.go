package signaling

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"parley/chat/directory"
	"parley/signaling/livews"
)

// dialLiveViewer connects a viewer token to the viewer endpoint, as
// newWSClient connects a member to /ws.
func dialLiveViewer(t *testing.T, baseURL, token string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(baseURL, "http", "ws", 1)+livews.ViewerPath+"?access_token="+token, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", livews.ViewerPath, err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	c := &wsClient{t: t, conn: conn, waiting: map[string]chan wsMsg{}, pushed: map[string][]wsMsg{}, notify: make(chan struct{}, 1), done: make(chan struct{})}
	go c.readLoop()
	c.request("ping", nil)
	return c
}

// The server wires the live room end to end: a viewer token from the REST
// route opens /ws/live, joins its live and comments; the host, on /ws,
// sees the comment; the REST statistics count the viewer and the comment.
func TestLiveRoomWiring(t *testing.T) {
	srv := startServer(t, testConfig(t, t.TempDir()))
	ps := newPeople(t, srv)
	ps.add("host", "", directory.RoleMember)
	var l liveBody
	ps.do("host", "POST", "/lives", map[string]any{"title": "Launch", "scope": map[string]any{"kind": "external"}}, &l)
	if _, err := srv.lives.MarkLive(l.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	stored, err := srv.lives.Get(l.ID)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
		GuestID     string `json:"guest_id"`
	}
	if status, raw := ps.do("", "POST", "/lives/"+l.ID+"/viewer-token", map[string]any{"link_token": stored.LinkToken, "name": "Fan"}, &tok); status != 200 {
		t.Fatalf("viewer token: %d %s", status, raw)
	}

	host := newWSClient(t, srv.URL, ps.tokens["host"])
	if typ := host.call("live.join", map[string]any{"live_id": l.ID}, nil); typ != "live.joined" {
		t.Fatalf("host join: %s", typ)
	}
	fan := dialLiveViewer(t, srv.URL, tok.AccessToken)
	var joined struct {
		Role     string `json:"role"`
		ViewerID string `json:"viewer_id"`
	}
	if typ := fan.call("live.join", map[string]any{"live_id": l.ID}, &joined); typ != "live.joined" || joined.Role != "viewer" || joined.ViewerID != tok.GuestID {
		t.Fatalf("viewer join: %s %+v", typ, joined)
	}
	if typ := fan.call("live.comment", map[string]any{"live_id": l.ID, "client_msg_id": "1", "text": "hello"}, nil); typ != "live.ack" {
		t.Fatalf("viewer comment: %s", typ)
	}
	got := host.waitPushed("live.comment", 1, 10*time.Second)
	var entry struct {
		SenderID string `json:"sender_id"`
		Body     struct{ Text string }
	}
	if err := json.Unmarshal(got[0].Data, &entry); err != nil || entry.SenderID != tok.GuestID || entry.Body.Text != "hello" {
		t.Fatalf("host got %s (%v)", got[0].Data, err)
	}

	var stats struct {
		UniqueViewers int              `json:"unique_viewers"`
		Interactions  map[string]int64 `json:"interactions"`
	}
	if status, raw := ps.do("host", "GET", "/lives/"+l.ID+"/stats", nil, &stats); status != 200 || stats.UniqueViewers != 1 || stats.Interactions["comment"] != 1 {
		t.Fatalf("stats: %d %s", status, raw)
	}
}
