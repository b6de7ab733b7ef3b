package recording

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Eyevinn/mp4ff/avc"
	"github.com/pion/rtp/codecs"
	"github.com/pion/rtp/codecs/vp9"
)

// MIME types of the codecs the recorder writes, spelled as Pion's
// webrtc.MimeType constants. They are compared without regard to case.
const (
	MimeTypeVP8  = "video/VP8"
	MimeTypeVP9  = "video/VP9"
	MimeTypeH264 = "video/H264"
	MimeTypeOpus = "audio/opus"
)

// codec is one of the codecs the recorder understands.
type codec int

const (
	codecVP8 codec = iota + 1
	codecVP9
	codecH264
	codecOpus
)

// ErrUnsupportedCodec is returned for a track whose codec cannot be
// recorded.
var ErrUnsupportedCodec = errors.New("recording: unsupported codec")

func parseCodec(mimeType string) (codec, error) {
	switch {
	case strings.EqualFold(mimeType, MimeTypeVP8):
		return codecVP8, nil
	case strings.EqualFold(mimeType, MimeTypeVP9):
		return codecVP9, nil
	case strings.EqualFold(mimeType, MimeTypeH264):
		return codecH264, nil
	case strings.EqualFold(mimeType, MimeTypeOpus):
		return codecOpus, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnsupportedCodec, mimeType)
}

func (c codec) video() bool { return c != codecOpus }

func (c codec) mimeType() string {
	switch c {
	case codecVP8:
		return MimeTypeVP8
	case codecVP9:
		return MimeTypeVP9
	case codecH264:
		return MimeTypeH264
	}
	return MimeTypeOpus
}

// defaultClockRate is the RTP clock every WebRTC stack uses for c.
func (c codec) defaultClockRate() uint32 {
	if c == codecOpus {
		return 48000
	}
	return 90000
}

// frameStart reports whether payload is the first packet of a frame: the
// packet a frame that lost its head would lack.
func (c codec) frameStart(payload []byte) bool {
	switch c {
	case codecVP8:
		var p codecs.VP8Packet
		if _, err := p.Unmarshal(payload); err != nil {
			return false
		}
		return p.S == 1 && p.PID == 0
	case codecVP9:
		var p codecs.VP9Packet
		if _, err := p.Unmarshal(payload); err != nil {
			return false
		}
		return p.B
	case codecH264:
		return (&codecs.H264Packet{}).IsPartitionHead(payload)
	}
	return true
}

