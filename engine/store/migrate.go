package store

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/hybridsync/hybridsync/migrations"
)

// Migration is one numbered schema change of one dialect.
type Migration struct {
	Version     int
	Description string
	SQL         string
}

// Migrations lists the embedded migrations of a dialect in order.
func Migrations(d Dialect) ([]Migration, error) {
	dir := string(d)
	entries, err := fs.ReadDir(migrations.FS, dir)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list %s migrations: %w", d, err)
	}
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, desc, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration %s is not named NNN_description.sql", name)
		}
		body, err := fs.ReadFile(migrations.FS, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("store: unable to read migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Description: strings.ReplaceAll(desc, "_", " "), SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("store: %s migrations skip from %d to %d", d, i, m.Version)
		}
	}
	return out, nil
}

// createVersionTable is the one statement the migrations cannot hold themselves.
// SQL Server has no CREATE TABLE IF NOT EXISTS, so it tests OBJECT_ID first.
func (s *Store) createVersionTable(ctx context.Context) error {
	if _, err := s.exec(ctx, versionTableSQL(s.dialect)); err != nil {
		return fmt.Errorf("store: unable to create schema_migrations: %w", err)
	}
	return nil
}

// versionTableSQL is createVersionTable's statement for a dialect (a test parses
// both and compares them).
func versionTableSQL(d Dialect) string {
	if d == SQLServer {
		return `IF OBJECT_ID(N'dbo.schema_migrations', N'U') IS NULL
		CREATE TABLE schema_migrations (
		version BIGINT NOT NULL PRIMARY KEY, description NVARCHAR(256) NOT NULL, applied_at BIGINT NOT NULL)`
	}
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)`
}

// SchemaVersion returns the applied version and the newest embedded one.
func (s *Store) SchemaVersion(ctx context.Context) (applied, latest int, err error) {
	ms, err := Migrations(s.dialect)
	if err != nil {
		return 0, 0, err
	}
	if err := s.createVersionTable(ctx); err != nil {
		return 0, 0, err
	}
	var v int64
	if err := s.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, 0, fmt.Errorf("store: unable to read the schema version: %w", err)
	}
	return int(v), len(ms), nil
}

// Migrate applies every pending migration, each in its own transaction together
// with its row in schema_migrations, and returns how many it applied.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	applied, _, err := s.SchemaVersion(ctx)
	if err != nil {
		return 0, err
	}
	ms, err := Migrations(s.dialect)
	if err != nil {
		return 0, err
	}
	if applied > len(ms) {
		// A newer hybridsync migrated this database; never touch it.
		return 0, ErrSchemaOutOfDate{Applied: applied, Latest: len(ms)}
	}
	n := 0
	for _, m := range ms[applied:] {
		err := s.tx(ctx, func(t *Tx) error {
			for _, stmt := range splitStatements(m.SQL) {
				if _, err := t.exec(ctx, stmt); err != nil {
					return fmt.Errorf("store: migration %03d (%s) failed: %w", m.Version, m.Description, err)
				}
			}
			_, err := t.exec(ctx, `INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Description, s.millis())
			return err
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// ErrSchemaOutOfDate is returned by CheckSchema when migrations are pending.
type ErrSchemaOutOfDate struct{ Applied, Latest int }

func (e ErrSchemaOutOfDate) Error() string {
	if e.Applied > e.Latest {
		return fmt.Sprintf("store: the database schema is version %d, newer than this hybridsync (%d); use a newer build", e.Applied, e.Latest)
	}
	return fmt.Sprintf("store: the database schema is version %d of %d; run `hybridsync migrate` (or serve with --migrate) first", e.Applied, e.Latest)
}

// CheckSchema fails unless the schema is exactly up to date.
func (s *Store) CheckSchema(ctx context.Context) error {
	applied, latest, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if applied != latest {
		return ErrSchemaOutOfDate{Applied: applied, Latest: latest}
	}
	return nil
}

// splitStatements splits a migration into statements at semicolons that end a
// line. Comments are dropped. Migrations hold no procedures, and write each
// trigger on one line (its inner semicolons end no line), so this is enough for
// both dialects (SQL Server's GO is a client convention, not SQL).
func splitStatements(body string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(body, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") || trimmed == "" {
			continue
		}
		cur.WriteString(line)
		cur.WriteString("\n")
		if strings.HasSuffix(trimmed, ";") {
			stmt := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			out = append(out, stmt)
			cur.Reset()
		}
	}
	if rest := strings.TrimSpace(cur.String()); rest != "" {
		out = append(out, rest)
	}
	return out
}
