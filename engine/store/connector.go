package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CSObject is one row of a connector space (engine/connector owns its meaning;
// the store keeps it and the lookup columns it derives from it).
type CSObject struct {
	Connector string
	Anchor    string
	Partition string // the DN of the domain the object lives in
	DN        string
	Class     string
	Attrs     map[string][]string // lower-case LDAP names
	USN       int64
	InScope   bool
	Reason    string
	Deleted   bool
	ChangedAt time.Time // when the row last changed (set by the store)
}

// CSMember is one direct membership: a group (by anchor) and a member (by DN).
type CSMember struct {
	GroupAnchor string
	MemberDN    string
}

// CSRename says that an object's DN changed: membership rows that name Old
// follow it to New.
type CSRename struct{ Old, New string }

// CSBatch is one batch of connector space writes, applied in one transaction.
type CSBatch struct {
	// Objects are written when they differ from the stored row (a digest of
	// every field decides); an unchanged object writes nothing.
	Objects []CSObject
	// Members replaces each listed group's direct members (by group anchor) by
	// difference: only the rows that differ are inserted or deleted.
	Members map[string][]string
	// MemberAdds and MemberRemoves change single memberships (a delta import).
	MemberAdds, MemberRemoves []CSMember
	// Renames update the membership rows that name a moved or renamed object.
	Renames []CSRename
	// Unlink removes every membership row that names one of these DNs (the
	// objects were deleted).
	Unlink []string
}

// CSApplied counts what ApplyCS changed.
type CSApplied struct {
	Added, Updated, Unchanged    int // objects
	MembersAdded, MembersRemoved int // membership rows
}

// CSPartition is the delta watermark of one domain partition of a connector.
type CSPartition struct {
	Connector string
	Partition string
	DC        string // the domain controller the cookie came from
	Method    string // how deltas are read (engine/connector's words)
	Cookie    string
	Config    string // fingerprint of the import's filters and attributes
	// ContainersUSN is the DC's highestCommittedUSN read before its
	// containers were last listed (CSContainers); 0 when they never were.
	ContainersUSN int64
	UpdatedAt     time.Time
}

// CSConnector is a connector's import state.
type CSConnector struct {
	Connector   string
	NeedsFull   bool
	NeedsReason string
	LastFullAt  time.Time
	LastDeltaAt time.Time
}

// inChunk bounds the IN lists of one statement: SQL Server takes at most 2,100
// parameters in a request.
const inChunk = 500

// DNKey is the lookup key of a DN in cs_objects.dn_key and cs_members.member_key:
// the first 32 hex digits of the SHA-256 of the lower-cased DN.
func DNKey(dn string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(dn)))
	return hex.EncodeToString(sum[:16])
}

// lookupKey is a lower-cased lookup column value, cut to 256 characters (the
// SQL Server column's width).
func lookupKey(v string) string {
	v = strings.ToLower(v)
	if r := []rune(v); len(r) > 256 {
		v = string(r[:256])
	}
	return v
}

func first(attrs map[string][]string, name string) string {
	if v := attrs[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// csDigest fingerprints everything a row holds, so an unchanged object is
// recognised without comparing its attributes column by column. The text
// hashed is
// "partition\0dn\0class\0usn\0in_scope\0reason\0deleted\0attrs" (usn in
// decimal, the booleans as true or false): stored digests depend on it.
func csDigest(o CSObject, attrs []byte) string {
	h := sha256.New()
	buf := make([]byte, 0, 256)
	buf = append(buf, o.Partition...)
	buf = append(buf, 0)
	buf = append(buf, o.DN...)
	buf = append(buf, 0)
	buf = append(buf, o.Class...)
	buf = append(buf, 0)
	buf = strconv.AppendInt(buf, o.USN, 10)
	buf = append(buf, 0)
	buf = strconv.AppendBool(buf, o.InScope)
	buf = append(buf, 0)
	buf = append(buf, o.Reason...)
	buf = append(buf, 0)
	buf = strconv.AppendBool(buf, o.Deleted)
	buf = append(buf, 0)
	h.Write(buf)
	h.Write(attrs)
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0])[:16])
}

