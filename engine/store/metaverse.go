package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// ---- the metaverse (engine/metaverse) -------------------------------------------

// MVSource names a connector-space object.
type MVSource struct {
	Connector string `json:"connector"`
	Anchor    string `json:"anchor"`
}

// MVObject is one metaverse object: what its cloud object should be.
type MVObject struct {
	Key, Kind   string
	UPN, Mail   string // as in Attrs (userPrincipalName, mail), for lookups
	DisplayName string
	Source      string // the primary's "forest: DN"
	Attrs       map[string][]string
	Members     []string
	Sources     []MVSource
	SyncedAt    time.Time
	// Pending are the object's pending exports, written beside its row
	// (see MVWrite).
	Pending []MVPending
}

// MVJoin is one connector-space object's fate: the metaverse object it is
// part of (Key, "" when not synced), why, and its trace (JSON,
// metaverse.Trace).
type MVJoin struct {
	Connector, Anchor, DN string
	Key                   string
	Synced                bool
	Reason                string
	Trace                 []byte
	// Kept says that the writer's last write (MVWrite.Since) wrote this
	// same row: a delta leaves it as the store holds it when no other write
	// came since, and writes it otherwise.
	Kept bool
}

// MVExported is what the export confirmed of one object.
type MVExported struct {
	Key, Kind, CloudID, Source string
	// Attrs are the attributes as stored: a JSON object of string arrays
	// (or null), for ParseAttrs. The reader parses them as it needs them: a
	// delta of 80,000 objects at a million reads each into one map in turn,
	// where a map each allocated about 100 MB.
	Attrs      string
	Members    []string // sorted
	ExportedAt time.Time
	// Recorded is false for an object the export created or matched (it has
	// a cloud id) but the metaverse was not told of yet: a stop between the
	// two. Its Attrs are what the export sent.
	Recorded bool
}

// MVPending is one pending export; Change is metaverse.Change as JSON.
type MVPending struct {
	Key, Op, Kind, Source  string
	Order                  int
	AttrCount, MemberCount int
	Change                 []byte
	ComputedAt             time.Time
}

// MVWrite is what one sync cycle writes, in one transaction. Full replaces
// the metaverse, the joins and the pending exports; otherwise the listed
// keys and sources are replaced (deleted, then inserted when given). The
// rows come as sequences so that a cycle of 100,000 objects is encoded a
// batch at a time, never all at once; a sequence may yield an error. A
// yielded row is read whole — its attributes encoded, its JSON
// (MVJoin.Trace, MVPending.Change) copied, its MVObject.Pending read —
// before the sequence is asked for the next row: a sequence may reuse its
// buffers, maps and slices.
//
// A pending export may come with its object (MVObject.Pending) or in
// Pending: the rows are written in the order they come, and none is read
// in that order (mv_pending's ord column is the export order). A full
// sync hands each object's pending exports with it, from the attributes it
// computed once for both, and Pending yields those of the keys without an
// object (deletes).
type MVWrite struct {
	Full bool
	// Objects are written; ObjectKeys (delta) are the keys whose rows are
	// replaced (those not in Objects are deleted).
	Objects    iter.Seq2[MVObject, error]
	ObjectKeys []string
	// Joins are written; JoinSources (delta) the sources replaced.
	Joins       iter.Seq2[MVJoin, error]
	JoinSources []MVSource
	// Pending are written, besides the Objects' own; PendingKeys (delta)
	// the keys whose pending exports are replaced.
	Pending     iter.Seq2[MVPending, error]
	PendingKeys []string
	// Stamp is the writer's name for this write, kept as the metaverse's
	// stamp ("": one is made up); Since is the stamp of the writer's last
	// write, under which its joins marked Kept were written. While the
	// store's stamp is still Since, nobody else wrote the metaverse
	// (`hybridsync sync` beside the console) and the kept rows are as the
	// writer left them.
	Stamp, Since string
}

// settingMVStamp names the setting every write of the metaverse changes
// (MVWrite.Stamp). Only SaveMetaverse writes mv_joins; anything else that
// ever does must change it too.
const settingMVStamp = "mv_stamp"

// mvChunk bounds one statement's rows (SQL Server takes at most 2,100
// parameters, and SQLite 32,766).
const mvChunk = 200

