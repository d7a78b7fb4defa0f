package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Writeback delta kinds: what a kept delta link reads (migration 014).
const (
	WritebackGroups  = "groups"  // Microsoft 365 groups, for group writeback
	WritebackDevices = "devices" // registered and joined devices, for device writeback
)

func checkWritebackKind(kind string) error {
	if kind != WritebackGroups && kind != WritebackDevices {
		return fmt.Errorf("store: unknown writeback kind %q", kind)
	}
	return nil
}

// WritebackDelta returns the delta link the last round of kind ended with for
// a configuration, or "" when there is none: the next read is then a full
// one.
func (s *Store) WritebackDelta(ctx context.Context, configurationID int64, kind string) (string, error) {
	if err := checkWritebackKind(kind); err != nil {
		return "", err
	}
	var link string
	err := s.queryRow(ctx, `SELECT link FROM writeback_delta WHERE configuration_id = ? AND kind = ?`, configurationID, kind).Scan(&link)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: unable to read the %s delta link of configuration %d: %w", kind, configurationID, err)
	}
	return link, nil
}

// SetWritebackDelta keeps the delta link a round of kind ended with, for the
// configuration's next round; "" forgets it (Graph refused it), so that the
// next read is a full one. Errors never carry the link: its token is not a
// credential, but it is not written to logs either.
func (s *Store) SetWritebackDelta(ctx context.Context, configurationID int64, kind, link string) error {
	if err := checkWritebackKind(kind); err != nil {
		return err
	}
	if link == "" {
		if _, err := s.exec(ctx, `DELETE FROM writeback_delta WHERE configuration_id = ? AND kind = ?`, configurationID, kind); err != nil {
			return fmt.Errorf("store: unable to forget the %s delta link of configuration %d: %w", kind, configurationID, err)
		}
		return nil
	}
	// SQLite has INSERT ... ON CONFLICT; SQL Server has MERGE (see setSetting).
	query := `INSERT INTO writeback_delta (configuration_id, kind, link, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT(configuration_id, kind) DO UPDATE SET link = excluded.link, updated_at = excluded.updated_at`
	if s.dialect == SQLServer {
		query = `MERGE writeback_delta WITH (HOLDLOCK) AS t
			USING (SELECT ? AS configuration_id, ? AS kind, ? AS link, ? AS updated_at) AS src
			ON t.configuration_id = src.configuration_id AND t.kind = src.kind
			WHEN MATCHED THEN UPDATE SET link = src.link, updated_at = src.updated_at
			WHEN NOT MATCHED THEN INSERT (configuration_id, kind, link, updated_at)
				VALUES (src.configuration_id, src.kind, src.link, src.updated_at);`
	}
	if _, err := s.exec(ctx, query, configurationID, kind, link, s.millis()); err != nil {
		return fmt.Errorf("store: unable to keep the %s delta link of configuration %d: %w", kind, configurationID, err)
	}
	return nil
}
