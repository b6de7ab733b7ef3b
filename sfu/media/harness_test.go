package media

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/mediatest"
	"parley/sfu/transport"
)

// testServer is the server side of the end-to-end tests: a real
// transport on loopback, publisher connections feeding Receivers, and
// subscriber connections fed by DownTracks under an Allocator.
type testServer struct {
	t  *testing.T
	tr *transport.Transport
}

func testLogger() *slog.Logger {
	if os.Getenv("PARLEY_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newTestServer(t *testing.T) *testServer {
	t.Helper()
	mediatest.RequireFFmpeg(t)
	tr, err := transport.New(transport.Config{LoopbackOnly: true}, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return &testServer{t: t, tr: tr}
}

// publish negotiates client's tracks into a new publisher connection and
// returns a function that waits for n receivers (one per track, however
// many simulcast layers it has).
func (s *testServer) publish(client *mediatest.Peer, cfg ReceiverConfig) func(n int) []*Receiver {
	t := s.t
	t.Helper()
	pc, err := s.tr.NewPublisher()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	cfg.WriteRTCP = pc.WriteRTCP
	cfg.Logger = testLogger()
	var mu sync.Mutex
	byID := map[string]*Receiver{}
	var list []*Receiver
	added := make(chan struct{}, 16)
	pc.OnTrack(func(track *webrtc.TrackRemote, rr *webrtc.RTPReceiver) {
		mu.Lock()
		defer mu.Unlock()
		if r, ok := byID[track.ID()]; ok {
			if err := r.AddTrack(track, rr); err != nil {
				t.Errorf("add layer %q: %v", track.RID(), err)
			}
			return
		}
		r, err := NewReceiver(track, rr, cfg)
		if err != nil {
			t.Errorf("new receiver: %v", err)
			return
		}
		t.Cleanup(r.Close)
		byID[track.ID()] = r
		list = append(list, r)
		added <- struct{}{}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answer, err := transport.Answer(ctx, pc, client.Offer())
	if err != nil {
		t.Fatal(err)
	}
	client.Accept(answer)
	return func(n int) []*Receiver {
		t.Helper()
		for {
			mu.Lock()
			if len(list) >= n {
				out := append([]*Receiver(nil), list...)
				mu.Unlock()
				return out
			}
			mu.Unlock()
			select {
			case <-added:
			case <-time.After(10 * time.Second):
				t.Fatalf("%d of %d tracks arrived", len(list), n)
			}
		}
	}
}

// subscriber is one test subscriber and the server's side of it.
type subscriber struct {
	client     *mediatest.Peer
	downTracks []*DownTrack
	alloc      *Allocator
	tracks     map[string]*mediatest.Received // by track id
}

// subscribe makes a subscriber connection carrying a downtrack of each
// receiver, connects a new client to it and waits for every track.
func (s *testServer) subscribe(cfg mediatest.ClientConfig, receivers ...*Receiver) *subscriber {
	s.t.Helper()
	return s.subscribeWith(subscribeConfig{ClientConfig: cfg}, receivers...)
}

// subscribeConfig shapes a test subscriber.
type subscribeConfig struct {
	mediatest.ClientConfig
	// ClientOffers has the client offer recvonly video sections, one per
	// receiver, and the server answer; by default the server offers.
	ClientOffers bool
}

// subscribeWith is subscribe with the negotiation direction chosen.
func (s *testServer) subscribeWith(cfg subscribeConfig, receivers ...*Receiver) *subscriber {
	t := s.t
	t.Helper()
	pc, est, err := s.tr.NewSubscriber()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	sub := &subscriber{alloc: NewAllocator(est), tracks: map[string]*mediatest.Received{}}
	t.Cleanup(sub.alloc.Close)
	for _, r := range receivers {
		d := NewDownTrack(r, DownTrackConfig{})
		if _, err := AddDownTrack(pc, d); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(d.Close)
		sub.alloc.Add(d)
		sub.downTracks = append(sub.downTracks, d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub.client = mediatest.NewPeer(t, cfg.ClientConfig)
	if cfg.ClientOffers {
		// As a WHEP player: the client offers to receive, and the
		// server's answer binds the downtracks before the connection is
		// up. (When the server offers, Pion binds them after.)
		for range receivers {
			_, err := sub.client.PC.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo,
				webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
			if err != nil {
				t.Fatal(err)
			}
		}
		answer, err := transport.Answer(ctx, pc, sub.client.Offer())
		if err != nil {
			t.Fatal(err)
		}
		sub.client.Accept(answer)
	} else {
		offer, err := transport.Offer(ctx, pc)
		if err != nil {
			t.Fatal(err)
		}
		if err := transport.AcceptAnswer(pc, sub.client.Answer(offer)); err != nil {
			t.Fatal(err)
		}
	}
	for range receivers {
		rec := sub.client.NextTrack(10 * time.Second)
		sub.tracks[rec.Track.ID()] = rec
	}
	return sub
}

// hasKeyframe is a WaitFor condition: some frame is a keyframe.
func hasKeyframe(frames []mediatest.ReceivedFrame) bool {
	for _, f := range frames {
		if f.Keyframe {
			return true
		}
	}
	return false
}

// publishCamera publishes one VP8 track, "cam", from a new client and
// starts play on it (mediatest.PlayUntil or PlayLive, stopped when the
// test ends). It returns the client and the track's receiver.
func (s *testServer) publishCamera(client mediatest.ClientConfig, cfg ReceiverConfig,
	play func(*mediatest.Track) (stop func())) (*mediatest.Peer, *Receiver) {
	s.t.Helper()
	pub := mediatest.NewPeer(s.t, client)
	track := mediatest.NewTrack(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8}, "cam", "pub", "")
	pub.Publish(track)
	waitReceivers := s.publish(pub, cfg)
	pub.WaitConnected(10 * time.Second)
	s.t.Cleanup(play(track))
	return pub, waitReceivers(1)[0]
}