func mvMarks(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

// SaveMetaverse writes a sync cycle's metaverse, joins and pending exports
// in one transaction, in batches.
func (s *Store) SaveMetaverse(ctx context.Context, w MVWrite) error {
	now := s.millis()
	return s.tx(ctx, func(t *Tx) (err error) {
		t.checkpointAfter = true
		if err := t.pendingWritten(ctx); err != nil {
			return err
		}
		keep, err := t.stampMetaverse(ctx, w)
		if err != nil {
			return err
		}
		if w.Full {
			// DELETE rather than TRUNCATE: SQL Server's TRUNCATE needs ALTER
			// on the table, which a DBO-created database may not grant.
			for _, table := range []string{"mv_objects", "mv_joins", "mv_pending"} {
				if _, err := t.exec(ctx, `DELETE FROM `+table); err != nil {
					return fmt.Errorf("store: unable to clear %s: %w", table, err)
				}
			}
			rebuild, err := t.dropMVIndexes(ctx)
			if err != nil {
				return err
			}
			defer func() {
				if rerr := rebuild(); rerr != nil && err == nil {
					err = rerr
				}
			}()
		} else {
			// A delta replaces rows in place (replacer.replace): most of what it
			// rewrites keeps its keys, sign-in name, mail and DN, and an
			// UPDATE that leaves an index's columns alone leaves the index
			// alone — a delete and an insert would touch every index twice.
			if err := t.deleteIn(ctx, `DELETE FROM mv_pending WHERE mv_key IN (%s)`, w.PendingKeys); err != nil {
				return fmt.Errorf("store: unable to replace pending exports: %w", err)
			}
		}
		return t.insertMetaverse(ctx, w, now, keep)
	})
}

// stampMetaverse writes w's stamp, and says whether the joins w marks Kept
// may be left as they are: a delta whose Since is the stamp it replaces.
func (t *Tx) stampMetaverse(ctx context.Context, w MVWrite) (keep bool, err error) {
	if !w.Full && w.Since != "" {
		var cur string
		err := t.queryRow(ctx, `SELECT value FROM settings WHERE name = ?`, settingMVStamp).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, fmt.Errorf("store: unable to read %s: %w", settingMVStamp, err)
		}
		keep = cur == w.Since
	}
	stamp := w.Stamp
	if stamp == "" {
		stamp = rand.Text()
	}
	return keep, t.setSetting(ctx, settingMVStamp, stamp)
}

// mvTable is a table a sync cycle rewrites: its columns in the order
// insertMetaverse writes a row, the first keys of them naming a row, and
// the columns its secondary indexes hold (mv_objects_upn and _mail;
// mv_joins_key and _dn).
type mvTable struct {
	name    string
	cols    []string
	keys    int
	indexed []string
}

var (
	mvObjectsTable = mvTable{name: "mv_objects", keys: 1, indexed: []string{"upn_key", "mail_key"},
		cols: strings.Split(mvObjectColumns, ", ")}
	mvJoinsTable = mvTable{name: "mv_joins", keys: 2, indexed: []string{"dn_key", "mv_key"},
		cols: []string{"connector", "anchor", "dn", "dn_key", "mv_key", "synced", "reason", "trace"}}
)

// replacer writes a delta's rows of one table: each row in place of the
// row with its key (replace), remembering the rows it wrote so that
// deleteRest deletes the replaced rows the cycle no longer has.
type replacer struct {
	mvTable
	t       *Tx
	written map[string]bool
	// The statements, prepared on first use.
	update, del, insert *sql.Stmt
	set, held           []int // the columns update sets, and holds equal
	args                []any // update's, reused from row to row
}

func (m mvTable) replacer(t *Tx) *replacer {
	return &replacer{mvTable: m, t: t, written: map[string]bool{}}
}

// replace writes one row in place of the row with its key: an UPDATE
// that holds the key and the indexed columns equal, so that it touches
// the table's row alone; when none matches (a new row, or a new sign-in
// name, mail, DN or metaverse key), a delete and an insert.
func (w *replacer) replace(ctx context.Context, row []any) error {
	if w.update == nil {
		if err := w.prepare(ctx); err != nil {
			return err
		}
	}
	args := w.args[:0]
	for _, i := range w.set {
		args = append(args, row[i])
	}
	for _, i := range w.held {
		args = append(args, row[i])
	}
	w.args = args
	res, err := w.update.ExecContext(ctx, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		if _, err := w.del.ExecContext(ctx, row[:w.keys]...); err != nil {
			return err
		}
		if _, err := w.insert.ExecContext(ctx, row...); err != nil {
			return err
		}
	}
	// A copy: the row's text may be a view of the writer's buffer.
	w.written[strings.Clone(rowKey(row[:w.keys]))] = true
	return nil
}

// keep counts the row of key as written, left as it is.
func (w *replacer) keep(key []any) { w.written[strings.Clone(rowKey(key))] = true }

func (w *replacer) prepare(ctx context.Context) error {
	var sets, conds []string
	for i, c := range w.cols {
		if i >= w.keys && !slices.Contains(w.indexed, c) {
			sets = append(sets, c+" = ?")
			w.set = append(w.set, i)
		}
	}
	for i := range w.keys {
		w.held = append(w.held, i)
	}
	for _, c := range w.indexed {
		w.held = append(w.held, slices.Index(w.cols, c))
	}
	for _, i := range w.held {
		conds = append(conds, w.cols[i]+" = ?")
	}
	keys := strings.Join(conds[:w.keys], " AND ")
	var err error
	for _, p := range []struct {
		stmt **sql.Stmt
		q    string
	}{
		{&w.update, "UPDATE " + w.name + " SET " + strings.Join(sets, ", ") + " WHERE " + strings.Join(conds, " AND ")},
		{&w.del, "DELETE FROM " + w.name + " WHERE " + keys},
		{&w.insert, "INSERT INTO " + w.name + " (" + strings.Join(w.cols, ", ") + ") VALUES (" + mvMarks(len(w.cols)) + ")"},
	} {
		if *p.stmt, err = w.t.tx.PrepareContext(ctx, w.t.s.q(p.q)); err != nil {
			return fmt.Errorf("store: unable to prepare %q: %w", p.q, err)
		}
	}
	return nil
}

func (w *replacer) close() {
	for _, st := range []*sql.Stmt{w.update, w.del, w.insert} {
		if st != nil {
			st.Close()
		}
	}
	w.update, w.del, w.insert, w.set, w.held = nil, nil, nil, nil, nil
}

