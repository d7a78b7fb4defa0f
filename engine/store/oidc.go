package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OIDCProvider is the identity provider the console's accounts may sign in
// with (OpenID Connect). There is at most one.
type OIDCProvider struct {
	Enabled  bool
	Issuer   string
	ClientID string
	// ClientSecret is sealed (engine/secret); the store never sees it in clear.
	ClientSecret string
	DisplayName  string
	GroupsClaim  string
	// RoleGroups are, by role key, the groups-claim values that grant the role.
	RoleGroups map[string][]string
	UpdatedAt  time.Time
	UpdatedBy  string
}

// OIDCProvider returns the provider's settings, or ErrNotFound.
func (s *Store) OIDCProvider(ctx context.Context) (OIDCProvider, error) {
	var p OIDCProvider
	var enabled, updated int64
	var groups string
	err := s.queryRow(ctx, `SELECT enabled, issuer, client_id, client_secret, display_name, groups_claim, role_groups, updated_at, updated_by
		FROM oidc_provider WHERE id = 1`).
		Scan(&enabled, &p.Issuer, &p.ClientID, &p.ClientSecret, &p.DisplayName, &p.GroupsClaim, &groups, &updated, &p.UpdatedBy)
	if errors.Is(err, sql.ErrNoRows) {
		return OIDCProvider{}, ErrNotFound
	}
	if err != nil {
		return OIDCProvider{}, fmt.Errorf("store: unable to read the OIDC provider: %w", err)
	}
	if err := json.Unmarshal([]byte(groups), &p.RoleGroups); err != nil {
		return OIDCProvider{}, fmt.Errorf("store: unable to read the OIDC provider's group mapping: %w", err)
	}
	p.Enabled, p.UpdatedAt = enabled != 0, time.UnixMilli(updated)
	return p, nil
}

