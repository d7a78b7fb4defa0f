package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Setting names.
const (
	SettingInstallID      = "install_id"       // this console's identity, made once
	SettingSessionKeys    = "session_keys"     // cookie hash and block keys, made once, never regenerated; sealed (handlers/session.go)
	SettingSetupTokenHash = "setup_token_hash" // the one-time first-run token, hashed; deleted when used
)

// Setting returns a setting, or ErrNotFound.
func (s *Store) Setting(ctx context.Context, name string) (string, error) {
	var v string
	err := s.queryRow(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store: unable to read setting %s: %w", name, err)
	}
	return v, nil
}

// SetSetting writes a setting.
func (s *Store) SetSetting(ctx context.Context, name, value string) error {
	return s.tx(ctx, func(t *Tx) error { return t.setSetting(ctx, name, value) })
}

// SettingOrCreate returns a setting, first storing make()'s value if it has none.
// Used for secrets that must never be regenerated once they exist.
func (s *Store) SettingOrCreate(ctx context.Context, name string, make func() (string, error)) (string, error) {
	var out string
	err := s.tx(ctx, func(t *Tx) error {
		err := t.queryRow(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&out)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: unable to read setting %s: %w", name, err)
		}
		if out, err = make(); err != nil {
			return err
		}
		return t.setSetting(ctx, name, out)
	})
	return out, err
}

// SwapSetting replaces a setting's value only if it still is old, and reports
// whether it did: for rewriting a value in another form (sealing a clear one)
// without undoing another process's change made meanwhile.
func (s *Store) SwapSetting(ctx context.Context, name, old, new string) (bool, error) {
	res, err := s.exec(ctx, `UPDATE settings SET value = ? WHERE name = ? AND value = ?`, new, name, old)
	if err != nil {
		return false, fmt.Errorf("store: unable to write setting %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: unable to write setting %s: %w", name, err)
	}
	return n == 1, nil
}

// DeleteSetting removes a setting if it exists.
func (s *Store) DeleteSetting(ctx context.Context, name string) error {
	if _, err := s.exec(ctx, `DELETE FROM settings WHERE name = ?`, name); err != nil {
		return fmt.Errorf("store: unable to delete setting %s: %w", name, err)
	}
	return nil
}

func (t *Tx) setSetting(ctx context.Context, name, value string) error {
	// SQLite has INSERT ... ON CONFLICT; SQL Server has MERGE. Both are one atomic
	// statement, so two writers cannot both insert.
	query := `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`
	if t.s.dialect == SQLServer {
		query = `MERGE settings WITH (HOLDLOCK) AS t USING (SELECT ? AS name, ? AS value) AS src ON t.name = src.name
			WHEN MATCHED THEN UPDATE SET value = src.value
			WHEN NOT MATCHED THEN INSERT (name, value) VALUES (src.name, src.value);`
	}
	if _, err := t.exec(ctx, query, name, value); err != nil {
		return fmt.Errorf("store: unable to write setting %s: %w", name, err)
	}
	return nil
}
