package rtc_test

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v3"

	"parley/sfu/meeting"
	"parley/sfu/rtc"
)

// TestStatsFollowTheMeeting publishes a camera and a microphone to one
// subscriber, then another, and checks the node's stats: the gauges
// follow the room, and the media counters keep what a subscriber that
// left had forwarded.
func TestStatsFollowTheMeeting(t *testing.T) {
	video, audio := testClips(t)
	e := newEnv(t, nil)
	if st := e.rooms.Stats(); st != (rtc.Stats{}) {
		t.Fatalf("stats of an idle node: %+v", st)
	}
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	alice := e.connect(t, m.ID, "alice")
	bob := e.connect(t, m.ID, "bob")
	alice.publish(t, rtc.SourceMicrophone, opusTrack("mic"), audio)
	alice.publish(t, rtc.SourceCamera, vp8Track("cam"), video)
	for _, r := range received(t, bob.sub, 2) {
		if !r.WaitFor(10*time.Second, hasFrames(5)) {
			t.Fatalf("bob got no frames of %s", r.Track.ID())
		}
		// A new subscriber may start without any keyframe request (on
		// a keyframe replayed from the cache); bob's player asks for one.
		if r.Track.Kind() == webrtc.RTPCodecTypeVideo {
			if err := bob.sub.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(r.Track.SSRC())}}); err != nil {
				t.Fatal(err)
			}
		}
	}

	before := waitStats(t, e, "a keyframe request and a measured bitrate", func(st rtc.Stats) bool {
		return st.Media.KeyframeRequests > 0 && st.IngestBitrate > 0
	})
	if before.Rooms != 1 || before.Joined != 2 || before.Reconnecting != 0 || before.Waiting != 0 ||
		before.AudioTracks != 1 || before.VideoTracks != 1 || before.Subscriptions != 2 || before.Recordings != 0 {
		t.Fatalf("stats of a room of two with two tracks: %+v", before)
	}
	if before.Media.Packets == 0 || before.Media.Bytes <= before.Media.Packets {
		t.Fatalf("media counters while bob receives: %+v", before.Media)
	}
	if n := before.ForwardLatency.Count(); n == 0 || before.ForwardLatency.Sum <= 0 {
		t.Fatalf("forwarding latency while bob receives: %d packets, %v", n, before.ForwardLatency.Sum)
	}

	// Bob leaves: his subscriptions end, and what they forwarded stays
	// counted. Carol then receives; the total is bob's and hers.
	bob.p.Leave()
	if st := e.rooms.Stats(); st.Joined != 1 || st.Subscriptions != 0 || st.Media.Packets < before.Media.Packets {
		t.Fatalf("stats after bob left: %+v (before: %+v)", st, before.Media)
	}
	carol := e.connect(t, m.ID, "carol")
	got := received(t, carol.sub, 2)
	for _, r := range got {
		if !r.WaitFor(10*time.Second, hasFrames(5)) {
			t.Fatalf("carol got no frames of %s", r.Track.ID())
		}
	}
	carolGot := 0
	for _, r := range got {
		carolGot += len(r.Packets())
	}
	// A downtrack counts a packet once its write returns, which may be
	// after carol has it: wait for the count to catch up.
	want := before.Media.Packets + uint64(carolGot)
	after := waitStats(t, e, "bob's and carol's packets counted", func(st rtc.Stats) bool { return st.Media.Packets >= want })
	if after.Subscriptions != 2 || after.Joined != 2 {
		t.Fatalf("stats with carol: %+v", after)
	}

	// The room closes when the last one leaves; the counters stay.
	carol.p.Leave()
	alice.p.Leave()
	end := e.rooms.Stats()
	if end.Rooms != 0 || end.Joined != 0 || end.AudioTracks+end.VideoTracks != 0 || end.Subscriptions != 0 || end.IngestBitrate != 0 {
		t.Fatalf("stats after everyone left: %+v", end)
	}
	if end.Media.Packets < after.Media.Packets || end.Media.Bytes < after.Media.Bytes ||
		end.Media.KeyframeRequests < after.Media.KeyframeRequests {
		t.Fatalf("counters went down: %+v, then %+v", after.Media, end.Media)
	}
}

// waitStats polls the stats until cond holds, or fails after 10 seconds.
func waitStats(t *testing.T, e *env, what string, cond func(rtc.Stats) bool) rtc.Stats {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := e.rooms.Stats()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 10s: %+v", what, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
