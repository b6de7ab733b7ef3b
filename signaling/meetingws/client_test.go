package meetingws_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v3"

	"parley/sfu/mediatest"
	"parley/sfu/rtc"
	"parley/signaling/ws"
)

// conn is a test client's WebSocket: requests wait for the reply with
// their id; pushed frames queue for the test, except subscriber offers,
// which go to offers for the media client that answers them.
type conn struct {
	t      *testing.T
	c      *websocket.Conn
	nextID atomic.Int64

	mu      sync.Mutex
	pending map[string]chan ws.Message
	pushes  chan ws.Message
	offers  chan string
	closed  chan struct{}
}

// dial opens a member's socket on /ws.
func (st *stack) dial(t *testing.T, token string) *conn {
	t.Helper()
	return st.dialPath(t, "/ws", token)
}

// tryDial opens a socket on path, or returns the upgrade's error.
func (st *stack) tryDial(path, token string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(st.srv.URL, "http")+path,
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}})
	return c, err
}

func (st *stack) dialPath(t *testing.T, path, token string) *conn {
	t.Helper()
	c, err := st.tryDial(path, token)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	c.SetReadLimit(1 << 20)
	k := &conn{t: t, c: c, pending: map[string]chan ws.Message{}, pushes: make(chan ws.Message, 1024),
		offers: make(chan string, 64), closed: make(chan struct{})}
	go k.read()
	t.Cleanup(func() { k.c.CloseNow() })
	return k
}

func (k *conn) read() {
	defer close(k.closed)
	for {
		_, frame, err := k.c.Read(context.Background())
		if err != nil {
			return
		}
		var m ws.Message
		if err := json.Unmarshal(frame, &m); err != nil {
			k.t.Errorf("undecodable frame %q", frame)
			return
		}
		if m.ID != "" {
			k.mu.Lock()
			ch := k.pending[m.ID]
			delete(k.pending, m.ID)
			k.mu.Unlock()
			if ch != nil {
				ch <- m
				continue
			}
		}
		if m.Type == "meeting.subscriber_offer" {
			var d rtc.SDPEvent
			_ = json.Unmarshal(m.Data, &d)
			k.offers <- d.SDP
			continue
		}
		k.pushes <- m
	}
}

// request sends a request and returns its reply (which may be an error).
func (k *conn) request(typ string, data any) ws.Message {
	k.t.Helper()
	id := strconv.FormatInt(k.nextID.Add(1), 10)
	raw, err := json.Marshal(data)
	if err != nil {
		k.t.Fatal(err)
	}
	ch := make(chan ws.Message, 1)
	k.mu.Lock()
	k.pending[id] = ch
	k.mu.Unlock()
	frame, _ := json.Marshal(ws.Message{Type: typ, ID: id, Data: raw})
	if data == nil {
		frame, _ = json.Marshal(ws.Message{Type: typ, ID: id})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := k.c.Write(ctx, websocket.MessageText, frame); err != nil {
		k.t.Fatalf("%s: write: %v", typ, err)
	}
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		k.t.Fatalf("%s: no reply within 10s", typ)
		return ws.Message{}
	}
}

// call sends a request that must succeed with a reply of type want, and
// decodes the reply's data into out (if not nil).
func (k *conn) call(typ string, data any, want string, out any) {
	k.t.Helper()
	m := k.request(typ, data)
	if m.Type != want {
		k.t.Fatalf("%s: got %s %s, want %s", typ, m.Type, m.Data, want)
	}
	if out != nil {
		if err := json.Unmarshal(m.Data, out); err != nil {
			k.t.Fatal(err)
		}
	}
}

// fails sends a request that must fail with code.
func (k *conn) fails(typ string, data any, code string) {
	k.t.Helper()
	m := k.request(typ, data)
	var e struct{ Code, Message string }
	_ = json.Unmarshal(m.Data, &e)
	if m.Type != "error" || e.Code != code {
		k.t.Fatalf("%s: got %s %s, want error %s", typ, m.Type, m.Data, code)
	}
}

// push waits for a pushed frame of type typ that match accepts (nil
// accepts any), skipping others.
func (k *conn) push(typ string, match func(json.RawMessage) bool) json.RawMessage {
	k.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-k.pushes:
			if m.Type == typ && (match == nil || match(m.Data)) {
				return m.Data
			}
		case <-deadline:
			k.t.Fatalf("no %s push within 10s", typ)
			return nil
		}
	}
}