// deleteRest deletes the rows of the n listed keys (key(i): a row's key
// columns) that the cycle did not write: what it no longer has.
func (w *replacer) deleteRest(ctx context.Context, n int, key func(i int) []any) error {
	defer w.close()
	for i := range n {
		k := key(i)
		if w.written[rowKey(k)] {
			continue
		}
		if w.del == nil {
			if err := w.prepare(ctx); err != nil {
				return err
			}
		}
		if _, err := w.del.ExecContext(ctx, k...); err != nil {
			return err
		}
	}
	return nil
}

// rowKey is a row's key columns as one comparable value (key columns are
// text, and none holds a NUL).
func rowKey(key []any) string {
	if len(key) == 1 {
		return key[0].(string)
	}
	parts := make([]string, len(key))
	for i, v := range key {
		parts[i] = v.(string)
	}
	return strings.Join(parts, "\x00")
}

// dropMVIndexes drops the secondary indexes of the tables a full sync
// rewrites, so that the rows go in without an index to keep in step, and
// returns what creates them again — one sorted build each, inside the same
// transaction, from the definitions the schema holds (sqlite_master), so
// that no definition is written twice. The tables' own keys take the rows
// in the order they come (metaverse key, connector and anchor; a full
// sync's pending exports by metaverse key, with their objects), so
// SQLite's default 2 MB page cache is enough. SQLite only: SQL
// Server keeps its indexes (its DDL would need ALTER on the table, which a
// DBO-created database may not grant), and writes as before.
func (t *Tx) dropMVIndexes(ctx context.Context) (rebuild func() error, err error) {
	none := func() error { return nil }
	if t.s.dialect != SQLite {
		return none, nil
	}
	rows, err := t.tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master
		WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('mv_objects', 'mv_joins', 'mv_pending') ORDER BY name`)
	if err != nil {
		return none, fmt.Errorf("store: unable to list the metaverse indexes: %w", err)
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return none, fmt.Errorf("store: unable to list the metaverse indexes: %w", err)
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return none, fmt.Errorf("store: unable to list the metaverse indexes: %w", err)
	}
	for _, name := range names {
		if _, err := t.exec(ctx, `DROP INDEX `+name); err != nil {
			return none, fmt.Errorf("store: unable to drop index %s: %w", name, err)
		}
	}
	return func() error {
		for i, def := range defs {
			if _, err := t.exec(ctx, def); err != nil {
				return fmt.Errorf("store: unable to build index %s again: %w", names[i], err)
			}
		}
		return nil
	}, nil
}

// AppendJSONString appends s as json.Marshal encodes it: as it is when it
// needs no escaping (printable ASCII without " \\ < > &), else through
// json.Marshal.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(s) // a string always encodes
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// AppendJSONStrings appends v as json.Marshal encodes a []string.
func AppendJSONStrings(b []byte, v []string) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	// Room for all of it at once: a 250,000-member group's list is 7 MB,
	// and growing to it by doubling cost more than encoding it.
	n := 2
	for _, s := range v {
		n += len(s) + 3
	}
	b = slices.Grow(b, n)
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, s)
	}
	return append(b, ']')
}

// appendJSONAttrs appends m as json.Marshal encodes it (keys sorted; nil
// is null); names is scratch space, returned for reuse.
func appendJSONAttrs(b []byte, m map[string][]string, names []string) ([]byte, []string) {
	if m == nil {
		return append(b, "null"...), names
	}
	names = names[:0]
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	b = append(b, '{')
	for i, k := range names {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, k)
		b = append(b, ':')
		b = AppendJSONStrings(b, m[k])
	}
	return append(b, '}'), names
}

// appendJSONSources appends v as json.Marshal encodes a []MVSource.
func appendJSONSources(b []byte, v []MVSource) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"connector":`...)
		b = AppendJSONString(b, s.Connector)
		b = append(b, `,"anchor":`...)
		b = AppendJSONString(b, s.Anchor)
		b = append(b, '}')
	}
	return append(b, ']')
}

