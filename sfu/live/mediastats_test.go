package live_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"

	"parley/sfu/live"
	"parley/sfu/mediatest"
	"parley/sfu/transport"
	"parley/storage"
)

// TestMediaStatsFollowTheLive publishes a recorded live from a Pion
// peer, plays it over WHEP, then over the WebSocket watch, and checks
// the node's live media stats at each step: the gauges follow the
// broadcast and its viewers, and the counters keep what a closed viewer
// session had forwarded.
func TestMediaStatsFollowTheLive(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	video := mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeVP8, Width: 160, Height: 120, FPS: 15, Duration: 2 * time.Second})
	audio := mediatest.Audio(t, 2*time.Second)
	bcs, store := newBroadcasts(t, slog.New(slog.NewTextHandler(io.Discard, nil)), filepath.Join(t.TempDir(), "recordings"))
	if st := bcs.Stats(); st != (live.MediaStats{}) {
		t.Fatalf("stats of an idle node: %+v", st)
	}
	l, _, err := store.Create(live.NewLive{Title: "Launch", HostID: "alice", Scope: live.Scope{Kind: live.ScopeInternal, AllMembers: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	// The publisher goes on air.
	pub := mediatest.NewPeer(t, mediatest.ClientConfig{})
	cam := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "host", "")
	mic := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "mic", "host", "")
	pub.Publish(cam)
	pub.Publish(mic)
	ingest, answer, err := bcs.Publish(ctx, l, pub.Offer())
	if err != nil {
		t.Fatal(err)
	}
	pub.Accept(answer)
	t.Cleanup(mediatest.PlayUntil(cam, video))
	t.Cleanup(mediatest.PlayUntil(mic, audio))
	waitMediaStats(t, bcs, "the live on air", func(st live.MediaStats) bool { return st.OnAir == 1 })

	// A WHEP player.
	player := mediatest.NewPeer(t, mediatest.ClientConfig{})
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := player.PC.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	whep, answer, err := bcs.Play(ctx, l.ID, live.Viewer{ID: "bob", MemberID: "bob", Name: "Bob"}, player.Offer())
	if err != nil {
		t.Fatal(err)
	}
	player.Accept(answer)
	receiveBoth(t, player)
	// A new viewer may start without any keyframe request (on a keyframe
	// replayed from the cache); the player asks for one.
	for _, tr := range player.PC.GetTransceivers() {
		if r := tr.Receiver(); r != nil && tr.Kind() == webrtc.RTPCodecTypeVideo && r.Track() != nil {
			if err := player.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(r.Track().SSRC())}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := waitMediaStats(t, bcs, "a keyframe request and a measured bitrate", func(st live.MediaStats) bool {
		return st.Media.KeyframeRequests > 0 && st.IngestBitrate > 0
	})
	if before.Broadcasts != 1 || before.WHEPViewers != 1 || before.WebSocketViewers != 0 || before.Recordings != 1 {
		t.Fatalf("stats of a recorded live with one WHEP player: %+v", before)
	}
	if before.Media.Packets == 0 || before.Media.Bytes <= before.Media.Packets {
		t.Fatalf("media counters while the player receives: %+v", before.Media)
	}
	if n := before.ForwardLatency.Count(); n == 0 || before.ForwardLatency.Sum <= 0 {
		t.Fatalf("forwarding latency while the player receives: %d packets, %v", n, before.ForwardLatency.Sum)
	}

	// The player leaves and a WebSocket watcher comes: the total is
	// both sessions'.
	whep.Close()
	if st := bcs.Stats(); st.WHEPViewers != 0 || st.Media.Packets < before.Media.Packets {
		t.Fatalf("stats after the player left: %+v (before: %+v)", st, before.Media)
	}
	watcher := mediatest.NewPeer(t, mediatest.ClientConfig{})
	watch, offer, err := bcs.Watch(ctx, l.ID, live.Viewer{ID: "carol", MemberID: "carol", Name: "Carol"}, live.WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := watch.Answer(watcher.Answer(offer)); err != nil {
		t.Fatal(err)
	}
	watcherGot := receiveBoth(t, watcher)
	// A downtrack counts a packet once its write returns, which may be
	// after the watcher has it: wait for the count to catch up.
	want := before.Media.Packets + uint64(watcherGot)
	after := waitMediaStats(t, bcs, "the player's and the watcher's packets counted", func(st live.MediaStats) bool {
		return st.Media.Packets >= want
	})
	if after.WebSocketViewers != 1 || after.WHEPViewers != 0 {
		t.Fatalf("stats with a watcher: %+v", after)
	}

	// The publisher ends the live: nothing is on air, the counters stay.
	ingest.End()
	end := bcs.Stats()
	if end.Broadcasts != 0 || end.OnAir != 0 || end.WHEPViewers+end.WebSocketViewers != 0 || end.Recordings != 0 || end.IngestBitrate != 0 {
		t.Fatalf("stats after the live ended: %+v", end)
	}
	if end.Media.Packets < after.Media.Packets || end.Media.KeyframeRequests < after.Media.KeyframeRequests {
		t.Fatalf("counters went down: %+v, then %+v", after.Media, end.Media)
	}
}

// receiveBoth waits until p receives frames of both tracks and returns
// how many packets it has received.
func receiveBoth(t *testing.T, p *mediatest.Peer) int {
	t.Helper()
	n := 0
	for range 2 {
		r := p.NextTrack(10 * time.Second)
		if !r.WaitFor(10*time.Second, func(f []mediatest.ReceivedFrame) bool { return len(f) >= 5 }) {
			t.Fatalf("no frames of the %s track", r.Track.Kind())
		}
		n += len(r.Packets())
	}
	return n
}

// waitMediaStats polls the stats until cond holds, or fails after 10
// seconds.
func waitMediaStats(t *testing.T, bcs *live.Broadcasts, what string, cond func(live.MediaStats) bool) live.MediaStats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := bcs.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s: %+v", what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newBroadcasts is a node's live media on a real Pebble and a loopback
// transport, closed with the test. recordingDir may be empty.
func newBroadcasts(t *testing.T, logger *slog.Logger, recordingDir string) (*live.Broadcasts, *live.Store) {
	t.Helper()
	db, err := storage.Open(t.TempDir(), storage.Options{CacheBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	store := live.New(db, live.Options{FlushInterval: -1})
	t.Cleanup(func() { store.Close() })
	tr, err := transport.New(transport.Config{LoopbackOnly: true}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	bcs, err := live.NewBroadcasts(live.MediaConfig{Transport: tr, Store: store, RecordingDir: recordingDir, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bcs.Close)
	return bcs, store
}
