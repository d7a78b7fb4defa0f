package cycle_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// What the scheduler decides on, read from the store: the last cycle
// started and completed (a cycle the deletion guard stopped counts as
// completed, any other failure does not), a cycle or a Configure running,
// and whether synchronization was set to start.
func TestScheduleState(t *testing.T) {
	ctx := context.Background()
	st := emptyStore(t)
	now := time.Now()
	s, err := cycle.ScheduleState(ctx, st, now)
	if err != nil || s.Configured || !s.LastStart.IsZero() || s.Running || s.Configuring {
		t.Fatalf("a new store: %+v %v", s, err)
	}

	a := setup.Defaults()
	a.Ready.StartSync = false
	raw, _ := json.Marshal(a)
	if _, err := st.SaveActiveConfiguration(ctx, store.Configuration{InstallID: "t", Answers: raw, AppliedAt: now, AppliedBy: "t"}); err != nil {
		t.Fatal(err)
	}
	job := func(kind, status, errText string, finished time.Time) int64 {
		t.Helper()
		id, err := st.CreateJob(ctx, store.Job{Kind: kind, Status: jobs.Queued, Params: []byte("{}"), CreatedBy: "t"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateJob(ctx, store.Job{ID: id, Status: status, StartedAt: finished, FinishedAt: finished, Error: errText},
			store.Event{JobID: id, Level: "info", Message: status}); err != nil {
			t.Fatal(err)
		}
		return id
	}
	stopped := now.Add(-2 * time.Hour).Truncate(time.Millisecond)
	job(cycle.Kind, jobs.Succeeded, "", now.Add(-3*time.Hour))
	job(cycle.Kind, jobs.Stopped, "The deletion guard stopped the export: 600 deletes", stopped)
	job(cycle.Kind, jobs.Failed, "Import corp.example.test: the DC can't be reached", now.Add(-time.Hour))
	job("configure", jobs.Running, "", time.Time{})

	s, err = cycle.ScheduleState(ctx, st, now)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Configured || !s.NotStarted {
		t.Errorf("configured %v, not started %v; want both", s.Configured, s.NotStarted)
	}
	if !s.LastCompleted.Equal(stopped) {
		t.Errorf("last completed %s, want the stopped cycle's end %s", s.LastCompleted, stopped)
	}
	if s.LastStart.IsZero() || s.Running || !s.Configuring {
		t.Errorf("last start %s, running %v, configuring %v; want a start, no cycle running, Configure running", s.LastStart, s.Running, s.Configuring)
	}

	job(cycle.Kind, jobs.Queued, "", time.Time{})
	if s, err = cycle.ScheduleState(ctx, st, now); err != nil || !s.Running {
		t.Errorf("a queued cycle: running %v (%v)", s.Running, err)
	}
}
