package media

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
)

// layer is one RTP stream of a track: the only one, or one simulcast
// layer. Its slot never changes; a publisher's new SSRC for the same rid
// reuses it.
type layer struct {
	slot  int
	rid   string
	cache *packetCache

	ssrc       atomic.Uint32
	bytes      atomic.Uint64 // since the last tick
	bitrate    atomic.Int64  // bits per second, smoothed
	width      atomic.Int32
	height     atomic.Int32
	lastPacket atomic.Int64 // unix nanoseconds
	lastPLI    atomic.Int64 // unix nanoseconds of the last keyframe request
	lastKey    atomic.Int64 // unix nanoseconds of the last keyframe's first packet
	lastKeyTS  atomic.Uint32
	lastKeySN  atomic.Uint32 // sequence number of the last keyframe's first packet
	keyGap     atomic.Int64  // nanoseconds between the last two keyframes
	refused    atomic.Bool
	overTicks  int // ticker goroutine only

	rtcpStarted bool // guarded by Receiver.mu

	sinks atomic.Pointer[[]*sinkPump]
	src   rtpSource // guarded by Receiver.mu
	// srcGen counts the sources the layer has had; a read loop whose
	// source was replaced drops what it still reads.
	srcGen atomic.Uint64
}

func (l *layer) alive(now int64) bool {
	return !l.refused.Load() && now-l.lastPacket.Load() < int64(LayerTimeout)
}

// LayerInfo describes one layer, as Layers reports it.
type LayerInfo struct {
	RID  string
	SSRC uint32
	// Bitrate is the measured rate in bits per second.
	Bitrate int
	// Width and Height are read from the last keyframe, when the codec
	// carries them; zero if not known.
	Width, Height int
	// Active is false when the layer has stopped or is refused for
	// running over ReceiverConfig.MaxBitrate.
	Active bool
	// KeyframeInterval is the time between the layer's last two
	// keyframes, zero until two have arrived. A new subscriber waits up
	// to this long for a picture when the publisher ignores keyframe
	// requests, as OBS does.
	KeyframeInterval time.Duration
}

// Layers lists the track's layers from lowest to highest quality: by
// picture size when every layer's is known, else by measured bitrate,
// else by rid ("q" < "h" < "f"; otherwise in rid order). Quality indexes
// elsewhere in this package are positions in this list.
func (r *Receiver) Layers() []LayerInfo {
	now := time.Now().UnixNano()
	order := *r.order.Load()
	out := make([]LayerInfo, len(order))
	for i, l := range order {
		out[i] = LayerInfo{
			RID: l.rid, SSRC: l.ssrc.Load(), Bitrate: int(l.bitrate.Load()),
			Width: int(l.width.Load()), Height: int(l.height.Load()), Active: l.alive(now),
			KeyframeInterval: time.Duration(l.keyGap.Load()),
		}
	}
	return out
}

// HighestLayer picks the best layer wherever a quality index is taken.
const HighestLayer = -1

func (r *Receiver) layerAt(quality int) *layer {
	order := *r.order.Load()
	if len(order) == 0 {
		return nil
	}
	if quality < 0 || quality >= len(order) {
		quality = len(order) - 1
	}
	return order[quality]
}

// tick measures each layer's bitrate once a second, reorders the layers,
// enforces the bitrate cap and lets downtracks move off stopped layers.
func (r *Receiver) tick() {
	t := time.NewTicker(tickInterval)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-r.stop:
			return
		case now := <-t.C:
			elapsed := now.Sub(last).Seconds()
			last = now
			r.measure(elapsed)
		}
	}
}

func (r *Receiver) measure(elapsed float64) {
	r.mu.Lock()
	for _, l := range r.layers {
		rate := float64(l.bytes.Swap(0)*8) / elapsed
		if old := l.bitrate.Load(); old > 0 {
			rate = 0.5*float64(old) + 0.5*rate
		}
		l.bitrate.Store(int64(rate))
	}
	r.reorderLocked()
	var ssrcs []uint32
	if r.cfg.MaxBitrate > 0 {
		// From the lowest layer up, a layer fits while the layers up to
		// it stay under the cap; one that has not fitted for refuseAfter
		// measurements in a row is refused.
		limit := float64(r.cfg.MaxBitrate) * BitrateTolerance
		var sum float64
		for _, l := range *r.order.Load() {
			ssrcs = append(ssrcs, l.ssrc.Load())
			sum += float64(l.bitrate.Load())
			if sum > limit {
				l.overTicks++
			} else {
				l.overTicks = 0
			}
			refuse := l.overTicks >= refuseAfter
			if l.refused.Swap(refuse) != refuse {
				r.logger.Warn("track over its bitrate limit", "rid", l.rid, "bitrate", int(sum),
					"limit", r.cfg.MaxBitrate, "refused", refuse)
			}
		}
	}
	r.mu.Unlock()
	if len(ssrcs) > 0 {
		remb := &rtcp.ReceiverEstimatedMaximumBitrate{Bitrate: float32(r.cfg.MaxBitrate), SSRCs: ssrcs}
		_ = r.cfg.WriteRTCP([]rtcp.Packet{remb})
	}
	for _, d := range *r.downTracks.Load() {
		d.retarget()
	}
}

// reorderLocked sorts the layers by quality; see Layers.
func (r *Receiver) reorderLocked() {
	order := slices.Clone(r.layers)
	allSized, allMeasured := true, true
	for _, l := range order {
		allSized = allSized && l.width.Load() > 0
		allMeasured = allMeasured && l.bitrate.Load() > 0
	}
	slices.SortStableFunc(order, func(a, b *layer) int {
		switch {
		case allSized:
			return int(a.width.Load()*a.height.Load()) - int(b.width.Load()*b.height.Load())
		case allMeasured:
			return int(a.bitrate.Load() - b.bitrate.Load())
		default:
			return ridRank(a.rid) - ridRank(b.rid)
		}
	})
	r.order.Store(&order)
}

// ridRank orders rids when nothing better is known: the browsers' q, h,
// f, and otherwise the rid's first character ("0" < "1" < "2").
func ridRank(rid string) int {
	switch rid {
	case "q":
		return 0
	case "h":
		return 1
	case "f":
		return 2
	case "":
		return 0
	}
	return int(rid[0])
}

func (r *Receiver) layerInSlot(slot int) *layer {
	if slot < 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if slot >= len(r.layers) {
		return nil
	}
	return r.layers[slot]
}

// qualityOf turns a slot into a quality index, -1 if none.
func (r *Receiver) qualityOf(slot int) int {
	for q, l := range *r.order.Load() {
		if l.slot == slot {
			return q
		}
	}
	return -1
}
