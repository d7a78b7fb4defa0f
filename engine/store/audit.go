package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AuditEvent is one row of the audit trail: who did what, to what, from
// where, when, and how it ended. Detail never holds a secret.
type AuditEvent struct {
	ID      int64
	At      time.Time
	Actor   string // username; "" for a stranger; "cli:<os user>" for the command line
	Client  string // the client's address; "local" for the command line
	Action  string // engine/audit names the actions
	Target  string
	Outcome string // succeeded, failed, refused, started, or a Configure job's status
	Detail  string
}

// AuditFilter selects audit events. Zero fields select everything.
type AuditFilter struct {
	Actor   string // exactly, ignoring case
	Action  string // the action, or every action of a kind ("account" selects "account.create")
	Outcome string
	From    time.Time // at or after
	To      time.Time // before
	Before  int64     // ids below this one (the next page, newest first)
	Limit   int       // at most this many; 0: all
}

// auditColumns bound what one row may hold, so that a stranger typing a long
// user name can't grow the trail faster than the throttle lets them try.
const (
	maxAuditShort  = 256  // actor, client, action, outcome
	maxAuditTarget = 1024 // target
	maxAuditDetail = 64 << 10
)

// clip cuts s to at most n bytes without splitting a character, and marks the cut.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// AppendAudit adds an event to the audit trail (At: now when zero). The
// trail is append-only: the database refuses UPDATE and DELETE on it
// (migration 013).
func (s *Store) AppendAudit(ctx context.Context, e AuditEvent) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	// A plain INSERT: SQL Server refuses INSERT … OUTPUT (insertID) on a table
	// with triggers, and nobody needs the new id.
	_, err := s.exec(ctx, `INSERT INTO audit_events (at, actor, client, action, target, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.At.UnixMilli(), clip(e.Actor, maxAuditShort), clip(e.Client, maxAuditShort/4), clip(e.Action, maxAuditShort/4),
		clip(e.Target, maxAuditTarget), clip(e.Outcome, maxAuditShort/8), clip(e.Detail, maxAuditDetail))
	if err != nil {
		return fmt.Errorf("store: unable to record %s in the audit trail: %w", e.Action, err)
	}
	return nil
}

// where returns the filter's WHERE clause (with its leading space) and arguments.
func (f AuditFilter) where(d Dialect) (string, []any) {
	var conds []string
	var args []any
	if f.Actor != "" {
		conds = append(conds, "LOWER(actor) = ?")
		args = append(args, strings.ToLower(f.Actor))
	}
	if f.Action != "" {
		conds = append(conds, `(action = ? OR action LIKE ? ESCAPE '\')`)
		args = append(args, f.Action, likeLiteral(d, f.Action)+".%")
	}
	if f.Outcome != "" {
		conds = append(conds, "outcome = ?")
		args = append(args, f.Outcome)
	}
	if !f.From.IsZero() {
		conds = append(conds, "at >= ?")
		args = append(args, f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		conds = append(conds, "at < ?")
		args = append(args, f.To.UnixMilli())
	}
	if f.Before > 0 {
		conds = append(conds, "id < ?")
		args = append(args, f.Before)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// likeLiteral escapes s for a LIKE pattern with ESCAPE '\': its wildcards
// match themselves (SQL Server also reads [ as one).
func likeLiteral(d Dialect, s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	if d == SQLServer {
		r = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`, `[`, `\[`)
	}
	return r.Replace(s)
}

// AuditEvents returns the events the filter selects, newest first.
func (s *Store) AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error) {
	var out []AuditEvent
	err := s.EachAuditEvent(ctx, f, func(e AuditEvent) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// EachAuditEvent calls fn with each event the filter selects, newest first,
// without holding them all: the downloads stream through it.
func (s *Store) EachAuditEvent(ctx context.Context, f AuditFilter, fn func(AuditEvent) error) error {
	where, args := f.where(s.dialect)
	top, tail := "", ""
	if f.Limit > 0 {
		top, tail = s.limit(f.Limit)
	}
	// Unprepared (s.r, not s.query): the filters make many shapes of query,
	// and the statement cache is for the fixed ones.
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+top+`id, at, actor, client, action, target, outcome, detail FROM audit_events`+where+` ORDER BY id DESC`+tail), args...)
	if err != nil {
		return fmt.Errorf("store: unable to read the audit trail: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Client, &e.Action, &e.Target, &e.Outcome, &e.Detail); err != nil {
			return fmt.Errorf("store: unable to read the audit trail: %w", err)
		}
		e.At = time.UnixMilli(at)
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: unable to read the audit trail: %w", err)
	}
	return nil
}

// AuditActors returns everyone who appears in the audit trail, for the filter's
// choices.
func (s *Store) AuditActors(ctx context.Context) ([]string, error) {
	rows, err := s.query(ctx, `SELECT DISTINCT actor FROM audit_events WHERE actor <> '' ORDER BY actor`)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the audit trail: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("store: unable to read the audit trail: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