func mvBool(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nonNilAttrs(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	return m
}

func nonNilStrings(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// insertMetaverse writes a write's rows: the joins first — their traces
// are what a sync cycle holds longest, until they are written — then the
// objects with the pending exports that come with them
// (MVObject.Pending), then the rest of the pending exports. A full sync
// inserts them into the emptied tables; a delta replaces its objects and
// joins in place (replacer) and deletes those it no longer has, and leaves
// the joins marked Kept as they are when keep holds (stampMetaverse).
func (t *Tx) insertMetaverse(ctx context.Context, w MVWrite, now int64, keep bool) error {
	joins := t.rowWriter(mvJoinsTable.name, strings.Join(mvJoinsTable.cols, ", "))
	defer joins.close()
	objects := t.rowWriter(mvObjectsTable.name, mvObjectColumns)
	defer objects.close()
	if !w.Full {
		joins.rp, objects.rp = mvJoinsTable.replacer(t), mvObjectsTable.replacer(t)
	}
	if w.Joins != nil {
		for j, err := range w.Joins {
			if err != nil {
				return err
			}
			if j.Kept && keep && joins.rp != nil {
				joins.rp.keep([]any{j.Connector, j.Anchor})
				continue
			}
			joins.args = append(joins.args, j.Connector, j.Anchor, j.DN, strings.ToLower(j.DN), j.Key, mvBool(j.Synced), j.Reason)
			joins.text = append(joins.text, j.Trace...)
			joins.textArg()
			if err := joins.endRow(ctx); err != nil {
				return err
			}
		}
	}
	if err := joins.flush(ctx); err != nil {
		return err
	}
	if joins.rp != nil {
		err := joins.rp.deleteRest(ctx, len(w.JoinSources), func(i int) []any {
			return []any{w.JoinSources[i].Connector, w.JoinSources[i].Anchor}
		})
		if err != nil {
			return fmt.Errorf("store: unable to replace the joins: %w", err)
		}
	}
	at := any(now) // boxed once, not once a row
	pending := t.rowWriter("mv_pending", "mv_key, op, kind, ord, source, attr_count, member_count, change, computed_at")
	defer pending.close()
	addPending := func(p *MVPending) error {
		pending.args = append(pending.args, p.Key, p.Op, p.Kind, p.Order, p.Source, p.AttrCount, p.MemberCount)
		pending.text = append(pending.text, p.Change...)
		pending.textArg()
		pending.args = append(pending.args, at)
		return pending.endRow(ctx)
	}
	var names []string
	if w.Objects != nil {
		for o, err := range w.Objects {
			if err != nil {
				return err
			}
			objects.args = append(objects.args, o.Key, o.Kind, strings.ToLower(o.UPN), strings.ToLower(o.Mail), o.DisplayName, o.Source)
			objects.text, names = appendJSONAttrs(objects.text, nonNilAttrs(o.Attrs), names)
			objects.textArg()
			objects.text = AppendJSONStrings(objects.text, nonNilStrings(o.Members))
			objects.textArg()
			objects.text = appendJSONSources(objects.text, o.Sources)
			objects.textArg()
			objects.args = append(objects.args, at)
			if err := objects.endRow(ctx); err != nil {
				return err
			}
			for i := range o.Pending {
				if err := addPending(&o.Pending[i]); err != nil {
					return err
				}
			}
		}
	}
	if err := objects.flush(ctx); err != nil {
		return err
	}
	if objects.rp != nil {
		if err := objects.rp.deleteRest(ctx, len(w.ObjectKeys), func(i int) []any { return []any{w.ObjectKeys[i]} }); err != nil {
			return fmt.Errorf("store: unable to replace the metaverse objects: %w", err)
		}
	}
	if w.Pending != nil {
		for p, err := range w.Pending {
			if err != nil {
				return err
			}
			if err := addPending(&p); err != nil {
				return err
			}
		}
	}
	return pending.flush(ctx)
}

// rowWriter inserts one table's rows with multi-row VALUES, perStatement
// rows a statement; full statements reuse one prepared statement. A row's
// values are appended to args, its text columns' values to text
// (textArg), and the row ended (endRow). The args are reused from one
// statement to the next, and the text columns of a statement are one
// string, each column a part of it: a full sync's 300,000 rows would
// otherwise allocate a slice each and a string per JSON column. Text is
// never bound as []byte: SQLite would store a BLOB, which its JSON
// functions read as JSONB.
type rowWriter struct {
	t           *Tx
	table, cols string
	n           int // columns
	args        []any
	text        []byte
	marks       []textMark
	stmt        *sql.Stmt // the full statement, once prepared
	// rp, for a delta, replaces each row as it ends instead (replacer).
	rp *replacer
}

// textMark is a text column: its place in args, and where its value ends
// in text (it starts where the one before ends).
type textMark struct{ arg, end int }

// perStatement bounds one statement's rows: SQL Server takes at most 2,100
// parameters, SQLite 32,766.
const perStatement = 100

func (t *Tx) rowWriter(table, cols string) *rowWriter {
	n := strings.Count(cols, ",") + 1
	return &rowWriter{t: t, table: table, cols: cols, n: n, args: make([]any, 0, perStatement*n)}
}

// textArg takes the text appended since the last text column as the next
// column's value.
func (w *rowWriter) textArg() {
	w.marks = append(w.marks, textMark{len(w.args), len(w.text)})
	w.args = append(w.args, nil)
}

// endRow ends a row, inserting the statement's rows once there are
// perStatement of them.
func (w *rowWriter) endRow(ctx context.Context) error {
	if len(w.args) < perStatement*w.n && w.rp == nil {
		return nil
	}
	return w.flush(ctx)
}

// flush inserts the rows not inserted yet.
func (w *rowWriter) flush(ctx context.Context) error {
	rows := len(w.args) / w.n
	if rows == 0 {
		return nil
	}
	// The text columns' values are views of w.text, not copies: both
	// drivers copy a bound string before Exec returns (SQLite into its own
	// memory, SQL Server into the request), nothing keeps them after it
	// (the replacer copies the key it keeps), and w.text is only written
	// again once Exec has returned. A copy was
	// a quarter of the bytes a full sync allocates.
	text, start := unsafe.String(unsafe.SliceData(w.text), len(w.text)), 0
	for _, m := range w.marks {
		w.args[m.arg], start = text[start:m.end], m.end
	}
	var err error
	if w.rp != nil {
		// A delta's row, alone: in place of the row with its key.
		if err := w.rp.replace(ctx, w.args); err != nil {
			return fmt.Errorf("store: unable to write into %s: %w", w.table, err)
		}
		clear(w.args)
		w.args, w.text, w.marks = w.args[:0], w.text[:0], w.marks[:0]
		return nil
	}
	if rows == perStatement {
		if w.stmt == nil {
			if w.stmt, err = w.t.tx.PrepareContext(ctx, w.t.s.q(w.statement(rows))); err != nil {
				return fmt.Errorf("store: unable to prepare the insert into %s: %w", w.table, err)
			}
		}
		_, err = w.stmt.ExecContext(ctx, w.args...)
	} else {
		_, err = w.t.exec(ctx, w.statement(rows), w.args...)
	}
	if err != nil {
		return fmt.Errorf("store: unable to insert into %s: %w", w.table, err)
	}
	clear(w.args) // let the statement's values go
	w.args, w.text, w.marks = w.args[:0], w.text[:0], w.marks[:0]
	return nil
}

// statement is the INSERT of rows rows. SQLite's is INSERT OR FAIL: a
// plain INSERT of many rows keeps a statement journal, to undo the rows
// before one that fails, which a failure here never needs — it rolls the
// whole transaction back. SQL Server has no such clause.
func (w *rowWriter) statement(rows int) string {
	insert := "INSERT INTO "
	if w.t.s.dialect == SQLite {
		insert = "INSERT OR FAIL INTO "
	}
	one := "(" + mvMarks(w.n) + ")"
	return insert + w.table + " (" + w.cols + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}

func (w *rowWriter) close() {
	if w.stmt != nil {
		w.stmt.Close()
	}
}

// deleteIn runs a DELETE whose %s is an IN list, over keys in chunks.
func (t *Tx) deleteIn(ctx context.Context, query string, keys []string) error {
	for start := 0; start < len(keys); start += mvChunk {
		part := keys[start:min(start+mvChunk, len(keys))]
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		if _, err := t.exec(ctx, fmt.Sprintf(query, mvMarks(len(part))), args...); err != nil {
			return err
		}
	}
	return nil
}

// MetaverseJoinKeys returns the key each connector-space object is joined to
// (synced objects only): a restarted engine keeps its keys.
func (s *Store) MetaverseJoinKeys(ctx context.Context) (map[MVSource]string, error) {
	rows, err := s.query(ctx, `SELECT connector, anchor, mv_key FROM mv_joins WHERE synced = 1`)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the joins: %w", err)
	}
	defer rows.Close()
	out := map[MVSource]string{}
	for rows.Next() {
		var src MVSource
		var key string
		if err := rows.Scan(&src.Connector, &src.Anchor, &key); err != nil {
			return nil, fmt.Errorf("store: unable to read a join: %w", err)
		}
		out[src] = key
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read the joins: %w", err)
	}
	return out, nil
}

const mvObjectColumns = `mv_key, kind, upn_key, mail_key, display_name, source, attrs, members, sources, synced_at`

func scanMVObjects(rows *sql.Rows) ([]MVObject, error) {
	defer rows.Close()
	var out []MVObject
	for rows.Next() {
		var o MVObject
		var attrs, members, sources string
		var at int64
		if err := rows.Scan(&o.Key, &o.Kind, &o.UPN, &o.Mail, &o.DisplayName, &o.Source, &attrs, &members, &sources, &at); err != nil {
			return nil, fmt.Errorf("store: unable to read a metaverse object: %w", err)
		}
		if err := errors.Join(parseJSONAttrs(attrs, &o.Attrs), json.Unmarshal([]byte(members), &o.Members),
			json.Unmarshal([]byte(sources), &o.Sources)); err != nil {
			return nil, fmt.Errorf("store: metaverse object %s is unreadable: %w", o.Key, err)
		}
		if v := o.Attrs["userPrincipalName"]; len(v) > 0 {
			o.UPN = v[0]
		}
		if v := o.Attrs["mail"]; len(v) > 0 {
			o.Mail = v[0]
		}
		o.SyncedAt = fromMillis(at)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read metaverse objects: %w", err)
	}
	return out, nil
}

// MetaverseObject returns the metaverse object of a key.
func (s *Store) MetaverseObject(ctx context.Context, key string) (MVObject, error) {
	rows, err := s.query(ctx, `SELECT `+mvObjectColumns+` FROM mv_objects WHERE mv_key = ?`, key)
	if err != nil {
		return MVObject{}, fmt.Errorf("store: unable to read metaverse object %s: %w", key, err)
	}
	objs, err := scanMVObjects(rows)
	if err != nil {
		return MVObject{}, err
	}
	if len(objs) == 0 {
		return MVObject{}, ErrNotFound
	}
	return objs[0], nil
}

// FindMetaverse looks metaverse objects up by userPrincipalName, mail or key
// (case-insensitive, exact), for the helpdesk.
func (s *Store) FindMetaverse(ctx context.Context, term string) ([]MVObject, error) {
	term = strings.TrimSpace(term)
	lower := strings.ToLower(term)
	// Three indexed lookups joined by UNION rather than one OR, which
	// neither dialect answers from the indexes.
	rows, err := s.query(ctx, `SELECT `+mvObjectColumns+` FROM mv_objects WHERE upn_key = ?
		UNION SELECT `+mvObjectColumns+` FROM mv_objects WHERE mail_key = ?
		UNION SELECT `+mvObjectColumns+` FROM mv_objects WHERE mv_key = ?`, lower, lower, term)
	if err != nil {
		return nil, fmt.Errorf("store: unable to look up %q in the metaverse: %w", term, err)
	}
	return scanMVObjects(rows)
}

const mvJoinColumns = `connector, anchor, dn, mv_key, synced, reason, trace`

func scanMVJoins(rows *sql.Rows) ([]MVJoin, error) {
	defer rows.Close()
	var out []MVJoin
	for rows.Next() {
		var j MVJoin
		var synced int64
		var trace string
		if err := rows.Scan(&j.Connector, &j.Anchor, &j.DN, &j.Key, &synced, &j.Reason, &trace); err != nil {
			return nil, fmt.Errorf("store: unable to read a join: %w", err)
		}
		j.Synced, j.Trace = synced != 0, []byte(trace)
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read joins: %w", err)
	}
	return out, nil
}

// MetaverseJoin returns one connector-space object's fate.
func (s *Store) MetaverseJoin(ctx context.Context, connector, anchor string) (MVJoin, error) {
	rows, err := s.query(ctx, `SELECT `+mvJoinColumns+` FROM mv_joins WHERE connector = ? AND anchor = ?`, connector, anchor)
	if err != nil {
		return MVJoin{}, fmt.Errorf("store: unable to read the join of %s: %w", anchor, err)
	}
	js, err := scanMVJoins(rows)
	if err != nil {
		return MVJoin{}, err
	}
	if len(js) == 0 {
		return MVJoin{}, ErrNotFound
	}
	return js[0], nil
}

// MetaverseJoinsByDN returns the fates of the objects with that DN (any
// connector, case-insensitive).
func (s *Store) MetaverseJoinsByDN(ctx context.Context, dn string) ([]MVJoin, error) {
	rows, err := s.query(ctx, `SELECT `+mvJoinColumns+` FROM mv_joins WHERE dn_key = ?`, strings.ToLower(strings.TrimSpace(dn)))
	if err != nil {
		return nil, fmt.Errorf("store: unable to look up %q: %w", dn, err)
	}
	return scanMVJoins(rows)
}

// MetaverseJoinsOf returns the connector-space objects joined to a key.
func (s *Store) MetaverseJoinsOf(ctx context.Context, key string) ([]MVJoin, error) {
	rows, err := s.query(ctx, `SELECT `+mvJoinColumns+` FROM mv_joins WHERE mv_key = ? ORDER BY connector, anchor`, key)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the joins of %s: %w", key, err)
	}
	return scanMVJoins(rows)
}

