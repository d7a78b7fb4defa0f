package store

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
)

// settingErrorsStamp names the setting every transaction that records or
// resolves sync errors changes (errorsWritten), as settingPendingStamp does
// for the pending exports.
const settingErrorsStamp = "export_errors_stamp"

func (t *Tx) errorsWritten(ctx context.Context) error {
	return t.setSetting(ctx, settingErrorsStamp, rand.Text())
}

// SyncErrorsStamp says which state of the sync errors the store holds: it
// changes with every transaction that records or resolves one, in any
// process (read it first, then the errors).
func (s *Store) SyncErrorsStamp(ctx context.Context) (string, error) {
	return s.stamp(ctx, settingErrorsStamp)
}

// CountSyncErrors counts the open sync errors.
func (s *Store) CountSyncErrors(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM export_errors WHERE resolved_at = 0`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: unable to count the sync errors: %w", err)
	}
	return n, nil
}

// SyncErrorFilter selects a page of the open sync errors.
type SyncErrorFilter struct {
	// Attribute is the attribute in error ("": any).
	Attribute string
	// Text matches the object, the value or the holder (case-insensitive
	// on SQLite for ASCII; by the column's collation on SQL Server).
	Text string
	// Offset and Limit page the errors, newest first.
	Offset, Limit int
}

// SyncErrorPage lists a page of the open sync errors the filter selects,
// newest first, and how many it selects in all.
func (s *Store) SyncErrorPage(ctx context.Context, f SyncErrorFilter) ([]SyncError, int, error) {
	where, args := []string{"resolved_at = 0"}, []any{}
	if f.Attribute != "" {
		where, args = append(where, "attribute = ?"), append(args, f.Attribute)
	}
	if t := strings.TrimSpace(f.Text); t != "" {
		like := "%" + likeEscaper.Replace(t) + "%"
		where = append(where, `(source LIKE ? ESCAPE '\' OR value LIKE ? ESCAPE '\' OR holder LIKE ? ESCAPE '\')`)
		args = append(args, like, like, like)
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM export_errors WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: unable to count the sync errors: %w", err)
	}
	if f.Limit <= 0 {
		f.Limit = 200
	}
	// Both dialects page with OFFSET … FETCH (SQLite takes LIMIT … OFFSET).
	page := ` LIMIT ? OFFSET ?`
	pargs := append(append([]any{}, args...), f.Limit, max(f.Offset, 0))
	if s.dialect == SQLServer {
		page = ` OFFSET ? ROWS FETCH NEXT ? ROWS ONLY`
		pargs = append(append([]any{}, args...), max(f.Offset, 0), f.Limit)
	}
	rows, err := s.query(ctx, `SELECT `+syncErrorColumns+` FROM export_errors WHERE `+cond+` ORDER BY last_seen DESC, id DESC`+page, pargs...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: unable to list sync errors: %w", err)
	}
	out, err := scanSyncErrors(rows)
	return out, total, err
}

// ExportedRef is an object the export put in the tenant, found by its
// cloud id.
type ExportedRef struct {
	Key    string // its metaverse key (sourceAnchor)
	Kind   string
	Source string // its connector and DN
}

// ExportedByCloudID finds the exported objects with these cloud ids (the
// holders of sync errors' values, when they are hybridsync's own).
func (s *Store) ExportedByCloudID(ctx context.Context, ids []string) (map[string]ExportedRef, error) {
	out := map[string]ExportedRef{}
	var args []any
	for _, id := range ids {
		if id != "" {
			args = append(args, id)
		}
	}
	for len(args) > 0 {
		n := min(len(args), 500)
		rows, err := s.query(ctx, `SELECT cloud_id, mv_key, kind, source FROM mv_exported WHERE cloud_id IN (`+marks(n)+`)`, args[:n]...)
		if err != nil {
			return nil, fmt.Errorf("store: unable to find exported objects by cloud id: %w", err)
		}
		for rows.Next() {
			var id string
			var ref ExportedRef
			if err := rows.Scan(&id, &ref.Key, &ref.Kind, &ref.Source); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store: unable to find exported objects by cloud id: %w", err)
			}
			out[id] = ref
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		args = args[n:]
	}
	return out, nil
}

// OpenSyncErrorsOf lists the open sync errors of these objects (by their
// keys), newest first: an object's own errors however many others are open.
func (s *Store) OpenSyncErrorsOf(ctx context.Context, keys []string) ([]SyncError, error) {
	// The keys are looked up by their index: with an ORDER BY, or with
	// resolved_at's index usable, SQLite (without statistics) walks every
	// open error instead; the unary plus keeps it off that index.
	open := "resolved_at = 0"
	if s.dialect == SQLite {
		open = "+resolved_at = 0"
	}
	var out []SyncError
	for len(keys) > 0 {
		n := min(len(keys), 500)
		args := make([]any, n)
		for i, k := range keys[:n] {
			args[i] = k
		}
		keys = keys[n:]
		rows, err := s.queryIn(ctx, `SELECT `+syncErrorColumns+` FROM export_errors
			WHERE object_key IN (%s) AND `+open, args)
		if err != nil {
			return nil, fmt.Errorf("store: unable to list the sync errors of %d objects: %w", n, err)
		}
		errs, err := scanSyncErrors(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, errs...)
	}
	slices.SortFunc(out, func(a, b SyncError) int {
		return cmp.Or(b.LastSeen.Compare(a.LastSeen), cmp.Compare(b.ID, a.ID))
	})
	return out, nil
}
