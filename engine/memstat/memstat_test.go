package memstat

import (
	"runtime"
	"testing"
)

// The peak follows what the process touches, and a reset brings it back
// down to what it holds.
func TestPeakRSS(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/proc is Linux's")
	}
	if err := ResetPeak(); err != nil {
		t.Fatal(err)
	}
	before := PeakRSS()
	if before <= 0 {
		t.Fatalf("peak %f MB", before)
	}
	b := make([]byte, 64<<20)
	for i := range b { // touched, so resident
		b[i] = byte(i)
	}
	if after := PeakRSS(); after < before+60 {
		t.Errorf("the peak went from %.0f to %.0f MB after touching 64 MB", before, after)
	}
	runtime.KeepAlive(b)
	b = nil
	runtime.GC()
}
