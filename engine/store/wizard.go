package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// WizardState is the setup wizard's saved progress: the page the admin is on, every
// answer so far (JSON, owned by engine/setup) and the pages passed with Next.
type WizardState struct {
	Page      string
	Answers   []byte
	DonePages []byte
	UpdatedAt time.Time
	UpdatedBy string
}

// WizardState returns the saved progress, or ErrNotFound before the first save.
func (s *Store) WizardState(ctx context.Context) (WizardState, error) {
	var w WizardState
	var at int64
	var answers, done string
	err := s.queryRow(ctx, `SELECT page, answers, done_pages, updated_at, updated_by FROM wizard_state WHERE id = 1`).
		Scan(&w.Page, &answers, &done, &at, &w.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return WizardState{}, ErrNotFound
	}
	if err != nil {
		return WizardState{}, fmt.Errorf("store: unable to read the wizard state: %w", err)
	}
	w.Answers, w.DonePages, w.UpdatedAt = []byte(answers), []byte(done), time.UnixMilli(at)
	return w, nil
}

// SaveWizardState replaces the saved progress, saved now unless w says when
// (UpdatedAt: a draft discarded goes back to when its configuration was applied).
func (s *Store) SaveWizardState(ctx context.Context, w WizardState) error {
	at := s.millis()
	if !w.UpdatedAt.IsZero() {
		at = w.UpdatedAt.UnixMilli()
	}
	return s.tx(ctx, func(t *Tx) error {
		res, err := t.exec(ctx, `UPDATE wizard_state SET page = ?, answers = ?, done_pages = ?, updated_at = ?, updated_by = ? WHERE id = 1`,
			w.Page, string(w.Answers), string(w.DonePages), at, w.UpdatedBy)
		if err != nil {
			return fmt.Errorf("store: unable to save the wizard state: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		// Single writer (SQLite) or the write transaction (SQL Server) keeps this
		// insert from racing another.
		if _, err := t.exec(ctx, `INSERT INTO wizard_state (id, page, answers, done_pages, updated_at, updated_by) VALUES (1, ?, ?, ?, ?, ?)`,
			w.Page, string(w.Answers), string(w.DonePages), at, w.UpdatedBy); err != nil {
			return fmt.Errorf("store: unable to save the wizard state: %w", err)
		}
		return nil
	})
}

// Configuration is a configuration the configure job applied.
type Configuration struct {
	ID        int64
	InstallID string
	Answers   []byte
	Active    bool
	AppliedAt time.Time
	AppliedBy string
	JobID     int64
}

// SaveActiveConfiguration stores c as the one active configuration.
func (s *Store) SaveActiveConfiguration(ctx context.Context, c Configuration) (int64, error) {
	var id int64
	err := s.tx(ctx, func(t *Tx) error {
		if _, err := t.exec(ctx, `UPDATE configurations SET active = 0 WHERE active = 1`); err != nil {
			return fmt.Errorf("store: unable to retire the active configuration: %w", err)
		}
		var err error
		id, err = t.insertID(ctx, "configurations", "install_id, answers, active, applied_at, applied_by, job_id",
			c.InstallID, string(c.Answers), 1, s.millis(), c.AppliedBy, c.JobID)
		return err
	})
	return id, err
}

// ActiveConfiguration returns the active configuration, or ErrNotFound.
func (s *Store) ActiveConfiguration(ctx context.Context) (Configuration, error) {
	var c Configuration
	var at int64
	var answers string
	err := s.queryRow(ctx, `SELECT id, install_id, answers, applied_at, applied_by, job_id FROM configurations WHERE active = 1`).
		Scan(&c.ID, &c.InstallID, &answers, &at, &c.AppliedBy, &c.JobID)
	if errors.Is(err, sql.ErrNoRows) {
		return Configuration{}, ErrNotFound
	}
	if err != nil {
		return Configuration{}, fmt.Errorf("store: unable to read the active configuration: %w", err)
	}
	c.Active, c.Answers, c.AppliedAt = true, []byte(answers), time.UnixMilli(at)
	return c, nil
}

// ErrNoSchema is returned when a database has no hybridsync tables at all.
var ErrNoSchema = errors.New("store: not a hybridsync database (no schema)")

// HoldsConfigurationOf reports whether the store holds a configuration made by an
// install other than installID — the "database already contains data" case. An
// empty database returns ErrNoSchema.
func (s *Store) HoldsConfigurationOf(ctx context.Context, installID string) (bool, error) {
	empty, err := s.empty(ctx)
	if err != nil {
		return false, err
	}
	if empty {
		return false, ErrNoSchema
	}
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM configurations WHERE install_id <> ?`, installID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: unable to look for an earlier configuration: %w", err)
	}
	return n > 0, nil
}

// empty reports whether the database has no tables of its own. The catalogue
// differs: SQLite lists tables in sqlite_master, SQL Server in sys.tables.
func (s *Store) empty(ctx context.Context) (bool, error) {
	query := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'`
	if s.dialect == SQLServer {
		query = `SELECT COUNT(*) FROM sys.tables WHERE is_ms_shipped = 0`
	}
	var n int
	if err := s.queryRow(ctx, query).Scan(&n); err != nil {
		return false, fmt.Errorf("store: unable to list tables: %w", err)
	}
	return n == 0, nil
}
