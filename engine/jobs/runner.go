// Package jobs runs the engine's long-running work: persisted jobs made of named
// steps, each step's progress written to the store as events and fanned out live.
// It knows nothing of HTTP.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hybridsync/hybridsync/engine/outcome"
	"github.com/hybridsync/hybridsync/engine/store"
)

// Job states: queued and running, then one of the six outcomes.
const (
	Queued      = "queued"
	Running     = "running"
	Succeeded   = outcome.Succeeded
	Warnings    = outcome.Warnings
	Errors      = outcome.Errors
	Stopped     = outcome.Stopped
	Failed      = outcome.Failed
	Interrupted = outcome.Interrupted
)

// Step states, beyond the job states they share.
const (
	Pending = "pending"
	Skipped = "skipped"
)

// Finished reports whether a job or step in this state will not change again.
func Finished(status string) bool {
	return outcome.Is(status) || status == Skipped || status == Cancelled
}

// Type is a kind of job: its title and how its params become steps.
type Type struct {
	Kind  string
	Title string
	// Steps returns the steps for a job's params. It is called when the job is
	// created (to persist their names) and again when it runs.
	Steps func(params []byte) ([]Step, error)
}

// Step is one named unit of a job.
type Step struct {
	Name string
	Run  func(ctx context.Context, r *Run) error
}

// Run is what a running step sees: its job and a way to report progress
// and the problems it meets.
type Run struct {
	JobID  int64
	Params []byte
	By     string
	step   int
	r      *Runner

	mu     sync.Mutex
	levels []string // the levels of the problems the current step met
}

// Logf records a progress line of the current step.
func (run *Run) Logf(format string, args ...any) { run.event("info", format, args...) }

// Warnf records a warning of the current step whose words are its name and
// which says no more about what to do: the step ends succeeded with
// warnings. Prefer Warn, which says what to do.
func (run *Run) Warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	run.Problem(outcome.LevelWarn, msg, msg, "")
}

// Warn records a warning of the current step — it did its work and met
// something the admin should know about or act on — told once by name
// however often it is met, with what to do.
func (run *Run) Warn(name, message, action string) {
	run.Problem(outcome.LevelWarn, name, message, action)
}

// Error records an error of the current step — it goes on, but some of its
// work was not done — told once by name however often it is met, with what
// to do: the step ends completed with errors.
func (run *Run) Error(name, message, action string) {
	run.Problem(outcome.LevelError, name, message, action)
}

// Problem records a problem of the current step at a level (outcome.LevelWarn
// or outcome.LevelError). The first time the job meets a name, the problem
// goes into its log too; after that it is only counted.
func (run *Run) Problem(level, name, message, action string) {
	run.mu.Lock()
	run.levels = append(run.levels, level)
	step := run.step
	run.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	times, err := run.r.st.AddProblem(ctx, store.Problem{JobID: run.JobID, Name: name, Step: step, Level: level, Message: message, Action: action})
	if err != nil {
		run.r.log.Error("jobs: unable to record a problem", "job", run.JobID, "err", err)
	}
	if times <= 1 {
		run.event(level, "%s", message)
	}
}

// Condition records a condition the current step met that stays true
// between runs (store.Condition): the step tells it as a problem when it is
// news (new, or its fingerprint changed); otherwise it only logs that it
// still stands — it is on the Overview already.
func (run *Run) Condition(level, name, fingerprint, message, action string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	news, err := run.r.st.MeetCondition(ctx, store.Condition{Name: name, Level: level, Message: message, Action: action, Fingerprint: fingerprint, JobID: run.JobID})
	if err != nil {
		run.r.log.Error("jobs: unable to record a condition", "job", run.JobID, "condition", name, "err", err)
		news = true // say it rather than lose it
	}
	if news {
		run.Problem(level, name, message, action)
		return
	}
	run.Logf("Still so, as already said (see the Overview): %s", message)
}

// ClearCondition ends a condition (with prefix, every condition whose name
// starts with name) once the step found it no longer holds.
func (run *Run) ClearCondition(name string, prefix bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n, err := run.r.st.ClearConditions(ctx, name, prefix)
	if err != nil {
		run.r.log.Error("jobs: unable to clear a condition", "job", run.JobID, "condition", name, "err", err)
		return
	}
	if n > 0 {
		run.Logf("No longer shown on the Overview: %s", name)
	}
}

// Outcome is how the current step ends if it returns err now: failed,
// stopped or interrupted with an error, else succeeded, with warnings or
// with errors by the problems it met. The runner decides the same way.
func (run *Run) Outcome(ctx context.Context, err error) string {
	run.mu.Lock()
	defer run.mu.Unlock()
	return stepOutcome(ctx, err, run.levels)
}

