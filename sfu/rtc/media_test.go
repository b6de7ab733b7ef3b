package rtc_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"

	"parley/sfu/mediatest"
	"parley/sfu/meeting"
	"parley/sfu/rtc"
)

// clips are small encoded clips, made once per test binary.
var clips struct {
	once         sync.Once
	video, audio mediatest.Clip
}

func testClips(t *testing.T) (video, audio mediatest.Clip) {
	t.Helper()
	mediatest.RequireFFmpeg(t)
	clips.once.Do(func() {
		var err error
		clips.video, err = mediatest.EncodeVideo(mediatest.VideoSpec{
			MimeType: webrtc.MimeTypeVP8, Width: 160, Height: 120, FPS: 15, Duration: 2 * time.Second,
		})
		if err == nil {
			clips.audio, err = mediatest.EncodeAudio(2 * time.Second)
		}
		if err != nil {
			t.Fatal(err)
		}
	})
	if len(clips.video.Frames) == 0 {
		t.Fatal("clips were not made")
	}
	return clips.video, clips.audio
}

// client is a participant with the two test peers a browser would have:
// one publishing, one receiving, the latter answering every subscriber
// offer as it comes.
type client struct {
	*member
	pub, sub *mediatest.Peer
}

func (e *env) connect(t *testing.T, meetingID, who string) *client {
	t.Helper()
	c := &client{member: e.join(t, meetingID, who, false), pub: mediatest.NewPeer(t, mediatest.ClientConfig{}),
		sub: mediatest.NewPeer(t, mediatest.ClientConfig{})}
	go c.answerOffers(t)
	return c
}

