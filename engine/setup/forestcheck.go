package setup

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/secret"
)

// DirectoryTarget is how to reach a forest, for the directory package.
func (fc ForestConn) DirectoryTarget(resolver *net.Resolver) directory.Target {
	return directory.Target{Forest: fc.Forest, Host: fc.Host, Security: directory.Security(fc.Security), CAPEM: []byte(fc.CAPEM), Resolver: resolver}
}

// ConnectForest connects with the typed credentials. An existing account must
// not be an Enterprise or Domain Admin (nested membership counts); the account
// that creates a new one must be. The enterprise admin credentials go to the
// in-memory vault for Configure, never into the answers.
func (s *StoreChecker) ConnectForest(ctx context.Context, d ForestDraft, password string) (ForestConn, error) {
	fc := ForestConn{Forest: d.Forest, Host: d.Host, Security: d.Security, CAPEM: d.CAPEM, Account: d.Account}
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout())
	defer cancel()
	conn, err := directory.Dial(ctx, fc.DirectoryTarget(s.Resolver), d.User, password)
	if err != nil {
		return fc, adminError(err, "hybridsync can't connect to "+d.Forest+".")
	}
	defer conn.Close()
	info, err := conn.Forest(ctx)
	if err != nil {
		return fc, adminError(err, "Connected, but hybridsync can't read the forest's configuration.")
	}
	me, err := conn.BoundUser(ctx)
	if err != nil {
		return fc, adminError(err, "Connected, but hybridsync can't read the account it signed in as.")
	}
	admin, group, err := conn.IsAdmin(ctx, me.DN)
	if err != nil {
		return fc, adminError(err, "Connected, but hybridsync can't read the account's group memberships.")
	}
	switch d.Account {
	case AccountExisting:
		if admin {
			return fc, &CheckError{Msg: directory.MsgAdminNotAllowed}
		}
		fc.ConnectorUser, fc.newPassword = d.User, password
	case AccountCreate:
		if s.Vault == nil {
			return fc, errors.New("setup: no credential vault configured")
		}
		if !admin {
			return fc, &CheckError{Msg: "Creating the AD DS connector account needs an enterprise admin: " + d.User + " is not a member of Enterprise Admins or Domain Admins."}
		}
		s.Vault.Put(d.Forest, ForestCredentials{User: d.User, Password: password})
		_ = group
	}
	fc.DC, fc.RootDN, fc.UPNSuffixes, fc.HasExchange = conn.DC(), info.RootDomainNC, info.UPNSuffixes, info.HasExchangeSchema
	for _, dom := range info.Domains {
		fc.Domains = append(fc.Domains, ForestDomain{DNS: dom.DNS, NetBIOS: dom.NetBIOS, DN: dom.DN, SID: dom.SID})
		if strings.EqualFold(dom.DN, info.RootDomainNC) {
			fc.NetBIOS = dom.NetBIOS
		}
	}
	fc.CheckedAt, fc.CheckedAs = time.Now().UTC().Format(time.RFC3339), me.SAMAccountName
	return fc, nil
}

func adminError(err error, fallback string) error {
	var de *directory.Error
	if errors.As(err, &de) {
		return &CheckError{Msg: de.Msg, Err: err}
	}
	return &CheckError{Msg: fallback, Err: err}
}

// HasAdminCredentials reports whether the vault still holds a forest's
// enterprise admin credentials.
func (s *StoreChecker) HasAdminCredentials(forest string) bool {
	_, ok := s.Vault.Get(forest)
	return ok
}

// ForgetAdminCredentials drops a forest's enterprise admin credentials.
func (s *StoreChecker) ForgetAdminCredentials(forest string) { s.Vault.Drop(forest) }

// connect signs in to a forest as the connector account, or, before Configure
// created it, with the enterprise admin credentials held in memory.
func (s *StoreChecker) connect(ctx context.Context, fc ForestConn) (*directory.Conn, error) {
	user, pw := fc.ConnectorUser, ""
	if fc.ConnectorPassword != "" {
		p, err := s.Box.OpenFor(secret.ForestConnectorPassword(fc.Forest), fc.ConnectorPassword)
		if err != nil {
			return nil, &CheckError{Msg: "The saved password of " + fc.ConnectorUser + " can't be read; remove the forest and add it again.", Err: err}
		}
		pw = p
	} else if c, ok := s.Vault.Get(fc.Forest); ok {
		user, pw = c.User, c.Password
	} else {
		return nil, &CheckError{Msg: MsgEAGone}
	}
	conn, err := directory.Dial(ctx, fc.DirectoryTarget(s.Resolver), user, pw)
	if err != nil {
		return nil, adminError(err, "hybridsync can't connect to "+fc.Forest+".")
	}
	return conn, nil
}

// onForest connects to a forest (see connect), runs read on the connection
// within the checker's time limit, and words a failure with what was being done.
func onForest[T any](ctx context.Context, s *StoreChecker, fc ForestConn, doing string, read func(context.Context, *directory.Conn) (T, error)) (T, error) {
	var zero T
	ctx, cancel := context.WithTimeout(ctx, 2*s.timeout())
	defer cancel()
	conn, err := s.connect(ctx, fc)
	if err != nil {
		return zero, err
	}
	defer conn.Close()
	v, err := read(ctx, conn)
	if err != nil {
		return zero, adminError(err, "hybridsync can't "+doing+".")
	}
	return v, nil
}

// Children lists one level of a forest's tree.
func (s *StoreChecker) Children(ctx context.Context, fc ForestConn, dn string) ([]directory.Node, error) {
	return onForest(ctx, s, fc, "list the OUs of "+fc.Forest, func(ctx context.Context, c *directory.Conn) ([]directory.Node, error) {
		return c.Children(ctx, dn)
	})
}

// FindGroups finds up to max groups whose name starts with prefix.
func (s *StoreChecker) FindGroups(ctx context.Context, fc ForestConn, prefix string, max int) ([]directory.Group, error) {
	return onForest(ctx, s, fc, "search the groups of "+fc.Forest, func(ctx context.Context, c *directory.Conn) ([]directory.Group, error) {
		return c.FindGroups(ctx, fc.RootDN, prefix, max)
	})
}

// DirectMemberCount counts a group's direct members (ranged reads).
func (s *StoreChecker) DirectMemberCount(ctx context.Context, fc ForestConn, dn string) (int, error) {
	return onForest(ctx, s, fc, "read the members of "+dn, func(ctx context.Context, c *directory.Conn) (int, error) {
		return c.DirectMemberCount(ctx, dn)
	})
}

// SampleValues reads up to n values of attr under the forest's root domain
// (binary values Base64-encoded).
func (s *StoreChecker) SampleValues(ctx context.Context, fc ForestConn, attr string, n int) ([]string, error) {
	return onForest(ctx, s, fc, "read values of "+attr+" in "+fc.Forest, func(ctx context.Context, c *directory.Conn) ([]string, error) {
		return c.SampleValues(ctx, fc.RootDN, attr, n)
	})
}