func stepOutcome(ctx context.Context, err error, levels []string) string {
	var stop *StopError
	switch {
	case err == nil:
		return outcome.Of(levels...)
	case errors.As(err, &stop):
		return Stopped
	case isCancelled(ctx):
		return Cancelled
	case ctx.Err() != nil:
		return Interrupted
	}
	return Failed
}

// StopError ends a step, and its job, as stopped: the deletion guard held
// an export back before it changed anything, and an admin decides. The
// job's remaining steps are skipped.
type StopError struct{ Msg string }

func (e *StopError) Error() string { return e.Msg }

func (run *Run) event(level, format string, args ...any) {
	run.r.emit(store.Event{JobID: run.JobID, Kind: "log", Step: run.step, Level: level, Message: fmt.Sprintf(format, args...)})
}

// Runner starts jobs, at most a bounded number at once.
type Runner struct {
	st    *store.Store
	hub   *Hub
	log   *slog.Logger
	sem   chan struct{}
	types map[string]Type

	mu     sync.Mutex // guards closed and wg.Add against Shutdown
	closed bool
	wg     sync.WaitGroup
	base   context.Context
	stop   context.CancelFunc
	active map[int64]context.CancelCauseFunc // queued and running jobs, for Cancel
	// finished is told of every job that ends, as the store has it then
	// (OnFinish): the console records Configure's end in the audit trail.
	finished func(store.Job)
}

// NewRunner makes a runner that runs at most maxConcurrent jobs at once.
func NewRunner(st *store.Store, hub *Hub, log *slog.Logger, maxConcurrent int) *Runner {
	if maxConcurrent < 1 {
		maxConcurrent = 1
	}
	base, stop := context.WithCancel(context.Background())
	return &Runner{st: st, hub: hub, log: log, sem: make(chan struct{}, maxConcurrent),
		types: map[string]Type{}, base: base, stop: stop, active: map[int64]context.CancelCauseFunc{}}
}

// OnFinish has fn told of every job as it ends, including the jobs Recover
// finds interrupted. fn runs on the job's goroutine: keep it short. Call it
// only while wiring, before the first Start.
func (r *Runner) OnFinish(fn func(store.Job)) { r.finished = fn }

// tell passes the job as stored to the OnFinish function.
func (r *Runner) tell(id int64) {
	if r.finished == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j, err := r.st.Job(ctx, id)
	if err != nil {
		r.log.Error("unable to read a finished job", "job", id, "err", err)
		return
	}
	r.finished(j)
}

// Register adds a job type. Call it only while wiring, before the first Start.
func (r *Runner) Register(t Type) { r.types[t.Kind] = t }

// Hub returns the runner's event hub.
func (r *Runner) Hub() *Hub { return r.hub }

// Title returns a job kind's title.
func (r *Runner) Title(kind string) string {
	if t, ok := r.types[kind]; ok {
		return t.Title
	}
	return kind
}

// Recover marks every job that was queued or running when the server stopped as
// interrupted, with its unfinished steps. Call it once at start-up, before Start.
func (r *Runner) Recover(ctx context.Context) (int, error) {
	js, err := r.st.JobsWithStatus(ctx, Queued, Running)
	if err != nil {
		return 0, err
	}
	for _, j := range js {
		full, err := r.st.Job(ctx, j.ID)
		if err != nil {
			return 0, err
		}
		now := time.Now()
		for _, s := range full.Steps {
			if Finished(s.Status) {
				continue
			}
			s.Status = Interrupted
			if !s.StartedAt.IsZero() {
				s.FinishedAt = now
			}
			if _, err := r.st.UpdateStep(ctx, j.ID, s, store.Event{JobID: j.ID, Kind: "step", Step: s.Position, Level: "warn",
				Message: fmt.Sprintf("Step %d (%s) interrupted", s.Position, s.Name)}); err != nil {
				return 0, err
			}
		}
		j.Status, j.FinishedAt = Interrupted, now
		j.Error = "The server stopped while this job was " + full.Status + ". An administrator can retry it."
		if _, err := r.st.UpdateJob(ctx, j, store.Event{JobID: j.ID, Kind: "job", Level: "error", Message: j.Error}); err != nil {
			return 0, err
		}
		r.log.Warn("job interrupted by a server stop", "job", j.ID, "kind", j.Kind)
		r.tell(j.ID)
	}
	return len(js), nil
}

