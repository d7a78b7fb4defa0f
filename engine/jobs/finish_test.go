package jobs

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/hybridsync/hybridsync/engine/store"
)

// OnFinish hears of every job as it ends, with the status and error the store
// has by then.
func TestRunnerOnFinish(t *testing.T) {
	st := newStore(t)
	r := newRunner(t, st, 2)
	var mu sync.Mutex
	got := map[int64]store.Job{}
	r.OnFinish(func(j store.Job) {
		mu.Lock()
		defer mu.Unlock()
		got[j.ID] = j
	})
	r.Register(typeOf("good", ok))
	r.Register(typeOf("bad", ok, func(context.Context, *Run) error { return errors.New("boom") }))
	ctx := context.Background()
	good, err := r.Start(ctx, Request{Kind: "good", By: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	bad, err := r.Start(ctx, Request{Kind: "bad", By: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both jobs told", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	if j := got[good]; j.Status != Succeeded || j.Kind != "good" || j.CreatedBy != "alice" {
		t.Errorf("good job told as %s %s by %s", j.Kind, j.Status, j.CreatedBy)
	}
	if j := got[bad]; j.Status != Failed || j.Error != "step 2: boom" || j.CreatedBy != "bob" {
		t.Errorf("bad job told as %s %q by %s", j.Status, j.Error, j.CreatedBy)
	}
}

// A job a server stop left running is told of when Recover finds it.
func TestRecoverTellsOnFinish(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	id, err := st.CreateJob(ctx, store.Job{Kind: "configure", Status: Running, CreatedBy: "alice", Steps: []store.Step{{Name: "one", Status: Running}}})
	if err != nil {
		t.Fatal(err)
	}
	r := newRunner(t, st, 1)
	var told []store.Job
	r.OnFinish(func(j store.Job) { told = append(told, j) })
	if _, err := r.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if len(told) != 1 || told[0].ID != id || told[0].Status != Interrupted {
		t.Errorf("told %+v", told)
	}
}

// While the OnFinish function runs, the job has ended in the store but is
// still among the runner's active jobs: Cancel goes by the store and
// refuses, as for any finished job.
func TestCancelWhileOnFinishRuns(t *testing.T) {
	st := newStore(t)
	r := newRunner(t, st, 1)
	hold := make(chan struct{})
	r.OnFinish(func(store.Job) { <-hold })
	defer close(hold)
	r.Register(typeOf("quick", ok))
	id, err := r.Start(context.Background(), Request{Kind: "quick", By: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the job to end", func() bool { return Finished(job(t, st, id).Status) })
	if err := r.Cancel(context.Background(), id, "bob"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("cancel of an ended job: %v, want ErrNotRunning", err)
	}
}
