package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Writeback object kinds (writeback_objects.kind, migration 015).
const (
	WritebackKindGroup  = "group"  // a Microsoft 365 group written back as a universal group
	WritebackKindDevice = "device" // a device written back as an msDS-Device
)

// WritebackObject is what group or device writeback holds of one object: the
// tenant's side (Tenant, Members, Removed) and what was written into the
// forest (DN, Written, WrittenMembers). See migrations/*/015.
type WritebackObject struct {
	Kind    string
	CloudID string
	Forest  string
	// Tenant is the object as Graph last reported it (JSON of the writeback
	// package's own shape).
	Tenant json.RawMessage
	// Members are a group's members in the tenant: member id → @odata.type.
	Members map[string]string
	// Removed: the tenant no longer has the object (or it left writeback's
	// scope); its AD object is to be deleted.
	Removed bool
	// DN is the AD object written ("" until an add was confirmed).
	DN string
	// Written are the attribute values written; WrittenMembers the member
	// DNs written.
	Written         map[string][]string
	WrittenMembers  []string
	CreateStartedAt time.Time
	WrittenAt       time.Time
	UpdatedAt       time.Time
}

func checkWritebackObjectKind(kind string) error {
	if kind != WritebackKindGroup && kind != WritebackKindDevice {
		return fmt.Errorf("store: unknown writeback object kind %q", kind)
	}
	return nil
}

const wbObjectColumns = `kind, cloud_id, forest, tenant, members, removed, dn, written, written_members, create_started_at, written_at, updated_at`

// WritebackObjects returns every object of a kind, in cloud id order.
func (s *Store) WritebackObjects(ctx context.Context, kind string) ([]WritebackObject, error) {
	if err := checkWritebackObjectKind(kind); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT `+wbObjectColumns+` FROM writeback_objects WHERE kind = ? ORDER BY cloud_id`, kind)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read the written-back %ss: %w", kind, err)
	}
	return scanWritebackObjects(rows)
}

// FindWritebackObjects finds, for the helpdesk lookup, up to limit objects of
// either kind whose cloud id is q, or whose DN or tenant state (its display
// name, device id…) holds q, ignoring case.
func (s *Store) FindWritebackObjects(ctx context.Context, q string, limit int) ([]WritebackObject, error) {
	l := strings.ToLower(strings.TrimSpace(q))
	if l == "" {
		return nil, nil
	}
	like := "%" + likeLiteral(s.dialect, l) + "%"
	top, tail := s.limit(limit)
	rows, err := s.query(ctx, `SELECT `+top+wbObjectColumns+` FROM writeback_objects
		WHERE LOWER(cloud_id) = ? OR LOWER(dn) LIKE ? ESCAPE '\' OR LOWER(tenant) LIKE ? ESCAPE '\' ORDER BY kind, cloud_id`+tail, l, like, like)
	if err != nil {
		return nil, fmt.Errorf("store: unable to search the written-back objects: %w", err)
	}
	return scanWritebackObjects(rows)
}

func scanWritebackObjects(rows *sql.Rows) ([]WritebackObject, error) {
	defer rows.Close()
	var out []WritebackObject
	for rows.Next() {
		var o WritebackObject
		var tenant, members, written, writtenMembers string
		var removed, started, at, updated int64
		if err := rows.Scan(&o.Kind, &o.CloudID, &o.Forest, &tenant, &members, &removed, &o.DN, &written, &writtenMembers, &started, &at, &updated); err != nil {
			return nil, fmt.Errorf("store: unable to read a written-back object: %w", err)
		}
		o.Tenant = json.RawMessage(tenant)
		w, werr := decodeWritten(written)
		if err := errors.Join(json.Unmarshal([]byte(members), &o.Members), werr,
			json.Unmarshal([]byte(writtenMembers), &o.WrittenMembers)); err != nil {
			return nil, fmt.Errorf("store: the written-back %s %s is unreadable: %w", o.Kind, o.CloudID, err)
		}
		o.Written, o.Removed = w, removed != 0
		o.CreateStartedAt, o.WrittenAt, o.UpdatedAt = fromMillis(started), fromMillis(at), fromMillis(updated)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to read the written-back objects: %w", err)
	}
	return out, nil
}

