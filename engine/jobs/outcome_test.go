package jobs

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/hybridsync/hybridsync/engine/store"
)

// A job ends in the worst of its steps' outcomes, and a step's outcome
// follows the problems it met: never "succeeded" over a warning or an error.
func TestJobOutcomes(t *testing.T) {
	warn := func(_ context.Context, r *Run) error { r.Warn("w", "a warning", "do this"); return nil }
	warnf := func(_ context.Context, r *Run) error { r.Warnf("an old-style warning"); return nil }
	fail := func(_ context.Context, r *Run) error {
		r.Error("e", "some objects were not done", "fix them")
		return nil
	}
	stop := func(context.Context, *Run) error { return &StopError{Msg: "the deletion guard stopped the export"} }
	boom := func(context.Context, *Run) error { return errors.New("boom") }
	tests := []struct {
		name   string
		steps  []func(context.Context, *Run) error
		job    string
		steped []string
	}{
		{"clean", []func(context.Context, *Run) error{ok, ok}, Succeeded, []string{Succeeded, Succeeded}},
		{"a warning", []func(context.Context, *Run) error{ok, warn}, Warnings, []string{Succeeded, Warnings}},
		{"Warnf warns", []func(context.Context, *Run) error{warnf, ok}, Warnings, []string{Warnings, Succeeded}},
		{"an error outranks a warning", []func(context.Context, *Run) error{fail, warn}, Errors, []string{Errors, Warnings}},
		{"stopped skips the rest", []func(context.Context, *Run) error{warn, stop, ok}, Stopped, []string{Warnings, Stopped, Skipped}},
		{"failed", []func(context.Context, *Run) error{fail, boom, ok}, Failed, []string{Errors, Failed, Skipped}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStore(t)
			r := newRunner(t, st, 1)
			r.Register(typeOf("k", tt.steps...))
			id, err := r.Start(context.Background(), Request{Kind: "k", By: "test"})
			if err != nil {
				t.Fatal(err)
			}
			r.Wait()
			j := job(t, st, id)
			if j.Status != tt.job || !reflect.DeepEqual(stepStatuses(j), tt.steped) {
				t.Errorf("job %s with steps %v, want %s with %v", j.Status, stepStatuses(j), tt.job, tt.steped)
			}
		})
	}
}

// A problem met many times is one problem with a count, logged once; a
// condition is told only by the job that finds it new or changed.
func TestProblemsAndConditions(t *testing.T) {
	st := newStore(t)
	r := newRunner(t, st, 1)
	cond := func(fp string) func(context.Context, *Run) error {
		return func(_ context.Context, r *Run) error {
			r.Condition("warn", "right-missing/corp", fp, "svc-sync may not write ms-DS-ConsistencyGuid", "grant it")
			return nil
		}
	}
	r.Register(typeOf("many", func(_ context.Context, r *Run) error {
		for range 5 {
			r.Error("refused", "a write was refused", "grant the right")
		}
		return nil
	}))
	r.Register(typeOf("cond1", cond("a")))
	r.Register(typeOf("cond2", cond("b")))
	r.Register(typeOf("clear", func(_ context.Context, r *Run) error { r.ClearCondition("right-missing/", true); return nil }))
	run := func(kind string) store.Job {
		id, err := r.Start(context.Background(), Request{Kind: kind, By: "test"})
		if err != nil {
			t.Fatal(err)
		}
		r.Wait()
		return job(t, st, id)
	}
	j := run("many")
	ps, err := st.Problems(context.Background(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := ps[j.ID]; len(got) != 1 || got[0].Times != 5 || got[0].Action != "grant the right" || got[0].Step != 1 {
		t.Errorf("problems %+v, want one met 5 times", got)
	}
	logged := 0
	for _, ev := range events(t, st, j.ID) {
		if ev.Kind == "log" && ev.Message == "a write was refused" {
			logged++
		}
	}
	if logged != 1 {
		t.Errorf("the problem was logged %d times, want once", logged)
	}

	for i, c := range []struct {
		kind, want string
	}{{"cond1", Warnings}, {"cond1", Succeeded}, {"cond2", Warnings}, {"cond2", Succeeded}} {
		if j := run(c.kind); j.Status != c.want {
			t.Errorf("run %d (%s): %s, want %s", i, c.kind, j.Status, c.want)
		}
	}
	if cs, _ := st.Conditions(context.Background(), ""); len(cs) != 1 || cs[0].Fingerprint != "b" {
		t.Errorf("conditions %+v, want the one, as last said", cs)
	}
	run("clear")
	if cs, _ := st.Conditions(context.Background(), ""); len(cs) != 0 {
		t.Errorf("conditions %+v after clearing", cs)
	}
	if j := run("cond1"); j.Status != Warnings {
		t.Errorf("a condition met again after it cleared is news: %s", j.Status)
	}
}
