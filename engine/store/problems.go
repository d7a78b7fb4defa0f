package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Problem is a warning or an error a job met, kept apart from its log so
// that the job's page and the run history list it once, with what to do
// (migrations/*/011_outcomes.sql).
type Problem struct {
	JobID int64
	// Name identifies the problem within its job: met again, it is counted,
	// not listed again.
	Name string
	// Step is the job step's position (0: the job itself).
	Step    int
	Level   string // outcome.LevelWarn or outcome.LevelError
	Message string
	Action  string
	// Times counts how often the job met it.
	Times int
	At    time.Time
}

// maxProblemName bounds a problem's name (the SQL Server key is 400 characters).
const maxProblemName = 200

// AddProblem records a problem of a job, or counts it once more when the
// job met it already; it returns how often the job has met it now.
func (s *Store) AddProblem(ctx context.Context, p Problem) (int, error) {
	name := p.Name
	if len(name) > maxProblemName {
		name = name[:maxProblemName]
	}
	times := 0
	err := s.tx(ctx, func(t *Tx) error {
		err := t.queryRow(ctx, `SELECT times FROM job_problems WHERE job_id = ? AND name = ?`, p.JobID, name).Scan(&times)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			times = 1
			at := p.At
			if at.IsZero() {
				at = s.now()
			}
			_, err = t.exec(ctx, `INSERT INTO job_problems (job_id, name, step, level, message, action, times, first_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)`,
				p.JobID, name, p.Step, p.Level, p.Message, p.Action, at.UnixMilli())
		case err == nil:
			times++
			_, err = t.exec(ctx, `UPDATE job_problems SET times = ? WHERE job_id = ? AND name = ?`, times, p.JobID, name)
		}
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: unable to record a problem of job %d: %w", p.JobID, err)
	}
	return times, nil
}

// Problems lists the problems of the jobs, each job's errors first, then
// its warnings, each in the order they were first met.
func (s *Store) Problems(ctx context.Context, jobIDs ...int64) (map[int64][]Problem, error) {
	out := map[int64][]Problem{}
	if len(jobIDs) == 0 {
		return out, nil
	}
	args := make([]any, len(jobIDs))
	for i, id := range jobIDs {
		args[i] = id
	}
	rows, err := s.query(ctx, `SELECT job_id, name, step, level, message, action, times, first_at FROM job_problems
		WHERE job_id IN (`+marks(len(jobIDs))+`) ORDER BY job_id, level, first_at, step, name`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the problems of jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p Problem
		var at int64
		if err := rows.Scan(&p.JobID, &p.Name, &p.Step, &p.Level, &p.Message, &p.Action, &p.Times, &at); err != nil {
			return nil, fmt.Errorf("store: unable to read the problems of jobs: %w", err)
		}
		p.At = time.UnixMilli(at)
		out[p.JobID] = append(out[p.JobID], p)
	}
	return out, rows.Err()
}

// Condition is something that stays true between runs until something
// changes it — a right the connector account lacks, changes Microsoft Graph
// can't make: the job that first meets it says so, later ones don't, and
// the Overview shows it until it clears.
type Condition struct {
	Name    string
	Level   string
	Message string
	Action  string
	// Fingerprint is what the condition was when it was last said: met
	// with another fingerprint, it is said again.
	Fingerprint string
	Since, Seen time.Time
	// JobID is the job that last met it.
	JobID int64
}

// MeetCondition records that a job met a condition; it reports whether the
// condition is news — it was not open, or its fingerprint changed — and so
// must be said.
func (s *Store) MeetCondition(ctx context.Context, c Condition) (news bool, err error) {
	now := s.millis()
	err = s.tx(ctx, func(t *Tx) error {
		var fp string
		err := t.queryRow(ctx, `SELECT fingerprint FROM conditions WHERE name = ?`, c.Name).Scan(&fp)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			news = true
			_, err = t.exec(ctx, `INSERT INTO conditions (name, level, message, action, fingerprint, since, seen, job_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
				c.Name, c.Level, c.Message, c.Action, c.Fingerprint, now, now, c.JobID)
		case err == nil:
			news = fp != c.Fingerprint
			_, err = t.exec(ctx, `UPDATE conditions SET level = ?, message = ?, action = ?, fingerprint = ?, seen = ?, job_id = ? WHERE name = ?`,
				c.Level, c.Message, c.Action, c.Fingerprint, now, c.JobID, c.Name)
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("store: unable to record condition %s: %w", c.Name, err)
	}
	return news, nil
}

// ClearConditions ends the conditions with a name or, with prefix true,
// every condition whose name starts with it; it returns how many it ended.
func (s *Store) ClearConditions(ctx context.Context, name string, prefix bool) (int, error) {
	q, arg := `DELETE FROM conditions WHERE name = ?`, name
	if prefix {
		q, arg = `DELETE FROM conditions WHERE name LIKE ? ESCAPE '\'`, likeEscaper.Replace(name)+"%"
	}
	res, err := s.exec(ctx, q, arg)
	if err != nil {
		return 0, fmt.Errorf("store: unable to clear condition %s: %w", name, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Conditions lists the open conditions whose name starts with prefix (""
// for all), errors first, then by name.
func (s *Store) Conditions(ctx context.Context, prefix string) ([]Condition, error) {
	rows, err := s.query(ctx, `SELECT name, level, message, action, fingerprint, since, seen, job_id FROM conditions
		WHERE name LIKE ? ESCAPE '\' ORDER BY level, name`, likeEscaper.Replace(prefix)+"%")
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the conditions: %w", err)
	}
	defer rows.Close()
	var out []Condition
	for rows.Next() {
		var c Condition
		var since, seen int64
		if err := rows.Scan(&c.Name, &c.Level, &c.Message, &c.Action, &c.Fingerprint, &since, &seen, &c.JobID); err != nil {
			return nil, fmt.Errorf("store: unable to read the conditions: %w", err)
		}
		c.Since, c.Seen = time.UnixMilli(since), time.UnixMilli(seen)
		out = append(out, c)
	}
	return out, rows.Err()
}
