package export

import (
	"context"
	"slices"
	"sync/atomic"

	outcomes "github.com/hybridsync/hybridsync/engine/outcome"
	"github.com/hybridsync/hybridsync/engine/store"
)

// progress writes a running export's counts so far into its export run
// (store UpdateExportRunProgress) and tells Options.Progress, so that a run
// the server never finishes (killed) keeps the counts that reached the
// tenant, and the run history shows a long export move. It writes from a
// goroutine of its own: a batch hands over its snapshot and goes on, never
// waiting for the store or the listener; a write that takes long only means
// that the next one carries later counts (the latest snapshot wins).
type progress struct {
	e      *Exporter
	latest atomic.Pointer[Result]
	kick   chan struct{} // a snapshot is waiting (buffered: one)
	stop   chan struct{}
	done   chan struct{}
}

// startProgress starts the run's progress writer; stopProgress ends it.
func (r *run) startProgress(ctx context.Context) {
	p := &progress{e: r.e, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	r.prog, r.lastProgress = p, r.e.now()
	go p.loop(ctx)
}

// stopProgress ends the progress writer and waits for a write in flight:
// nothing is written nor told once it returns (Run then records the outcome).
func (r *run) stopProgress() {
	if r.prog == nil {
		return
	}
	close(r.prog.stop)
	<-r.prog.done
}

func (p *progress) loop(ctx context.Context) {
	defer close(p.done)
	for {
		select {
		case <-p.stop:
			return
		case <-p.kick:
			if s := p.latest.Swap(nil); s != nil {
				p.write(ctx, s)
			}
		}
	}
}

func (p *progress) write(ctx context.Context, s *Result) {
	if err := p.e.st.UpdateExportRunProgress(ctx, s.exportRun(false)); err != nil && ctx.Err() == nil {
		p.e.log.Warn("export: unable to record the run's progress", "run", s.RunID, "err", err)
	}
	if p.e.opts.Progress != nil {
		p.e.opts.Progress(*s)
	}
}

// tick hands the run's counts to the progress writer after a batch's outcome
// was recorded, at most every progressEvery.
func (r *run) tick() {
	if r.prog == nil {
		return
	}
	now := r.e.now()
	r.mu.Lock()
	if now.Sub(r.lastProgress) < r.e.progressEvery {
		r.mu.Unlock()
		return
	}
	r.lastProgress = now
	s := r.res.snapshot()
	r.mu.Unlock()
	s.Throttled = r.e.pacer.Waited()
	r.prog.latest.Store(&s)
	select {
	case r.prog.kick <- struct{}{}:
	default: // the writer has one waiting: it takes the latest
	}
}

// snapshot is a running result's counts so far: Status running, the failed
// changes and sync errors so far (Errors counts them), Confirmed left out.
// The lists share their elements, which are never changed once appended.
// Caller holds the run's lock.
func (r *Result) snapshot() Result {
	return Result{RunID: r.RunID, Status: StatusRunning, Adds: r.Adds, Matched: r.Matched, Updates: r.Updates, Deletes: r.Deletes,
		Memberships: r.Memberships, Failed: slices.Clip(r.Failed), Held: slices.Clip(r.Held), SyncErrors: slices.Clip(r.SyncErrors),
		StillHeld: r.StillHeld, Guard: r.Guard, Match: r.Match, Writes: r.Writes, Throttled: r.Throttled}
}

// exportRun is the result as its export run records it: adds count the
// matched ones too.
func (r *Result) exportRun(staging bool) store.ExportRun {
	status := r.Status
	if status == StatusStaged {
		status = outcomes.Succeeded // a review: it did what it set out to do
	}
	return store.ExportRun{ID: r.RunID, Status: status, Staging: staging, Adds: r.Adds + r.Matched, Updates: r.Updates,
		Deletes: r.Deletes, Memberships: r.Memberships, Errors: r.Errors(), Writes: r.Writes, Throttled: r.Throttled,
		PendingDeletes: r.PendingDeletes, Message: r.Message}
}
