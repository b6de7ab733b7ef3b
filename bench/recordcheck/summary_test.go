package recordcheck

import "testing"

func TestFailure(t *testing.T) {
	n := func(v int) *int { return &v }
	for _, c := range []struct {
		files, valid   *int
		recorded, want string
		seconds        float64
	}{
		{nil, nil, "the live was recorded", "the live was recorded, but no recording file was listed", 0},
		{n(0), nil, "x", "x, but no recording file was listed", 0},
		{n(3), n(2), "x", "ffprobe read 2 of 3 recording files", 10},
		{n(3), n(3), "x", "the recordings last 4.0s of the 10.0s sent", 4},
		{n(3), nil, "x", "", 9}, // no ffprobe: not read, not failed
		{n(3), n(3), "x", "", 9},
	} {
		if got := Failure(c.recorded, c.files, c.valid, c.seconds, 8, 10); got != c.want {
			t.Errorf("Failure(%v, %v, %v s) = %q, want %q", c.files, c.valid, c.seconds, got, c.want)
		}
	}
}
