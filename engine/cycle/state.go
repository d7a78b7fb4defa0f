package cycle

import (
	"context"
	"errors"
	"time"

	"github.com/hybridsync/hybridsync/engine/configure"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/schedule"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// WizardIdle is how long after its last save the wizard counts as closed:
// the scheduler waits while an administrator is changing the configuration.
const WizardIdle = 30 * time.Minute

// ScheduleState reads what the schedule decides on: the cycles' history, a
// running cycle or Configure, whether a configuration is applied and
// whether the wizard is open (saved since the configuration was applied,
// within WizardIdle). Each is one indexed lookup of the newest job of its
// kind and state, however long the history.
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
	// last is the newest job of a kind in these states, if any.
	last := func(kind, errorHas string, statuses ...string) (store.Job, bool, error) {
		j, err := st.LastJob(ctx, kind, errorHas, statuses...)
		if errors.Is(err, store.ErrNotFound) {
			return j, false, nil
		}
		return j, err == nil, err
	}
	j, ok, err := last(Kind, "")
	if err != nil {
		return s, err
	}
	if ok {
		s.LastStart = j.CreatedAt
	}
	if _, s.Running, err = last(Kind, "", jobs.Queued, jobs.Running); err != nil {
		return s, err
	}
	if _, s.Configuring, err = last(configure.Kind, "", jobs.Queued, jobs.Running); err != nil {
		return s, err
	}
	// A cycle that went to its end completed, whatever it met; one the
	// deletion guard stopped completed its import and sync.
	j, ok, err = last(Kind, "", jobs.Succeeded, jobs.Warnings, jobs.Errors, jobs.Stopped)
	if err != nil {
		return s, err
	}
	if ok {
		s.LastCompleted = j.FinishedAt
	}
	return s, nil
}
