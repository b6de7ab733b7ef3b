package live_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/live"
	"parley/sfu/mediatest"
)

// lockedBuffer is a log sink safe for the broadcast's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

// An encoder whose keyframes are further apart than
// SlowKeyframeInterval (OBS at its default) gets one warning in the
// live's log when viewers start, however many start.
func TestSlowKeyframesAreLoggedOnce(t *testing.T) {
	mediatest.RequireFFmpeg(t)
	video := mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeVP8, Width: 160, Height: 120, FPS: 15,
		Duration: 5 * time.Second, KeyframeInterval: 2500 * time.Millisecond})
	var logs lockedBuffer
	bcs, store := newBroadcasts(t, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn})), "")
	l, _, err := store.Create(live.NewLive{Title: "Launch", HostID: "alice", Scope: live.Scope{Kind: live.ScopeInternal, AllMembers: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pub := mediatest.NewPeer(t, mediatest.ClientConfig{})
	cam := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "host", "")
	pub.Publish(cam)
	_, answer, err := bcs.Publish(ctx, l, pub.Offer())
	if err != nil {
		t.Fatal(err)
	}
	pub.Accept(answer)
	t.Cleanup(mediatest.PlayUntil(cam, video))
	waitMediaStats(t, bcs, "the live on air", func(st live.MediaStats) bool { return st.OnAir == 1 })

	const warning = "the encoder sends a keyframe only every"
	play := func() {
		t.Helper()
		player := mediatest.NewPeer(t, mediatest.ClientConfig{})
		if _, err := player.PC.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
			webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
		p, answer, err := bcs.Play(ctx, l.ID, live.Viewer{ID: "bob", MemberID: "bob", Name: "Bob"}, player.Offer())
		if err != nil {
			t.Fatal(err)
		}
		player.Accept(answer)
		// Closing while ICE still connects races inside Pion v3
		// (ICETransport.Start writes its mux unlocked while Stop reads it),
		// which the race detector reports; a viewer that leaves at once is
		// not what this test is about.
		player.WaitConnected(10 * time.Second)
		p.Close()
	}
	// Viewers start until the second keyframe has come, 2.5 s in.
	deadline := time.Now().Add(15 * time.Second)
	for logs.count(warning) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no warning about 2.5 s keyframes; the log:\n%s", logs.buf.String())
		}
		play()
		time.Sleep(300 * time.Millisecond)
	}
	play()
	play()
	if n := logs.count(warning); n != 1 {
		t.Fatalf("warned %d times", n)
	}
}
