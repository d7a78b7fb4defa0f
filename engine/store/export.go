package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ---- exported objects -----------------------------------------------------------

// ExportObject is what one object hybridsync exports is in the tenant, as
// the export reads and writes it: its row of mv_exported, the one record of
// the object in the tenant (export_objects folded into it: migration
// one_export_record), which the metaverse's exported state (MVExported) is
// read from too.
type ExportObject struct {
	Key     string // the sourceAnchor (metaverse.Change.Key)
	Kind    string
	CloudID string // "" while a create was sent but not confirmed
	// Attrs are the attributes as exported: as Graph confirmed them until
	// the metaverse recorded the object (Recorded), then the metaverse's.
	Attrs map[string][]string
	// Lookup holds what a re-run searches the tenant with when a create was
	// sent but not confirmed (e.g. a group's mailNickname and displayName).
	Lookup          map[string]string
	CreateStartedAt time.Time
	ExportedAt      time.Time
	// Recorded: the metaverse recorded the object as exported
	// (RecordExported), so the next sync diffs against it. An object only
	// the export wrote (a create in flight, or created or matched but not
	// yet recorded) is not part of the metaverse's exported state.
	Recorded bool
}

// maxInList bounds the placeholders of one IN list (SQL Server takes at most
// 2,100 parameters in a statement).
const maxInList = 500

