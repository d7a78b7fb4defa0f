package store

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"slices"
)

// mvExportedColumns are what scanMVExported reads; mvExportedKnown the rows
// MetaverseExported returns (recorded, or created with a cloud id).
const (
	mvExportedColumns = `mv_key, kind, cloud_id, source, attrs, exported_at, recorded`
	mvExportedKnown   = `(recorded = 1 OR cloud_id <> '')`
)

// scanMVExported reads one row of mvExportedColumns, its attributes as
// stored (MVExported.Attrs).
func scanMVExported(rows *sql.Rows) (MVExported, error) {
	var e MVExported
	var at, recorded int64
	if err := rows.Scan(&e.Key, &e.Kind, &e.CloudID, &e.Source, &e.Attrs, &at, &recorded); err != nil {
		return e, err
	}
	e.Recorded = recorded != 0
	e.ExportedAt = fromMillis(at)
	return e, nil
}

// EachMetaverseExported reads what MetaverseExported(nil, true) returns one
// object at a time, in key order (Go's: byte-wise), each group with its
// members: a full sync of a million objects diffs against the tenant's
// state without holding it (about 1.5 KB an object). It reads two cursors
// side by side, the objects and the groups' memberships, both in key
// order: SQLite's BINARY collation is byte-wise; SQL Server is asked for a
// binary collation (BIN2: code points, which is byte-wise for any key
// without characters beyond U+FFFF), and a key out of order ends the
// sequence with an error rather than a diff against the wrong object.
func (s *Store) EachMetaverseExported(ctx context.Context) iter.Seq2[MVExported, error] {
	return func(yield func(MVExported, error) bool) {
		fail := func(err error) {
			yield(MVExported{}, fmt.Errorf("store: unable to read the exported state: %w", err))
		}
		order, morder := `mv_key`, `group_key, member_key`
		if s.dialect == SQLServer {
			order, morder = `mv_key COLLATE Latin1_General_100_BIN2`, `group_key COLLATE Latin1_General_100_BIN2, member_key COLLATE Latin1_General_100_BIN2`
		}
		objs, err := s.r.QueryContext(ctx, `SELECT `+mvExportedColumns+` FROM mv_exported WHERE `+mvExportedKnown+` ORDER BY `+order)
		if err != nil {
			fail(err)
			return
		}
		defer objs.Close()
		members, err := s.eachExportedMembers(ctx, morder)
		if err != nil {
			fail(err)
			return
		}
		defer members.close()
		prev := ""
		for n := 0; objs.Next(); n++ {
			x, err := scanMVExported(objs)
			if err != nil {
				fail(err)
				return
			}
			if n > 0 && x.Key <= prev {
				fail(fmt.Errorf("the exported objects did not come in key order (%q after %q)", x.Key, prev))
				return
			}
			prev = x.Key
			if x.Members, err = members.of(x.Key); err != nil {
				fail(err)
				return
			}
			if !yield(x, nil) {
				return
			}
		}
		if err := objs.Err(); err != nil {
			fail(err)
		}
	}
}

// exportedMembers is a cursor over the exported memberships in group key
// order: SQLite's gives a group's members as one JSON array
// (json_group_array, as readExportedMembers), SQL Server's a row each.
type exportedMembers struct {
	rows   *sql.Rows
	json   bool
	ok     bool
	group  string
	member string // SQL Server: the row's member; SQLite: the group's array
}

func (s *Store) eachExportedMembers(ctx context.Context, order string) (*exportedMembers, error) {
	m := &exportedMembers{json: s.dialect == SQLite}
	q := `SELECT group_key, member_key FROM mv_exported_members ORDER BY ` + order
	if m.json {
		q = `SELECT group_key, json_group_array(member_key) FROM
			(SELECT group_key, member_key FROM mv_exported_members ORDER BY group_key, member_key)
			GROUP BY group_key ORDER BY group_key`
	}
	var err error
	if m.rows, err = s.r.QueryContext(ctx, q); err != nil {
		return nil, err
	}
	return m, m.advance()
}

func (m *exportedMembers) advance() error {
	if m.ok = m.rows.Next(); m.ok {
		return m.rows.Scan(&m.group, &m.member)
	}
	return m.rows.Err()
}

func (m *exportedMembers) close() { m.rows.Close() }

// of returns the members of group key (sorted), skipping those of groups
// before it: memberships whose group is not read (a create sent with no
// answer).
func (m *exportedMembers) of(key string) ([]string, error) {
	for m.ok && m.group < key {
		if err := m.advance(); err != nil {
			return nil, err
		}
	}
	var out []string
	for m.ok && m.group == key {
		if m.json {
			v, err := jsonStrings(m.member)
			if err != nil {
				return nil, fmt.Errorf("exported members of %s are unreadable: %w", key, err)
			}
			out = v
		} else {
			out = append(out, m.member)
		}
		if err := m.advance(); err != nil {
			return nil, err
		}
	}
	// Sorted, as the rows were: an aggregate's order is SQLite's choice.
	if !slices.IsSorted(out) {
		slices.Sort(out)
	}
	return out, nil
}

// CountMetaverseExported counts what EachMetaverseExported reads.
func (s *Store) CountMetaverseExported(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM mv_exported WHERE `+mvExportedKnown).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: unable to count the exported objects: %w", err)
	}
	return n, nil
}
