package export

import (
	"context"
	"sync"
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
	tests := []struct {
		name   string
		budget int
		waits  []int           // writes per Wait call
		trip   time.Duration   // each request's time to come back
		pause  time.Duration   // Pause before the calls
		want   []time.Duration // time of each grant, from start
	}{
		{"within the budget", 10, []int{4, 4, 2}, 0, 0, []time.Duration{0, 0, 0}},
		{"the next window", 10, []int{10, 1, 9, 1}, 0, 0, []time.Duration{0, window, window, 2 * window}},
		{"a batch larger than the budget counts as the budget", 5, []int{20, 1}, 0, 0, []time.Duration{0, window}},
		{"part of the log frees", 10, []int{6, 4, 6}, 0, 0, []time.Duration{0, 0, window}},
		// A write counts from when its request came back: the server
		// counted it at some time up to then.
		{"the window counts from the answer", 10, []int{10, 1}, 2 * time.Second, 0, []time.Duration{0, window + 2*time.Second}},
		{"a Retry-After holds every grant", 10, []int{1, 1}, 0, 3 * time.Second, []time.Duration{3 * time.Second, 3 * time.Second}},
		{"no budget: no pacing", 0, []int{5000}, 0, 0, []time.Duration{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &fakeClock{now: start}
			p := c.pacer(tt.budget, window)
			if tt.pause > 0 {
				p.Pause(tt.pause)
			}
			for i, n := range tt.waits {
				done, err := p.Wait(context.Background(), n)
				if err != nil {
					t.Fatal(err)
				}
				if got := c.now.Sub(start); got != tt.want[i] {
					t.Errorf("grant %d at %v, want %v", i, got, tt.want[i])
				}
				c.now = c.now.Add(tt.trip)
				done()
				done() // a second call counts nothing twice
			}
		})
	}
}

// TestPacerWaitsForWritesInFlight: a full budget in flight holds the next
// grant until those writes come back, and then for a window from then.
func TestPacerWaitsForWritesInFlight(t *testing.T) {
	c := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	var mu sync.Mutex
	p := c.pacer(2, time.Second)
	p.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return c.now }
	p.sleep = func(_ context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		c.now = c.now.Add(d)
		return nil
	}
	done, err := p.Wait(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	granted := make(chan time.Time)
	go func() {
		next, err := p.Wait(context.Background(), 1)
		if err != nil {
			t.Error(err)
		}
		next()
		granted <- p.now()
	}()
	select {
	case at := <-granted:
		t.Fatalf("granted at %v while the budget was in flight", at)
	case <-time.After(50 * time.Millisecond):
	}
	mu.Lock()
	c.now = c.now.Add(300 * time.Millisecond)
	back := c.now
	mu.Unlock()
	done()
	select {
	case at := <-granted:
		if want := back.Add(time.Second); at.Before(want) {
			t.Errorf("granted at %v, want a window after the writes came back (%v)", at, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no grant after the writes in flight came back")
	}
}

func TestPacerHonoursContext(t *testing.T) {
	p := NewPacer(1, time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done, err := p.Wait(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := p.Wait(ctx, 1); err == nil {
		t.Fatal("Wait returned without the budget or the context (writes in flight)")
	}
	done()
	if _, err := p.Wait(ctx, 1); err == nil {
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
