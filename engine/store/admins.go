package store

import (
	"context"
	"errors"
	"fmt"
)

// AdminRole is the role key of the administrators' sync group (auth.Admins;
// the store does not import engine/auth, and a test keeps the two equal).
const AdminRole = "admins"

var (
	// ErrLastAdmin is returned, with nothing changed, by a change that would
	// leave no enabled administrator.
	ErrLastAdmin = errors.New("store: hybridsync needs at least one enabled administrator")
	// ErrDisabled is returned by CreateSession for a disabled account.
	ErrDisabled = errors.New("store: the account is disabled")
)

// enabledAdmins returns the ids of the enabled administrators, and makes sure
// nobody else changes that set before this transaction ends.
func (t *Tx) enabledAdmins(ctx context.Context) ([]int64, error) {
	q := `SELECT m.account_id FROM group_members m JOIN accounts a ON a.id = m.account_id
		WHERE m.role = ? AND a.disabled_at = 0`
	if t.s.dialect == SQLServer {
		// SQL Server reads under READ COMMITTED (or its row-versioned variant,
		// READ_COMMITTED_SNAPSHOT, the Azure SQL default): two transactions
		// could both count two administrators and each remove one. UPDLOCK
		// takes update locks on what it reads — update locks conflict with
		// each other, and the hint makes the read a locking one even under
		// row versioning — and HOLDLOCK keeps them, with the key ranges, to
		// the commit. A second transaction running this statement waits for
		// the first to commit, then counts what it left.
		q = `SELECT m.account_id FROM group_members m WITH (UPDLOCK, HOLDLOCK)
			JOIN accounts a WITH (UPDLOCK, HOLDLOCK) ON a.id = m.account_id
			WHERE m.role = ? AND a.disabled_at = 0`
	}
	// SQLite needs no hint: the transaction began with BEGIN IMMEDIATE
	// (_txlock=immediate in Open), so it already holds the database's one
	// write lock, in this process and against any other (hybridsync accounts
	// beside a running console).
	rows, err := t.tx.QueryContext(ctx, t.s.q(q), AdminRole)
	if err != nil {
		return nil, fmt.Errorf("store: unable to count administrators: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: unable to count administrators: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to count administrators: %w", err)
	}
	return ids, nil
}

// keepAnAdmin fails with ErrLastAdmin when accountID is the only enabled
// administrator: the caller is about to take that away. Call it in the
// transaction that makes the change, before making it.
func (t *Tx) keepAnAdmin(ctx context.Context, accountID int64) error {
	ids, err := t.enabledAdmins(ctx)
	if err != nil {
		return err
	}
	if len(ids) == 1 && ids[0] == accountID {
		return ErrLastAdmin
	}
	return nil
}

// accountExists fails with ErrNotFound unless the account exists.
func (t *Tx) accountExists(ctx context.Context, accountID int64) error {
	var n int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM accounts WHERE id = ?`, accountID).Scan(&n); err != nil {
		return fmt.Errorf("store: unable to read account: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// endSessions deletes every session of an account and says how many it ended.
func (t *Tx) endSessions(ctx context.Context, accountID int64) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM sessions WHERE account_id = ?`, accountID)
	if err != nil {
		return 0, fmt.Errorf("store: unable to end the sessions: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: unable to end the sessions: %w", err)
	}
	return int(n), nil
}

// AddToGroup adds an account to a sync group (a role key); adding it again
// changes nothing.
func (s *Store) AddToGroup(ctx context.Context, accountID int64, role, by string) error {
	return s.tx(ctx, func(t *Tx) error {
		if err := t.accountExists(ctx, accountID); err != nil {
			return err
		}
		return t.addRole(ctx, accountID, role, by)
	})
}

// RemoveFromGroup takes an account out of a sync group; ErrLastAdmin when it
// is the only enabled administrator and the group is the administrators'.
func (s *Store) RemoveFromGroup(ctx context.Context, accountID int64, role string) error {
	return s.tx(ctx, func(t *Tx) error {
		if err := t.accountExists(ctx, accountID); err != nil {
			return err
		}
		if role == AdminRole {
			if err := t.keepAnAdmin(ctx, accountID); err != nil {
				return err
			}
		}
		if _, err := t.exec(ctx, `DELETE FROM group_members WHERE account_id = ? AND role = ?`, accountID, role); err != nil {
			return fmt.Errorf("store: unable to remove from group: %w", err)
		}
		return nil
	})
}