// ApplyCS writes one batch of a connector space in one transaction.
func (s *Store) ApplyCS(ctx context.Context, connector string, b CSBatch) (CSApplied, error) {
	var out CSApplied
	err := s.tx(ctx, func(t *Tx) error {
		out = CSApplied{}
		if err := t.applyObjects(ctx, connector, b.Objects, &out); err != nil {
			return err
		}
		// A membership is part of its group: a group whose members change
		// changes too, so that a delta sync sees it.
		touched := map[string]bool{}
		for _, r := range b.Renames {
			if err := t.groupsHolding(ctx, connector, DNKey(r.Old), touched); err != nil {
				return err
			}
			if _, err := t.exec(ctx, `UPDATE cs_members SET member_key = ?, member_dn = ? WHERE connector = ? AND member_key = ?`,
				DNKey(r.New), r.New, connector, DNKey(r.Old)); err != nil {
				return fmt.Errorf("store: unable to follow the rename of %s: %w", r.Old, err)
			}
		}
		for _, dn := range b.Unlink {
			if err := t.groupsHolding(ctx, connector, DNKey(dn), touched); err != nil {
				return err
			}
			res, err := t.exec(ctx, `DELETE FROM cs_members WHERE connector = ? AND member_key = ?`, connector, DNKey(dn))
			if err != nil {
				return fmt.Errorf("store: unable to remove the memberships of %s: %w", dn, err)
			}
			n, _ := res.RowsAffected()
			out.MembersRemoved += int(n)
		}
		var adds [][]any
		for group, members := range b.Members {
			before := out.MembersAdded + out.MembersRemoved
			if err := t.replaceMembers(ctx, connector, group, members, &adds, &out); err != nil {
				return err
			}
			if out.MembersAdded+out.MembersRemoved != before {
				touched[group] = true
			}
		}
		// Every group's new rows at once: a full import adds thousands.
		if err := t.insertPrepared(ctx, "cs_members", "connector, group_anchor, member_key, member_dn", adds); err != nil {
			return err
		}
		for _, m := range b.MemberRemoves {
			res, err := t.exec(ctx, `DELETE FROM cs_members WHERE connector = ? AND group_anchor = ? AND member_key = ?`,
				connector, m.GroupAnchor, DNKey(m.MemberDN))
			if err != nil {
				return fmt.Errorf("store: unable to remove a member of %s: %w", m.GroupAnchor, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				out.MembersRemoved += int(n)
				touched[m.GroupAnchor] = true
			}
		}
		for _, m := range b.MemberAdds {
			n, err := t.addMember(ctx, connector, m.GroupAnchor, m.MemberDN)
			if err != nil {
				return err
			}
			if n > 0 {
				out.MembersAdded += n
				touched[m.GroupAnchor] = true
			}
		}
		return t.touchGroups(ctx, connector, touched)
	})
	return out, err
}

// byMember is the start of a query for the groups holding members by
// member_key. It reads member_dn too, which the caller ignores: without it
// SQLite (no statistics) reads group_anchor from the primary key, a covering
// index, scanning every membership of the connector (EXPLAIN QUERY PLAN:
// "COVERING INDEX sqlite_autoindex_cs_members_1 (connector=?)") instead of
// seeking cs_members_member (connector, member_key).
const byMember = `SELECT group_anchor, member_dn FROM cs_members WHERE connector = ? AND member_key `

// groupsHolding adds the anchors of the groups with a member to into.
func (t *Tx) groupsHolding(ctx context.Context, connector, memberKey string, into map[string]bool) error {
	rows, err := t.tx.QueryContext(ctx, t.s.q(byMember+`= ?`), connector, memberKey)
	if err != nil {
		return fmt.Errorf("store: unable to read the groups of a member: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		if err := rows.Scan(&a, new(string)); err != nil {
			return fmt.Errorf("store: unable to read the groups of a member: %w", err)
		}
		into[a] = true
	}
	return rows.Err()
}

// touchGroups marks groups whose memberships changed as changed now.
func (t *Tx) touchGroups(ctx context.Context, connector string, groups map[string]bool) error {
	anchors := slices.Sorted(maps.Keys(groups))
	now := t.s.millis()
	for start := 0; start < len(anchors); start += inChunk {
		chunk := anchors[start:min(start+inChunk, len(anchors))]
		if _, err := t.exec(ctx, `UPDATE cs_objects SET changed_at = ? WHERE connector = ? AND anchor IN (`+csMarks(len(chunk))+`)`,
			append([]any{now, connector}, anyStrings(chunk)...)...); err != nil {
			return fmt.Errorf("store: unable to mark the changed groups: %w", err)
		}
	}
	return nil
}

// csObjectCols are the columns an INSERT of cs_objects writes, in csRow's order.
const csObjectCols = `connector, anchor, partition, dn, dn_key, class, sam_lower, upn_lower, mail_lower,
	attrs, usn, in_scope, reason, deleted, digest, changed_at`

// csRow is o's INSERT values (csObjectCols).
func csRow(connector string, o CSObject, attrs, digest string, now int64) []any {
	return []any{connector, o.Anchor, o.Partition, o.DN, DNKey(o.DN), o.Class, lookupKey(first(o.Attrs, "samaccountname")),
		lookupKey(first(o.Attrs, "userprincipalname")), lookupKey(first(o.Attrs, "mail")), attrs, o.USN,
		csBool(o.InScope), o.Reason, csBool(o.Deleted), digest, now}
}

// applyObjects writes the objects whose digest differs from the stored one:
// new ones (a full import into an empty connector space is nearly all
// inserts) and changed ones with one statement each, prepared once for the
// call.
func (t *Tx) applyObjects(ctx context.Context, connector string, objs []CSObject, out *CSApplied) error {
	now := t.s.millis()
	var update *sql.Stmt
	defer func() {
		if update != nil {
			update.Close()
		}
	}()
	var buf []byte
	var names []string
	for start := 0; start < len(objs); start += inChunk {
		chunk := objs[start:min(start+inChunk, len(objs))]
		// The stored digests of the chunk, in one query.
		args := make([]any, 0, len(chunk)+1)
		args = append(args, connector)
		for _, o := range chunk {
			args = append(args, o.Anchor)
		}
		rows, err := t.tx.QueryContext(ctx, t.s.q(`SELECT anchor, digest FROM cs_objects WHERE connector = ? AND anchor IN (`+csMarks(len(chunk))+`)`), args...)
		if err != nil {
			return fmt.Errorf("store: unable to read connector space objects: %w", err)
		}
		stored := map[string]string{}
		for rows.Next() {
			var a, d string
			if err := rows.Scan(&a, &d); err != nil {
				rows.Close()
				return fmt.Errorf("store: unable to read connector space objects: %w", err)
			}
			stored[a] = d
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: unable to read connector space objects: %w", err)
		}
		var inserts [][]any
		for _, o := range chunk {
			// appendJSONAttrs writes what json.Marshal would: the digests
			// of rows written before it must still match.
			buf, names = appendJSONAttrs(buf[:0], o.Attrs, names)
			digest := csDigest(o, buf)
			old, exists := stored[o.Anchor]
			switch {
			case exists && old == digest:
				out.Unchanged++
			case exists:
				if update == nil {
					update, err = t.tx.PrepareContext(ctx, t.s.q(`UPDATE cs_objects SET partition = ?, dn = ?, dn_key = ?, class = ?, sam_lower = ?,
						upn_lower = ?, mail_lower = ?, attrs = ?, usn = ?, in_scope = ?, reason = ?, deleted = ?, digest = ?, changed_at = ?
						WHERE connector = ? AND anchor = ?`))
					if err != nil {
						return fmt.Errorf("store: unable to prepare the update of connector space objects: %w", err)
					}
				}
				if _, err := update.ExecContext(ctx, o.Partition, o.DN, DNKey(o.DN), o.Class, lookupKey(first(o.Attrs, "samaccountname")),
					lookupKey(first(o.Attrs, "userprincipalname")), lookupKey(first(o.Attrs, "mail")), string(buf), o.USN,
					csBool(o.InScope), o.Reason, csBool(o.Deleted), digest, now, connector, o.Anchor); err != nil {
					return fmt.Errorf("store: unable to write connector space object %s: %w", o.DN, err)
				}
				out.Updated++
			default:
				inserts = append(inserts, csRow(connector, o, string(buf), digest, now))
				out.Added++
			}
		}
		if err := t.insertPrepared(ctx, "cs_objects", csObjectCols, inserts); err != nil {
			return err
		}
	}
	return nil
}

// insertPrepared inserts rows one by one with one prepared statement.
// Measured (BenchmarkApplyCSFull) against multi-row VALUES (rowWriter): as
// fast, without the statement journal a multi-row INSERT writes to a temp
// file; parsing the statement for every row cost a fifth of the time.
func (t *Tx) insertPrepared(ctx context.Context, table, cols string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	st, err := t.tx.PrepareContext(ctx, t.s.q("INSERT INTO "+table+" ("+cols+") VALUES ("+csMarks(len(rows[0]))+")"))
	if err != nil {
		return fmt.Errorf("store: unable to prepare the insert into %s: %w", table, err)
	}
	defer st.Close()
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, r...); err != nil {
			return fmt.Errorf("store: unable to insert into %s: %w", table, err)
		}
	}
	return nil
}

