package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Job, step and event rows. Status words are owned by engine/jobs.
type Job struct {
	ID         int64
	Kind       string
	Status     string
	Params     []byte
	CreatedBy  string
	CreatedAt  time.Time
	StartedAt  time.Time // zero until it starts
	FinishedAt time.Time // zero until it ends
	Error      string
	RetryOf    int64
	Steps      []Step
}

type Step struct {
	Position   int
	Name       string
	Status     string
	StartedAt  time.Time
	FinishedAt time.Time
	Detail     string
}

type Event struct {
	JobID   int64
	Seq     int64
	At      time.Time
	Kind    string // "job", "step" or "log"
	Step    int    // the step it belongs to; 0 for the job itself
	Level   string // "info", "warn" or "error"
	Message string
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

func toMillis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// CreateJob stores a queued job with its named steps, all pending.
func (s *Store) CreateJob(ctx context.Context, j Job) (int64, error) {
	var id int64
	err := s.tx(ctx, func(t *Tx) error {
		var err error
		id, err = t.insertID(ctx, "jobs", "kind, status, params, created_by, created_at, started_at, finished_at, error, retry_of",
			j.Kind, j.Status, string(j.Params), j.CreatedBy, s.millis(), 0, 0, "", j.RetryOf)
		if err != nil {
			return err
		}
		for i, st := range j.Steps {
			if _, err := t.exec(ctx, `INSERT INTO job_steps (job_id, position, name, status, started_at, finished_at, detail) VALUES (?, ?, ?, ?, 0, 0, '')`,
				id, i+1, st.Name, st.Status); err != nil {
				return fmt.Errorf("store: unable to add step %q: %w", st.Name, err)
			}
		}
		return nil
	})
	return id, err
}

// UpdateJob writes a job's status, times and error, and appends ev in the same
// transaction; it returns the event's sequence number.
func (s *Store) UpdateJob(ctx context.Context, j Job, ev Event) (int64, error) {
	var seq int64
	err := s.tx(ctx, func(t *Tx) error {
		if _, err := t.exec(ctx, `UPDATE jobs SET status = ?, started_at = ?, finished_at = ?, error = ? WHERE id = ?`,
			j.Status, toMillis(j.StartedAt), toMillis(j.FinishedAt), j.Error, j.ID); err != nil {
			return fmt.Errorf("store: unable to update job %d: %w", j.ID, err)
		}
		var err error
		seq, err = t.appendEvent(ctx, ev)
		return err
	})
	return seq, err
}

// UpdateStep writes a step's status, times and detail, and appends ev with it.
func (s *Store) UpdateStep(ctx context.Context, jobID int64, st Step, ev Event) (int64, error) {
	var seq int64
	err := s.tx(ctx, func(t *Tx) error {
		if _, err := t.exec(ctx, `UPDATE job_steps SET status = ?, started_at = ?, finished_at = ?, detail = ? WHERE job_id = ? AND position = ?`,
			st.Status, toMillis(st.StartedAt), toMillis(st.FinishedAt), st.Detail, jobID, st.Position); err != nil {
			return fmt.Errorf("store: unable to update step %d of job %d: %w", st.Position, jobID, err)
		}
		var err error
		seq, err = t.appendEvent(ctx, ev)
		return err
	})
	return seq, err
}

// AppendEvent appends one event to a job and returns its sequence number.
func (s *Store) AppendEvent(ctx context.Context, ev Event) (int64, error) {
	var seq int64
	err := s.tx(ctx, func(t *Tx) error {
		var err error
		seq, err = t.appendEvent(ctx, ev)
		return err
	})
	return seq, err
}

func (t *Tx) appendEvent(ctx context.Context, ev Event) (int64, error) {
	var seq int64
	if err := t.queryRow(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM job_events WHERE job_id = ?`, ev.JobID).Scan(&seq); err != nil {
		return 0, fmt.Errorf("store: unable to number an event of job %d: %w", ev.JobID, err)
	}
	at := ev.At
	if at.IsZero() {
		at = t.s.now()
	}
	if _, err := t.exec(ctx, `INSERT INTO job_events (job_id, seq, at, kind, step, level, message) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		ev.JobID, seq, at.UnixMilli(), ev.Kind, ev.Step, ev.Level, ev.Message); err != nil {
		return 0, fmt.Errorf("store: unable to append an event to job %d: %w", ev.JobID, err)
	}
	return seq, nil
}

// Events returns a job's events after seq, oldest first, at most limit.
func (s *Store) Events(ctx context.Context, jobID, after int64, limit int) ([]Event, error) {
	top, tail := s.limit(limit)
	rows, err := s.query(ctx, `SELECT `+top+`seq, at, kind, step, level, message FROM job_events
		WHERE job_id = ? AND seq > ? ORDER BY seq`+tail, jobID, after)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read events of job %d: %w", jobID, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		ev := Event{JobID: jobID}
		var at int64
		if err := rows.Scan(&ev.Seq, &at, &ev.Kind, &ev.Step, &ev.Level, &ev.Message); err != nil {
			return nil, fmt.Errorf("store: unable to read events of job %d: %w", jobID, err)
		}
		ev.At = time.UnixMilli(at)
		out = append(out, ev)
	}
	return out, rows.Err()
}

