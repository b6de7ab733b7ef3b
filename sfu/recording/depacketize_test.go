package recording

import (
	"testing"
)

// FuzzFrameAssembler feeds arbitrary payloads to every codec's frame
// assembly: bad input from a publisher may be dropped, never crash.
func FuzzFrameAssembler(f *testing.F) {
	f.Add(byte(0), []byte{0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xb4, 0x00})
	f.Add(byte(1), []byte{0x8f, 0x00, 0x00, 0x82, 0x49, 0x83, 0x42, 0x00})
	f.Add(byte(2), []byte{0x78, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1f, 0x00, 0x02, 0x68, 0xce, 0x7c, 0x85, 0x88})
	f.Add(byte(2), []byte{0x7c, 0x85, 0x88, 0x84})
	f.Add(byte(3), []byte{0xfc, 0xff, 0xfe})
	f.Fuzz(func(t *testing.T, which byte, data []byte) {
		c := []codec{codecVP8, codecVP9, codecH264, codecOpus}[int(which)%4]
		a := newFrameAssembler(c)
		// Split the input into packets at every 0xff, marker on the last.
		var payloads [][]byte
		start := 0
		for i, b := range data {
			if b == 0xff {
				payloads = append(payloads, data[start:i])
				start = i + 1
			}
		}
		payloads = append(payloads, data[start:])
		for i, pl := range payloads {
			a.push(&packet{ts: uint32(i / 2), payload: pl, marker: i%2 == 1 || i == len(payloads)-1, lost: i == 3})
		}
		a.flush()
	})
}