// replaceMembers makes group's membership rows exactly members, touching only
// the rows that differ. The rows to add are appended to adds (connector,
// group_anchor, member_key, member_dn), for the caller to insert at once.
func (t *Tx) replaceMembers(ctx context.Context, connector, group string, members []string, adds *[][]any, out *CSApplied) error {
	rows, err := t.tx.QueryContext(ctx, t.s.q(`SELECT member_key FROM cs_members WHERE connector = ? AND group_anchor = ?`), connector, group)
	if err != nil {
		return fmt.Errorf("store: unable to read the members of %s: %w", group, err)
	}
	have := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return fmt.Errorf("store: unable to read the members of %s: %w", group, err)
		}
		have[k] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: unable to read the members of %s: %w", group, err)
	}
	want := make(map[string]bool, len(members))
	for _, dn := range members {
		k := DNKey(dn)
		if want[k] {
			continue
		}
		want[k] = true
		if have[k] {
			continue
		}
		*adds = append(*adds, []any{connector, group, k, dn})
		out.MembersAdded++
	}
	for k := range have {
		if want[k] {
			continue
		}
		if _, err := t.exec(ctx, `DELETE FROM cs_members WHERE connector = ? AND group_anchor = ? AND member_key = ?`, connector, group, k); err != nil {
			return fmt.Errorf("store: unable to remove a member of %s: %w", group, err)
		}
		out.MembersRemoved++
	}
	return nil
}

