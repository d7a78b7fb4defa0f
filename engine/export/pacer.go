package export

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Pacer keeps writes within a budget of Budget writes in any Window (Graph's
// documented 3,000 writes per 150 s per app and tenant). It is a sliding
// window log rather than a token bucket: a bucket that starts full and also
// refills would let up to twice the budget through in the first window, and
// a fixed-window server (the emulator counts from its window's first write)
// would answer the excess with 429. Granting a write only when fewer than
// Budget grants lie within the last Window (plus a small margin for the
// request's trip) never overdraws either kind of limit, and keeps every
// window full. Safe for concurrent use.
type Pacer struct {
	budget int
	window time.Duration

	mu     sync.Mutex
	grants []time.Time // ascending; only those within the window are kept
	paused time.Time   // no grant before this (a Retry-After seen)
	first  time.Time   // the first grant (benchmarks measure from it)

	waited atomic.Int64 // nanoseconds spent waiting
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
}

// NewPacer returns a pacer for budget writes per window; budget <= 0 means
// no pacing.
func NewPacer(budget int, window time.Duration) *Pacer {
	// The margin covers the time between the grant and the request's
	// arrival: without it the first write of the next window can arrive a
	// hair before the server's window ends and wait a whole Retry-After
	// second.
	margin := min(window/100, time.Second)
	return &Pacer{budget: budget, window: window + margin, now: time.Now, sleep: sleepCtx}
}

// Wait blocks until n writes may be sent, and counts them as sent.
func (p *Pacer) Wait(ctx context.Context, n int) error {
	if p == nil || p.budget <= 0 || n <= 0 {
		return nil
	}
	n = min(n, p.budget)
	for {
		p.mu.Lock()
		now := p.now()
		drop := 0
		for drop < len(p.grants) && now.Sub(p.grants[drop]) >= p.window {
			drop++
		}
		p.grants = p.grants[drop:]
		var until time.Time
		if over := len(p.grants) + n - p.budget; over > 0 {
			until = p.grants[over-1].Add(p.window)
		}
		if p.paused.After(until) {
			until = p.paused
		}
		if !until.After(now) {
			if p.first.IsZero() {
				p.first = now
			}
			for range n {
				p.grants = append(p.grants, now)
			}
			p.mu.Unlock()
			return nil
		}
		p.mu.Unlock()
		d := until.Sub(now)
		p.waited.Add(int64(d))
		if err := p.sleep(ctx, d); err != nil {
			return err
		}
	}
}

// Pause holds every grant for d: wire it to cloud.Config.OnRetry so that a
// 429's Retry-After seen by one request holds the others too.
func (p *Pacer) Pause(d time.Duration) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := p.now().Add(d); until.After(p.paused) {
		p.paused = until
	}
}

// Waited is the total time callers spent waiting for the budget.
func (p *Pacer) Waited() time.Duration {
	if p == nil {
		return 0
	}
	return time.Duration(p.waited.Load())
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
