package main

import (
	"math"
	"testing"
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