// SaveWritebackObjects writes objects (each replaces the row of its kind and
// cloud id, or is inserted), in one transaction.
func (s *Store) SaveWritebackObjects(ctx context.Context, objs []WritebackObject) error {
	if len(objs) == 0 {
		return nil
	}
	now := s.millis()
	return s.tx(ctx, func(t *Tx) error {
		for _, o := range objs {
			if err := checkWritebackObjectKind(o.Kind); err != nil {
				return err
			}
			tenant := string(o.Tenant)
			if tenant == "" {
				tenant = "{}"
			}
			members, err := json.Marshal(nonNilMap(o.Members))
			if err != nil {
				return err
			}
			written, err := encodeWritten(o.Written)
			if err != nil {
				return err
			}
			wm, err := json.Marshal(nonNilStrings(o.WrittenMembers))
			if err != nil {
				return err
			}
			args := []any{o.Forest, tenant, string(members), boolInt(o.Removed), o.DN, written, string(wm),
				toMillis(o.CreateStartedAt), toMillis(o.WrittenAt), now, o.Kind, o.CloudID}
			// An UPDATE, then an INSERT when it found no row: the same SQL in
			// both dialects (the transaction holds the write lock in SQLite;
			// a writeback step is the only writer of these rows).
			res, err := t.exec(ctx, `UPDATE writeback_objects SET forest = ?, tenant = ?, members = ?, removed = ?, dn = ?, written = ?,
				written_members = ?, create_started_at = ?, written_at = ?, updated_at = ? WHERE kind = ? AND cloud_id = ?`, args...)
			if err != nil {
				return fmt.Errorf("store: unable to save the written-back %s %s: %w", o.Kind, o.CloudID, err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				continue
			}
			if _, err := t.exec(ctx, `INSERT INTO writeback_objects (forest, tenant, members, removed, dn, written, written_members,
				create_started_at, written_at, updated_at, kind, cloud_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...); err != nil {
				return fmt.Errorf("store: unable to save the written-back %s %s: %w", o.Kind, o.CloudID, err)
			}
		}
		return nil
	})
}

// DeleteWritebackObject forgets an object (its AD object was deleted).
func (s *Store) DeleteWritebackObject(ctx context.Context, kind, cloudID string) error {
	if _, err := s.exec(ctx, `DELETE FROM writeback_objects WHERE kind = ? AND cloud_id = ?`, kind, cloudID); err != nil {
		return fmt.Errorf("store: unable to forget the written-back %s %s: %w", kind, cloudID, err)
	}
	return nil
}

// encodeWritten is the JSON of the values written. A value that is not
// UTF-8 text (msDS-DeviceID, msDS-RegisteredOwner: binary) is kept as
// {"base64": …}, since a JSON string would replace its bytes with U+FFFD and
// the next plan would find it changed, every cycle; text values are plain
// strings, as rows saved before held them all.
func encodeWritten(attrs map[string][]string) (string, error) {
	out := make(map[string][]any, len(attrs))
	for k, vs := range attrs {
		enc := make([]any, len(vs))
		for i, v := range vs {
			if utf8.ValidString(v) {
				enc[i] = v
			} else {
				enc[i] = binaryValue{Base64: base64.StdEncoding.EncodeToString([]byte(v))}
			}
		}
		out[k] = enc
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", fmt.Errorf("store: unable to encode the values written: %w", err)
	}
	return string(b), nil
}

// binaryValue is a value written that is not UTF-8 text.
type binaryValue struct {
	Base64 string `json:"base64"`
}

// decodeWritten reads what encodeWritten wrote.
func decodeWritten(s string) (map[string][]string, error) {
	var raw map[string][]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(raw))
	for k, vs := range raw {
		dec := make([]string, len(vs))
		for i, v := range vs {
			if len(v) > 0 && v[0] == '{' {
				var bv binaryValue
				if err := json.Unmarshal(v, &bv); err != nil {
					return nil, err
				}
				b, err := base64.StdEncoding.DecodeString(bv.Base64)
				if err != nil {
					return nil, err
				}
				dec[i] = string(b)
				continue
			}
			if err := json.Unmarshal(v, &dec[i]); err != nil {
				return nil, err
			}
		}
		out[k] = dec
	}
	return out, nil
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
