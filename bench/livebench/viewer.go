package livebench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/bench/rtcpeer"
	"parley/bench/wire"
)

// Timing of a viewer's join.
const (
	// notOnAirRetry is how soon a viewer asks again after 409
	// not_on_air. The server's Retry-After (5 s) is for players; the
	// generator knows the encoder has published and only waits for the
	// media to reach the server.
	notOnAirRetry = 200 * time.Millisecond
	// joinTimeout bounds one viewer's join, retries included.
	joinTimeout = 30 * time.Second
)

// viewer is one player over WHEP: a member's token, a peer connection
// that receives the live's audio and video, and a receiver per track.
type viewer struct {
	r     *runner
	index int
	name  string
	pc    *webrtc.PeerConnection

	joinStart time.Time
	joined    bool // the server answered and the answer applied

	mu    sync.Mutex
	video *rtcpeer.Receiver
	audio *rtcpeer.Receiver
	// before and after are what the viewer had got at the start and the
	// end of the window.
	before, after rtcpeer.Counts
}

// join makes the viewer's offer and plays the live, asking again while
// the server says it is not on air.
func (v *viewer) join(ctx context.Context) error {
	pc, err := v.r.stack.NewPeerConnection()
	if err != nil {
		return err
	}
	v.pc = pc
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return fmt.Errorf("%s: add %s transceiver: %w", v.name, kind, err)
		}
	}
	pc.OnTrack(v.onTrack)
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed && !v.r.closing.Load() {
			v.r.log.Error("", fmt.Sprintf("%s: the connection failed", v.name))
		}
	})
	offer, err := rtcpeer.Offer(ctx, pc)
	if err != nil {
		return fmt.Errorf("%s: %w", v.name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	token := v.r.fleet.Token(v.r.fleet.MemberID(v.name))
	v.joinStart = time.Now()
	for {
		start := time.Now()
		s, err := v.r.api.PlayWHEP(ctx, v.r.live.ID, token, offer)
		var apiErr *wire.APIError
		if errors.As(err, &apiErr) && apiErr.Code == wire.CodeNotOnAir {
			select {
			case <-time.After(notOnAirRetry):
				continue
			case <-ctx.Done():
				return fmt.Errorf("%s: the live stayed not on air: %w", v.name, err)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		v.r.join.Record(v.index, time.Since(start))
		if err := rtcpeer.Accept(pc, s.Answer); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		v.joined = true
		return nil
	}
}

// onTrack checks a track of the live against the clip sent on it.
func (v *viewer) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	src := v.r.audioSrc
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		src = v.r.videoSrc
	}
	rcv := rtcpeer.NewReceiver(track, recv, src, rtcpeer.ReceiverOptions{Latency: v.r.lat, Shard: v.index, Feedback: v.pc})
	v.mu.Lock()
	defer v.mu.Unlock()
	if track.Kind() == webrtc.RTPCodecTypeVideo {
		if v.video != nil {
			v.r.log.Error("", fmt.Sprintf("%s received a second video track", v.name))
		}
		v.video = rcv
	} else {
		if v.audio != nil {
			v.r.log.Error("", fmt.Sprintf("%s received a second audio track", v.name))
		}
		v.audio = rcv
	}
}

// counts adds up what the viewer's receivers got so far.
func (v *viewer) counts() (all, video rtcpeer.Counts) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.video != nil {
		video = v.video.Counts()
		all.Add(video)
	}
	if v.audio != nil {
		all.Add(v.audio.Counts())
	}
	return all, video
}

// firstFrame is when the first picture arrived, if it has.
func (v *viewer) firstFrame() (time.Time, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.video == nil {
		return time.Time{}, false
	}
	return v.video.FirstFrame()
}