// ExportObjects returns the export state of the given keys, by key; keys
// without state are absent from the map. Objects the metaverse has not
// recorded yet (a create in flight) are included.
func (s *Store) ExportObjects(ctx context.Context, keys []string) (map[string]ExportObject, error) {
	out := make(map[string]ExportObject, len(keys))
	for start := 0; start < len(keys); start += maxInList {
		part := keys[start:min(start+maxInList, len(keys))]
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		rows, err := s.queryIn(ctx, `SELECT mv_key, kind, cloud_id, attrs, lookup, create_started_at, exported_at, recorded
			FROM mv_exported WHERE mv_key IN (%s)`, args)
		if err != nil {
			return nil, fmt.Errorf("store: unable to read export objects: %w", err)
		}
		for rows.Next() {
			o, err := scanExportObject(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[o.Key] = o
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("store: unable to read export objects: %w", err)
		}
	}
	return out, nil
}

func marks(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// queryIn runs a query whose `IN (%s)` takes args: one key (a helpdesk
// lookup's) through the prepared-statement cache, more directly — each
// length of the list would be a statement of its own in the cache.
func (s *Store) queryIn(ctx context.Context, query string, args []any) (*sql.Rows, error) {
	query = strings.Replace(query, "%s", marks(len(args)), 1)
	if len(args) == 1 {
		return s.query(ctx, query, args...)
	}
	return s.r.QueryContext(ctx, s.q(query), args...)
}

func scanExportObject(rows *sql.Rows) (ExportObject, error) {
	var o ExportObject
	var attrs, lookup string
	var started, exported, recorded int64
	if err := rows.Scan(&o.Key, &o.Kind, &o.CloudID, &attrs, &lookup, &started, &exported, &recorded); err != nil {
		return o, fmt.Errorf("store: unable to read an export object: %w", err)
	}
	if err := parseJSONAttrs(attrs, &o.Attrs); err != nil {
		return o, fmt.Errorf("store: export object %s has unreadable attributes: %w", o.Key, err)
	}
	if err := json.Unmarshal([]byte(lookup), &o.Lookup); err != nil {
		return o, fmt.Errorf("store: export object %s has an unreadable lookup: %w", o.Key, err)
	}
	o.CreateStartedAt, o.ExportedAt, o.Recorded = fromMillis(started), fromMillis(exported), recorded != 0
	return o, nil
}

// CountExportObjects counts the objects hybridsync has in the tenant (the
// base of the deletion guard's percentage): those with a cloud id, recorded
// by the metaverse or not; a create in flight is not one yet.
func (s *Store) CountExportObjects(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM mv_exported WHERE cloud_id <> ''`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: unable to count export objects: %w", err)
	}
	return n, nil
}

// BeginExportCreates records that creates are about to be sent, before they
// are: a key that already has a row keeps all of it (a confirmed cloud id,
// the metaverse's exported state) but for the lookup and the start time.
// A new row is not recorded: the metaverse still sees no exported object.
func (s *Store) BeginExportCreates(ctx context.Context, objs []ExportObject) error {
	now := s.millis()
	return s.tx(ctx, func(t *Tx) error {
		for _, o := range objs {
			lookup, err := json.Marshal(nonNilLookup(o.Lookup))
			if err != nil {
				return fmt.Errorf("store: unable to encode the lookup of %s: %w", o.Key, err)
			}
			query := `INSERT INTO mv_exported (mv_key, kind, cloud_id, source, attrs, exported_at, lookup, create_started_at, recorded)
				VALUES (?, ?, '', '', '{}', 0, ?, ?, 0)
				ON CONFLICT(mv_key) DO UPDATE SET lookup = excluded.lookup, create_started_at = excluded.create_started_at`
			if t.s.dialect == SQLServer {
				// SQL Server has no ON CONFLICT; MERGE is its one-statement upsert.
				query = `MERGE mv_exported WITH (HOLDLOCK) AS t
					USING (SELECT ? AS mv_key, ? AS kind, ? AS lookup, ? AS create_started_at) AS src ON t.mv_key = src.mv_key
					WHEN MATCHED THEN UPDATE SET lookup = src.lookup, create_started_at = src.create_started_at
					WHEN NOT MATCHED THEN INSERT (mv_key, kind, cloud_id, source, attrs, exported_at, lookup, create_started_at, recorded)
						VALUES (src.mv_key, src.kind, '', '', '{}', 0, src.lookup, src.create_started_at, 0);`
			}
			if _, err := t.exec(ctx, query, o.Key, o.Kind, string(lookup), now); err != nil {
				return fmt.Errorf("store: unable to record the create of %s: %w", o.Key, err)
			}
		}
		return nil
	})
}

func nonNilLookup(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// SaveExportObjects records objects Graph confirmed (created, matched or
// updated): their cloud id, and the pending create, if any, ends. The
// attributes (and kind) are saved only while the metaverse has not recorded
// the object: once it has, they are its exported state, which RecordExported
// alone changes (with the values the metaverse diffs, where Graph's may be
// spelled otherwise or leave read-only properties out).
func (s *Store) SaveExportObjects(ctx context.Context, objs []ExportObject) error {
	now := s.millis()
	return s.tx(ctx, func(t *Tx) error {
		for _, o := range objs {
			if o.Attrs == nil {
				o.Attrs = map[string][]string{}
			}
			attrs, err := json.Marshal(o.Attrs)
			if err != nil {
				return fmt.Errorf("store: unable to encode the attributes of %s: %w", o.Key, err)
			}
			query := `INSERT INTO mv_exported (mv_key, kind, cloud_id, source, attrs, exported_at, lookup, create_started_at, recorded)
				VALUES (?, ?, ?, '', ?, ?, '{}', 0, 0)
				ON CONFLICT(mv_key) DO UPDATE SET cloud_id = excluded.cloud_id, exported_at = excluded.exported_at,
					lookup = '{}', create_started_at = 0,
					kind = CASE WHEN recorded = 0 THEN excluded.kind ELSE kind END,
					attrs = CASE WHEN recorded = 0 THEN excluded.attrs ELSE attrs END`
			if t.s.dialect == SQLServer {
				// SQL Server has no ON CONFLICT; MERGE is its one-statement upsert.
				query = `MERGE mv_exported WITH (HOLDLOCK) AS t
					USING (SELECT ? AS mv_key, ? AS kind, ? AS cloud_id, ? AS attrs, ? AS exported_at) AS src ON t.mv_key = src.mv_key
					WHEN MATCHED THEN UPDATE SET cloud_id = src.cloud_id, exported_at = src.exported_at,
						lookup = '{}', create_started_at = 0,
						kind = CASE WHEN t.recorded = 0 THEN src.kind ELSE t.kind END,
						attrs = CASE WHEN t.recorded = 0 THEN src.attrs ELSE t.attrs END
					WHEN NOT MATCHED THEN INSERT (mv_key, kind, cloud_id, source, attrs, exported_at, lookup, create_started_at, recorded)
						VALUES (src.mv_key, src.kind, src.cloud_id, '', src.attrs, src.exported_at, '{}', 0, 0);`
			}
			if _, err := t.exec(ctx, query, o.Key, o.Kind, o.CloudID, string(attrs), now); err != nil {
				return fmt.Errorf("store: unable to record the export of %s: %w", o.Key, err)
			}
		}
		return nil
	})
}

// DeleteExportObjects forgets objects deleted from the tenant: their row
// and a group's confirmed memberships. The metaverse is told through
// RecordExported (which also ends the pending delete); until then the
// object is simply no longer exported.
func (s *Store) DeleteExportObjects(ctx context.Context, keys []string) error {
	return s.tx(ctx, func(t *Tx) error {
		for _, k := range keys {
			for _, q := range []string{`DELETE FROM mv_exported WHERE mv_key = ?`, `DELETE FROM mv_exported_members WHERE group_key = ?`} {
				if _, err := t.exec(ctx, q, k); err != nil {
					return fmt.Errorf("store: unable to forget export object %s: %w", k, err)
				}
			}
		}
		return nil
	})
}

// ---- sync errors ----------------------------------------------------------------

// SyncError is a value the cloud refused because another object holds it.
type SyncError struct {
	ID        int64
	Key       string // the object's sourceAnchor
	Kind      string
	Source    string // connector and DN, for the helpdesk
	Attribute string // userPrincipalName, proxyAddresses, …
	Value     string
	HolderID  string // the cloud id of the object that holds the value
	Holder    string // its userPrincipalName or display name
	Message   string
	FirstSeen time.Time
	LastSeen  time.Time
	// ResolvedAt is zero while the error is open.
	ResolvedAt time.Time
}

// RecordSyncErrors adds or refreshes errors: an open error of the same
// object and attribute is updated (value, holder, last seen).
func (s *Store) RecordSyncErrors(ctx context.Context, errs []SyncError) error {
	now := s.millis()
	return s.tx(ctx, func(t *Tx) error {
		for _, e := range errs {
			res, err := t.exec(ctx, `UPDATE export_errors SET kind = ?, source = ?, value = ?, holder_id = ?, holder = ?, message = ?, last_seen = ?
				WHERE object_key = ? AND attribute = ? AND resolved_at = 0`,
				e.Kind, e.Source, e.Value, e.HolderID, e.Holder, e.Message, now, e.Key, e.Attribute)
			if err != nil {
				return fmt.Errorf("store: unable to update the sync error of %s: %w", e.Key, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				continue
			}
			if _, err := t.insertID(ctx, "export_errors", "object_key, kind, source, attribute, value, holder_id, holder, message, first_seen, last_seen, resolved_at",
				e.Key, e.Kind, e.Source, e.Attribute, e.Value, e.HolderID, e.Holder, e.Message, now, now, 0); err != nil {
				return err
			}
		}
		if len(errs) == 0 {
			return nil
		}
		return t.errorsWritten(ctx)
	})
}

// ResolveSyncErrors closes the open errors of an object's attributes (all of
// its attributes when attrs is empty).
func (s *Store) ResolveSyncErrors(ctx context.Context, key string, attrs []string) error {
	now := s.millis()
	return s.tx(ctx, func(t *Tx) error {
		var resolved int64
		if len(attrs) == 0 {
			res, err := t.exec(ctx, `UPDATE export_errors SET resolved_at = ? WHERE object_key = ? AND resolved_at = 0`, now, key)
			if err != nil {
				return fmt.Errorf("store: unable to resolve the sync errors of %s: %w", key, err)
			}
			resolved, _ = res.RowsAffected()
		}
		for _, a := range attrs {
			res, err := t.exec(ctx, `UPDATE export_errors SET resolved_at = ? WHERE object_key = ? AND attribute = ? AND resolved_at = 0`, now, key, a)
			if err != nil {
				return fmt.Errorf("store: unable to resolve the sync error of %s: %w", key, err)
			}
			n, _ := res.RowsAffected()
			resolved += n
		}
		if resolved == 0 { // the usual case: an export with nothing in error
			return nil
		}
		return t.errorsWritten(ctx)
	})
}

// SyncErrors lists sync errors, the most recently seen first: the open ones
// only, or all of them; at most limit.
func (s *Store) SyncErrors(ctx context.Context, openOnly bool, limit int) ([]SyncError, error) {
	top, tail := s.limit(limit)
	where := ""
	if openOnly {
		where = "WHERE resolved_at = 0 "
	}
	rows, err := s.query(ctx, `SELECT `+top+syncErrorColumns+` FROM export_errors `+where+`ORDER BY last_seen DESC, id DESC`+tail)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list sync errors: %w", err)
	}
	return scanSyncErrors(rows)
}

const syncErrorColumns = `id, object_key, kind, source, attribute, value, holder_id, holder, message, first_seen, last_seen, resolved_at`

// scanSyncErrors reads rows of syncErrorColumns, and closes them.
func scanSyncErrors(rows *sql.Rows) ([]SyncError, error) {
	defer rows.Close()
	var out []SyncError
	for rows.Next() {
		var e SyncError
		var first, last, resolved int64
		if err := rows.Scan(&e.ID, &e.Key, &e.Kind, &e.Source, &e.Attribute, &e.Value, &e.HolderID, &e.Holder, &e.Message, &first, &last, &resolved); err != nil {
			return nil, fmt.Errorf("store: unable to read a sync error: %w", err)
		}
		e.FirstSeen, e.LastSeen, e.ResolvedAt = fromMillis(first), fromMillis(last), fromMillis(resolved)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to list sync errors: %w", err)
	}
	return out, nil
}

// ---- deletion guard -------------------------------------------------------------

// DefaultDeletionThreshold is Entra Connect's default (engine/entra has the
// same): an export that would delete more than 500 objects is stopped.
const DefaultDeletionThreshold = 500

// DeletionGuard is the deletion guard's settings and its one-shot allowance.
type DeletionGuard struct {
	Enabled   bool
	Threshold int // deletes per export; more stops the export
	Percent   int // of the exported objects; 0: no percentage limit
	// AllowDeletes > 0 lets the next export delete up to that many objects
	// once, whatever the threshold; AllowBy and AllowAt say who and when.
	AllowDeletes int
	AllowBy      string
	AllowAt      time.Time
	UpdatedAt    time.Time
	UpdatedBy    string
}

// DeletionGuard returns the guard's settings: the default (on, 500) when
// nobody changed them.
func (s *Store) DeletionGuard(ctx context.Context) (DeletionGuard, error) {
	var g DeletionGuard
	var enabled, allowAt, updated int64
	err := s.queryRow(ctx, `SELECT enabled, threshold, percent, allow_deletes, allow_by, allow_at, updated_at, updated_by FROM export_guard WHERE id = 1`).
		Scan(&enabled, &g.Threshold, &g.Percent, &g.AllowDeletes, &g.AllowBy, &allowAt, &updated, &g.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return DeletionGuard{Enabled: true, Threshold: DefaultDeletionThreshold}, nil
	}
	if err != nil {
		return g, fmt.Errorf("store: unable to read the deletion guard: %w", err)
	}
	g.Enabled, g.AllowAt, g.UpdatedAt = enabled != 0, fromMillis(allowAt), fromMillis(updated)
	return g, nil
}

// SetDeletionGuard changes the guard's settings (Enabled, Threshold,
// Percent); a one-shot allowance already given stays.
func (s *Store) SetDeletionGuard(ctx context.Context, g DeletionGuard, by string) error {
	if g.Threshold < 0 || g.Percent < 0 || g.Percent > 100 {
		return fmt.Errorf("store: invalid deletion guard: threshold %d, percent %d", g.Threshold, g.Percent)
	}
	return s.updateGuard(ctx, func(cur *DeletionGuard) {
		cur.Enabled, cur.Threshold, cur.Percent = g.Enabled, g.Threshold, g.Percent
		cur.UpdatedAt, cur.UpdatedBy = s.now(), by
	})
}

// AllowDeletesOnce lets the next export delete up to n objects whatever the
// threshold (n = 0 withdraws the allowance).
func (s *Store) AllowDeletesOnce(ctx context.Context, n int, by string) error {
	if n < 0 {
		return fmt.Errorf("store: invalid deletion allowance %d", n)
	}
	return s.updateGuard(ctx, func(cur *DeletionGuard) {
		cur.AllowDeletes, cur.AllowBy, cur.AllowAt = n, by, s.now()
	})
}

// UseDeleteAllowance spends the one-shot allowance: call it when an export
// that needed it starts.
func (s *Store) UseDeleteAllowance(ctx context.Context) error {
	return s.updateGuard(ctx, func(cur *DeletionGuard) { cur.AllowDeletes = 0 })
}

func (s *Store) updateGuard(ctx context.Context, change func(*DeletionGuard)) error {
	return s.tx(ctx, func(t *Tx) error {
		cur := DeletionGuard{Enabled: true, Threshold: DefaultDeletionThreshold}
		var enabled, allowAt, updated int64
		err := t.queryRow(ctx, `SELECT enabled, threshold, percent, allow_deletes, allow_by, allow_at, updated_at, updated_by FROM export_guard WHERE id = 1`).
			Scan(&enabled, &cur.Threshold, &cur.Percent, &cur.AllowDeletes, &cur.AllowBy, &allowAt, &updated, &cur.UpdatedBy)
		exists := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: unable to read the deletion guard: %w", err)
		}
		if exists {
			cur.Enabled, cur.AllowAt, cur.UpdatedAt = enabled != 0, fromMillis(allowAt), fromMillis(updated)
		}
		change(&cur)
		args := []any{boolInt(cur.Enabled), cur.Threshold, cur.Percent, cur.AllowDeletes, cur.AllowBy, toMillis(cur.AllowAt), toMillis(cur.UpdatedAt), cur.UpdatedBy}
		if exists {
			_, err = t.exec(ctx, `UPDATE export_guard SET enabled = ?, threshold = ?, percent = ?, allow_deletes = ?, allow_by = ?, allow_at = ?, updated_at = ?, updated_by = ? WHERE id = 1`, args...)
		} else {
			_, err = t.exec(ctx, `INSERT INTO export_guard (id, enabled, threshold, percent, allow_deletes, allow_by, allow_at, updated_at, updated_by) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		}
		if err != nil {
			return fmt.Errorf("store: unable to save the deletion guard: %w", err)
		}
		return nil
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ---- export runs ----------------------------------------------------------------

// ExportRun is one export: its outcome and counts.
type ExportRun struct {
	ID         int64
	StartedAt  time.Time
	FinishedAt time.Time // zero while it runs
	Status     string    // engine/export's Status* words
	Staging    bool
	Adds       int
	Updates    int
	Deletes    int
	// Memberships counts member additions and removals.
	Memberships int
	Errors      int
	Writes      int           // Graph writes sent (retries included)
	Throttled   time.Duration // time spent waiting for the write budget
	// PendingDeletes are the deletes a stopped run did not make (keys and
	// what identifies them), for the admin to review.
	PendingDeletes []PendingDelete
	Message        string
}

// PendingDelete is one delete the deletion guard held back.
type PendingDelete struct {
	Key    string `json:"key"`
	Kind   string `json:"kind"`
	Object string `json:"object"`
	Source string `json:"source"`
}

// StartExportRun records a run as running and returns its id.
func (s *Store) StartExportRun(ctx context.Context, staging bool) (int64, error) {
	var id int64
	err := s.tx(ctx, func(t *Tx) error {
		var err error
		id, err = t.insertID(ctx, "export_runs", "started_at, finished_at, status, staging, adds, updates, deletes, memberships, errors, writes, throttled_ms, pending_deletes, message",
			s.millis(), 0, "running", boolInt(staging), 0, 0, 0, 0, 0, 0, 0, "[]", "")
		return err
	})
	return id, err
}

// FinishExportRun records a run's outcome (by r.ID).
func (s *Store) FinishExportRun(ctx context.Context, r ExportRun) error {
	pending := r.PendingDeletes
	if pending == nil {
		pending = []PendingDelete{}
	}
	b, err := json.Marshal(pending)
	if err != nil {
		return fmt.Errorf("store: unable to encode pending deletes: %w", err)
	}
	finished := r.FinishedAt
	if finished.IsZero() {
		finished = s.now()
	}
	_, err = s.exec(ctx, `UPDATE export_runs SET finished_at = ?, status = ?, adds = ?, updates = ?, deletes = ?, memberships = ?, errors = ?,
		writes = ?, throttled_ms = ?, pending_deletes = ?, message = ? WHERE id = ?`,
		toMillis(finished), r.Status, r.Adds, r.Updates, r.Deletes, r.Memberships, r.Errors, r.Writes, r.Throttled.Milliseconds(), string(b), r.Message, r.ID)
	if err != nil {
		return fmt.Errorf("store: unable to record export run %d: %w", r.ID, err)
	}
	return nil
}

// UpdateExportRunProgress records a running export's counts so far (by
// r.ID; the counts, Errors, Writes and Throttled of r): what reached the
// tenant by its last recorded batch, so that a run the server never finishes
// (killed) still shows them. One UPDATE; a run that has finished is left as
// it is, so a late progress never overwrites its outcome.
func (s *Store) UpdateExportRunProgress(ctx context.Context, r ExportRun) error {
	_, err := s.exec(ctx, `UPDATE export_runs SET adds = ?, updates = ?, deletes = ?, memberships = ?, errors = ?, writes = ?, throttled_ms = ?,
		progress_at = ? WHERE id = ? AND status = 'running'`,
		r.Adds, r.Updates, r.Deletes, r.Memberships, r.Errors, r.Writes, r.Throttled.Milliseconds(), s.millis(), r.ID)
	if err != nil {
		return fmt.Errorf("store: unable to record the progress of export run %d: %w", r.ID, err)
	}
	return nil
}

// Messages of the export runs a stop left running (EndInterruptedExportRuns).
const (
	MsgExportInterrupted = "The server stopped during this export; the counts are what reached Microsoft Entra ID before it stopped."
	MsgReviewInterrupted = "The server stopped during this staging run; nothing was exported."
)

// EndInterruptedExportRuns ends the export runs a stop left running (the
// server was killed during them, so FinishExportRun never ran): status
// "interrupted", with the counts their last progress recorded, finished at
// that progress (at their start when they recorded none), and a message that
// says so. Call it at start-up, before any export runs; it returns how many
// it ended.
func (s *Store) EndInterruptedExportRuns(ctx context.Context) (int, error) {
	res, err := s.exec(ctx, `UPDATE export_runs SET status = 'interrupted',
		finished_at = CASE WHEN progress_at > started_at THEN progress_at ELSE started_at END,
		message = CASE WHEN staging = 0 THEN ? ELSE ? END
		WHERE status = 'running'`, MsgExportInterrupted, MsgReviewInterrupted)
	if err != nil {
		return 0, fmt.Errorf("store: unable to end the export runs a stop left running: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: unable to end the export runs a stop left running: %w", err)
	}
	return int(n), nil
}

// ExportRuns lists the latest runs, newest first.
func (s *Store) ExportRuns(ctx context.Context, limit int) ([]ExportRun, error) {
	top, tail := s.limit(limit)
	rows, err := s.query(ctx, `SELECT `+top+`id, started_at, finished_at, status, staging, adds, updates, deletes, memberships, errors, writes, throttled_ms, pending_deletes, message
		FROM export_runs ORDER BY started_at DESC, id DESC`+tail)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list export runs: %w", err)
	}
	defer rows.Close()
	var out []ExportRun
	for rows.Next() {
		var r ExportRun
		var started, finished, staging, throttled int64
		var pending string
		if err := rows.Scan(&r.ID, &started, &finished, &r.Status, &staging, &r.Adds, &r.Updates, &r.Deletes, &r.Memberships, &r.Errors,
			&r.Writes, &throttled, &pending, &r.Message); err != nil {
			return nil, fmt.Errorf("store: unable to read an export run: %w", err)
		}
		r.StartedAt, r.FinishedAt, r.Staging, r.Throttled = fromMillis(started), fromMillis(finished), staging != 0, time.Duration(throttled)*time.Millisecond
		if err := json.Unmarshal([]byte(pending), &r.PendingDeletes); err != nil {
			return nil, fmt.Errorf("store: export run %d has unreadable pending deletes: %w", r.ID, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to list export runs: %w", err)
	}
	return out, nil
}
