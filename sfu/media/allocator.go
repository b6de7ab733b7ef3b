package media

import (
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"
)

// Allocation settings.
const (
	// AllocateInterval is how often an allocator re-divides the estimate,
	// besides whenever the estimate changes.
	AllocateInterval = 500 * time.Millisecond
	// AudioBitrateFloor is what an audio track is assumed to take before
	// its rate is measured, in bits per second.
	AudioBitrateFloor = 64_000
	// upgradeHeadroom is how much more than a higher layer's measured
	// rate the budget must hold to move up to it, so the choice does not
	// flap at the boundary.
	upgradeHeadroom = 1.15
)

// BandwidthEstimator is what an Allocator reads: the target bitrate, in
// bits per second, for everything sent on one subscriber connection.
// transport.NewSubscriber's cc.BandwidthEstimator satisfies it.
type BandwidthEstimator interface {
	GetTargetBitrate() int
}

// Allocator divides one subscriber connection's bandwidth estimate among
// its downtracks: audio first, then every video gets its lowest layer,
// then video layers go up one step at a time, round robin, while the
// estimate holds them. Each downtrack's own limits (SetMaxLayer,
// SetMaxSize) still apply on top.
type Allocator struct {
	est  BandwidthEstimator
	mu   sync.Mutex
	dts  []*DownTrack
	kick chan struct{}
	done chan struct{}
	once sync.Once
}

// NewAllocator starts an allocator for one subscriber connection.
func NewAllocator(est BandwidthEstimator) *Allocator {
	a := &Allocator{est: est, kick: make(chan struct{}, 1), done: make(chan struct{})}
	if notifier, ok := est.(interface{ OnTargetBitrateChange(func(int)) }); ok {
		notifier.OnTargetBitrateChange(func(int) { a.Kick() })
	}
	go a.run()
	return a
}

// Add puts a downtrack under the allocator.
func (a *Allocator) Add(d *DownTrack) {
	a.mu.Lock()
	a.dts = append(a.dts, d)
	a.mu.Unlock()
	a.Kick()
}

// Remove takes a downtrack out from under the allocator.
func (a *Allocator) Remove(d *DownTrack) {
	a.mu.Lock()
	a.dts = slices.DeleteFunc(a.dts, func(x *DownTrack) bool { return x == d })
	a.mu.Unlock()
	a.Kick()
}

// Kick re-divides the estimate soon, as after a downtrack's limits
// change.
func (a *Allocator) Kick() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

// Close stops the allocator.
func (a *Allocator) Close() { a.once.Do(func() { close(a.done) }) }

func (a *Allocator) run() {
	t := time.NewTicker(AllocateInterval)
	defer t.Stop()
	for {
		select {
		case <-a.done:
			return
		case <-t.C:
		case <-a.kick:
		}
		a.allocate()
	}
}

// layerOption is one layer a video downtrack may take.
type layerOption struct {
	quality int
	bitrate int
}

func (a *Allocator) allocate() {
	a.mu.Lock()
	dts := slices.Clone(a.dts)
	a.mu.Unlock()

	budget := a.est.GetTargetBitrate()
	type video struct {
		d       *DownTrack
		options []layerOption
		choice  int
		current int
	}
	var videos []*video
	now := time.Now().UnixNano()
	for _, d := range dts {
		if d.Muted() {
			continue
		}
		order := *d.r.order.Load()
		if d.r.kind == webrtc.RTPCodecTypeAudio {
			rate := AudioBitrateFloor
			if len(order) > 0 {
				rate = max(rate, int(order[0].bitrate.Load()))
			}
			budget -= rate
			continue
		}
		v := &video{d: d, current: d.CurrentLayer()}
		allowed := -1
		if len(order) > 0 {
			allowed = d.allowedLayer(order)
		}
		for q := 0; q <= allowed; q++ {
			if order[q].alive(now) {
				v.options = append(v.options, layerOption{quality: q, bitrate: int(order[q].bitrate.Load())})
			}
		}
		if len(v.options) > 0 {
			budget -= v.options[0].bitrate
			videos = append(videos, v)
		}
	}
	for upgraded := true; upgraded; {
		upgraded = false
		for _, v := range videos {
			if v.choice+1 >= len(v.options) {
				continue
			}
			next := v.options[v.choice+1]
			cost := float64(next.bitrate - v.options[v.choice].bitrate)
			if next.quality > v.current {
				cost = float64(next.bitrate)*upgradeHeadroom - float64(v.options[v.choice].bitrate)
			}
			if cost <= float64(budget) {
				budget -= int(cost)
				v.choice++
				upgraded = true
			}
		}
	}
	for _, v := range videos {
		v.d.setBandwidthLayer(v.options[v.choice].quality)
	}
}
