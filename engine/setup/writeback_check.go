package setup

import (
	"context"
	"errors"
	"strings"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// WritebackReadiness reads what the forest offers the chosen writebacks (the
// group OU when ou is not "", the device containers when devices), as the
// connector account sees it: its rights are checked only once it exists (an
// account Configure creates gets them when Configure prepares the forest).
func (s *StoreChecker) WritebackReadiness(ctx context.Context, fc ForestConn, ou string, devices bool) (WritebackReadiness, error) {
	return onForest(ctx, s, fc, "read what "+fc.Forest+" offers writeback", func(ctx context.Context, c *directory.Conn) (WritebackReadiness, error) {
		var out WritebackReadiness
		info, err := c.Forest(ctx)
		if err != nil {
			return out, err
		}
		root, ok := info.RootDomain()
		if !ok {
			return out, errors.New("the forest root domain " + info.RootDomainNC + " is not among the forest's domains")
		}
		sid, account, accountDN := "", fc.ConnectorUser, ""
		if fc.ConnectorPassword != "" {
			me, err := c.BoundUser(ctx)
			if err != nil {
				return out, err
			}
			sid, accountDN = me.SID, me.DN
			if me.SAMAccountName != "" {
				account = fc.NetBIOS + `\` + me.SAMAccountName
			}
		}
		if devices {
			d, err := c.DeviceWritebackReadiness(ctx, root, sid)
			if err != nil {
				return out, err
			}
			out.Devices = &d
		}
		if ou != "" {
			g, err := c.GroupWritebackReadiness(ctx, ou, sid)
			if err != nil {
				return out, err
			}
			out.Groups = &g
		}
		if account == "" {
			account = fc.NetBIOS + `\<the connector account Configure creates>`
		}
		p := directory.ScriptParams{Domain: root, ConfigurationNC: info.ConfigurationNC, Account: account, AccountDN: accountDN, OU: ou}
		var cmds []string
		if out.Devices != nil {
			cmds = append(cmds, directory.DeviceWritebackCommands(p))
		}
		if out.Groups != nil {
			cmds = append(cmds, directory.GroupWritebackCommands(p))
		}
		out.Commands = strings.Join(cmds, "\r\n")
		return out, nil
	})
}

// CheckWritebackAdmin signs in to a forest with the credentials typed on
// Writeback and requires an Enterprise Admin of that forest (preparing device
// writeback writes to the configuration partition). Accepted credentials go
// to the in-memory vault under WritebackVaultKey, for Configure; they are
// never stored.
func (s *StoreChecker) CheckWritebackAdmin(ctx context.Context, fc ForestConn, user, password string) error {
	if s.Vault == nil {
		return errors.New("setup: no credential vault configured")
	}
	group, err := s.adminGroup(ctx, fc, user, password)
	if err != nil {
		return err
	}
	if group != "Enterprise Admins" {
		return &CheckError{Msg: "Preparing " + fc.Forest + " for writeback needs an enterprise admin: " + user + " is not a member of Enterprise Admins of " + fc.Forest + "."}
	}
	s.Vault.Put(WritebackVaultKey(fc.Forest), ForestCredentials{User: user, Password: password})
	return nil
}

// HasWritebackAdmin reports whether the vault still holds a forest's
// writeback preparation credentials.
func (s *StoreChecker) HasWritebackAdmin(forest string) bool {
	_, ok := s.Vault.Get(WritebackVaultKey(forest))
	return ok
}

// ForgetWritebackAdmin drops a forest's writeback preparation credentials.
func (s *StoreChecker) ForgetWritebackAdmin(forest string) { s.Vault.Drop(WritebackVaultKey(forest)) }
