package media

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"
)

func audioReceiver(t *testing.T) (*Receiver, *feed) {
	r := newReceiver("mic", "s", webrtc.RTPCodecTypeAudio, opusParams,
		[]webrtc.RTPHeaderExtensionParameter{{URI: sdp.AudioLevelURI, ID: 1}}, ReceiverConfig{Logger: testLogger()})
	t.Cleanup(r.Close)
	return r, newFeed(t, r, "")
}

func sendLevels(t *testing.T, f *feed, sn *uint16, levels ...uint8) {
	for _, l := range levels {
		p := &rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 1, SequenceNumber: *sn}, Payload: []byte{0xfc}}
		_ = p.Header.SetExtension(1, []byte{0x80 | l})
		f.send(t, p)
		*sn++
	}
}

// Speakers are ranked by their audio level extension alone; silence and
// the odd loud packet do not count; the ranking follows who speaks.
func TestSpeakerDetectorRanksByLevel(t *testing.T) {
	loudR, loud := audioReceiver(t)
	softR, soft := audioReceiver(t)
	quietR, quiet := audioReceiver(t)
	coughR, cough := audioReceiver(t)
	sd := NewSpeakerDetector()
	sd.Add("loud", loudR)
	sd.Add("soft", softR)
	sd.Add("quiet", quietR)
	sd.Add("cough", coughR)

	var s1, s2, s3, s4 uint16
	round := func(loudLevel, softLevel uint8) []Speaker {
		for range 15 { // 300 ms of 20 ms packets
			sendLevels(t, loud, &s1, loudLevel)
			sendLevels(t, soft, &s2, softLevel)
			sendLevels(t, quiet, &s3, 110)
		}
		sendLevels(t, cough, &s4, 5, 120, 120, 120, 120, 120, 120, 120, 120, 120)
		return sd.Top(3)
	}
	for range 3 {
		round(10, 35)
	}
	top := round(10, 35)
	if len(top) != 2 || top[0].ID != "loud" || top[1].ID != "soft" || top[0].Level <= top[1].Level {
		t.Fatalf("top speakers = %+v, want loud then soft", top)
	}
	// They swap: after a few intervals the ranking follows.
	for range 4 {
		top = round(35, 10)
	}
	if top[0].ID != "soft" {
		t.Fatalf("after swapping, top speakers = %+v", top)
	}
	if got := sd.Top(1); len(got) != 1 {
		t.Fatalf("Top(1) = %+v", got)
	}
	sd.Remove("soft")
	for range 6 {
		top = round(35, 10)
	}
	if len(top) != 1 || top[0].ID != "loud" {
		t.Fatalf("after removing soft: %+v", top)
	}
}