// SaveOIDCProvider replaces the provider's settings.
func (s *Store) SaveOIDCProvider(ctx context.Context, p OIDCProvider) error {
	groups, err := json.Marshal(p.RoleGroups)
	if err != nil {
		return fmt.Errorf("store: unable to encode the group mapping: %w", err)
	}
	enabled := 0
	if p.Enabled {
		enabled = 1
	}
	// Delete and insert in one transaction: the same SQL in both dialects, and
	// the row is replaced whole, as the settings page saves it.
	return s.tx(ctx, func(t *Tx) error {
		if _, err := t.exec(ctx, `DELETE FROM oidc_provider WHERE id = 1`); err != nil {
			return fmt.Errorf("store: unable to replace the OIDC provider: %w", err)
		}
		if _, err := t.exec(ctx, `INSERT INTO oidc_provider (id, enabled, issuer, client_id, client_secret, display_name, groups_claim, role_groups, updated_at, updated_by)
			VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			enabled, p.Issuer, p.ClientID, p.ClientSecret, p.DisplayName, p.GroupsClaim, string(groups), s.millis(), p.UpdatedBy); err != nil {
			return fmt.Errorf("store: unable to save the OIDC provider: %w", err)
		}
		return nil
	})
}

// OIDCLogin is a verified sign-in at the identity provider.
type OIDCLogin struct {
	Issuer, Subject string
	// Username is the preferred username (or e-mail) the provider sent: the
	// new account's username, made unique if another account has it.
	Username    string
	DisplayName string
	// Roles are what the groups claim maps to; they replace the account's.
	Roles []string
	// By is recorded as who added a role.
	By string
}

// ErrNoRoles is returned by OIDCSignIn for an identity without an account
// whose groups map to no role: no account is made for it.
var ErrNoRoles = errors.New("store: the identity's groups map to no role")

// OIDCSignIn finds the account of an identity (by issuer and subject, never
// by username) and sets its roles to login.Roles, or creates the account when
// there is none and login.Roles is not empty; one transaction. A new identity
// without roles gets no account: ErrNoRoles. An existing account whose groups
// now map to nothing loses its roles, and is returned with ErrNoRoles.
func (s *Store) OIDCSignIn(ctx context.Context, login OIDCLogin) (Account, error) {
	var id int64
	err := s.tx(ctx, func(t *Tx) error {
		err := t.queryRow(ctx, `SELECT account_id FROM oidc_identities WHERE issuer = ? AND subject = ?`, login.Issuer, login.Subject).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if len(login.Roles) == 0 {
				return ErrNoRoles
			}
			if id, err = t.createOIDCAccount(ctx, login); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("store: unable to look up the identity: %w", err)
		default:
			if _, err := t.exec(ctx, `UPDATE accounts SET display_name = ? WHERE id = ?`, login.DisplayName, id); err != nil {
				return fmt.Errorf("store: unable to update the account: %w", err)
			}
			if _, err := t.exec(ctx, `UPDATE oidc_identities SET signed_in_at = ? WHERE account_id = ?`, s.millis(), id); err != nil {
				return fmt.Errorf("store: unable to update the identity: %w", err)
			}
		}
		if !slices.Contains(login.Roles, AdminRole) {
			// The provider no longer makes this account an administrator.
			// When it is the only enabled one, it stays one: hybridsync is
			// never left without an administrator. The caller sees the role
			// kept (Roles holds admins the mapped groups did not grant) and
			// says so.
			switch err := t.keepAnAdmin(ctx, id); {
			case errors.Is(err, ErrLastAdmin):
				login.Roles = append(slices.Clone(login.Roles), AdminRole)
			case err != nil:
				return err
			}
		}
		return t.replaceRoles(ctx, id, login.Roles, login.By)
	})
	if err != nil {
		return Account{}, err
	}
	a, err := s.AccountByID(ctx, id)
	if err != nil {
		return Account{}, err
	}
	if len(a.Roles) == 0 {
		return a, ErrNoRoles
	}
	return a, nil
}

// createOIDCAccount makes the account of a new identity: no password, and the
// provider's username, with " (2)", " (3)"… when another account has it.
func (t *Tx) createOIDCAccount(ctx context.Context, login OIDCLogin) (int64, error) {
	base := truncate(login.Username, 200)
	if base == "" {
		base = truncate(login.Subject, 200)
	}
	name := base
	for n := 2; ; n++ {
		var taken int
		if err := t.queryRow(ctx, `SELECT COUNT(*) FROM accounts WHERE LOWER(username) = ?`, strings.ToLower(name)).Scan(&taken); err != nil {
			return 0, fmt.Errorf("store: unable to check the username: %w", err)
		}
		if taken == 0 {
			break
		}
		if n > 1000 {
			return 0, fmt.Errorf("store: no free username for %s", base)
		}
		name = base + " (" + strconv.Itoa(n) + ")"
	}
	display := truncate(login.DisplayName, 256)
	if display == "" {
		display = name
	}
	now := t.s.millis()
	id, err := t.insertID(ctx, "accounts", "username, display_name, password_hash, created_at, created_by",
		name, display, "", now, login.By)
	if err != nil {
		return 0, err
	}
	if _, err := t.exec(ctx, `INSERT INTO oidc_identities (account_id, issuer, subject, created_at, signed_in_at) VALUES (?, ?, ?, ?, ?)`,
		id, login.Issuer, login.Subject, now, now); err != nil {
		return 0, fmt.Errorf("store: unable to record the identity: %w", err)
	}
	return id, nil
}

// replaceRoles makes an account's roles exactly roles, leaving the rows of
// roles it keeps untouched (their added_at and added_by stay true).
func (t *Tx) replaceRoles(ctx context.Context, accountID int64, roles []string, by string) error {
	rows, err := t.tx.QueryContext(ctx, t.s.q(`SELECT role FROM group_members WHERE account_id = ?`), accountID)
	if err != nil {
		return fmt.Errorf("store: unable to read group membership: %w", err)
	}
	var have []string
	for rows.Next() {
		var r string
		if err := rows.Scan(&r); err != nil {
			rows.Close()
			return fmt.Errorf("store: unable to read group membership: %w", err)
		}
		have = append(have, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: unable to read group membership: %w", err)
	}
	for _, r := range have {
		if !slices.Contains(roles, r) {
			if _, err := t.exec(ctx, `DELETE FROM group_members WHERE account_id = ? AND role = ?`, accountID, r); err != nil {
				return fmt.Errorf("store: unable to remove from group: %w", err)
			}
		}
	}
	for _, r := range roles {
		if err := t.addRole(ctx, accountID, r, by); err != nil {
			return err
		}
	}
	return nil
}

// OIDCAccounts returns the ids of the accounts that sign in with the identity
// provider, with the issuer of each.
func (s *Store) OIDCAccounts(ctx context.Context) (map[int64]string, error) {
	rows, err := s.query(ctx, `SELECT account_id, issuer FROM oidc_identities`)
	if err != nil {
		return nil, fmt.Errorf("store: unable to list identities: %w", err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var iss string
		if err := rows.Scan(&id, &iss); err != nil {
			return nil, fmt.Errorf("store: unable to list identities: %w", err)
		}
		out[id] = iss
	}
	return out, rows.Err()
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
