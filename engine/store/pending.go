package store

import (
	"context"
	"fmt"
)

// PendingKind is one (operation, kind) pair of pending exports.
type PendingKind struct{ Op, Kind string }

// PendingTally counts pending exports by operation and kind, from the
// (op, kind) index alone: the staging review's counts without reading a
// change.
func (s *Store) PendingTally(ctx context.Context) (map[PendingKind]int, error) {
	rows, err := s.query(ctx, `SELECT op, kind, COUNT(*) FROM mv_pending GROUP BY op, kind`)
	if err != nil {
		return nil, fmt.Errorf("store: unable to count pending exports: %w", err)
	}
	defer rows.Close()
	out := map[PendingKind]int{}
	for rows.Next() {
		var k PendingKind
		var n int
		if err := rows.Scan(&k.Op, &k.Kind, &n); err != nil {
			return nil, fmt.Errorf("store: unable to count pending exports: %w", err)
		}
		out[k] = n
	}
	return out, rows.Err()
}