// addMember inserts one membership row unless it is there (1 when it added).
func (t *Tx) addMember(ctx context.Context, connector, group, dn string) (int, error) {
	// SQLite has INSERT OR IGNORE; SQL Server has no such clause, so it
	// inserts from a SELECT that is empty when the row exists.
	query := `INSERT OR IGNORE INTO cs_members (connector, group_anchor, member_key, member_dn) VALUES (?, ?, ?, ?)`
	args := []any{connector, group, DNKey(dn), dn}
	if t.s.dialect == SQLServer {
		query = `INSERT INTO cs_members (connector, group_anchor, member_key, member_dn) SELECT ?, ?, ?, ?
			WHERE NOT EXISTS (SELECT 1 FROM cs_members WITH (UPDLOCK, HOLDLOCK) WHERE connector = ? AND group_anchor = ? AND member_key = ?)`
		args = append(args, connector, group, DNKey(dn))
	}
	res, err := t.exec(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("store: unable to add a member to %s: %w", group, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// MarkCSDeleted marks objects of a connector space deleted (out of scope, with
// reason) and removes their memberships both ways. It returns how many
// objects it changed.
func (s *Store) MarkCSDeleted(ctx context.Context, connector string, anchors []string, reason string) (int, error) {
	changed := 0
	err := s.tx(ctx, func(t *Tx) error {
		changed = 0
		for start := 0; start < len(anchors); start += inChunk {
			chunk := anchors[start:min(start+inChunk, len(anchors))]
			objs, err := t.csObjects(ctx, `connector = ? AND anchor IN (`+csMarks(len(chunk))+`) AND deleted = 0`, append([]any{connector}, anyStrings(chunk)...)...)
			if err != nil {
				return err
			}
			for _, o := range objs {
				o.Deleted, o.InScope, o.Reason = true, false, reason
				var out CSApplied
				if err := t.applyObjects(ctx, connector, []CSObject{o}, &out); err != nil {
					return err
				}
				holding := map[string]bool{}
				if err := t.groupsHolding(ctx, connector, DNKey(o.DN), holding); err != nil {
					return err
				}
				if _, err := t.exec(ctx, `DELETE FROM cs_members WHERE connector = ? AND (group_anchor = ? OR member_key = ?)`,
					connector, o.Anchor, DNKey(o.DN)); err != nil {
					return fmt.Errorf("store: unable to remove the memberships of %s: %w", o.DN, err)
				}
				if err := t.touchGroups(ctx, connector, holding); err != nil {
					return err
				}
				changed++
			}
		}
		return nil
	})
	return changed, err
}

// SetCSPartitionOutOfScope puts every live object of a partition out of scope
// with reason (its domain is no longer selected). It returns how many changed.
func (s *Store) SetCSPartitionOutOfScope(ctx context.Context, connector, partition, reason string) (int, error) {
	changed := 0
	err := s.tx(ctx, func(t *Tx) error {
		objs, err := t.csObjects(ctx, `connector = ? AND partition = ? AND deleted = 0 AND (in_scope = 1 OR reason <> ?)`, connector, partition, reason)
		if err != nil {
			return err
		}
		for i := range objs {
			objs[i].InScope, objs[i].Reason = false, reason
		}
		var out CSApplied
		if err := t.applyObjects(ctx, connector, objs, &out); err != nil {
			return err
		}
		changed = out.Updated
		return nil
	})
	return changed, err
}

// CSLiveAnchors lists the anchors of a partition's objects that are not deleted.
func (s *Store) CSLiveAnchors(ctx context.Context, connector, partition string) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT anchor FROM cs_objects WHERE connector = ? AND partition = ? AND deleted = 0`), connector, partition)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list connector space objects: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, fmt.Errorf("store: unable to list connector space objects: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

const csColumns = `connector, anchor, partition, dn, class, attrs, usn, in_scope, reason, deleted, changed_at`

// csObjects reads the rows matching where (inside a transaction).
func (t *Tx) csObjects(ctx context.Context, where string, args ...any) ([]CSObject, error) {
	rows, err := t.tx.QueryContext(ctx, t.s.q(`SELECT `+csColumns+` FROM cs_objects WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read connector space objects: %w", err)
	}
	return scanCSObjects(rows)
}

func (s *Store) csObjects(ctx context.Context, where string, args ...any) ([]CSObject, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT `+csColumns+` FROM cs_objects WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read connector space objects: %w", err)
	}
	return scanCSObjects(rows)
}

func scanCSObjects(rows *sql.Rows) ([]CSObject, error) {
	defer rows.Close()
	var out []CSObject
	for rows.Next() {
		o, err := scanCSObject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read connector space objects: %w", err)
	}
	return out, nil
}

