package media

import (
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// readRTCP answers the subscriber's feedback on one downtrack: PLI and
// FIR become a throttled keyframe request to the publisher, NACKs are
// answered from the receiver's packet cache.
func (d *DownTrack) readRTCP(reader interceptor.RTCPReader) {
	buf := make([]byte, MaxPacketSize)
	for {
		n, attr, err := reader.Read(buf, nil)
		if err != nil {
			return
		}
		select {
		case <-d.done:
			return
		default:
		}
		// The congestion control interceptor has parsed the packets
		// already and keeps them in attr.
		var pkts []rtcp.Packet
		if attr != nil {
			pkts, err = attr.GetRTCPPackets(buf[:n])
		} else {
			pkts, err = rtcp.Unmarshal(buf[:n])
		}
		if err != nil {
			continue
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if l := d.r.layerInSlot(int(d.current.Load())); l != nil {
					d.r.requestKeyframe(l)
				}
			case *rtcp.TransportLayerNack:
				d.retransmit(p)
			}
		}
	}
}

// retransmit answers a NACK from the receiver's cache. A packet the
// downtrack never sent, one gone from the cache, one already resent
// MaxRetransmits times, or one from before the last layer switch (the
// subscriber's decoder starts over at the switch's keyframe anyway) is
// skipped.
func (d *DownTrack) retransmit(nack *rtcp.TransportLayerNack) {
	buf := make([]byte, MaxPacketSize)
	var pkt rtp.Packet
	var hdr rtp.Header
	for _, pair := range nack.Nacks {
		pair.Range(func(sn uint16) bool {
			d.writeMu.Lock()
			h := &d.hist[sn%historyPackets]
			s := *h
			ok := s.valid && s.outSN == sn && s.resent < MaxRetransmits && s.epoch == d.fwd.epoch
			if ok {
				h.resent++
			}
			d.writeMu.Unlock()
			if !ok {
				d.nackMisses.Add(1)
				return true
			}
			n, ok := s.layer.cache.get(s.inSN, buf)
			if !ok || pkt.Unmarshal(buf[:n]) != nil {
				d.nackMisses.Add(1)
				return true
			}
			d.setHeader(&hdr, &pkt, sn, pkt.Timestamp-s.tsOffset)
			if _, err := d.writer.WriteRTP(&hdr, pkt.Payload); err == nil {
				d.retransmits.Add(1)
			}
			return true
		})
	}
}
