package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRunSteps(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	now := time.UnixMilli(1_800_000_000_000)
	s.SetClock(func() time.Time { return now })

	start := func(r RunStep) int64 {
		t.Helper()
		id, err := s.StartRunStep(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	// Cycle 7: an import that started as a delta and ran as a full one, a
	// sync, an export the deletion guard stopped. Cycle 9: an import still
	// running.
	imp := start(RunStep{JobID: 7, Position: 1, Connector: "fabrikam.example.test", Step: "delta import"})
	now = now.Add(1500 * time.Millisecond)
	if err := s.UpdateRunStep(ctx, RunStep{ID: imp, FinishedAt: now, Connector: "fabrikam.example.test", Step: "full import", Status: "succeeded",
		Processed: 120, Adds: 100, Updates: 3, Deletes: 2, Memberships: 40, Note: "the DC changed"}); err != nil {
		t.Fatal(err)
	}
	syn := start(RunStep{JobID: 7, Position: 2, Step: "full sync"})
	now = now.Add(time.Second)
	if err := s.UpdateRunStep(ctx, RunStep{ID: syn, FinishedAt: now, Step: "full sync", Status: "succeeded", Processed: 120, Adds: 100}); err != nil {
		t.Fatal(err)
	}
	running := start(RunStep{JobID: 9, Position: 1, Connector: "fabrikam.example.test", Step: "delta import"})
	// Progress while it runs: the import turned out a full one.
	if err := s.UpdateRunStep(ctx, RunStep{ID: running, Connector: "fabrikam.example.test", Step: "full import", Status: "running", Processed: 10}); err != nil {
		t.Fatal(err)
	}
	exp := start(RunStep{JobID: 7, Position: 3, Connector: "contoso.onmicrosoft.com", Step: "export"})
	now = now.Add(250 * time.Millisecond)
	if err := s.UpdateRunStep(ctx, RunStep{ID: exp, FinishedAt: now, Connector: "contoso.onmicrosoft.com", Step: "export", Status: "stopped-deletion-threshold-exceeded",
		Deletes: 0, Errors: 1, Note: "600 deletes over the threshold of 500"}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRunStep(ctx, RunStep{ID: 999, Status: "succeeded"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("finishing an unknown step: %v, want ErrNotFound", err)
	}

	got, err := s.RunSteps(ctx, []int64{9, 7, 8})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		job        int64
		pos        int
		step       string
		status     string
		adds       int
		took       time.Duration
		finished   bool
		connector  string
		processed  int
		membership int
	}
	want := []row{
		{7, 1, "full import", "succeeded", 100, 1500 * time.Millisecond, true, "fabrikam.example.test", 120, 40},
		{7, 2, "full sync", "succeeded", 100, time.Second, true, "", 120, 0},
		{7, 3, "export", "stopped-deletion-threshold-exceeded", 0, 250 * time.Millisecond, true, "contoso.onmicrosoft.com", 0, 0},
		{9, 1, "full import", "running", 0, 250 * time.Millisecond, false, "fabrikam.example.test", 10, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("%d steps, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		r := row{g.JobID, g.Position, g.Step, g.Status, g.Adds, g.Took(now), !g.FinishedAt.IsZero(), g.Connector, g.Processed, g.Memberships}
		if r != w {
			t.Errorf("step %d = %+v, want %+v", i, r, w)
		}
	}
	if got[0].Note != "the DC changed" || got[0].Updates != 3 || got[0].Deletes != 2 || got[2].Errors != 1 {
		t.Errorf("counts or note lost: %+v", got[0])
	}
	if got[3].ID != running {
		t.Errorf("the running step has id %d, want %d", got[3].ID, running)
	}

	// Per connector, newest first.
	of, err := s.RunStepsOf(ctx, "fabrikam.example.test", 10)
	if err != nil || len(of) != 2 || of[0].JobID != 9 || of[1].JobID != 7 {
		t.Errorf("RunStepsOf(fabrikam) = %+v, %v", of, err)
	}
	if of, err := s.RunStepsOf(ctx, "", 1); err != nil || len(of) != 1 || of[0].Step != "full sync" {
		t.Errorf("RunStepsOf(sync) = %+v, %v", of, err)
	}
	if none, err := s.RunSteps(ctx, nil); err != nil || len(none) != 0 {
		t.Errorf("RunSteps(nil) = %+v, %v", none, err)
	}
}

func TestRunStepTook(t *testing.T) {
	at := time.UnixMilli(1_800_000_000_000)
	tests := []struct {
		name string
		r    RunStep
		want time.Duration
	}{
		{"not started", RunStep{}, 0},
		{"running", RunStep{StartedAt: at}, 5 * time.Second},
		{"finished", RunStep{StartedAt: at, FinishedAt: at.Add(2 * time.Second)}, 2 * time.Second},
	}
	for _, tt := range tests {
		if got := tt.r.Took(at.Add(5 * time.Second)); got != tt.want {
			t.Errorf("%s: Took = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// A stop leaves a cycle's running row behind: once the runner has marked the
// job interrupted, EndRunSteps ends the row at the job's end; a live job's
// rows and finished rows stay as they are.
func TestEndRunSteps(t *testing.T) {
	ctx := context.Background()
	st := openTestStore(t)
	job := func(status string, finished time.Time) int64 {
		t.Helper()
		id, err := st.CreateJob(ctx, Job{Kind: "sync", Status: "queued", Params: []byte("{}"), CreatedBy: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateJob(ctx, Job{ID: id, Status: status, FinishedAt: finished}, Event{JobID: id, Level: "info", Message: status}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	stopped := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	dead, live := job("interrupted", stopped), job("running", time.Time{})
	step := func(jobID int64, pos int, status string) int64 {
		t.Helper()
		id, err := st.StartRunStep(ctx, RunStep{JobID: jobID, Position: pos, Connector: "corp", Step: "full import", Status: "running"})
		if err != nil {
			t.Fatal(err)
		}
		if status != "running" {
			if err := st.UpdateRunStep(ctx, RunStep{ID: id, Connector: "corp", Step: "full import", Status: status, FinishedAt: time.Now()}); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	step(dead, 1, "succeeded")
	step(dead, 2, "running")
	step(live, 1, "running")

	n, err := st.EndRunSteps(ctx, "running", "interrupted", "queued", "running")
	if err != nil || n != 1 {
		t.Fatalf("EndRunSteps = %d, %v; want the stopped job's running row", n, err)
	}
	rows, err := st.RunSteps(ctx, []int64{dead, live})
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]int64]string{{dead, 1}: "succeeded", {dead, 2}: "interrupted", {live, 1}: "running"}
	for _, r := range rows {
		if got := want[[2]int64{r.JobID, int64(r.Position)}]; r.Status != got {
			t.Errorf("job %d step %d: %s, want %s", r.JobID, r.Position, r.Status, got)
		}
		if r.JobID == dead && r.Position == 2 && !r.FinishedAt.Equal(stopped) {
			t.Errorf("the ended row finished at %s, want its job's end %s", r.FinishedAt, stopped)
		}
	}
	if _, err := st.EndRunSteps(ctx, "running", "interrupted"); err == nil {
		t.Error("EndRunSteps without live statuses ended every running row")
	}
}