// Request starts a job.
type Request struct {
	Kind    string
	Params  any // marshalled to JSON and stored; never put secrets here (one-time credentials wait in setup.Vault)
	By      string
	RetryOf int64
}

var (
	// ErrUnknownKind is returned for a kind nobody registered.
	ErrUnknownKind = errors.New("jobs: unknown job kind")
	// ErrShutDown is returned by Start once Shutdown has begun.
	ErrShutDown = errors.New("jobs: the server is shutting down")
)

// Start persists a job and runs it in the background; it returns the job's id at
// once. The job waits its turn when the concurrency bound is reached.
func (r *Runner) Start(ctx context.Context, req Request) (int64, error) {
	t, ok := r.types[req.Kind]
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrUnknownKind, req.Kind)
	}
	params, err := json.Marshal(req.Params)
	if err != nil {
		return 0, fmt.Errorf("jobs: unable to encode params: %w", err)
	}
	return r.start(ctx, t, params, req)
}

func (r *Runner) start(ctx context.Context, t Type, params []byte, req Request) (int64, error) {
	steps, err := t.Steps(params)
	if err != nil {
		return 0, fmt.Errorf("jobs: unable to plan %s: %w", t.Kind, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, ErrShutDown
	}
	rows := make([]store.Step, len(steps))
	for i, s := range steps {
		rows[i] = store.Step{Name: s.Name, Status: Pending}
	}
	id, err := r.st.CreateJob(ctx, store.Job{Kind: t.Kind, Status: Queued, Params: params, CreatedBy: req.By, RetryOf: req.RetryOf, Steps: rows})
	if err != nil {
		return 0, err
	}
	msg := fmt.Sprintf("%s queued by %s", t.Title, req.By)
	if req.RetryOf != 0 {
		msg = fmt.Sprintf("%s queued by %s, retrying job %d", t.Title, req.By, req.RetryOf)
	}
	r.emit(store.Event{JobID: id, Kind: "job", Level: "info", Message: msg})

	jobCtx, cancel := context.WithCancelCause(r.base)
	r.active[id] = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer func() {
			r.mu.Lock()
			delete(r.active, id)
			r.mu.Unlock()
			cancel(nil)
		}()
		r.run(jobCtx, id, t, steps, &Run{JobID: id, Params: params, By: req.By, r: r})
	}()
	return id, nil
}

// Retry starts a new job with the params of a job that failed or was interrupted.
func (r *Runner) Retry(ctx context.Context, id int64, by string) (int64, error) {
	j, err := r.st.Job(ctx, id)
	if err != nil {
		return 0, err
	}
	if j.Status != Failed && j.Status != Interrupted && j.Status != Cancelled {
		return 0, fmt.Errorf("jobs: job %d is %s; only a failed, interrupted or cancelled job can be retried", id, j.Status)
	}
	t, ok := r.types[j.Kind]
	if !ok {
		return 0, fmt.Errorf("%w: %s", ErrUnknownKind, j.Kind)
	}
	return r.start(ctx, t, j.Params, Request{Kind: j.Kind, By: by, RetryOf: id})
}

