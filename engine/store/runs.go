package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RunStep is one step of a sync cycle against one connector: what the run
// history shows (migrations/*/006_run_history.sql).
type RunStep struct {
	ID       int64
	JobID    int64 // the cycle's job
	Position int   // the job step it belongs to
	// Connector is the forest (import, write-back), the tenant (export,
	// review), or "" (the metaverse sync).
	Connector string
	// Step is "full import", "delta import", "full sync", "delta sync",
	// "write-back", "export" or "review".
	Step       string
	StartedAt  time.Time
	FinishedAt time.Time // zero while it runs
	// Status is "running", "succeeded", "completed-with-errors", "staged",
	// "stopped-deletion-threshold-exceeded", "failed" or "interrupted".
	Status string
	// Processed counts what the step went through: entries read, objects
	// evaluated, changes considered.
	Processed                           int
	Adds, Updates, Deletes, Memberships int
	Errors                              int
	Note                                string
}

// Took is how long the step ran; until now while it runs.
func (r RunStep) Took(now time.Time) time.Duration {
	switch {
	case r.StartedAt.IsZero():
		return 0
	case r.FinishedAt.IsZero():
		return now.Sub(r.StartedAt)
	}
	return r.FinishedAt.Sub(r.StartedAt)
}

// StartRunStep records a step as started (StartedAt, or now) and returns its id.
func (s *Store) StartRunStep(ctx context.Context, r RunStep) (int64, error) {
	if r.StartedAt.IsZero() {
		r.StartedAt = s.now()
	}
	if r.Status == "" {
		r.Status = "running"
	}
	var id int64
	err := s.tx(ctx, func(t *Tx) error {
		var err error
		id, err = t.insertID(ctx, "run_steps", "job_id, position, connector, step, started_at, finished_at, status, processed, adds, updates, deletes, memberships, errors, note",
			r.JobID, r.Position, r.Connector, r.Step, toMillis(r.StartedAt), toMillis(r.FinishedAt), r.Status,
			r.Processed, r.Adds, r.Updates, r.Deletes, r.Memberships, r.Errors, r.Note)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: unable to record the start of %s %s: %w", r.Step, r.Connector, err)
	}
	return id, nil
}

// UpdateRunStep records a step's state by r.ID: its step (an import started
// as a delta may run as a full one), connector, status, counts, note and
// FinishedAt (zero while it runs).
func (s *Store) UpdateRunStep(ctx context.Context, r RunStep) error {
	res, err := s.exec(ctx, `UPDATE run_steps SET connector = ?, step = ?, finished_at = ?, status = ?, processed = ?, adds = ?, updates = ?,
		deletes = ?, memberships = ?, errors = ?, note = ? WHERE id = ?`,
		r.Connector, r.Step, toMillis(r.FinishedAt), r.Status, r.Processed, r.Adds, r.Updates, r.Deletes, r.Memberships, r.Errors, r.Note, r.ID)
	if err != nil {
		return fmt.Errorf("store: unable to record run step %d: %w", r.ID, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("store: unable to record run step %d: %w", r.ID, ErrNotFound)
	}
	return nil
}

// EndRunSteps gives the rows still in status running whose job is in none
// of the live statuses (the server stopped while they ran, and the job
// runner has ended their jobs) status to, and their job's finish time. It
// returns how many it changed.
func (s *Store) EndRunSteps(ctx context.Context, running, to string, live ...string) (int, error) {
	if len(live) == 0 {
		return 0, errors.New("store: EndRunSteps needs the statuses of jobs still live")
	}
	args := []any{to, running}
	for _, st := range live {
		args = append(args, st)
	}
	res, err := s.exec(ctx, `UPDATE run_steps SET status = ?, finished_at = (SELECT j.finished_at FROM jobs j WHERE j.id = run_steps.job_id)
		WHERE status = ? AND job_id IN (SELECT id FROM jobs WHERE status NOT IN (`+strings.TrimSuffix(strings.Repeat("?,", len(live)), ",")+`))`, args...)
	if err != nil {
		return 0, fmt.Errorf("store: unable to end the run steps of stopped cycles: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: unable to end the run steps of stopped cycles: %w", err)
	}
	return int(n), nil
}

const runStepColumns = `id, job_id, position, connector, step, started_at, finished_at, status, processed, adds, updates, deletes, memberships, errors, note`

// RunSteps returns the steps of the given cycles, by job (in the order of
// jobIDs' values, ascending), then in the order they ran.
func (s *Store) RunSteps(ctx context.Context, jobIDs []int64) ([]RunStep, error) {
	var out []RunStep
	for start := 0; start < len(jobIDs); start += maxInList {
		part := jobIDs[start:min(start+maxInList, len(jobIDs))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		// Not prepared: the IN list's length varies (see ExportObjects).
		rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+runStepColumns+` FROM run_steps WHERE job_id IN (`+marks(len(part))+`)
			ORDER BY job_id, position, id`), args...)
		if err != nil {
			return nil, fmt.Errorf("store: unable to read the run history: %w", err)
		}
		got, err := scanRunSteps(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// RunStepsOf returns a connector's latest steps, newest first ("" is the
// metaverse sync).
func (s *Store) RunStepsOf(ctx context.Context, connector string, limit int) ([]RunStep, error) {
	top, tail := s.limit(limit)
	rows, err := s.query(ctx, `SELECT `+top+runStepColumns+` FROM run_steps WHERE connector = ? ORDER BY started_at DESC, id DESC`+tail, connector)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the run history of %q: %w", connector, err)
	}
	return scanRunSteps(rows)
}

type rowsScanner interface {
	rowScanner
	Next() bool
	Err() error
	Close() error
}

func scanRunSteps(rows rowsScanner) ([]RunStep, error) {
	defer rows.Close()
	var out []RunStep
	for rows.Next() {
		var r RunStep
		var started, finished int64
		if err := rows.Scan(&r.ID, &r.JobID, &r.Position, &r.Connector, &r.Step, &started, &finished, &r.Status,
			&r.Processed, &r.Adds, &r.Updates, &r.Deletes, &r.Memberships, &r.Errors, &r.Note); err != nil {
			return nil, fmt.Errorf("store: unable to read a run step: %w", err)
		}
		r.StartedAt, r.FinishedAt = fromMillis(started), fromMillis(finished)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read the run history: %w", err)
	}
	return out, nil
}
