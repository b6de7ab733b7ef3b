package rtcpeer

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/bench/latency"
	"parley/sfu/mediatest"
)

func TestSeqTrackerCountsDuplicatesAndGapsAcrossWrap(t *testing.T) {
	var st seqTracker
	var span int64
	fresh := 0
	// 65530..65535, 0..9 with 3 missing, 65534 again, 2 late.
	seqs := []uint16{65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 4, 5, 6, 7, 8, 9, 65534, 2}
	for _, s := range seqs {
		ok, sp := st.add(s)
		if ok {
			fresh++
		}
		span = sp
	}
	if fresh != 15 || span != 16 {
		t.Fatalf("fresh %d (want 15), span %d (want 16)", fresh, span)
	}
	c := Counts{Packets: int64(fresh), Expected: span}
	if c.Lost() != 1 { // 3 never came
		t.Fatalf("lost %d, want 1", c.Lost())
	}
}

func TestArrivalsRemembersLastPacketOfEachTimestamp(t *testing.T) {
	var a arrivals
	a.note(100, 1)
	a.note(100, 2)
	a.note(200, 3)
	if a.last(100) != 2 || a.last(200) != 3 || a.last(300) != 0 {
		t.Fatalf("last: %v %v %v", a.last(100), a.last(200), a.last(300))
	}
	for i := range uint32(timestampRing) {
		a.note(1000+i, time.Duration(10+i))
	}
	if a.last(100) != 0 {
		t.Fatal("a timestamp older than the ring is still remembered")
	}
}

func TestClipIdentifiesItsFramesAndKeyframes(t *testing.T) {
	for _, mime := range []string{webrtc.MimeTypeVP8, webrtc.MimeTypeH264} {
		raw := mediatest.Video(t, mediatest.VideoSpec{MimeType: mime, Width: 320, Height: 180, Duration: time.Second, KeyframeInterval: 500 * time.Millisecond})
		clip := NewClip(raw)
		keys := 0
		for i, f := range raw.Frames {
			idx, known, key := clip.identify(f.Data)
			if !known || idx != i || key != f.Keyframe {
				t.Fatalf("%s frame %d: index %d known %v key %v (want key %v)", mime, i, idx, known, key, f.Keyframe)
			}
			if key {
				keys++
			}
		}
		if keys != raw.Keyframes() || keys < 2 {
			t.Fatalf("%s: %d keyframes", mime, keys)
		}
		if _, known, _ := clip.identify([]byte("not a frame of the clip")); known {
			t.Fatalf("%s: a foreign frame is known", mime)
		}
	}
}

// pair connects a sending and a receiving connection of one stack on
// loopback.
func pair(t *testing.T, st *Stack, tracks ...*mediatest.Track) (send, recv *webrtc.PeerConnection) {
	t.Helper()
	var err error
	if send, err = st.NewPeerConnection(); err != nil {
		t.Fatal(err)
	}
	if recv, err = st.NewPeerConnection(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { send.Close(); recv.Close() })
	for _, tr := range tracks {
		if _, err := send.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
	}
	return send, recv
}

func negotiate(t *testing.T, send, recv *webrtc.PeerConnection) {
	t.Helper()
	ctx := context.Background()
	offer, err := Offer(ctx, send)
	if err != nil {
		t.Fatal(err)
	}
	answer, err := Answer(ctx, recv, offer)
	if err != nil {
		t.Fatal(err)
	}
	if err := Accept(send, answer); err != nil {
		t.Fatal(err)
	}
}

// TestSourceToReceiver plays real clips between two peers and checks
// that every frame arrives whole, is timed, and that a receiver expecting
// another clip counts what arrives as corrupt.
func TestSourceToReceiver(t *testing.T) {
	video := NewClip(mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeH264, Width: 320, Height: 180, Duration: 2 * time.Second}))
	audio := NewClip(mediatest.Audio(t, 2*time.Second))
	other := NewClip(mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeH264, Width: 160, Height: 96, Duration: time.Second}))
	st, err := NewStack()
	if err != nil {
		t.Fatal(err)
	}
	h264 := webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}
	tracks := []*mediatest.Track{
		mediatest.NewTrack(h264, "video", "s", ""),
		mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "audio", "s", ""),
		mediatest.NewTrack(h264, "wrong", "s", ""),
	}
	sources := map[string]*Source{"video": NewSource(video, tracks[0]), "audio": NewSource(audio, tracks[1]),
		"wrong": NewSource(other, tracks[2])}
	// The receiver of "wrong" checks against the video clip, so every
	// frame of the other clip must count as corrupt.
	expect := map[string]*Source{"video": sources["video"], "audio": sources["audio"], "wrong": sources["video"]}
	send, recv := pair(t, st, tracks...)
	lat := latency.NewRecorder()
	got := make(chan *Receiver, 3)
	recv.OnTrack(func(tr *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		got <- NewReceiver(tr, r, expect[tr.ID()], ReceiverOptions{Latency: lat, Feedback: recv})
	})
	negotiate(t, send, recv)
	if err := WaitConnected(context.Background(), send); err != nil {
		t.Fatal(err)
	}
	for _, s := range sources {
		s.Start()
		defer s.Stop()
	}
	rcv := map[string]*Receiver{}
	for range 3 {
		select {
		case r := <-got:
			rcv[r.Track.ID()] = r
		case <-time.After(10 * time.Second):
			t.Fatal("tracks did not arrive")
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for rcv["video"].Counts().Frames < 30 || rcv["audio"].Counts().Frames < 50 || rcv["wrong"].Counts().Frames < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("frames: video %+v audio %+v wrong %+v", rcv["video"].Counts(), rcv["audio"].Counts(), rcv["wrong"].Counts())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, name := range []string{"video", "audio"} {
		c := rcv[name].Counts()
		if c.Corrupt != 0 || c.BeforeKeyframe != 0 || c.Keyframes == 0 || c.Packets == 0 || c.Bytes == 0 {
			t.Fatalf("%s: %+v", name, c)
		}
		if _, ok := rcv[name].FirstFrame(); !ok {
			t.Fatalf("%s: no first frame", name)
		}
	}
	if c := rcv["wrong"].Counts(); c.Corrupt != c.Frames {
		t.Fatalf("another clip's frames: %+v", c)
	}
	if lat.Summary().Count == 0 {
		t.Fatal("no frame was timed")
	}
	if s := sources["video"].Stats(); s.Frames == 0 || s.Bytes == 0 || s.WriteErrors != 0 {
		t.Fatalf("source: %+v", s)
	}
}

func TestClipKnowsAnH264FrameThatLostItsParameterSets(t *testing.T) {
	raw := mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeH264, Width: 320, Height: 180, Duration: time.Second})
	clip := NewClip(raw)
	key := raw.Frames[0].Data
	slice := append([]byte{0, 0, 0, 1}, lastNAL(key)...)
	if len(slice) >= len(key) {
		t.Fatal("the first keyframe has no parameter sets before its slice")
	}
	if idx, known, isKey := clip.identify(slice); !known || idx != 0 || !isKey {
		t.Fatalf("the slice alone: index %d known %v key %v", idx, known, isKey)
	}
	cut := append([]byte(nil), key[:len(key)-10]...)
	if _, known, _ := clip.identify(cut); known {
		t.Fatal("a keyframe cut short is known")
	}
}
