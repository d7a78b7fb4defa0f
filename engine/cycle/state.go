package cycle

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/export"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/schedule"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// WizardIdle is how long after its last save the wizard counts as closed:
// the scheduler waits while an administrator is changing the configuration.
const WizardIdle = 30 * time.Minute

// recentJobs bounds how far back the history is read for the schedule.
const recentJobs = 500

// ScheduleState reads what the schedule decides on: the cycles' history, a
// running cycle, whether a configuration is applied and whether the wizard
// is open (saved since the configuration was applied, within WizardIdle).
func ScheduleState(ctx context.Context, st *store.Store, now time.Time) (schedule.State, error) {
	s := schedule.State{Now: now}
	cfg, err := st.ActiveConfiguration(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return s, err
	default:
		s.Configured = true
		a, err := setup.ConfigurationAnswers(cfg)
		if err != nil {
			return s, err
		}
		s.NotStarted = !a.Ready.StartSync
		ws, err := st.WizardState(ctx)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return s, err
		}
		s.WizardOpen = err == nil && ws.UpdatedAt.After(cfg.AppliedAt) && now.Sub(ws.UpdatedAt) < WizardIdle
	}
	js, err := st.Jobs(ctx, recentJobs)
	if err != nil {
		return s, err
	}
	for _, j := range js { // newest first
		if j.Kind != Kind {
			continue
		}
		if s.LastStart.IsZero() {
			s.LastStart = j.CreatedAt
		}
		if j.Status == jobs.Queued || j.Status == jobs.Running {
			s.Running = true
		}
		// A cycle the deletion guard stopped completed its import and sync.
		if s.LastCompleted.IsZero() && (j.Status == jobs.Succeeded || strings.Contains(j.Error, StoppedDeletion)) {
			s.LastCompleted = j.FinishedAt
		}
	}
	return s, nil
}

// StoppedDeletion is the status word of a cycle the deletion guard stopped.
const StoppedDeletion = export.StatusStoppedDeletionExceeded
