package recording

import (
	"slices"
	"testing"
)

// audioPacket is a 20 ms Opus packet at 48 kHz.
func audioPacket(seq uint16) *packet {
	return &packet{seq: seq, ts: uint32(seq) * 960, payload: []byte{byte(seq)}}
}

func popAll(j *jitterBuffer) (seqs []uint16, lost []uint16) {
	for p := j.pop(); p != nil; p = j.pop() {
		seqs = append(seqs, p.seq)
		if p.lost {
			lost = append(lost, p.seq)
		}
	}
	return seqs, lost
}

func TestJitterBufferReorders(t *testing.T) {
	j := newJitterBuffer(48000)
	// Swapped at the very start and later, across the 16-bit wrap.
	order := []uint16{65531, 65530, 65532, 65533, 65535, 65534, 0, 1, 3, 2, 4, 5, 6, 7, 8, 9}
	var got []uint16
	for _, seq := range order {
		if r := j.push(audioPacket(seq)); r != pushStored {
			t.Fatalf("push %d = %v", seq, r)
		}
		s, lost := popAll(j)
		if len(lost) > 0 {
			t.Fatalf("loss reported at %v", lost)
		}
		got = append(got, s...)
	}
	got = append(got, seqsOf(j.drain())...)
	want := slices.Clone(order)
	slices.SortFunc(want, func(a, b uint16) int { return int(int16(a - b)) })
	if !slices.Equal(got, want) {
		t.Fatalf("released %v, want %v", got, want)
	}
}

func seqsOf(ps []*packet) []uint16 {
	var s []uint16
	for _, p := range ps {
		s = append(s, p.seq)
	}
	return s
}

func TestJitterBufferDropsDuplicatesAndLate(t *testing.T) {
	j := newJitterBuffer(48000)
	for seq := uint16(100); seq < 110; seq++ {
		j.push(audioPacket(seq))
	}
	released, _ := popAll(j)
	if len(released) != 10 {
		t.Fatalf("released %v", released)
	}
	if r := j.push(audioPacket(105)); r != pushLate {
		t.Fatalf("a packet after its turn: %v, want late", r)
	}
	j.push(audioPacket(112))
	if r := j.push(audioPacket(112)); r != pushDuplicate {
		t.Fatalf("a second copy: %v, want duplicate", r)
	}
}

func TestJitterBufferWaitsOutAGap(t *testing.T) {
	j := newJitterBuffer(48000)
	for seq := uint16(0); seq < 10; seq++ {
		j.push(audioPacket(seq))
	}
	popAll(j)
	// 10 is lost. Less than 500 ms of media behind it: keep waiting.
	for seq := uint16(11); seq < 35; seq++ {
		j.push(audioPacket(seq))
		if s, _ := popAll(j); len(s) > 0 {
			t.Fatalf("released %v while 10 might still come (%d ms held)", s, (seq-11)*20)
		}
	}
	// 11..36 span 500 ms: give up on 10.
	j.push(audioPacket(35))
	j.push(audioPacket(36))
	s, lost := popAll(j)
	if len(s) != 26 || s[0] != 11 || !slices.Equal(lost, []uint16{11}) {
		t.Fatalf("released %v with loss before %v, want 11..36 with a loss before 11", s, lost)
	}
	if r := j.push(audioPacket(10)); r != pushLate {
		t.Fatalf("the lost packet, come at last: %v, want late", r)
	}
}

func TestJitterBufferDrainMarksGaps(t *testing.T) {
	j := newJitterBuffer(90000)
	for _, seq := range []uint16{1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 14} {
		j.push(&packet{seq: seq, ts: 3000, payload: []byte{1}})
	}
	s, _ := popAll(j)
	if !slices.Equal(s, []uint16{1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("released %v before the gap", s)
	}
	var lost []uint16
	var rest []uint16
	for _, p := range j.drain() {
		rest = append(rest, p.seq)
		if p.lost {
			lost = append(lost, p.seq)
		}
	}
	if !slices.Equal(rest, []uint16{10, 11, 14}) || !slices.Equal(lost, []uint16{10, 14}) {
		t.Fatalf("drained %v with losses before %v", rest, lost)
	}
}

func TestJitterBufferFollowsARestart(t *testing.T) {
	j := newJitterBuffer(48000)
	for seq := uint16(30000); seq < 30010; seq++ {
		j.push(audioPacket(seq))
	}
	popAll(j)
	// The sender renumbers from far behind: after a run of "late"
	// packets the buffer follows it.
	var got []uint16
	for seq := uint16(1000); seq < 1000+jitterLateRestart+20; seq++ {
		j.push(audioPacket(seq))
		s, _ := popAll(j)
		got = append(got, s...)
	}
	if len(got) == 0 || got[len(got)-1] < 1000+jitterLateRestart {
		t.Fatalf("released %v after the restart", got)
	}
}

func TestAssemblerDropsBrokenVideoUntilKeyframe(t *testing.T) {
	// A VP8 payload descriptor with S set (start of a frame), then a
	// frame header: key frames clear bit 0 and carry the size.
	key := []byte{0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00}
	delta := []byte{0x10, 0x01, 0x00, 0x00}
	tail := []byte{0x00, 0xaa}
	a := newFrameAssembler(codecVP8)
	push := func(ts uint32, payload []byte, marker, lost bool) assembled {
		return a.push(&packet{ts: ts, payload: payload, marker: marker, lost: lost})
	}
	if r := push(0, delta, true, false); r.frame != nil || r.dropped != 1 || !r.wantKeyframe {
		t.Fatalf("delta before any keyframe: %+v", r)
	}
	if r := push(3000, key, true, false); r.frame == nil || !r.frame.keyframe || a.format.width != 320 || a.format.height != 180 {
		t.Fatalf("keyframe: %+v, format %+v", r, a.format)
	}
	if r := push(6000, delta, true, false); r.frame == nil || r.frame.keyframe {
		t.Fatalf("delta after keyframe: %+v", r)
	}
	// A frame whose second packet is lost: it never completes, and the
	// frames after it wait for a keyframe.
	push(9000, delta, false, false)
	if r := push(12000, delta, true, true); r.frame != nil || r.dropped != 2 || !r.wantKeyframe {
		t.Fatalf("after a loss: %+v", r)
	}
	// A frame that lost its first packet is broken too.
	if r := push(15000, tail, true, true); r.frame != nil || r.dropped != 1 {
		t.Fatalf("headless frame: %+v", r)
	}
	if r := push(18000, key, true, false); r.frame == nil || !r.frame.keyframe {
		t.Fatalf("keyframe after loss: %+v", r)
	}
}
