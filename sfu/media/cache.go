package media

import "sync"

// Packet cache sizes, in packets. A video layer at 2.5 Mbit/s sends about
// 250 packets a second, so 512 keeps two seconds for retransmission;
// audio is rarely NACKed and keeps half a second.
const (
	VideoCachePackets = 512
	AudioCachePackets = 32
	// MaxPacketSize is the largest RTP packet kept; Pion reads at most
	// 1460 bytes from the wire.
	MaxPacketSize = 1500
)

// packetCache keeps the last packets of one RTP stream, as received, for
// every subscriber's NACKs and for the downtracks' queues to copy from.
// One contiguous arena of fixed slots means no allocation per packet.
// Slots are indexed by sequence number, so the size is a power of two
// that divides 65536 and wrap-around needs no care.
type packetCache struct {
	mu    sync.RWMutex
	arena []byte
	sizes []uint16
	sns   []uint16
	used  []bool
	mask  uint16
}

func newPacketCache(packets int) *packetCache {
	if packets&(packets-1) != 0 || packets <= 0 || packets > 1<<15 {
		panic("media: packet cache size must be a power of two up to 32768")
	}
	return &packetCache{
		arena: make([]byte, packets*MaxPacketSize),
		sizes: make([]uint16, packets),
		sns:   make([]uint16, packets),
		used:  make([]bool, packets),
		mask:  uint16(packets - 1),
	}
}

// put stores pkt under sequence number sn. It reports false, storing
// nothing, when the packet is a duplicate of one already held or too big.
func (c *packetCache) put(sn uint16, pkt []byte) bool {
	if len(pkt) > MaxPacketSize {
		return false
	}
	i := int(sn & c.mask)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used[i] && c.sns[i] == sn {
		return false
	}
	copy(c.arena[i*MaxPacketSize:], pkt)
	c.sizes[i] = uint16(len(pkt))
	c.sns[i] = sn
	c.used[i] = true
	return true
}

// get copies the packet with sequence number sn into dst and returns its
// length, or false if it has been overwritten or never arrived.
func (c *packetCache) get(sn uint16, dst []byte) (int, bool) {
	i := int(sn & c.mask)
	c.mu.RLock()
	defer c.mu.RUnlock()
	if !c.used[i] || c.sns[i] != sn {
		return 0, false
	}
	n := copy(dst, c.arena[i*MaxPacketSize:i*MaxPacketSize+int(c.sizes[i])])
	return n, true
}
