package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Account is a local console account.
type Account struct {
	ID           int64
	Username     string
	DisplayName  string
	PasswordHash string
	CreatedAt    time.Time
	CreatedBy    string
	Roles        []string // role keys of the sync groups it belongs to
	// Disabled accounts sign in by no means and keep no session.
	Disabled bool
}

// ErrUsernameTaken is returned when an account with that name exists.
var ErrUsernameTaken = errors.New("store: username taken")

// CountAccounts returns how many local accounts exist.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: unable to count accounts: %w", err)
	}
	return n, nil
}

// CreateAccount stores a new account with its roles.
func (s *Store) CreateAccount(ctx context.Context, a Account) (int64, error) {
	var id int64
	err := s.tx(ctx, func(t *Tx) error {
		var n int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM accounts WHERE LOWER(username) = ?`, strings.ToLower(a.Username)).Scan(&n); err != nil {
			return fmt.Errorf("store: unable to check the username: %w", err)
		}
		if n > 0 {
			return ErrUsernameTaken
		}
		var err error
		id, err = t.insertID(ctx, "accounts", "username, display_name, password_hash, created_at, created_by",
			a.Username, a.DisplayName, a.PasswordHash, s.millis(), a.CreatedBy)
		if err != nil {
			return err
		}
		for _, r := range a.Roles {
			if err := t.addRole(ctx, id, r, a.CreatedBy); err != nil {
				return err
			}
		}
		return nil
	})
	return id, err
}

// CreateFirstAdmin creates the first account, but only while there is none and the
// setup token hash still matches; the token is consumed in the same transaction.
func (s *Store) CreateFirstAdmin(ctx context.Context, a Account, tokenHash string) (int64, error) {
	var id int64
	err := s.tx(ctx, func(t *Tx) error {
		var n int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM accounts`).Scan(&n); err != nil {
			return fmt.Errorf("store: unable to count accounts: %w", err)
		}
		if n > 0 {
			return ErrAlreadySetUp
		}
		res, err := t.exec(ctx, `DELETE FROM settings WHERE name = ? AND value = ?`, SettingSetupTokenHash, tokenHash)
		if err != nil {
			return fmt.Errorf("store: unable to consume the setup token: %w", err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			return ErrBadSetupToken
		}
		id, err = t.insertID(ctx, "accounts", "username, display_name, password_hash, created_at, created_by",
			a.Username, a.DisplayName, a.PasswordHash, s.millis(), "setup token")
		if err != nil {
			return err
		}
		for _, r := range a.Roles {
			if err := t.addRole(ctx, id, r, "setup token"); err != nil {
				return err
			}
		}
		return nil
	})
	return id, err
}

var (
	ErrAlreadySetUp  = errors.New("store: the first administrator already exists")
	ErrBadSetupToken = errors.New("store: the setup token is wrong or already used")
)

