package store

import (
	"context"
	"testing"
)

func TestSwapSetting(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	if err := s.SetSetting(ctx, "k", "clear"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new string
		want           bool
		after          string
	}{
		{"still the old value", "clear", "sealed", true, "sealed"},
		{"changed meanwhile", "clear", "other", false, "sealed"},
	}
	for _, tt := range tests {
		got, err := s.SwapSetting(ctx, "k", tt.old, tt.new)
		if err != nil || got != tt.want {
			t.Errorf("%s: SwapSetting = %v, %v; want %v", tt.name, got, err, tt.want)
		}
		if v, _ := s.Setting(ctx, "k"); v != tt.after {
			t.Errorf("%s: value %q; want %q", tt.name, v, tt.after)
		}
	}
	if ok, err := s.SwapSetting(ctx, "missing", "", "x"); ok || err != nil {
		t.Errorf("a missing setting: %v, %v", ok, err)
	}
}
