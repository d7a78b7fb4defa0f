package setup

import (
	"context"
	"errors"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// CheckSSOCredentials signs in to a forest with the credentials typed on
// Enable single sign-on and requires a Domain Admin (or Enterprise Admin,
// nested membership counts) of that forest. Accepted credentials go to the
// in-memory vault under SSOVaultKey, for Configure; they are never stored.
func (s *StoreChecker) CheckSSOCredentials(ctx context.Context, fc ForestConn, user, password string) error {
	if s.Vault == nil {
		return errors.New("setup: no credential vault configured")
	}
	group, err := s.adminGroup(ctx, fc, user, password)
	if err != nil {
		return err
	}
	if group == "" {
		return &CheckError{Msg: "Creating the single sign-on computer account needs a domain administrator: " + user + " is not a member of Domain Admins or Enterprise Admins of " + fc.Forest + "."}
	}
	s.Vault.Put(SSOVaultKey(fc.Forest), ForestCredentials{User: user, Password: password})
	return nil
}

// adminGroup signs in to a forest as user and names the administrators'
// group the account is in ("Enterprise Admins", "Domain Admins (CORP)"), or
// "" when it is in neither.
func (s *StoreChecker) adminGroup(ctx context.Context, fc ForestConn, user, password string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout())
	defer cancel()
	conn, err := directory.Dial(ctx, fc.DirectoryTarget(s.Resolver), user, password)
	if err != nil {
		return "", adminError(err, "hybridsync can't connect to "+fc.Forest+" with these credentials.")
	}
	defer conn.Close()
	me, err := conn.BoundUser(ctx)
	if err != nil {
		return "", adminError(err, "Connected, but hybridsync can't read the account it signed in as.")
	}
	_, group, err := conn.IsAdmin(ctx, me.DN)
	if err != nil {
		return "", adminError(err, "Connected, but hybridsync can't read the account's group memberships.")
	}
	return group, nil
}

// HasSSOCredentials reports whether the vault still holds a forest's single
// sign-on credentials.
func (s *StoreChecker) HasSSOCredentials(forest string) bool {
	_, ok := s.Vault.Get(SSOVaultKey(forest))
	return ok
}

// ForgetSSOCredentials drops a forest's single sign-on credentials.
func (s *StoreChecker) ForgetSSOCredentials(forest string) { s.Vault.Drop(SSOVaultKey(forest)) }