func (t *Tx) addRole(ctx context.Context, accountID int64, role, by string) error {
	var n int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM group_members WHERE account_id = ? AND role = ?`, accountID, role).Scan(&n); err != nil {
		return fmt.Errorf("store: unable to read group membership: %w", err)
	}
	if n > 0 {
		return nil
	}
	if _, err := t.exec(ctx, `INSERT INTO group_members (account_id, role, added_at, added_by) VALUES (?, ?, ?, ?)`,
		accountID, role, t.s.millis(), by); err != nil {
		return fmt.Errorf("store: unable to add to group: %w", err)
	}
	return nil
}

// SetRoles replaces an account's sync-group memberships. It fails with
// ErrLastAdmin, changing nothing, when that would leave no enabled
// administrator: the check and the change are one transaction.
func (s *Store) SetRoles(ctx context.Context, accountID int64, roles []string, by string) error {
	return s.tx(ctx, func(t *Tx) error {
		if !slices.Contains(roles, AdminRole) {
			if err := t.keepAnAdmin(ctx, accountID); err != nil {
				return err
			}
		}
		if _, err := t.exec(ctx, `DELETE FROM group_members WHERE account_id = ?`, accountID); err != nil {
			return fmt.Errorf("store: unable to clear group membership: %w", err)
		}
		for _, r := range roles {
			if err := t.addRole(ctx, accountID, r, by); err != nil {
				return err
			}
		}
		return nil
	})
}

// CountRole returns how many accounts hold a role.
func (s *Store) CountRole(ctx context.Context, role string) (int, error) {
	var n int
	if err := s.queryRow(ctx, `SELECT COUNT(*) FROM group_members WHERE role = ?`, role).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: unable to count group members: %w", err)
	}
	return n, nil
}

// AccountByUsername looks an account up, case-insensitively.
func (s *Store) AccountByUsername(ctx context.Context, username string) (Account, error) {
	return s.account(ctx, `WHERE LOWER(username) = ?`, strings.ToLower(username))
}

// AccountByID looks an account up by id.
func (s *Store) AccountByID(ctx context.Context, id int64) (Account, error) {
	return s.account(ctx, `WHERE id = ?`, id)
}

func (s *Store) account(ctx context.Context, where string, arg any) (Account, error) {
	var a Account
	var created, disabled int64
	err := s.queryRow(ctx, `SELECT id, username, display_name, password_hash, created_at, created_by, disabled_at FROM accounts `+where, arg).
		Scan(&a.ID, &a.Username, &a.DisplayName, &a.PasswordHash, &created, &a.CreatedBy, &disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrNotFound
	}
	if err != nil {
		return Account{}, fmt.Errorf("store: unable to read account: %w", err)
	}
	a.CreatedAt, a.Disabled = time.UnixMilli(created), disabled != 0
	roles, err := s.rolesOf(ctx, a.ID)
	if err != nil {
		return Account{}, err
	}
	a.Roles = roles
	return a, nil
}

func (s *Store) rolesOf(ctx context.Context, id int64) ([]string, error) {
	rows, err := s.query(ctx, `SELECT role FROM group_members WHERE account_id = ? ORDER BY role`, id)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read group membership: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			return nil, fmt.Errorf("store: unable to read group membership: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Accounts lists every account with its roles, by username.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.query(ctx, `SELECT a.id, a.username, a.display_name, a.created_at, a.created_by, a.disabled_at, COALESCE(m.role, '')
		FROM accounts a LEFT JOIN group_members m ON m.account_id = a.id ORDER BY a.username, m.role`)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		var created, disabled int64
		var role string
		if err := rows.Scan(&a.ID, &a.Username, &a.DisplayName, &created, &a.CreatedBy, &disabled, &role); err != nil {
			return nil, fmt.Errorf("store: unable to list accounts: %w", err)
		}
		if n := len(out); n > 0 && out[n-1].ID == a.ID {
			out[n-1].Roles = append(out[n-1].Roles, role)
			continue
		}
		a.CreatedAt, a.Disabled = time.UnixMilli(created), disabled != 0
		if role != "" {
			a.Roles = []string{role}
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// SyncGroups returns the sync groups' names by role key; empty before the first
// configure (the caller falls back to the defaults).
func (s *Store) SyncGroups(ctx context.Context) (map[string]string, error) {
	rows, err := s.query(ctx, `SELECT role, name FROM sync_groups`)
	if err != nil {
		return nil, fmt.Errorf("store: unable to read sync groups: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var r, n string
		if err := rows.Scan(&r, &n); err != nil {
			return nil, fmt.Errorf("store: unable to read sync groups: %w", err)
		}
		out[r] = n
	}
	return out, rows.Err()
}

// SetSyncGroups replaces the sync groups' names.
func (s *Store) SetSyncGroups(ctx context.Context, names map[string]string) error {
	return s.tx(ctx, func(t *Tx) error {
		if _, err := t.exec(ctx, `DELETE FROM sync_groups`); err != nil {
			return fmt.Errorf("store: unable to replace sync groups: %w", err)
		}
		for role, name := range names {
			if _, err := t.exec(ctx, `INSERT INTO sync_groups (role, name, updated_at) VALUES (?, ?, ?)`, role, name, s.millis()); err != nil {
				return fmt.Errorf("store: unable to write sync group %s: %w", name, err)
			}
		}
		return nil
	})
}

// Session is a signed-in browser session. The cookie holds the random id; the
// store holds only its hash, so a copy of the database signs nobody in.
type Session struct {
	IDHash    string
	AccountID int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// CreateSession stores a session; ErrDisabled for an account that is
// disabled (or gone): the check and the insert are one statement.
func (s *Store) CreateSession(ctx context.Context, se Session) error {
	res, err := s.exec(ctx, `INSERT INTO sessions (id_hash, account_id, created_at, expires_at)
		SELECT ?, id, ?, ? FROM accounts WHERE id = ? AND disabled_at = 0`,
		se.IDHash, se.CreatedAt.UnixMilli(), se.ExpiresAt.UnixMilli(), se.AccountID)
	if err != nil {
		return fmt.Errorf("store: unable to create session: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: unable to create session: %w", err)
	} else if n == 0 {
		return ErrDisabled
	}
	return nil
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("store: unable to delete session: %w", err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions past their absolute lifetime.
func (s *Store) DeleteExpiredSessions(ctx context.Context) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, s.millis()); err != nil {
		return fmt.Errorf("store: unable to delete expired sessions: %w", err)
	}
	return nil
}

// SessionAccount returns a live session with its account and roles in one
// query: it runs on every signed-in request.
func (s *Store) SessionAccount(ctx context.Context, idHash string) (Session, Account, error) {
	rows, err := s.query(ctx, `SELECT s.created_at, s.expires_at, a.id, a.username, a.display_name, a.password_hash, a.created_at, a.created_by, COALESCE(m.role, '')
		FROM sessions s JOIN accounts a ON a.id = s.account_id LEFT JOIN group_members m ON m.account_id = a.id
		WHERE s.id_hash = ? AND s.expires_at > ? AND a.disabled_at = 0 ORDER BY m.role`, idHash, s.millis())
	if err != nil {
		return Session{}, Account{}, fmt.Errorf("store: unable to read session: %w", err)
	}
	defer rows.Close()
	se := Session{IDHash: idHash}
	var a Account
	found := false
	for rows.Next() {
		var sc, se2, ac int64
		var role string
		if err := rows.Scan(&sc, &se2, &a.ID, &a.Username, &a.DisplayName, &a.PasswordHash, &ac, &a.CreatedBy, &role); err != nil {
			return Session{}, Account{}, fmt.Errorf("store: unable to read session: %w", err)
		}
		found = true
		se.AccountID, se.CreatedAt, se.ExpiresAt, a.CreatedAt = a.ID, time.UnixMilli(sc), time.UnixMilli(se2), time.UnixMilli(ac)
		if role != "" {
			a.Roles = append(a.Roles, role)
		}
	}
	if err := rows.Err(); err != nil {
		return Session{}, Account{}, fmt.Errorf("store: unable to read session: %w", err)
	}
	if !found {
		return Session{}, Account{}, ErrNotFound
	}
	return se, a, nil
}
