package jobs

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/store"
)

// waitStep blocks until its job is cancelled, as Configure's step that
// waits for the admin to run the AD FS scripts does.
func waitStep(started chan<- struct{}) func(ctx context.Context, r *Run) error {
	return func(ctx context.Context, r *Run) error {
		r.Logf("Waiting for the administrator")
		close(started)
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(time.Minute):
			return errors.New("not cancelled")
		}
	}
}

func TestCancelRunningJob(t *testing.T) {
	st := newStore(t)
	r := newRunner(t, st, 1)
	started := make(chan struct{})
	ran3 := false
	r.Register(typeOf("k", ok, waitStep(started), func(context.Context, *Run) error { ran3 = true; return nil }))
	ctx := context.Background()
	id, err := r.Start(ctx, Request{Kind: "k", By: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if err := r.Cancel(ctx, id, "bob"); err != nil {
		t.Fatal(err)
	}
	r.Wait()

	j := job(t, st, id)
	if j.Status != Cancelled || j.Error != "Cancelled by bob" || j.FinishedAt.IsZero() {
		t.Errorf("job = %s %q (finished %v)", j.Status, j.Error, j.FinishedAt)
	}
	if got, want := stepStatuses(j), []string{Succeeded, Cancelled, Skipped}; !reflect.DeepEqual(got, want) {
		t.Errorf("steps = %v, want %v", got, want)
	}
	if ran3 {
		t.Error("the step after the cancelled one ran")
	}
	if !Finished(j.Status) || !Finished(Cancelled) {
		t.Error("a cancelled job is not finished")
	}
	var msgs []string
	for _, e := range events(t, st, id) {
		msgs = append(msgs, e.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{"Cancel requested by bob", "Step 2 cancelled by bob", "Step 3 skipped: step 3", "Job cancelled by bob"} {
		if !strings.Contains(all, want) {
			t.Errorf("events lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "Job succeeded") || msgs[len(msgs)-1] != "Job cancelled by bob" {
		t.Errorf("the job's last word is %q", msgs[len(msgs)-1])
	}

	// Once finished, it cannot be cancelled again; an unknown job is not found.
	if err := r.Cancel(ctx, id, "bob"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("cancel a finished job: %v", err)
	}
	if err := r.Cancel(ctx, 9999, "bob"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("cancel an unknown job: %v", err)
	}
	if err := r.Cancel(ctx, id, " "); err == nil {
		t.Error("cancel without a name")
	}
}

// A job cancelled while it waits its turn never starts: all its steps are
// skipped.
func TestCancelQueuedJob(t *testing.T) {
	st := newStore(t)
	r := newRunner(t, st, 1)
	started := make(chan struct{})
	r.Register(typeOf("block", waitStep(started)))
	r.Register(typeOf("k", ok, ok))
	ctx := context.Background()
	first, err := r.Start(ctx, Request{Kind: "block", By: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	second, err := r.Start(ctx, Request{Kind: "k", By: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Cancel(ctx, second, "carol"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the queued job to end", func() bool { return Finished(job(t, st, second).Status) })
	j := job(t, st, second)
	if j.Status != Cancelled || j.Error != "Cancelled by carol" || !j.StartedAt.IsZero() {
		t.Errorf("queued job = %s %q started %v", j.Status, j.Error, j.StartedAt)
	}
	if got, want := stepStatuses(j), []string{Skipped, Skipped}; !reflect.DeepEqual(got, want) {
		t.Errorf("steps = %v, want %v", got, want)
	}
	if err := r.Cancel(ctx, first, "carol"); err != nil {
		t.Fatal(err)
	}
	r.Wait()
	if s := job(t, st, first).Status; s != Cancelled {
		t.Errorf("first job = %s", s)
	}
}

// A step that ignores the cancel and finishes keeps its outcome; the job
// still ends cancelled and never succeeded.
func TestCancelStepThatFinishes(t *testing.T) {
	st := newStore(t)
	r := newRunner(t, st, 1)
	started := make(chan struct{})
	release := make(chan struct{})
	r.Register(typeOf("k", func(ctx context.Context, run *Run) error {
		close(started)
		<-release
		return nil
	}, ok))
	ctx := context.Background()
	id, err := r.Start(ctx, Request{Kind: "k", By: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	if err := r.Cancel(ctx, id, "bob"); err != nil {
		t.Fatal(err)
	}
	close(release)
	r.Wait()
	j := job(t, st, id)
	if j.Status != Cancelled {
		t.Errorf("job = %s, want cancelled", j.Status)
	}
	if got, want := stepStatuses(j), []string{Succeeded, Skipped}; !reflect.DeepEqual(got, want) {
		t.Errorf("steps = %v, want %v", got, want)
	}
}

func TestCancelledByShutdownIsInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := CancelledBy(ctx); ok {
		t.Error("a plain cancel reads as an admin's")
	}
	if got := stepOutcome(ctx, context.Canceled, nil); got != Interrupted {
		t.Errorf("shutdown outcome = %s", got)
	}
	cctx, ccancel := context.WithCancelCause(context.Background())
	ccancel(&CancelError{By: "bob"})
	if got := stepOutcome(cctx, context.Cause(cctx), nil); got != Cancelled {
		t.Errorf("cancel outcome = %s", got)
	}
}
