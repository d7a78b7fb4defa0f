package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"sync"
)

// PendingKind is one (operation, kind) pair of pending exports.
type PendingKind struct{ Op, Kind string }

// settingPendingStamp names the setting that every transaction writing the
// pending exports changes (pendingWritten): the pending counts are counted
// again only when it has changed, by this process or another (`hybridsync
// sync` beside the console).
const settingPendingStamp = "mv_pending_stamp"

// pendingTally is the last counts PendingTally read, with the stamp they
// were read under.
type pendingTally struct {
	mu     sync.Mutex
	stamp  string
	read   bool
	counts map[PendingKind]int
}

// pendingWritten marks, inside a transaction that writes mv_pending, that
// the pending exports changed: a new stamp, rolled back with the rest.
func (t *Tx) pendingWritten(ctx context.Context) error {
	return t.setSetting(ctx, settingPendingStamp, rand.Text())
}

// PendingStamp says which state of the pending exports the store holds: it
// changes with every transaction that writes them, in any process. What was
// read from the pending exports under one stamp holds until it changes
// (read the stamp first, then the rows).
func (s *Store) PendingStamp(ctx context.Context) (string, error) {
	return s.stamp(ctx, settingPendingStamp)
}

// stamp reads a stamp setting ("" before the first write).
func (s *Store) stamp(ctx context.Context, name string) (string, error) {
	var stamp string
	err := s.queryRow(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&stamp)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("store: unable to read %s: %w", name, err)
	}
	return stamp, nil
}

// PendingTally counts pending exports by operation and kind, from the
// (op, kind) index alone: the staging review's counts without reading a
// change. The counts are kept until a write changes the pending exports;
// counting a million index entries costs about 100 ms, reading the stamp a
// row.
func (s *Store) PendingTally(ctx context.Context) (map[PendingKind]int, error) {
	// The stamp is read before the counts: a write that commits between
	// the two leaves counts newer than their stamp, which only costs the
	// next call a count.
	stamp, err := s.PendingStamp(ctx)
	if err != nil {
		return nil, err
	}
	s.tally.mu.Lock()
	if s.tally.read && s.tally.stamp == stamp {
		out := maps.Clone(s.tally.counts)
		s.tally.mu.Unlock()
		return out, nil
	}
	s.tally.mu.Unlock()
	counts, err := s.countPending(ctx)
	if err != nil {
		return nil, err
	}
	s.tally.mu.Lock()
	s.tally.stamp, s.tally.read, s.tally.counts = stamp, true, counts
	s.tally.mu.Unlock()
	return maps.Clone(counts), nil
}

func (s *Store) countPending(ctx context.Context) (map[PendingKind]int, error) {
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