func (r *Runner) run(ctx context.Context, id int64, t Type, steps []Step, run *Run) {
	select {
	case r.sem <- struct{}{}:
		defer func() { <-r.sem }()
	case <-ctx.Done():
		// Its steps end with it, or they would stay pending for good.
		if by, ok := CancelledBy(ctx); ok {
			r.skipFrom(id, steps, 0, Skipped)
			r.finish(id, Cancelled, CancelledText(by), time.Time{})
			return
		}
		r.skipFrom(id, steps, 0, Interrupted)
		r.finish(id, Interrupted, "The server stopped before this job could start.", time.Time{})
		return
	}
	started := time.Now()
	r.setJob(store.Job{ID: id, Status: Running, StartedAt: started}, "info", t.Title+" started")

	final := Succeeded
	for i, s := range steps {
		pos := i + 1
		if by, ok := CancelledBy(ctx); ok {
			r.skipFrom(id, steps, i, Skipped)
			r.finish(id, Cancelled, CancelledText(by), started)
			return
		}
		if ctx.Err() != nil {
			r.skipFrom(id, steps, i, Interrupted)
			r.finish(id, Interrupted, "The server stopped while this job was running. An administrator can retry it.", started)
			return
		}
		run.mu.Lock()
		run.step, run.levels = pos, nil
		run.mu.Unlock()
		stStart := time.Now()
		r.setStep(id, store.Step{Position: pos, Name: s.Name, Status: Running, StartedAt: stStart}, "info", fmt.Sprintf("Step %d: %s", pos, s.Name))
		err := safeRun(ctx, s, run)
		status := run.Outcome(ctx, err)
		run.mu.Lock()
		run.step = 0
		run.mu.Unlock()
		final = outcome.Worst(final, status)
		if err != nil {
			level, msg := "error", fmt.Sprintf("Step %d failed: %s", pos, err)
			switch status {
			case Stopped:
				level, msg = "warn", fmt.Sprintf("Step %d stopped: %s", pos, err)
			case Cancelled:
				by, _ := CancelledBy(ctx)
				level, msg = "warn", fmt.Sprintf("Step %d cancelled by %s", pos, by)
			}
			r.setStep(id, store.Step{Position: pos, Name: s.Name, Status: status, StartedAt: stStart, FinishedAt: time.Now(), Detail: err.Error()}, level, msg)
			rest := Skipped
			if status == Interrupted {
				rest = Interrupted
			}
			r.skipFrom(id, steps, i+1, rest)
			errText := fmt.Sprintf("%s: %s", s.Name, err)
			switch status {
			case Stopped:
				errText = err.Error()
			case Cancelled:
				by, _ := CancelledBy(ctx)
				errText = CancelledText(by)
			}
			r.finish(id, status, errText, started)
			return
		}
		r.setStep(id, store.Step{Position: pos, Name: s.Name, Status: status, StartedAt: stStart, FinishedAt: time.Now()},
			"info", fmt.Sprintf("Step %d done: %s (%s), %s", pos, s.Name, time.Since(stStart).Round(time.Millisecond), outcome.Label(status)))
	}
	r.finish(id, final, "", started)
}

func safeRun(ctx context.Context, s Step, run *Run) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p)
		}
	}()
	return s.Run(ctx, run)
}

func (r *Runner) skipFrom(id int64, steps []Step, from int, status string) {
	for i := from; i < len(steps); i++ {
		r.setStep(id, store.Step{Position: i + 1, Name: steps[i].Name, Status: status}, "info",
			fmt.Sprintf("Step %d %s: %s", i+1, status, steps[i].Name))
	}
}

func (r *Runner) finish(id int64, status, errText string, started time.Time) {
	level, msg := "info", "Job "+outcome.Label(status)
	switch status {
	case Warnings:
		level, msg = "warn", "Job succeeded with warnings: see the warnings above the steps"
	case Errors:
		level, msg = "error", "Job completed with errors: see the problems above the steps"
	case Stopped:
		level, msg = "warn", "Job stopped: "+errText
	case Cancelled:
		level, msg = "warn", "Job cancelled"+strings.TrimPrefix(errText, "Cancelled")
	case Failed, Interrupted:
		level, msg = "error", "Job "+status+": "+errText
	}
	r.setJob(store.Job{ID: id, Status: status, StartedAt: started, FinishedAt: time.Now(), Error: errText}, level, msg)
	r.tell(id)
}

// setJob and setStep write with a context of their own: progress must reach the
// store even while the job's context is being cancelled by a shutdown.
func (r *Runner) setJob(j store.Job, level, msg string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev := store.Event{JobID: j.ID, Kind: "job", Level: level, Message: msg, At: time.Now()}
	seq, err := r.st.UpdateJob(ctx, j, ev)
	if err != nil {
		r.log.Error("jobs: unable to record job state", "job", j.ID, "err", err)
		return
	}
	ev.Seq = seq
	r.hub.Publish(ev)
}

func (r *Runner) setStep(id int64, s store.Step, level, msg string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ev := store.Event{JobID: id, Kind: "step", Step: s.Position, Level: level, Message: msg, At: time.Now()}
	seq, err := r.st.UpdateStep(ctx, id, s, ev)
	if err != nil {
		r.log.Error("jobs: unable to record step state", "job", id, "step", s.Position, "err", err)
		return
	}
	ev.Seq = seq
	r.hub.Publish(ev)
}

func (r *Runner) emit(ev store.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ev.At.IsZero() {
		ev.At = time.Now()
	}
	seq, err := r.st.AppendEvent(ctx, ev)
	if err != nil {
		r.log.Error("jobs: unable to record event", "job", ev.JobID, "err", err)
		return
	}
	ev.Seq = seq
	r.hub.Publish(ev)
}

// Shutdown waits for running jobs to finish until ctx ends, then cancels them
// (they end as interrupted) and waits for them to record that.
func (r *Runner) Shutdown(ctx context.Context) {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	r.stop()
	<-done
}

// Wait blocks until no job is running (tests).
func (r *Runner) Wait() { r.wg.Wait() }