// assemble joins the RTP payloads of one whole frame into the frame's
// bitstream: a VP8 or VP9 frame, an H.264 access unit as length-prefixed
// NAL units (the form MP4 stores), or an Opus packet.
func (c codec) assemble(payloads [][]byte) ([]byte, error) {
	var out []byte
	switch c {
	case codecVP8:
		for _, pl := range payloads {
			var p codecs.VP8Packet
			b, err := p.Unmarshal(pl)
			if err != nil {
				return nil, fmt.Errorf("vp8 payload: %w", err)
			}
			out = append(out, b...)
		}
	case codecVP9:
		for _, pl := range payloads {
			var p codecs.VP9Packet
			b, err := p.Unmarshal(pl)
			if err != nil {
				return nil, fmt.Errorf("vp9 payload: %w", err)
			}
			out = append(out, b...)
		}
	case codecH264:
		// One depacketizer per frame: it carries FU-A fragments between
		// calls, and a frame's fragments never continue into the next.
		p := &codecs.H264Packet{IsAVC: true}
		for _, pl := range payloads {
			b, err := p.Unmarshal(pl)
			if err != nil {
				return nil, fmt.Errorf("h264 payload: %w", err)
			}
			out = append(out, b...)
		}
	case codecOpus:
		for _, pl := range payloads {
			out = append(out, pl...)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("empty frame")
	}
	return out, nil
}

// videoFormat is what a container needs to know of a video stream before
// it can write the stream's header.
type videoFormat struct {
	width, height int
	sps, pps      []byte // H.264 only
}

// ready reports whether the format is complete enough to open a file.
func (f videoFormat) ready(c codec) bool {
	if c == codecH264 {
		return f.sps != nil && f.pps != nil
	}
	return f.width > 0 && f.height > 0
}

// inspect reports whether data (assembled by assemble) is a keyframe, and
// updates format from the headers a keyframe carries.
func (c codec) inspect(data []byte, format *videoFormat) bool {
	switch c {
	case codecVP8:
		// RFC 6386, 9.1: bit 0 clear on key frames, then a 3-byte start
		// code and two 14-bit dimensions.
		if len(data) < 10 || data[0]&0x01 != 0 {
			return false
		}
		if data[3] == 0x9d && data[4] == 0x01 && data[5] == 0x2a {
			format.width = int(binary.LittleEndian.Uint16(data[6:8]) & 0x3fff)
			format.height = int(binary.LittleEndian.Uint16(data[8:10]) & 0x3fff)
		}
		return true
	case codecVP9:
		var h vp9.Header
		if err := h.Unmarshal(data); err != nil || h.ShowExistingFrame || h.NonKeyFrame {
			return false
		}
		format.width, format.height = int(h.Width()), int(h.Height())
		return true
	case codecH264:
		key := false
		for _, nal := range avcNALUnits(data) {
			switch nal[0] & 0x1f {
			case 5: // IDR slice
				key = true
			case 7: // sequence parameter set
				if sps, err := avc.ParseSPSNALUnit(nal, false); err == nil {
					format.sps = append([]byte(nil), nal...)
					format.width, format.height = int(sps.Width), int(sps.Height)
				}
			case 8: // picture parameter set
				format.pps = append([]byte(nil), nal...)
			}
		}
		return key
	}
	return true
}

// avcNALUnits splits a length-prefixed access unit into its NAL units,
// stopping at the first malformed length.
func avcNALUnits(data []byte) [][]byte {
	var nals [][]byte
	for len(data) >= 4 {
		n := int(binary.BigEndian.Uint32(data))
		data = data[4:]
		if n == 0 || n > len(data) {
			break
		}
		nals = append(nals, data[:n])
		data = data[n:]
	}
	return nals
}

// frame is one whole encoded frame of a track, in RTP time.
type frame struct {
	ts       uint32
	data     []byte
	keyframe bool
	// arrival is when the frame's first packet reached WriteRTP.
	arrival time.Time
}

// assembled is what one packet pushed into a frameAssembler produced.
type assembled struct {
	frame *frame // a whole frame, or nil
	// dropped counts frames thrown away: broken by a loss, or waiting for
	// a keyframe.
	dropped int
	// wantKeyframe is set when the track cannot go on without a keyframe.
	wantKeyframe bool
}

// frameAssembler gathers a track's packets, in sequence order, into
// frames. A video frame ends at the packet with the marker bit, or when a
// packet with a new timestamp starts the next. A video frame that lost a
// packet is dropped, and since later frames refer back to what was lost,
// so is every frame after it until the next keyframe. Each Opus packet is
// a frame of its own, and a lost one is simply a gap.
type frameAssembler struct {
	codec        codec
	cur          []*packet
	broken       bool
	needKeyframe bool
	format       videoFormat
}

func newFrameAssembler(c codec) *frameAssembler {
	return &frameAssembler{codec: c, needKeyframe: c.video()}
}

// waitForKeyframe makes the assembler drop frames until the next keyframe,
// as a new file must start with one.
func (a *frameAssembler) waitForKeyframe() {
	if a.codec.video() {
		a.needKeyframe = true
	}
}

// push adds the next packet in sequence order.
func (a *frameAssembler) push(p *packet) assembled {
	if !a.codec.video() {
		data, err := a.codec.assemble([][]byte{p.payload})
		if err != nil {
			return assembled{dropped: 1}
		}
		return assembled{frame: &frame{ts: p.ts, data: data, keyframe: true, arrival: p.arrival}}
	}
	var res assembled
	if p.lost {
		// Whatever was lost, a frame is missing or broken, and the frames
		// after it refer to it.
		a.needKeyframe = true
		res.wantKeyframe = true
		if len(a.cur) > 0 {
			a.broken = true
		}
	}
	if len(a.cur) > 0 && p.ts != a.cur[0].ts {
		// The frame being gathered never saw its marker: its tail is lost.
		a.broken = true
		a.finish(&res)
	}
	if len(a.cur) == 0 && !a.codec.frameStart(p.payload) {
		a.broken = true
	}
	a.cur = append(a.cur, p)
	if p.marker {
		a.finish(&res)
	}
	return res
}

// flush ends the frame being gathered, as at the end of a stream.
func (a *frameAssembler) flush() assembled {
	var res assembled
	if len(a.cur) > 0 {
		a.broken = true // no marker came
		a.finish(&res)
	}
	return res
}

func (a *frameAssembler) finish(res *assembled) {
	pkts := a.cur
	broken := a.broken
	a.cur, a.broken = nil, false
	if broken {
		res.dropped++
		a.needKeyframe = true
		res.wantKeyframe = true
		return
	}
	payloads := make([][]byte, len(pkts))
	for i, p := range pkts {
		payloads[i] = p.payload
	}
	data, err := a.codec.assemble(payloads)
	if err != nil {
		res.dropped++
		a.needKeyframe = true
		res.wantKeyframe = true
		return
	}
	key := a.codec.inspect(data, &a.format)
	if key && !a.format.ready(a.codec) {
		// A keyframe this recorder cannot describe (H.264 without its
		// parameter sets) is no place to start.
		key = false
	}
	if a.needKeyframe && !key {
		res.dropped++
		res.wantKeyframe = true
		return
	}
	if key {
		a.needKeyframe = false
	}
	res.frame = &frame{ts: pkts[0].ts, data: data, keyframe: key, arrival: pkts[0].arrival}
}