// MetaverseExported returns what is in the tenant of the given keys, or of
// every key when all is set: the objects the metaverse recorded as exported
// (RecordExported, Recorded set), and those only the export wrote with a
// cloud id — created or matched before the metaverse was told (Recorded
// false). The metaverse diffs an add again for the latter while it holds
// their object, so that the export finishes it (looking it up or taking the
// created object over) rather than updating an object it never saw
// exported, and a delete when it no longer does. A create sent with no
// answer (no cloud id) is left out.
func (s *Store) MetaverseExported(ctx context.Context, keys []string, all bool) (map[string]MVExported, error) {
	out := map[string]MVExported{}
	read := func(where string, args []any) error {
		// Not through the prepared-statement cache: the IN list's length varies.
		rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+mvExportedColumns+` FROM mv_exported
			WHERE `+mvExportedKnown+where), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanMVExported(rows)
			if err != nil {
				return err
			}
			out[e.Key] = e
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// The members of the groups read above only (out holds them).
		gwhere := strings.Replace(where, "mv_key", "group_key", 1)
		if s.dialect == SQLite {
			return s.readExportedMembers(ctx, gwhere, args, out)
		}
		// SQL Server: a row per membership (its JSON aggregation needs 2016
		// or later, and STRING_AGG a separator no key can hold).
		rows, err = s.r.QueryContext(ctx, s.q(`SELECT group_key, member_key FROM mv_exported_members WHERE 1 = 1`+
			gwhere+` ORDER BY group_key, member_key`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var g, m string
			if err := rows.Scan(&g, &m); err != nil {
				return err
			}
			if e, ok := out[g]; ok {
				e.Members = append(e.Members, m)
				out[g] = e
			}
		}
		return rows.Err()
	}
	if all {
		if err := read("", nil); err != nil {
			return nil, fmt.Errorf("store: unable to read the exported state: %w", err)
		}
		return out, nil
	}
	for start := 0; start < len(keys); start += mvChunk {
		part := keys[start:min(start+mvChunk, len(keys))]
		args := make([]any, len(part))
		for i, k := range part {
			args[i] = k
		}
		if err := read(` AND mv_key IN (`+mvMarks(len(part))+`)`, args); err != nil {
			return nil, fmt.Errorf("store: unable to read the exported state: %w", err)
		}
	}
	return out, nil
}