// CSObjects returns the objects of a connector space with these anchors (those
// that exist), in no particular order.
func (s *Store) CSObjects(ctx context.Context, connector string, anchors []string) ([]CSObject, error) {
	var out []CSObject
	for start := 0; start < len(anchors); start += inChunk {
		chunk := anchors[start:min(start+inChunk, len(anchors))]
		objs, err := s.csObjects(ctx, `connector = ? AND anchor IN (`+csMarks(len(chunk))+`)`, append([]any{connector}, anyStrings(chunk)...)...)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// CSObjectsByDN returns the objects of a connector space with these DNs
// (compared without regard to case), deleted ones excluded.
func (s *Store) CSObjectsByDN(ctx context.Context, connector string, dns []string) ([]CSObject, error) {
	var out []CSObject
	for start := 0; start < len(dns); start += inChunk {
		chunk := dns[start:min(start+inChunk, len(dns))]
		args := []any{connector}
		for _, dn := range chunk {
			args = append(args, DNKey(dn))
		}
		objs, err := s.csObjects(ctx, `connector = ? AND deleted = 0 AND dn_key IN (`+csMarks(len(chunk))+`)`, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// CSObjectsOf returns every object of a connector space (deleted ones too),
// ordered by anchor.
func (s *Store) CSObjectsOf(ctx context.Context, connector string) ([]CSObject, error) {
	return s.csObjects(ctx, `connector = ? ORDER BY anchor`, connector)
}

// CSObjectsChangedSince returns the objects of a connector space whose rows
// changed after since (deleted ones too): a delta sync's input.
func (s *Store) CSObjectsChangedSince(ctx context.Context, connector string, since time.Time) ([]CSObject, error) {
	return s.csObjects(ctx, `connector = ? AND changed_at > ? ORDER BY anchor`, connector, since.UnixMilli())
}

// FindCSObjects looks objects up across every connector space by
// sAMAccountName, userPrincipalName, mail or DN (case-insensitive, exact) —
// the helpdesk's "find this user".
func (s *Store) FindCSObjects(ctx context.Context, term string) ([]CSObject, error) {
	k := lookupKey(strings.TrimSpace(term))
	// A prepared statement (the helpdesk's most frequent query).
	rows, err := s.query(ctx, `SELECT `+csColumns+` FROM cs_objects WHERE sam_lower = ? OR upn_lower = ? OR mail_lower = ? OR dn_key = ? ORDER BY connector, dn`,
		k, k, k, DNKey(strings.TrimSpace(term)))
	if err != nil {
		return nil, fmt.Errorf("store: unable to read connector space objects: %w", err)
	}
	return scanCSObjects(rows)
}

// CSMembers returns a group's direct members (DNs), sorted.
func (s *Store) CSMembers(ctx context.Context, connector, groupAnchor string) ([]string, error) {
	rows, err := s.query(ctx, `SELECT member_dn FROM cs_members WHERE connector = ? AND group_anchor = ? ORDER BY member_dn`, connector, groupAnchor)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the members of %s: %w", groupAnchor, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var dn string
		if err := rows.Scan(&dn); err != nil {
			return nil, fmt.Errorf("store: unable to read the members of %s: %w", groupAnchor, err)
		}
		out = append(out, dn)
	}
	return out, rows.Err()
}

// CSMembersOf returns every group's direct members (DNs, sorted) in a
// connector space, by group anchor, in one read: a full sync's memberships.
func (s *Store) CSMembersOf(ctx context.Context, connector string) (map[string][]string, error) {
	rows, err := s.query(ctx, `SELECT group_anchor, member_dn FROM cs_members WHERE connector = ? ORDER BY group_anchor, member_dn`, connector)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the memberships of %s: %w", connector, err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var group, dn string
		if err := rows.Scan(&group, &dn); err != nil {
			return nil, fmt.Errorf("store: unable to read the memberships of %s: %w", connector, err)
		}
		out[group] = append(out[group], dn)
	}
	return out, rows.Err()
}

// CSMemberOf returns the anchors of the groups a DN is a direct member of,
// sorted (here: an ORDER BY makes SQLite walk the primary key, see byMember).
func (s *Store) CSMemberOf(ctx context.Context, connector, memberDN string) ([]string, error) {
	rows, err := s.query(ctx, byMember+`= ?`, connector, DNKey(memberDN))
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the groups of %s: %w", memberDN, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a, new(string)); err != nil {
			return nil, fmt.Errorf("store: unable to read the groups of %s: %w", memberDN, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read the groups of %s: %w", memberDN, err)
	}
	slices.Sort(out)
	return out, nil
}

// CSPartition returns a partition's watermark, or ErrNotFound.
func (s *Store) CSPartition(ctx context.Context, connector, partition string) (CSPartition, error) {
	p := CSPartition{Connector: connector, Partition: partition}
	var updated int64
	err := s.queryRow(ctx, `SELECT dc, method, cookie, config, containers_usn, updated_at FROM cs_partitions WHERE connector = ? AND partition = ?`,
		connector, partition).Scan(&p.DC, &p.Method, &p.Cookie, &p.Config, &p.ContainersUSN, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNotFound
	}
	if err != nil {
		return p, fmt.Errorf("store: unable to read the watermark of %s %s: %w", connector, partition, err)
	}
	p.UpdatedAt = fromMillis(updated)
	return p, nil
}

// SaveCSPartition writes a partition's watermark.
func (s *Store) SaveCSPartition(ctx context.Context, p CSPartition) error {
	// SQLite has INSERT ... ON CONFLICT; SQL Server has MERGE (see setSetting).
	query := `INSERT INTO cs_partitions (connector, partition, dc, method, cookie, config, containers_usn, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(connector, partition) DO UPDATE SET dc = excluded.dc, method = excluded.method, cookie = excluded.cookie,
		config = excluded.config, containers_usn = excluded.containers_usn, updated_at = excluded.updated_at`
	if s.dialect == SQLServer {
		query = `MERGE cs_partitions WITH (HOLDLOCK) AS t
			USING (SELECT ? AS connector, ? AS partition, ? AS dc, ? AS method, ? AS cookie, ? AS config, ? AS containers_usn, ? AS updated_at) AS src
			ON t.connector = src.connector AND t.partition = src.partition
			WHEN MATCHED THEN UPDATE SET dc = src.dc, method = src.method, cookie = src.cookie, config = src.config,
				containers_usn = src.containers_usn, updated_at = src.updated_at
			WHEN NOT MATCHED THEN INSERT (connector, partition, dc, method, cookie, config, containers_usn, updated_at)
				VALUES (src.connector, src.partition, src.dc, src.method, src.cookie, src.config, src.containers_usn, src.updated_at);`
	}
	if _, err := s.exec(ctx, query, p.Connector, p.Partition, p.DC, p.Method, p.Cookie, p.Config, p.ContainersUSN, s.millis()); err != nil {
		return fmt.Errorf("store: unable to save the watermark of %s %s: %w", p.Connector, p.Partition, err)
	}
	return nil
}

// CSConnectorState returns a connector's import state (the zero state, with
// its name, when none is stored).
func (s *Store) CSConnectorState(ctx context.Context, connector string) (CSConnector, error) {
	c := CSConnector{Connector: connector}
	var needs, full, delta int64
	err := s.queryRow(ctx, `SELECT needs_full, needs_reason, last_full_at, last_delta_at FROM cs_connectors WHERE connector = ?`, connector).
		Scan(&needs, &c.NeedsReason, &full, &delta)
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("store: unable to read the import state of %s: %w", connector, err)
	}
	c.NeedsFull, c.LastFullAt, c.LastDeltaAt = needs != 0, fromMillis(full), fromMillis(delta)
	return c, nil
}

// SaveCSConnectorState writes a connector's import state.
func (s *Store) SaveCSConnectorState(ctx context.Context, c CSConnector) error {
	// SQLite has INSERT ... ON CONFLICT; SQL Server has MERGE (see setSetting).
	query := `INSERT INTO cs_connectors (connector, needs_full, needs_reason, last_full_at, last_delta_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(connector) DO UPDATE SET needs_full = excluded.needs_full, needs_reason = excluded.needs_reason,
		last_full_at = excluded.last_full_at, last_delta_at = excluded.last_delta_at`
	if s.dialect == SQLServer {
		query = `MERGE cs_connectors WITH (HOLDLOCK) AS t
			USING (SELECT ? AS connector, ? AS needs_full, ? AS needs_reason, ? AS last_full_at, ? AS last_delta_at) AS src
			ON t.connector = src.connector
			WHEN MATCHED THEN UPDATE SET needs_full = src.needs_full, needs_reason = src.needs_reason,
				last_full_at = src.last_full_at, last_delta_at = src.last_delta_at
			WHEN NOT MATCHED THEN INSERT (connector, needs_full, needs_reason, last_full_at, last_delta_at)
				VALUES (src.connector, src.needs_full, src.needs_reason, src.last_full_at, src.last_delta_at);`
	}
	if _, err := s.exec(ctx, query, c.Connector, csBool(c.NeedsFull), c.NeedsReason, toMillis(c.LastFullAt), toMillis(c.LastDeltaAt)); err != nil {
		return fmt.Errorf("store: unable to save the import state of %s: %w", c.Connector, err)
	}
	return nil
}

func csMarks(n int) string { return strings.TrimSuffix(strings.Repeat("?,", n), ",") }

func anyStrings(v []string) []any {
	out := make([]any, len(v))
	for i, s := range v {
		out[i] = s
	}
	return out
}

func csBool(b bool) int {
	if b {
		return 1
	}
	return 0
}

// CSMove says that the container at Old is now at New (renamed or moved).
type CSMove struct{ Old, New string }

// CSContainers returns the record of a partition's containers: DN by objectGUID.
func (s *Store) CSContainers(ctx context.Context, connector, partition string) (map[string]string, error) {
	rows, err := s.query(ctx, `SELECT guid, dn FROM cs_containers WHERE connector = ? AND partition = ?`, connector, partition)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the containers of %s: %w", partition, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var g, dn string
		if err := rows.Scan(&g, &dn); err != nil {
			return nil, fmt.Errorf("store: unable to read the containers of %s: %w", partition, err)
		}
		out[g] = dn
	}
	return out, rows.Err()
}

// SaveCSContainers makes the record of a partition's containers exactly
// containers (DN by objectGUID), writing only the rows that differ.
func (s *Store) SaveCSContainers(ctx context.Context, connector, partition string, containers map[string]string) error {
	have, err := s.CSContainers(ctx, connector, partition)
	if err != nil {
		return err
	}
	return s.tx(ctx, func(t *Tx) error {
		var gone []string
		for g := range have {
			if _, ok := containers[g]; !ok {
				gone = append(gone, g)
			}
		}
		for start := 0; start < len(gone); start += inChunk {
			chunk := gone[start:min(start+inChunk, len(gone))]
			if _, err := t.exec(ctx, `DELETE FROM cs_containers WHERE connector = ? AND guid IN (`+csMarks(len(chunk))+`)`,
				append([]any{connector}, anyStrings(chunk)...)...); err != nil {
				return fmt.Errorf("store: unable to forget the deleted containers of %s: %w", partition, err)
			}
		}
		var adds [][]any
		var update *sql.Stmt
		defer func() {
			if update != nil {
				update.Close()
			}
		}()
		for _, g := range slices.Sorted(maps.Keys(containers)) {
			dn := containers[g]
			old, ok := have[g]
			switch {
			case !ok:
				adds = append(adds, []any{connector, partition, g, dn})
			case old != dn:
				if update == nil {
					var err error
					if update, err = t.tx.PrepareContext(ctx, t.s.q(`UPDATE cs_containers SET partition = ?, dn = ? WHERE connector = ? AND guid = ?`)); err != nil {
						return fmt.Errorf("store: unable to prepare the update of the containers of %s: %w", partition, err)
					}
				}
				if _, err := update.ExecContext(ctx, partition, dn, connector, g); err != nil {
					return fmt.Errorf("store: unable to record the container %s: %w", dn, err)
				}
			}
		}
		// A container moved in from another domain of the forest keeps its
		// objectGUID: its row there goes.
		for start := 0; start < len(adds); start += inChunk {
			chunk := adds[start:min(start+inChunk, len(adds))]
			args := []any{connector}
			for _, a := range chunk {
				args = append(args, a[2])
			}
			if _, err := t.exec(ctx, `DELETE FROM cs_containers WHERE connector = ? AND guid IN (`+csMarks(len(chunk))+`)`, args...); err != nil {
				return fmt.Errorf("store: unable to record the containers of %s: %w", partition, err)
			}
		}
		return t.insertPrepared(ctx, "cs_containers", "connector, partition, guid, dn", adds)
	})
}

// parentDN is dn without its first RDN ("" for a DN of one RDN): what follows
// the first comma that no backslash escapes.
func parentDN(dn string) string {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return dn[i+1:]
		}
	}
	return ""
}

