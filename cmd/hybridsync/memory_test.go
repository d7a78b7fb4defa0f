package main

import (
	"math"
	"runtime/debug"
	"testing"

	"github.com/hybridsync/hybridsync/engine/metaverse"
)

func TestParseMemoryLimit(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"768MiB", 768 << 20, false},
		{"2GiB", 2 << 30, false},
		{"512 KiB", 512 << 10, false},
		{"1048576", 1 << 20, false},
		{"off", math.MaxInt64, false},
		{"OFF", math.MaxInt64, false},
		{defaultMemoryLimit(), 768 << 20, false},
		{"", 0, true},
		{"lots", 0, true},
		{"0", 0, true},
		{"-1MiB", 0, true},
		{"1TB", 0, true},
		{"9999999999GiB", 0, true},
	}
	for _, tt := range tests {
		got, err := parseMemoryLimit(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseMemoryLimit(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// --memory-limit auto (the default) sets metaverse.MemoryLimit and has the
// cycle size the limit by the directory; a size or off is kept as given;
// GOMEMLIMIT wins over all of them.
func TestApplyMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	tests := []struct {
		flag, gomemlimit string
		want             int64 // -1: left as it was
		sized            bool
	}{
		{memoryAuto, "", metaverse.MemoryLimit, true},
		{"AUTO", "", metaverse.MemoryLimit, true},
		{"2GiB", "", 2 << 30, false},
		{"off", "", math.MaxInt64, false},
		{memoryAuto, "3GiB", -1, false},
	}
	for _, tt := range tests {
		const before = 123 << 20
		debug.SetMemoryLimit(before)
		c := common{memoryLimit: tt.flag, sizeMemory: !tt.sized}
		if err := c.applyMemoryLimit(func(k string) string {
			if k == "GOMEMLIMIT" {
				return tt.gomemlimit
			}
			return ""
		}); err != nil {
			t.Fatalf("%s: %v", tt.flag, err)
		}
		want := tt.want
		if want == -1 {
			want = before
		}
		if got := debug.SetMemoryLimit(-1); got != want || c.sizeMemory != tt.sized {
			t.Errorf("%s (GOMEMLIMIT %q): limit %d, sized %v; want %d, %v", tt.flag, tt.gomemlimit, got, c.sizeMemory, want, tt.sized)
		}
	}
	if got := metaverse.MemoryLimitFor(1_000_000) >> 20; got != 1744 {
		t.Errorf("the limit for a million objects: %d MiB", got)
	}
	if got := metaverse.MemoryLimitFor(0); got != metaverse.MemoryLimit {
		t.Errorf("the limit for none: %d", got)
	}
}
