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
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout())
	defer cancel()
	conn, err := directory.Dial(ctx, fc.DirectoryTarget(s.Resolver), user, password)
	if err != nil {
		return adminError(err, "hybridsync can't connect to "+fc.Forest+" with these credentials.")
	}
	defer conn.Close()
	me, err := conn.BoundUser(ctx)
	if err != nil {
		return adminError(err, "Connected, but hybridsync can't read the account it signed in as.")
	}
	admin, _, err := conn.IsAdmin(ctx, me.DN)
	if err != nil {
		return adminError(err, "Connected, but hybridsync can't read the account's group memberships.")
	}
	if !admin {
		return &CheckError{Msg: "Creating the single sign-on computer account needs a domain administrator: " + user + " is not a member of Domain Admins or Enterprise Admins of " + fc.Forest + "."}
	}
	s.Vault.Put(SSOVaultKey(fc.Forest), ForestCredentials{User: user, Password: password})
	return nil
}

// HasSSOCredentials reports whether the vault still holds a forest's single
// sign-on credentials.
func (s *StoreChecker) HasSSOCredentials(forest string) bool {
	_, ok := s.Vault.Get(SSOVaultKey(forest))
	return ok
}

// ForgetSSOCredentials drops a forest's single sign-on credentials.
func (s *StoreChecker) ForgetSSOCredentials(forest string) { s.Vault.Drop(SSOVaultKey(forest)) }