// readExportedMembers reads the exported members of the groups of out
// (SQLite): one row per group, its members a JSON array (json_group_array)
// that is one string, each member a part of it. A row per membership cost
// more than the rest of a one-member change to a 250,000-member group.
func (s *Store) readExportedMembers(ctx context.Context, where string, args []any, out map[string]MVExported) error {
	rows, err := s.r.QueryContext(ctx, `SELECT group_key, json_group_array(member_key) FROM
		(SELECT group_key, member_key FROM mv_exported_members WHERE 1 = 1`+where+` ORDER BY group_key, member_key)
		GROUP BY group_key`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var g, raw string
		if err := rows.Scan(&g, &raw); err != nil {
			return err
		}
		e, ok := out[g]
		if !ok {
			continue
		}
		if e.Members, err = jsonMembers(raw); err != nil {
			return fmt.Errorf("exported members of %s are unreadable: %w", g, err)
		}
		out[g] = e
	}
	return rows.Err()
}

// jsonMembers decodes a group's members as SQLite aggregates them
// (json_group_array over rows in order), sorted as the rows were: an
// aggregate's order is SQLite's choice.
func jsonMembers(raw string) ([]string, error) {
	out, err := jsonStrings(raw)
	if err == nil && !slices.IsSorted(out) {
		slices.Sort(out)
	}
	return out, err
}