// client is a participant over the WebSocket with a browser's two peer
// connections.
type client struct {
	*conn
	snap     rtc.Snapshot
	pub, sub *mediatest.Peer
	stop     chan struct{}
}

// join joins a meeting and starts answering subscriber offers.
func (st *stack) join(t *testing.T, token, meetingID string) *client {
	t.Helper()
	k := st.dial(t, token)
	c := &client{conn: k}
	k.call("meeting.join", map[string]any{"meeting_id": meetingID}, "meeting.joined", &c.snap)
	c.media(t)
	return c
}

// media gives the client fresh peer connections and answers subscriber
// offers on its current socket.
func (c *client) media(t *testing.T) {
	if c.pub == nil {
		c.pub = mediatest.NewPeer(t, mediatest.ClientConfig{})
		c.sub = mediatest.NewPeer(t, mediatest.ClientConfig{})
	}
	c.stop = make(chan struct{})
	go c.answerOffers(c.conn, c.stop)
}

func (c *client) answerOffers(k *conn, stop chan struct{}) {
	for {
		select {
		case offer := <-k.offers:
			answer, err := answerOffer(c.sub.PC, offer)
			if err != nil {
				if !errors.Is(err, webrtc.ErrConnectionClosed) { // not the test's teardown
					k.t.Errorf("answer subscriber offer: %v", err)
				}
				return
			}
			if m := k.requestQuiet("meeting.subscriber_answer", map[string]string{"sdp": answer}); m.Type != "meeting.ok" {
				select {
				case <-k.closed:
				default:
					k.t.Errorf("subscriber answer refused: %s", m.Data)
				}
				return
			}
		case <-stop:
			return
		case <-k.closed:
			return
		}
	}
}

// requestQuiet is request for goroutines other than the test's: it
// reports a failure as an empty reply.
func (k *conn) requestQuiet(typ string, data any) ws.Message {
	id := strconv.FormatInt(k.nextID.Add(1), 10)
	raw, _ := json.Marshal(data)
	ch := make(chan ws.Message, 1)
	k.mu.Lock()
	k.pending[id] = ch
	k.mu.Unlock()
	frame, _ := json.Marshal(ws.Message{Type: typ, ID: id, Data: raw})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := k.c.Write(ctx, websocket.MessageText, frame); err != nil {
		return ws.Message{}
	}
	select {
	case m := <-ch:
		return m
	case <-k.closed:
		return ws.Message{}
	case <-time.After(10 * time.Second):
		return ws.Message{}
	}
}

func answerOffer(pc *webrtc.PeerConnection, offer string) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", err
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", err
	}
	<-gathered
	return pc.LocalDescription().SDP, nil
}

type publishedReply struct {
	SDP    string          `json:"sdp"`
	Tracks []rtc.TrackInfo `json:"tracks"`
}

// publish sends track (playing clip) as src over meeting.publish.
func (c *client) publish(t *testing.T, src rtc.Source, track *mediatest.Track, clip mediatest.Clip) rtc.TrackInfo {
	t.Helper()
	c.pub.Publish(track)
	offer := c.pub.Offer()
	var rep publishedReply
	c.call("meeting.publish", map[string]any{
		"sdp": offer, "tracks": []rtc.PublishTrack{{Mid: midOf(t, c.pub.PC, track.ID()), Source: src}},
	}, "meeting.published", &rep)
	c.pub.Accept(rep.SDP)
	t.Cleanup(mediatest.PlayUntil(track, clip))
	return rep.Tracks[0]
}

func midOf(t *testing.T, pc *webrtc.PeerConnection, trackID string) string {
	t.Helper()
	for _, tr := range pc.GetTransceivers() {
		if s := tr.Sender(); s != nil && s.Track() != nil && s.Track().ID() == trackID {
			return tr.Mid()
		}
	}
	t.Fatalf("no transceiver sends %s", trackID)
	return ""
}

func opusTrack(id string) *mediatest.Track {
	return mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, id, "s-"+id, "")
}

func vp8Track(id string) *mediatest.Track {
	return mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, id, "s-"+id, "")
}
