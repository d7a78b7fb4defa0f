// Package memstat reads this process's peak resident set, for the
// benchmarks that print what a step costs in memory (Linux only).
package memstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ResetPeak starts a new peak: the kernel sets VmHWM to the current
// resident set (clear_refs 5).
func ResetPeak() error {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("memstat: the peak can't be reset (it is the process's since its start): %w", err)
	}
	return nil
}

// PeakRSS is the process's peak resident set since its start or the last
// ResetPeak, in MB; 0 where /proc does not say.
func PeakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
