package media

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/mediatest"
)

var h264Codec = webrtc.RTPCodecCapability{
	MimeType:    webrtc.MimeTypeH264,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
}

// clipKey identifies a frame's content for comparison: the bytes for VP8
// and Opus; for H.264 the NAL units without SEI and access unit
// delimiters, which packetizers may leave out, joined with start codes.
func clipKey(mime string, data []byte) string {
	if mime != webrtc.MimeTypeH264 {
		return string(data)
	}
	var b bytes.Buffer
	for _, nal := range mediatest.SplitAnnexB(data) {
		if t := nal[0] & 0x1f; t == 6 || t == 9 {
			continue
		}
		b.Write([]byte{0, 0, 0, 1})
		b.Write(nal)
	}
	return b.String()
}

// mainFrames returns the received frames that are frames of clip, in
// order of arrival, as indexes into clip.
func mainFrames(clip mediatest.Clip, frames []mediatest.ReceivedFrame) []int {
	index := map[string]int{}
	for i, f := range clip.Frames {
		index[clipKey(clip.MimeType, f.Data)] = i
	}
	var out []int
	for _, f := range frames {
		if i, ok := index[clipKey(clip.MimeType, f.Data)]; ok {
			out = append(out, i)
		}
	}
	return out
}

// playOnce plays each clip into its track at once, in parallel, and
// waits for all of them to end.
func playOnce(t *testing.T, plays map[*mediatest.Track]mediatest.Clip) {
	t.Helper()
	var wg sync.WaitGroup
	for track, clip := range plays {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := mediatest.Play(t.Context(), track, clip, false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}

// checkWholeClip checks that every frame of clip arrived, whole and in
// order.
func checkWholeClip(t *testing.T, who string, rec *mediatest.Received, clip mediatest.Clip) {
	t.Helper()
	var got []int
	ok := rec.WaitFor(5*time.Second, func(frames []mediatest.ReceivedFrame) bool {
		got = mainFrames(clip, frames)
		// The sample builder hands out a frame when the next one starts,
		// so the clip's last frame may stay inside it.
		return len(got) >= len(clip.Frames)-1
	})
	if !ok {
		t.Fatalf("%s %s: %d of %d frames of the clip arrived whole: %v", who, clip.MimeType, len(got), len(clip.Frames), got)
	}
	for i, idx := range got {
		if idx != i {
			t.Fatalf("%s %s: frame %d of the clip arrived as the %dth", who, clip.MimeType, idx, i)
		}
	}
}

// TestEverySubscriberGetsEveryTrack publishes VP8, H.264 and Opus from
// one client to three subscribers. After a warm-up clip, so every
// subscriber is receiving, a second clip is played once; every
// subscriber must get each of its frames whole and in order.
func TestEverySubscriberGetsEveryTrack(t *testing.T) {
	srv := newTestServer(t)
	warm := map[string]mediatest.Clip{
		webrtc.MimeTypeVP8: mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeVP8, Width: 160, Height: 90,
			Duration: time.Second, KeyframeInterval: 500 * time.Millisecond}),
		webrtc.MimeTypeH264: mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeH264, Width: 160, Height: 90,
			Duration: time.Second, KeyframeInterval: 500 * time.Millisecond}),
		webrtc.MimeTypeOpus: mediatest.Audio(t, time.Second),
	}
	main := map[string]mediatest.Clip{
		webrtc.MimeTypeVP8:  mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeVP8, Width: 320, Height: 180, Duration: 2 * time.Second}),
		webrtc.MimeTypeH264: mediatest.Video(t, mediatest.VideoSpec{MimeType: webrtc.MimeTypeH264, Width: 320, Height: 180, Duration: 2 * time.Second}),
		webrtc.MimeTypeOpus: mediatest.Audio(t, 2*time.Second),
	}

	pub := mediatest.NewPeer(t, mediatest.ClientConfig{})
	tracks := map[string]*mediatest.Track{
		webrtc.MimeTypeVP8:  mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "vp8", "cam", ""),
		webrtc.MimeTypeH264: mediatest.NewTrack(h264Codec, "h264", "cam", ""),
		webrtc.MimeTypeOpus: mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus}, "opus", "cam", ""),
	}
	for _, track := range tracks {
		pub.Publish(track)
	}
	waitReceivers := srv.publish(pub, ReceiverConfig{})
	pub.WaitConnected(10 * time.Second)
	var stops []func()
	for mime, track := range tracks {
		stops = append(stops, mediatest.PlayUntil(track, warm[mime]))
	}
	receivers := waitReceivers(3)

	subs := make([]*subscriber, 3)
	for i := range subs {
		subs[i] = srv.subscribe(mediatest.ClientConfig{}, receivers...)
	}
	for i, sub := range subs {
		for id, rec := range sub.tracks {
			cond := hasKeyframe
			if strings.HasPrefix(rec.Track.Codec().MimeType, "audio") {
				cond = func(f []mediatest.ReceivedFrame) bool { return len(f) >= 5 }
			}
			if !rec.WaitFor(10*time.Second, cond) {
				t.Fatalf("subscriber %d: track %s never started", i, id)
			}
		}
	}
	for _, stop := range stops {
		stop()
	}
	// Let the warm-up's last packets land before counting.
	audioBefore := make([]int, len(subs))
	for i, sub := range subs {
		audioBefore[i] = settledCount(sub.tracks["opus"])
	}

	plays := map[*mediatest.Track]mediatest.Clip{}
	for mime, track := range tracks {
		plays[track] = main[mime]
	}
	playOnce(t, plays)

	for i, sub := range subs {
		who := "subscriber " + string(rune('A'+i))
		checkWholeClip(t, who, sub.tracks["vp8"], main[webrtc.MimeTypeVP8])
		checkWholeClip(t, who, sub.tracks["h264"], main[webrtc.MimeTypeH264])
		// Audio: every packet of the clip, give or take the warm-up's
		// last packets in flight and the builder's last held packet.
		want := len(main[webrtc.MimeTypeOpus].Frames)
		opus := sub.tracks["opus"]
		opus.WaitFor(2*time.Second, func(f []mediatest.ReceivedFrame) bool { return len(f)-audioBefore[i] >= want-1 })
		if got := len(opus.Frames()) - audioBefore[i]; got < want-1 || got > want+5 {
			t.Errorf("%s: %d Opus packets during a clip of %d", who, got, want)
		}
		for _, d := range sub.downTracks {
			if st := d.Stats(); st.Packets == 0 || st.QueueDrops != 0 {
				t.Errorf("%s %s: stats %+v", who, d.ID(), st)
			}
		}
	}
}

// settledCount waits until no frame has arrived for 200 ms and returns
// the count.
func settledCount(rec *mediatest.Received) int {
	n := len(rec.Frames())
	for range 50 {
		time.Sleep(200 * time.Millisecond)
		m := len(rec.Frames())
		if m == n {
			break
		}
		n = m
	}
	return n
}