// jsonStrings decodes a JSON array of strings; each string without an
// escape is a part of raw, not a copy.
func jsonStrings(raw string) ([]string, error) {
	if strings.Contains(raw, `\`) {
		var v []string
		err := json.Unmarshal([]byte(raw), &v)
		return v, err
	}
	raw = strings.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' {
		return nil, errors.New("not a JSON array")
	}
	body := raw[1 : len(raw)-1]
	out := make([]string, 0, strings.Count(body, `",`)+1)
	for body = strings.TrimSpace(body); body != ""; {
		if body[0] != '"' {
			return nil, errors.New("not a JSON array of strings")
		}
		end := strings.IndexByte(body[1:], '"')
		if end < 0 {
			return nil, errors.New("unterminated string")
		}
		out = append(out, body[1:1+end])
		body = strings.TrimSpace(body[end+2:])
		if body == "" {
			break
		}
		if body[0] != ',' {
			return nil, errors.New("not a JSON array of strings")
		}
		body = strings.TrimSpace(body[1:])
	}
	return out, nil
}

// MVConfirmed is one change the export confirmed (all of a pending export or
// part of it): the same shape as metaverse.Change, whose JSON mv_pending
// holds.
type MVConfirmed struct {
	Key           string         `json:"key"`
	Kind          string         `json:"kind"`
	Op            string         `json:"op"`
	CloudID       string         `json:"cloudId,omitempty"`
	Attrs         []MVAttrChange `json:"attrs,omitempty"`
	AddMembers    []string       `json:"addMembers,omitempty"`
	RemoveMembers []string       `json:"removeMembers,omitempty"`
	Source        string         `json:"source"`
}

// MVAttrChange is one attribute's old and new values.
type MVAttrChange struct {
	Name string   `json:"name"`
	Old  []string `json:"old,omitempty"`
	New  []string `json:"new,omitempty"`
}

// RecordExported records changes the tenant confirmed, each in the exported
// state (attributes set or removed, memberships added or removed, the
// object forgotten on a delete), and takes what was confirmed off its pending
// export — all in one transaction, so a crash never leaves a confirmed
// create pending.
func (s *Store) RecordExported(ctx context.Context, done []MVConfirmed) error {
	now := s.millis()
	return s.tx(ctx, func(t *Tx) error {
		if err := t.pendingWritten(ctx); err != nil {
			return err
		}
		for _, c := range done {
			if err := t.recordExported(ctx, c, now); err != nil {
				return fmt.Errorf("store: unable to record the export of %s: %w", c.Key, err)
			}
		}
		return nil
	})
}

func (t *Tx) recordExported(ctx context.Context, c MVConfirmed, now int64) error {
	if c.Op == "delete" {
		for _, q := range []string{`DELETE FROM mv_exported WHERE mv_key = ?`, `DELETE FROM mv_exported_members WHERE group_key = ?`,
			`DELETE FROM mv_pending WHERE mv_key = ? AND op = 'delete'`} {
			if _, err := t.exec(ctx, q, c.Key); err != nil {
				return err
			}
		}
		return nil
	}
	attrs := map[string][]string{}
	var cloudID, source string
	var raw string
	var recorded int64
	err := t.queryRow(ctx, `SELECT cloud_id, source, attrs, recorded FROM mv_exported WHERE mv_key = ?`, c.Key).Scan(&cloudID, &source, &raw, &recorded)
	exists := !errors.Is(err, sql.ErrNoRows)
	switch {
	case !exists:
	case err != nil:
		return err
	case recorded != 0:
		if err := json.Unmarshal([]byte(raw), &attrs); err != nil {
			return err
		}
	}
	// A row the metaverse never recorded holds what Graph confirmed (the
	// export's), not the metaverse's state: it starts over, as does an add
	// confirmed again (a re-run after a crash).
	if c.Op == "add" {
		attrs = map[string][]string{}
	}
	for _, a := range c.Attrs {
		if len(a.New) == 0 {
			delete(attrs, a.Name)
		} else {
			attrs[a.Name] = a.New
		}
	}
	if c.CloudID != "" {
		cloudID = c.CloudID
	}
	if c.Source != "" {
		source = c.Source
	}
	enc, err := json.Marshal(attrs)
	if err != nil {
		return err
	}
	// The row is updated in place when there is one: its lookup and
	// create_started_at are the export's (BeginExportCreates,
	// SaveExportObjects), not the metaverse's.
	if exists {
		_, err = t.exec(ctx, `UPDATE mv_exported SET kind = ?, cloud_id = ?, source = ?, attrs = ?, exported_at = ?, recorded = 1 WHERE mv_key = ?`,
			c.Kind, cloudID, source, string(enc), now, c.Key)
	} else {
		_, err = t.exec(ctx, `INSERT INTO mv_exported (mv_key, kind, cloud_id, source, attrs, exported_at, lookup, create_started_at, recorded)
			VALUES (?, ?, ?, ?, ?, ?, '{}', 0, 1)`, c.Key, c.Kind, cloudID, source, string(enc), now)
	}
	if err != nil {
		return err
	}
	for _, m := range c.RemoveMembers {
		if _, err := t.exec(ctx, `DELETE FROM mv_exported_members WHERE group_key = ? AND member_key = ?`, c.Key, m); err != nil {
			return err
		}
	}
	for _, m := range c.AddMembers {
		// Insert unless present, in both dialects (no INSERT OR IGNORE in SQL Server).
		if _, err := t.exec(ctx, `INSERT INTO mv_exported_members (group_key, member_key) SELECT ?, ?
			WHERE NOT EXISTS (SELECT 1 FROM mv_exported_members WHERE group_key = ? AND member_key = ?)`, c.Key, m, c.Key, m); err != nil {
			return err
		}
	}
	return t.reducePending(ctx, c, cloudID, now)
}

// reducePending takes a confirmed change off the key's pending add or
// update: the attributes confirmed with the pending value, the memberships
// confirmed. A confirmed add turns what is left into an update.
func (t *Tx) reducePending(ctx context.Context, c MVConfirmed, cloudID string, now int64) error {
	for _, op := range []string{"add", "update"} {
		var raw string
		err := t.queryRow(ctx, `SELECT change FROM mv_pending WHERE mv_key = ? AND op = ?`, c.Key, op).Scan(&raw)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		var p MVConfirmed
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return fmt.Errorf("pending export of %s is unreadable: %w", c.Key, err)
		}
		confirmed := map[string][]string{}
		for _, a := range c.Attrs {
			confirmed[a.Name] = a.New
		}
		p.Attrs = slices.DeleteFunc(p.Attrs, func(a MVAttrChange) bool {
			v, ok := confirmed[a.Name]
			return ok && slices.Equal(v, a.New)
		})
		p.AddMembers = withoutAll(p.AddMembers, c.AddMembers)
		p.RemoveMembers = withoutAll(p.RemoveMembers, c.RemoveMembers)
		if _, err := t.exec(ctx, `DELETE FROM mv_pending WHERE mv_key = ? AND op = ?`, c.Key, op); err != nil {
			return err
		}
		if c.Op == "add" && p.Op == "add" {
			p.Op = "update"
		}
		if p.Op == "update" && len(p.Attrs) == 0 && len(p.AddMembers) == 0 && len(p.RemoveMembers) == 0 {
			continue
		}
		if p.Op == "add" && len(p.Attrs) == 0 && len(p.AddMembers) == 0 {
			continue
		}
		p.CloudID = cloudID
		enc, err := json.Marshal(p)
		if err != nil {
			return err
		}
		var ord int64
		if p.Op == "update" {
			ord = 2
			if p.Kind == "group" {
				ord = 3
			}
		} else if p.Kind == "group" {
			ord = 1
		}
		if _, err := t.exec(ctx, `DELETE FROM mv_pending WHERE mv_key = ? AND op = ?`, c.Key, p.Op); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO mv_pending (mv_key, op, kind, ord, source, attr_count, member_count, change, computed_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.Key, p.Op, p.Kind, ord, p.Source, len(p.Attrs),
			len(p.AddMembers)+len(p.RemoveMembers), string(enc), now); err != nil {
			return err
		}
	}
	return nil
}

