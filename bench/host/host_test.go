//go:build unix

package host

import (
	"syscall"
	"testing"
)

func TestRaiseOpenFilesReachesHardLimit(t *testing.T) {
	got, err := RaiseOpenFiles()
	if err != nil {
		t.Fatal(err)
	}
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if got != uint64(lim.Max) || uint64(lim.Cur) != uint64(lim.Max) {
		t.Fatalf("limit %d, soft %d, hard %d", got, lim.Cur, lim.Max)
	}
}

func TestCPUTimeGrows(t *testing.T) {
	before, err := CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for i := range 20_000_000 {
		x += i % 7
	}
	after, err := CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	if after <= before || x == 0 {
		t.Fatalf("cpu time did not grow: %v -> %v", before, after)
	}
}