// movedDN is where dn is once its containers moved: byOld maps the
// lower-cased former DN of a container to its DN now, and dn follows its
// nearest container found there. ok is false when none is, or dn stays.
func movedDN(dn string, byOld map[string]string) (string, bool) {
	for p := parentDN(dn); p != ""; p = parentDN(p) {
		if now, found := byOld[strings.ToLower(p)]; found {
			moved := dn[:len(dn)-len(p)] + now
			return moved, moved != dn
		}
	}
	return dn, false
}

// MoveCSSubtrees follows containers that were renamed or moved: every live
// object of the partition below a move's Old (compared without regard to
// case) takes the DN below its New, gets its scope decided again with decide
// (given the object with its new DN and stored attributes; nil keeps it) and
// is marked changed; the membership rows that name it
// follow it, and the groups holding them are marked changed. One transaction.
// An object follows the move of its nearest container, so moves may list
// containers that kept their DN (Old == New): one below a moved container
// keeps its objects where they are, and nested moves (an OU and its parent)
// each land right in one pass. It returns how many objects moved.
//
// The new DNs are computed here rather than in SQL: dn_key (a SHA-256) and
// the row digest are Go's, and SQLite's lower() folds ASCII only. The rows
// below are found by one read of the partition's (anchor, dn) pairs; the
// moved ones are written with one prepared statement each.
func (s *Store) MoveCSSubtrees(ctx context.Context, connector, partition string, moves []CSMove, decide func(o *CSObject) (bool, string)) (int, error) {
	byOld := make(map[string]string, len(moves))
	for _, m := range moves {
		byOld[strings.ToLower(m.Old)] = m.New
	}
	moved := 0
	err := s.tx(ctx, func(t *Tx) error {
		moved = 0
		rows, err := t.tx.QueryContext(ctx, t.s.q(`SELECT anchor, dn FROM cs_objects WHERE connector = ? AND partition = ? AND deleted = 0`), connector, partition)
		if err != nil {
			return fmt.Errorf("store: unable to read the DNs of %s: %w", partition, err)
		}
		newDN := map[string]string{}
		for rows.Next() {
			var a, dn string
			if err := rows.Scan(&a, &dn); err != nil {
				rows.Close()
				return fmt.Errorf("store: unable to read the DNs of %s: %w", partition, err)
			}
			if to, ok := movedDN(dn, byOld); ok {
				newDN[a] = to
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: unable to read the DNs of %s: %w", partition, err)
		}
		anchors := slices.Sorted(maps.Keys(newDN))
		touched := map[string]bool{}
		var renames []CSRename
		for start := 0; start < len(anchors); start += inChunk {
			chunk := anchors[start:min(start+inChunk, len(anchors))]
			objs, err := t.csObjects(ctx, `connector = ? AND anchor IN (`+csMarks(len(chunk))+`)`, append([]any{connector}, anyStrings(chunk)...)...)
			if err != nil {
				return err
			}
			keys := make([]any, 0, len(objs)+1)
			keys = append(keys, connector)
			for i := range objs {
				o := &objs[i]
				renames = append(renames, CSRename{Old: o.DN, New: newDN[o.Anchor]})
				keys = append(keys, DNKey(o.DN))
				o.DN = newDN[o.Anchor]
				if decide != nil {
					o.InScope, o.Reason = decide(o)
				}
			}
			var out CSApplied
			if err := t.applyObjects(ctx, connector, objs, &out); err != nil {
				return err
			}
			moved += out.Updated
			// The groups holding the chunk's objects, in one query.
			held, err := t.tx.QueryContext(ctx, t.s.q(byMember+`IN (`+csMarks(len(keys)-1)+`)`), keys...)
			if err != nil {
				return fmt.Errorf("store: unable to read the groups of moved objects: %w", err)
			}
			for held.Next() {
				var g string
				if err := held.Scan(&g, new(string)); err != nil {
					held.Close()
					return fmt.Errorf("store: unable to read the groups of moved objects: %w", err)
				}
				touched[g] = true
			}
			held.Close()
			if err := held.Err(); err != nil {
				return fmt.Errorf("store: unable to read the groups of moved objects: %w", err)
			}
		}
		if err := t.followRenames(ctx, connector, renames); err != nil {
			return err
		}
		return t.touchGroups(ctx, connector, touched)
	})
	return moved, err
}

// followRenames points the membership rows naming each rename's Old at its
// New. A group that already names New (a delta added it) keeps that row and
// loses the old one. Every statement is a lookup by (connector, member_key)
// or the primary key: one a row, prepared once.
func (t *Tx) followRenames(ctx context.Context, connector string, renames []CSRename) error {
	if len(renames) == 0 {
		return nil
	}
	prepare := func(query string) (*sql.Stmt, error) {
		st, err := t.tx.PrepareContext(ctx, t.s.q(query))
		if err != nil {
			return nil, fmt.Errorf("store: unable to prepare the moves of memberships: %w", err)
		}
		return st, nil
	}
	holding, err := prepare(byMember + `= ?`)
	if err != nil {
		return err
	}
	defer holding.Close()
	drop, err := prepare(`DELETE FROM cs_members WHERE connector = ? AND group_anchor = ? AND member_key = ?`)
	if err != nil {
		return err
	}
	defer drop.Close()
	update, err := prepare(`UPDATE cs_members SET member_key = ?, member_dn = ? WHERE connector = ? AND member_key = ?`)
	if err != nil {
		return err
	}
	defer update.Close()
	for _, r := range renames {
		oldKey, newKey := DNKey(r.Old), DNKey(r.New)
		if oldKey != newKey {
			rows, err := holding.QueryContext(ctx, connector, newKey)
			if err != nil {
				return fmt.Errorf("store: unable to move the memberships of %s: %w", r.Old, err)
			}
			var already []string
			for rows.Next() {
				var g string
				if err := rows.Scan(&g, new(string)); err != nil {
					rows.Close()
					return fmt.Errorf("store: unable to move the memberships of %s: %w", r.Old, err)
				}
				already = append(already, g)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("store: unable to move the memberships of %s: %w", r.Old, err)
			}
			for _, g := range already {
				if _, err := drop.ExecContext(ctx, connector, g, oldKey); err != nil {
					return fmt.Errorf("store: unable to move the memberships of %s: %w", r.Old, err)
				}
			}
		}
		if _, err := update.ExecContext(ctx, newKey, r.New, connector, oldKey); err != nil {
			return fmt.Errorf("store: unable to move the memberships of %s: %w", r.Old, err)
		}
	}
	return nil
}
