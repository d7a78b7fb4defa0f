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
// would answer the excess with 429.
//
// A write counts from when its request comes back, not from when it was
// granted: the server counts it somewhere in between, and a request slowed
// on its way (a busy machine, a new connection) would otherwise start the
// server's window later than the log's, so that the next window's first
// writes arrive while the server still counts the last one's. Until it comes
// back a write counts as sent now. Granting a write only when fewer than
// Budget writes are in flight or came back within the last Window never
// overdraws either kind of limit, and keeps every window full. Safe for
// concurrent use.
type Pacer struct {
	budget int
	window time.Duration

	mu       sync.Mutex
	answered []time.Time   // when each write's request came back, ascending; only those within the window are kept
	inFlight int           // writes granted whose requests have not come back
	back     chan struct{} // closed (and replaced) when writes come back
	paused   time.Time     // no grant before this (a Retry-After seen)
	first    time.Time     // the first grant (benchmarks measure from it)

	waited atomic.Int64 // nanoseconds spent waiting
	now    func() time.Time
	sleep  func(context.Context, time.Duration) error
}

// NewPacer returns a pacer for budget writes per window; budget <= 0 means
// no pacing.
func NewPacer(budget int, window time.Duration) *Pacer {
	return &Pacer{budget: budget, window: window, back: make(chan struct{}), now: time.Now, sleep: sleepCtx}
}

// Wait blocks until n writes may be sent and counts them as in flight. The
// caller calls done once their request has come back, answered or failed;
// done is never nil, and calling it again does nothing.
func (p *Pacer) Wait(ctx context.Context, n int) (done func(), err error) {
	if p == nil || p.budget <= 0 || n <= 0 {
		return func() {}, nil
	}
	n = min(n, p.budget)
	for {
		p.mu.Lock()
		now := p.now()
		drop := 0
		for drop < len(p.answered) && now.Sub(p.answered[drop]) >= p.window {
			drop++
		}
		p.answered = p.answered[drop:]
		var until time.Time
		over := len(p.answered) + p.inFlight + n - p.budget
		switch {
		case over > len(p.answered):
			// Only writes still in flight would free enough: wait for
			// them to come back, then count again.
			back := p.back
			p.mu.Unlock()
			start := time.Now()
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-back:
			}
			p.waited.Add(int64(time.Since(start)))
			continue
		case over > 0:
			until = p.answered[over-1].Add(p.window)
		}
		if p.paused.After(until) {
			until = p.paused
		}
		if !until.After(now) {
			if p.first.IsZero() {
				p.first = now
			}
			p.inFlight += n
			p.mu.Unlock()
			var once sync.Once
			return func() { once.Do(func() { p.cameBack(n) }) }, nil
		}
		p.mu.Unlock()
		d := until.Sub(now)
		p.waited.Add(int64(d))
		if err := p.sleep(ctx, d); err != nil {
			return nil, err
		}
	}
}

// cameBack counts n writes in flight as come back now.
func (p *Pacer) cameBack(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.inFlight -= n
	for range n {
		p.answered = append(p.answered, now)
	}
	close(p.back)
	p.back = make(chan struct{})
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