// Job returns a job with its steps.
func (s *Store) Job(ctx context.Context, id int64) (Job, error) {
	j, err := scanJob(s.queryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if err != nil {
		return Job{}, err
	}
	rows, err := s.query(ctx, `SELECT position, name, status, started_at, finished_at, detail FROM job_steps WHERE job_id = ? ORDER BY position`, id)
	if err != nil {
		return Job{}, fmt.Errorf("store: unable to read steps of job %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var st Step
		var a, b int64
		if err := rows.Scan(&st.Position, &st.Name, &st.Status, &a, &b, &st.Detail); err != nil {
			return Job{}, fmt.Errorf("store: unable to read steps of job %d: %w", id, err)
		}
		st.StartedAt, st.FinishedAt = fromMillis(a), fromMillis(b)
		j.Steps = append(j.Steps, st)
	}
	return j, rows.Err()
}

type rowScanner interface{ Scan(...any) error }

func scanJob(r rowScanner) (Job, error) {
	var j Job
	var params string
	var c, a, b int64
	err := r.Scan(&j.ID, &j.Kind, &j.Status, &params, &j.CreatedBy, &c, &a, &b, &j.Error, &j.RetryOf)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, ErrNotFound
	}
	if err != nil {
		return Job{}, fmt.Errorf("store: unable to read job: %w", err)
	}
	j.Params, j.CreatedAt, j.StartedAt, j.FinishedAt = []byte(params), time.UnixMilli(c), fromMillis(a), fromMillis(b)
	return j, nil
}

// Jobs lists the newest jobs first, without their steps.
func (s *Store) Jobs(ctx context.Context, limit int) ([]Job, error) {
	top, tail := s.limit(limit)
	return s.jobs(ctx, `SELECT `+top+jobColumns+` FROM jobs ORDER BY id DESC`+tail)
}

// JobsWithStatus lists the jobs in any of the given states, oldest first.
func (s *Store) JobsWithStatus(ctx context.Context, statuses ...string) ([]Job, error) {
	if len(statuses) == 0 {
		return nil, nil
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(statuses)), ",")
	args := make([]any, len(statuses))
	for i, st := range statuses {
		args[i] = st
	}
	return s.jobs(ctx, `SELECT `+jobColumns+` FROM jobs WHERE status IN (`+marks+`) ORDER BY id`, args...)
}

// LastJob returns the newest job of a kind in one of the given states (any
// state when none is given) whose error contains errorHas ("": any error or
// none), or ErrNotFound.
func (s *Store) LastJob(ctx context.Context, kind, errorHas string, statuses ...string) (Job, error) {
	js, err := s.JobsOf(ctx, kind, errorHas, 1, statuses...)
	if err != nil {
		return Job{}, err
	}
	if len(js) == 0 {
		return Job{}, ErrNotFound
	}
	return js[0], nil
}

// JobsOf lists, newest first and at most limit, the jobs of a kind in one of
// the given states (any state when none is given) whose error contains
// errorHas ("": any error or none), without their steps.
func (s *Store) JobsOf(ctx context.Context, kind, errorHas string, limit int, statuses ...string) ([]Job, error) {
	where, args := "kind = ?", []any{kind}
	if len(statuses) > 0 {
		where += " AND status IN (" + strings.TrimSuffix(strings.Repeat("?,", len(statuses)), ",") + ")"
		for _, st := range statuses {
			args = append(args, st)
		}
	}
	if errorHas != "" {
		// Job errors are text the console wrote, never a pattern: escape
		// LIKE's wildcards anyway.
		where += ` AND error LIKE ? ESCAPE '\'`
		args = append(args, "%"+likeEscaper.Replace(errorHas)+"%")
	}
	top, tail := s.limit(limit)
	return s.jobs(ctx, `SELECT `+top+jobColumns+` FROM jobs WHERE `+where+` ORDER BY id DESC`+tail, args...)
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`, `[`, `\[`)

const jobColumns = `id, kind, status, params, created_by, created_at, started_at, finished_at, error, retry_of`

func (s *Store) jobs(ctx context.Context, query string, args ...any) ([]Job, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list jobs: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to list jobs: %w", err)
	}
	return out, nil
}