// withoutAll is v without the values of done: a set when done is long (the
// add of a 250,000-member group confirms all its members at once).
func withoutAll(v, done []string) []string {
	if len(done) < 16 {
		return slices.DeleteFunc(v, func(m string) bool { return slices.Contains(done, m) })
	}
	set := make(map[string]struct{}, len(done))
	for _, m := range done {
		set[m] = struct{}{}
	}
	return slices.DeleteFunc(v, func(m string) bool { _, ok := set[m]; return ok })
}

// PendingFilter selects pending exports for the staging review.
type PendingFilter struct {
	Op, Kind string // "" for any
	// After pages: the (Order, Key) of the last row of the previous page.
	AfterOrder int
	AfterKey   string
	Limit      int // default 500
}

// PendingExports lists pending exports in export order.
func (s *Store) PendingExports(ctx context.Context, f PendingFilter) ([]MVPending, error) {
	if f.Limit <= 0 {
		f.Limit = 500
	}
	where := []string{`(ord > ? OR (ord = ? AND mv_key > ?))`}
	args := []any{f.AfterOrder, f.AfterOrder, f.AfterKey}
	if f.Op != "" {
		where, args = append(where, `op = ?`), append(args, f.Op)
	}
	if f.Kind != "" {
		where, args = append(where, `kind = ?`), append(args, f.Kind)
	}
	top, tail := s.limit(f.Limit)
	rows, err := s.query(ctx, `SELECT `+top+`mv_key, op, kind, ord, source, attr_count, member_count, change, computed_at
		FROM mv_pending WHERE `+strings.Join(where, " AND ")+` ORDER BY ord, mv_key, op`+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read pending exports: %w", err)
	}
	defer rows.Close()
	var out []MVPending
	for rows.Next() {
		var p MVPending
		var change string
		var at int64
		if err := rows.Scan(&p.Key, &p.Op, &p.Kind, &p.Order, &p.Source, &p.AttrCount, &p.MemberCount, &change, &at); err != nil {
			return nil, fmt.Errorf("store: unable to read a pending export: %w", err)
		}
		p.Change, p.ComputedAt = []byte(change), fromMillis(at)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read pending exports: %w", err)
	}
	return out, nil
}

// PendingCounts counts pending exports by operation.
func (s *Store) PendingCounts(ctx context.Context) (map[string]int, error) {
	tally, err := s.PendingTally(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for k, n := range tally {
		out[k.Op] += n
	}
	return out, nil
}