// DisableAccount disables an account and ends its sessions, returning how
// many; ErrLastAdmin, with nothing changed, when it is the only enabled
// administrator. Disabling a disabled account changes nothing.
func (s *Store) DisableAccount(ctx context.Context, accountID int64) (ended int, err error) {
	err = s.tx(ctx, func(t *Tx) error {
		if err := t.accountExists(ctx, accountID); err != nil {
			return err
		}
		if err := t.keepAnAdmin(ctx, accountID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE accounts SET disabled_at = ? WHERE id = ? AND disabled_at = 0`, s.millis(), accountID); err != nil {
			return fmt.Errorf("store: unable to disable the account: %w", err)
		}
		ended, err = t.endSessions(ctx, accountID)
		return err
	})
	return ended, err
}

// EnableAccount enables a disabled account.
func (s *Store) EnableAccount(ctx context.Context, accountID int64) error {
	return s.tx(ctx, func(t *Tx) error {
		if err := t.accountExists(ctx, accountID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE accounts SET disabled_at = 0 WHERE id = ?`, accountID); err != nil {
			return fmt.Errorf("store: unable to enable the account: %w", err)
		}
		return nil
	})
}

// SetPassword replaces an account's password hash and ends every session of
// the account, returning how many: whoever knew the old password is out.
func (s *Store) SetPassword(ctx context.Context, accountID int64, hash string) (ended int, err error) {
	err = s.tx(ctx, func(t *Tx) error {
		if err := t.accountExists(ctx, accountID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE accounts SET password_hash = ? WHERE id = ?`, hash, accountID); err != nil {
			return fmt.Errorf("store: unable to set the password: %w", err)
		}
		ended, err = t.endSessions(ctx, accountID)
		return err
	})
	return ended, err
}

// EndSessions ends every session of an account and says how many it ended.
func (s *Store) EndSessions(ctx context.Context, accountID int64) (ended int, err error) {
	err = s.tx(ctx, func(t *Tx) error {
		ended, err = t.endSessions(ctx, accountID)
		return err
	})
	return ended, err
}

// SessionCounts returns how many live sessions each account has, by account
// id; an account without one is absent.
func (s *Store) SessionCounts(ctx context.Context) (map[int64]int, error) {
	rows, err := s.query(ctx, `SELECT account_id, COUNT(*) FROM sessions WHERE expires_at > ? GROUP BY account_id`, s.millis())
	if err != nil {
		return nil, fmt.Errorf("store: unable to count sessions: %w", err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("store: unable to count sessions: %w", err)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: unable to count sessions: %w", err)
	}
	return out, nil
}

// CountSessions returns how many live sessions an account has.
func (s *Store) CountSessions(ctx context.Context, accountID int64) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM sessions WHERE account_id = ? AND expires_at > ?`, accountID, s.millis()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: unable to count sessions: %w", err)
	}
	return n, nil
}

// DeleteAccount deletes an account with its sessions, its sync-group
// memberships and its link to an identity provider; ErrLastAdmin, with
// nothing changed, when it is the only enabled administrator. The schema has
// no ON DELETE CASCADE, so every table that references accounts is cleared
// here, in the transaction that deletes the account. The audit trail keeps
// its rows: they name the account, they don't reference it.
func (s *Store) DeleteAccount(ctx context.Context, accountID int64) error {
	return s.tx(ctx, func(t *Tx) error {
		if err := t.accountExists(ctx, accountID); err != nil {
			return err
		}
		if err := t.keepAnAdmin(ctx, accountID); err != nil {
			return err
		}
		for _, table := range []string{"sessions", "group_members", "oidc_identities"} {
			if _, err := t.exec(ctx, `DELETE FROM `+table+` WHERE account_id = ?`, accountID); err != nil {
				return fmt.Errorf("store: unable to delete the account's %s: %w", table, err)
			}
		}
		if _, err := t.exec(ctx, `DELETE FROM accounts WHERE id = ?`, accountID); err != nil {
			return fmt.Errorf("store: unable to delete the account: %w", err)
		}
		return nil
	})
}