func (c *client) answerOffers(t *testing.T) {
	for {
		select {
		case offer := <-c.ev.offers:
			answer, err := answerOffer(c.sub.PC, offer)
			if err == nil {
				err = c.p.AnswerSubscriber(answer)
			}
			if err != nil {
				if !errors.Is(err, webrtc.ErrConnectionClosed) { // not the test's teardown
					t.Errorf("%s: answer subscriber offer: %v", c.p.ID(), err)
				}
				return
			}
		case <-c.p.Left():
			return
		}
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

// publish sends track (playing clip) as src and returns what the room
// says of it.
func (c *client) publish(t *testing.T, src rtc.Source, track *mediatest.Track, clip mediatest.Clip) rtc.TrackInfo {
	t.Helper()
	c.pub.Publish(track)
	offer := c.pub.Offer()
	answer, infos, err := c.p.Publish(offer, []rtc.PublishTrack{{Mid: midOf(t, c.pub.PC, track.ID()), Source: src}})
	if err != nil {
		t.Fatalf("publish %s: %v", src, err)
	}
	c.pub.Accept(answer)
	t.Cleanup(mediatest.PlayUntil(track, clip))
	return infos[0]
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

// received waits for n tracks at the subscriber peer and returns them by
// track id.
func received(t *testing.T, p *mediatest.Peer, n int) map[string]*mediatest.Received {
	t.Helper()
	out := map[string]*mediatest.Received{}
	for len(out) < n {
		r := p.NextTrack(10 * time.Second)
		out[r.Track.ID()] = r
	}
	return out
}

func hasFrames(n int) func([]mediatest.ReceivedFrame) bool {
	return func(f []mediatest.ReceivedFrame) bool { return len(f) >= n }
}

func hasKeyframe(f []mediatest.ReceivedFrame) bool {
	for _, x := range f {
		if x.Keyframe {
			return true
		}
	}
	return false
}

func TestPublishedTracksReachEverySubscriber(t *testing.T) {
	video, audio := testClips(t)
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	alice := e.connect(t, m.ID, "alice")
	carol := e.connect(t, m.ID, "carol") // here before the tracks

	mic := alice.publish(t, rtc.SourceMicrophone, opusTrack("mic"), audio)
	cam := alice.publish(t, rtc.SourceCamera, vp8Track("cam"), video)
	if mic.Kind != "audio" || cam.Kind != "video" || mic.ParticipantID != alice.p.ID() {
		t.Fatalf("declared tracks %+v %+v", mic, cam)
	}
	pub := carol.ev.waitFor(t, rtc.EventTrackPublished).Data.(rtc.TrackInfo)
	if pub.ParticipantID != alice.p.ID() || pub.MimeType == "" {
		t.Fatalf("track_published %+v", pub)
	}
	bob := e.connect(t, m.ID, "bob") // arrives after them

	for _, c := range []*client{carol, bob} {
		got := received(t, c.sub, 2)
		for _, want := range []rtc.TrackInfo{mic, cam} {
			r := got[want.ID]
			if r == nil {
				t.Fatalf("%s did not receive %s (got %v)", c.p.ID(), want.ID, got)
			}
			if r.Track.StreamID() != alice.p.ID() {
				t.Fatalf("stream id %q, want the publisher's participant id %q", r.Track.StreamID(), alice.p.ID())
			}
		}
		if !got[cam.ID].WaitFor(10*time.Second, hasKeyframe) {
			t.Fatalf("%s got no whole keyframe of the camera", c.p.ID())
		}
		if !got[mic.ID].WaitFor(10*time.Second, hasFrames(10)) {
			t.Fatalf("%s got no audio", c.p.ID())
		}
	}

	// Unpublishing stops the track for everyone and frees nothing to reuse.
	if err := alice.p.Unpublish(cam.ID); err != nil {
		t.Fatal(err)
	}
	un := bob.ev.waitFor(t, rtc.EventTrackUnpublished).Data.(rtc.UnpublishedEvent)
	if un.TrackID != cam.ID || un.Reason != rtc.ReasonUnpublished {
		t.Fatalf("track_unpublished %+v", un)
	}
	if info := alice.p.Info(); len(info.Tracks) != 1 || info.Tracks[0].ID != mic.ID {
		t.Fatalf("alice's tracks after unpublish: %+v", info.Tracks)
	}
}

func TestHostMuteStopsForwardingAtOnce(t *testing.T) {
	_, audio := testClips(t)
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	alice := e.connect(t, m.ID, "alice")
	bob := e.connect(t, m.ID, "bob")
	mic := bob.publish(t, rtc.SourceMicrophone, opusTrack("mic"), audio)
	r := received(t, alice.sub, 1)[mic.ID]
	if r == nil || !r.WaitFor(10*time.Second, hasFrames(5)) {
		t.Fatal("alice does not hear bob")
	}

	if _, err := alice.p.Room().Mute(alice.p, bob.p.ID(), rtc.SourceMicrophone, false); err != nil {
		t.Fatal(err)
	}
	ev := bob.ev.waitMatch(t, rtc.EventMuted, func(ev rtc.Event) bool { return ev.Data.(rtc.MuteEvent).Muted }).Data.(rtc.MuteEvent)
	if ev.AllowUnmute {
		t.Fatal("mute event allows unmuting")
	}
	// Packets already on the wire may still land; after that, none.
	time.Sleep(200 * time.Millisecond)
	before := len(r.Packets())
	time.Sleep(500 * time.Millisecond)
	if after := len(r.Packets()); after != before {
		t.Fatalf("%d packets of a muted microphone arrived", after-before)
	}
	if got := alice.p.Room().Participants(); !mutedMic(got, bob.p.ID()) {
		t.Fatalf("bob's microphone not shown muted: %+v", got)
	}

	// Allowed to unmute again, bob unmutes and is heard.
	if _, err := alice.p.Room().Mute(alice.p, bob.p.ID(), rtc.SourceMicrophone, true); err != nil {
		t.Fatal(err)
	}
	if err := bob.p.SetMuted(rtc.SourceMicrophone, false); err != nil {
		t.Fatal(err)
	}
	if !morePackets(r, len(r.Packets())+10, 10*time.Second) {
		t.Fatal("audio did not resume after unmute")
	}
}

// morePackets waits until r has received n packets.
func morePackets(r *mediatest.Received, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for len(r.Packets()) < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func mutedMic(ps []rtc.ParticipantInfo, id string) bool {
	for _, p := range ps {
		for _, tr := range p.Tracks {
			if p.ID == id && tr.Source == rtc.SourceMicrophone {
				return tr.Muted
			}
		}
	}
	return false
}

func TestPublishRules(t *testing.T) {
	e := newEnv(t, func(c *rtc.Config) { c.MaxTracksPerParticipant = 2 })
	m := e.meeting(t, "alice", meeting.SettingsPatch{AllowScreenShare: boolp(false)})
	alice := e.connect(t, m.ID, "alice")
	bob := e.connect(t, m.ID, "bob")

	// Garbage and truncated SDP are refused with a clear error.
	for _, bad := range []string{"", "hello", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=audio"} {
		_, _, err := bob.p.Publish(bad, []rtc.PublishTrack{{Mid: "0", Source: rtc.SourceMicrophone}})
		wantErr(t, err, rtc.ErrInvalid)
	}

	mic := opusTrack("mic")
	bob.pub.Publish(mic)
	offer := bob.pub.Offer()
	mid := midOf(t, bob.pub.PC, "mic")
	_, _, err := bob.p.Publish(offer, []rtc.PublishTrack{{Mid: mid, Source: rtc.SourceCamera}})
	wantErr(t, err, rtc.ErrInvalid) // an audio section declared as a camera
	_, _, err = bob.p.Publish(offer, nil)
	wantErr(t, err, rtc.ErrInvalid) // a sending section nobody declared
	_, _, err = bob.p.Publish(offer, []rtc.PublishTrack{{Mid: "99", Source: rtc.SourceMicrophone}})
	wantErr(t, err, rtc.ErrInvalid)
	_, _, err = bob.p.Publish(offer, []rtc.PublishTrack{{Mid: mid, Source: "webcam"}})
	wantErr(t, err, rtc.ErrInvalid)

	answer, infos, err := bob.p.Publish(offer, []rtc.PublishTrack{{Mid: mid, Source: rtc.SourceMicrophone}})
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || !strings.HasPrefix(infos[0].ID, "t_") {
		t.Fatalf("declared %+v", infos)
	}
	var desc sdp.SessionDescription
	if err := desc.UnmarshalString(answer); err != nil {
		t.Fatal(err)
	}
	if bw := desc.MediaDescriptions[0].Bandwidth; len(bw) == 0 || bw[0].Type != "TIAS" || bw[0].Bandwidth == 0 {
		t.Fatalf("answer has no bitrate limit: %+v", bw)
	}
	bob.pub.Accept(answer)

	screen := vp8Track("screen")
	bob.pub.Publish(screen)
	offer = bob.pub.Offer()
	_, _, err = bob.p.Publish(offer, []rtc.PublishTrack{{Mid: midOf(t, bob.pub.PC, "screen"), Source: rtc.SourceScreenShare}})
	wantErr(t, err, rtc.ErrForbidden)
	_, _, err = bob.p.Publish(offer, []rtc.PublishTrack{{Mid: midOf(t, bob.pub.PC, "screen"), Source: rtc.SourceMicrophone}})
	wantErr(t, err, rtc.ErrInvalid) // the source is published already (and the kinds differ)

	// The host may share a screen when others may not; the track limit is
	// two.
	for i, src := range []rtc.Source{rtc.SourceScreenShare, rtc.SourceCamera} {
		tr := vp8Track("v" + string(rune('0'+i)))
		alice.pub.Publish(tr)
		o := alice.pub.Offer()
		a, _, err := alice.p.Publish(o, []rtc.PublishTrack{{Mid: midOf(t, alice.pub.PC, tr.ID()), Source: src}})
		if err != nil {
			t.Fatalf("host publishes %s: %v", src, err)
		}
		alice.pub.Accept(a)
	}
	third := opusTrack("third")
	alice.pub.Publish(third)
	o := alice.pub.Offer()
	_, _, err = alice.p.Publish(o, []rtc.PublishTrack{{Mid: midOf(t, alice.pub.PC, "third"), Source: rtc.SourceMicrophone}})
	wantErr(t, err, rtc.ErrLimit)
}

// TestMalformedSDPCrashesNothing feeds cut and mangled versions of a real
// offer and answer to a participant. Each must be refused or taken with
// an ordinary error; nothing may panic, and the room keeps working.
func TestMalformedSDPCrashesNothing(t *testing.T) {
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	alice := e.connect(t, m.ID, "alice")
	mallory := e.connect(t, m.ID, "mallory")

	mallory.pub.Publish(opusTrack("mic"))
	offer := mallory.pub.Offer()
	mid := midOf(t, mallory.pub.PC, "mic")
	var variants []string
	for i := 0; i < len(offer); i += len(offer)/60 + 1 {
		variants = append(variants, offer[:i], offer[i:])
	}
	for _, line := range strings.SplitAfter(offer, "\r\n") {
		variants = append(variants, strings.Replace(offer, line, "", 1), strings.Replace(offer, line, line+line, 1))
	}
	variants = append(variants, strings.ReplaceAll(offer, "\r\n", "\n"), strings.Repeat("a=x\r\n", 5000),
		strings.ReplaceAll(offer, "a=mid:", "a=mid-gone:"), strings.ReplaceAll(offer, "ice-ufrag:", "ice-ufrag:x"))
	for _, v := range variants {
		_, _, _ = mallory.p.Publish(v, []rtc.PublishTrack{{Mid: mid, Source: rtc.SourceMicrophone}})
		_ = mallory.p.AnswerSubscriber(v)
		_ = mallory.p.AddCandidate(rtc.TargetPublisher, webrtc.ICECandidateInit{Candidate: v})
	}
	// The room still works: alice publishes, mallory is still there.
	alice.pub.Publish(opusTrack("amic"))
	o := alice.pub.Offer()
	answer, _, err := alice.p.Publish(o, []rtc.PublishTrack{{Mid: midOf(t, alice.pub.PC, "amic"), Source: rtc.SourceMicrophone}})
	if err != nil {
		t.Fatal(err)
	}
	alice.pub.Accept(answer)
	if got := len(alice.p.Room().Participants()); got != 2 {
		t.Fatalf("%d participants after the garbage", got)
	}
}

func TestActiveSpeakers(t *testing.T) {
	_, audio := testClips(t)
	e := newEnv(t, nil) // ranks every 100 ms
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	alice := e.connect(t, m.ID, "alice")
	bob := e.connect(t, m.ID, "bob")
	loud, quiet := opusTrack("loud"), opusTrack("quiet")
	loud.SetAudioLevel(10)   // -10 dBov: speaking
	quiet.SetAudioLevel(120) // near silence
	alice.publish(t, rtc.SourceMicrophone, loud, audio)
	bob.publish(t, rtc.SourceMicrophone, quiet, audio)

	ev := bob.ev.waitMatch(t, rtc.EventSpeakers, func(ev rtc.Event) bool {
		return len(ev.Data.(rtc.SpeakersEvent).Speakers) > 0
	}).Data.(rtc.SpeakersEvent)
	if len(ev.Speakers) != 1 || ev.Speakers[0].ParticipantID != alice.p.ID() || ev.Speakers[0].Level <= 0 {
		t.Fatalf("speakers %+v, want alice alone", ev.Speakers)
	}
	// A muted microphone is not a speaker, however loud.
	if err := alice.p.SetMuted(rtc.SourceMicrophone, true); err != nil {
		t.Fatal(err)
	}
	bob.ev.waitMatch(t, rtc.EventSpeakers, func(ev rtc.Event) bool {
		return len(ev.Data.(rtc.SpeakersEvent).Speakers) == 0
	})
	if got := alice.p.Room().Speakers(); len(got) != 0 {
		t.Fatalf("speakers after mute: %+v", got)
	}
}
