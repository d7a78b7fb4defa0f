package export

import (
	"context"
	"testing"
	"time"
)

// fakeClock is a clock that sleeping advances.
type fakeClock struct{ now time.Time }

func (c *fakeClock) pacer(budget int, window time.Duration) *Pacer {
	p := NewPacer(budget, window)
	p.now = func() time.Time { return c.now }
	p.sleep = func(_ context.Context, d time.Duration) error { c.now = c.now.Add(d); return nil }
	return p
}

func TestPacer(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	const window = 10 * time.Second
	margin := window / 100
	tests := []struct {
		name   string
		budget int
		waits  []int           // writes per Wait call
		pause  time.Duration   // Pause before the calls
		want   []time.Duration // time of each grant, from start
	}{
		{"within the budget", 10, []int{4, 4, 2}, 0, []time.Duration{0, 0, 0}},
		{"the next window", 10, []int{10, 1, 9, 1}, 0, []time.Duration{0, window + margin, window + margin, 2 * (window + margin)}},
		{"a batch larger than the budget counts as the budget", 5, []int{20, 1}, 0, []time.Duration{0, window + margin}},
		{"part of the log frees", 10, []int{6, 4, 6}, 0, []time.Duration{0, 0, window + margin}},
		{"a Retry-After holds every grant", 10, []int{1, 1}, 3 * time.Second, []time.Duration{3 * time.Second, 3 * time.Second}},
		{"no budget: no pacing", 0, []int{5000}, 0, []time.Duration{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeClock{now: start}
			p := c.pacer(tt.budget, window)
			if tt.pause > 0 {
				p.Pause(tt.pause)
			}
			for i, n := range tt.waits {
				if err := p.Wait(context.Background(), n); err != nil {
					t.Fatal(err)
				}
				if got := c.now.Sub(start); got != tt.want[i] {
					t.Errorf("grant %d at %v, want %v", i, got, tt.want[i])
				}
			}
		})
	}
}

func TestPacerHonoursContext(t *testing.T) {
	p := NewPacer(1, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	if err := p.Wait(ctx, 1); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := p.Wait(ctx, 1); err == nil {
		t.Fatal("Wait returned without the budget or the context")
	}
}

func TestPlaceholderUPN(t *testing.T) {
	for range 50 {
		got := placeholderUPN("carol.smith@corp.example.test", "contoso.onmicrosoft.com")
		if m := placeholderRe.FindStringSubmatch(got); m == nil || m[1] != "carol.smith" {
			t.Fatalf("placeholderUPN = %q", got)
		}
	}
}
