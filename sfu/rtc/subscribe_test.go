package rtc_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/mediatest"
	"parley/sfu/meeting"
	"parley/sfu/rtc"
)

var h264Clip struct {
	once sync.Once
	clip mediatest.Clip
	err  error
}

// testH264 is a small H.264 clip (constrained baseline, as browsers
// send), made once per test binary.
func testH264(t *testing.T) mediatest.Clip {
	t.Helper()
	mediatest.RequireFFmpeg(t)
	h264Clip.once.Do(func() {
		h264Clip.clip, h264Clip.err = mediatest.EncodeVideo(mediatest.VideoSpec{
			MimeType: webrtc.MimeTypeH264, Width: 160, Height: 120, FPS: 15, Duration: 2 * time.Second,
		})
	})
	if h264Clip.err != nil {
		t.Fatal(h264Clip.err)
	}
	return h264Clip.clip
}

func h264Track(id string) *mediatest.Track {
	return mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, id, "s-"+id, "")
}

// whole waits for r to bring a keyframe and a run of frames after it.
func whole(r *mediatest.Received) bool {
	return r.WaitFor(10*time.Second, func(f []mediatest.ReceivedFrame) bool { return hasKeyframe(f) && len(f) >= 10 })
}

// A subscriber gets a VP8 camera from one participant and, negotiated
// later, an H.264 camera from another, both whole: the codecs its
// connection settled on the first video section include H.264.
func TestMixedCodecsReachOneSubscriber(t *testing.T) {
	vp8, _ := testClips(t)
	h264 := testH264(t)
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	carol := e.connect(t, m.ID, "carol")
	alice := e.connect(t, m.ID, "alice")
	bob := e.connect(t, m.ID, "bob")

	camA := alice.publish(t, rtc.SourceCamera, vp8Track("cam"), vp8)
	first := carol.sub.NextTrack(10 * time.Second)
	if first.Track.ID() != camA.ID || !whole(first) {
		t.Fatalf("carol did not receive alice's VP8 camera whole")
	}
	camB := bob.publish(t, rtc.SourceCamera, h264Track("cam"), h264)
	second := carol.sub.NextTrack(10 * time.Second)
	if second.Track.ID() != camB.ID || !strings.EqualFold(second.Track.Codec().MimeType, webrtc.MimeTypeH264) {
		t.Fatalf("carol received %s (%s), want bob's H.264 camera %s", second.Track.ID(), second.Track.Codec().MimeType, camB.ID)
	}
	if !whole(second) {
		t.Fatal("bob's H.264 camera did not reach carol whole")
	}
	if !morePackets(first, len(first.Packets())+20, 10*time.Second) {
		t.Fatal("alice's VP8 camera stopped when the H.264 one came")
	}
}

// Unsubscribing and subscribing again reuses the idle media section, so
// the subscriber's SDP does not grow with every change.
func TestResubscribingReusesSections(t *testing.T) {
	_, audio := testClips(t)
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	alice := e.connect(t, m.ID, "alice")
	p, _, err := e.rooms.Join(m.ID, rtc.Identity{ID: "bob", Name: "Bob"}, rtc.JoinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev := newEventLog()
	p.Attach(ev)
	sub := mediatest.NewPeer(t, mediatest.ClientConfig{})
	// Bob's client answers each offer and says when the server has
	// taken the answer.
	answered := make(chan int, 16)
	go func() {
		for {
			select {
			case offer := <-ev.offers:
				answer, err := answerOffer(sub.PC, offer)
				if err == nil {
					err = p.AnswerSubscriber(answer)
				}
				if err != nil {
					t.Errorf("answer: %v", err)
					return
				}
				answered <- countSending(sub.PC)
			case <-p.Left():
				return
			}
		}
	}()
	mic := alice.publish(t, rtc.SourceMicrophone, opusTrack("mic"), audio)
	ev.waitFor(t, rtc.EventTrackPublished)

	sections := func() int { return strings.Count(sub.PC.RemoteDescription().SDP, "\r\nm=") }
	// settled waits until the server has taken bob's answer to an offer
	// that sends n tracks.
	settled := func(n int) {
		t.Helper()
		for {
			select {
			case got := <-answered:
				if got == n {
					return
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("subscriptions did not settle at %d", n)
			}
		}
	}
	for i := range 4 {
		if err := p.Subscribe(mic.ID, rtc.Preferences{}); err != nil {
			t.Fatal(err)
		}
		r := sub.NextTrack(10 * time.Second)
		if r.Track.ID() != mic.ID || !r.WaitFor(10*time.Second, func(f []mediatest.ReceivedFrame) bool { return len(f) >= 5 }) {
			t.Fatalf("round %d: alice's microphone did not arrive", i)
		}
		settled(1)
		if err := p.Unsubscribe(mic.ID); err != nil {
			t.Fatal(err)
		}
		settled(0)
		if n := sections(); n != 1 {
			t.Fatalf("round %d: the subscriber's SDP has %d media sections, want 1", i, n)
		}
	}
}

// countSending counts the media sections on which the server sends to
// pc, as pc last heard.
func countSending(pc *webrtc.PeerConnection) int {
	d := pc.RemoteDescription()
	if d == nil {
		return 0
	}
	n := 0
	for _, sec := range strings.Split(d.SDP, "\r\nm=")[1:] {
		if strings.Contains(sec, "a=sendrecv") || strings.Contains(sec, "a=sendonly") {
			n++
		}
	}
	return n
}
