package store

import (
	"context"
	"slices"
	"testing"
)

// Migration 011 rewrites the status words of earlier versions into the six
// outcomes: a store upgraded in place shows its old runs with the new words.
func TestMigrateRewritesOldStatusWords(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Options{Dialect: SQLite, DSN: SQLitePath(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	migrateTo(t, s, 10)
	for _, q := range []string{
		`INSERT INTO export_runs (started_at, finished_at, status, staging, adds, updates, deletes, memberships, errors, writes, throttled_ms, pending_deletes, message, progress_at) VALUES (1, 2, 'success', 0, 0, 0, 0, 0, 0, 0, 0, '[]', '', 0)`,
		`INSERT INTO export_runs (started_at, finished_at, status, staging, adds, updates, deletes, memberships, errors, writes, throttled_ms, pending_deletes, message, progress_at) VALUES (3, 4, 'staged', 1, 0, 0, 0, 0, 0, 0, 0, '[]', '', 0)`,
		`INSERT INTO export_runs (started_at, finished_at, status, staging, adds, updates, deletes, memberships, errors, writes, throttled_ms, pending_deletes, message, progress_at) VALUES (5, 6, 'stopped-deletion-threshold-exceeded', 0, 0, 0, 0, 0, 0, 0, 0, '[]', '', 0)`,
		`INSERT INTO jobs (kind, status, params, created_by, created_at, started_at, finished_at, error, retry_of) VALUES ('sync', 'failed', '{}', 't', 1, 1, 2, 'Export to Microsoft Entra ID: stopped-deletion-threshold-exceeded: 600 deletes', 0)`,
		`INSERT INTO jobs (kind, status, params, created_by, created_at, started_at, finished_at, error, retry_of) VALUES ('sync', 'failed', '{}', 't', 1, 1, 2, 'Import corp: unreachable', 0)`,
		`INSERT INTO run_steps (job_id, position, connector, step, started_at, finished_at, status, processed, adds, updates, deletes, memberships, errors, note) VALUES (1, 1, 'x', 'review', 1, 2, 'staged', 0, 0, 0, 0, 0, 0, '')`,
	} {
		if _, err := s.exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	words := func(q string) []string {
		rows, err := s.query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var w string
			if err := rows.Scan(&w); err != nil {
				t.Fatal(err)
			}
			out = append(out, w)
		}
		return out
	}
	for _, tt := range []struct {
		query string
		want  []string
	}{
		{`SELECT status FROM export_runs ORDER BY started_at`, []string{"succeeded", "succeeded", "stopped"}},
		{`SELECT status FROM jobs ORDER BY id`, []string{"stopped", "failed"}},
		{`SELECT status FROM run_steps`, []string{"succeeded"}},
	} {
		if got := words(tt.query); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.query, got, tt.want)
		}
	}
}
