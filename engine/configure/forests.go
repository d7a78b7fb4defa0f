package configure

import (
	"context"
	"fmt"
	"strings"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// rights are the permissions the chosen features need on each domain.
func (c *run) rights() directory.Rights {
	f := c.p.Answers.Features
	return directory.Rights{PasswordHashSync: f.PasswordHashSync, PasswordWriteback: f.PasswordWriteback, ConsistencyGuid: true}
}

// connectForest creates the AD DS connector account of a forest with the
// enterprise admin credentials held in memory, or verifies an existing one.
func (c *run) connectForest(ctx context.Context, r *jobs.Run, i int) error {
	fc := &c.p.Answers.Directories.Forests[i]
	target := fc.DirectoryTarget(c.d.Resolver)
	if fc.Account == setup.AccountCreate && fc.ConnectorUser == "" {
		return c.createAccount(ctx, r, fc, target)
	}
	pw, err := c.d.Box.Open(fc.ConnectorPassword)
	if err != nil {
		return fmt.Errorf("the saved password of %s can't be read (was the secret key replaced?)", fc.ConnectorUser)
	}
	r.Logf("Connecting to %s as %s (%s)", fc.Forest, fc.ConnectorUser, fc.Security)
	conn, err := directory.Dial(ctx, target, fc.ConnectorUser, pw)
	if err != nil {
		return err
	}
	defer conn.Close()
	r.Logf("Connected to %s", conn.DC())
	me, err := conn.BoundUser(ctx)
	if err != nil {
		return err
	}
	if admin, group, err := conn.IsAdmin(ctx, me.DN); err != nil {
		return err
	} else if admin {
		r.Warnf("%s is a member of %s", me.SAMAccountName, group)
		return &setup.CheckError{Msg: directory.MsgAdminNotAllowed}
	}
	info, err := conn.Forest(ctx)
	if err != nil {
		return err
	}
	for _, dom := range info.Domains {
		missing, err := conn.CheckRights(ctx, dom, me.SID, c.rights())
		if err != nil {
			return err
		}
		for _, m := range missing {
			r.Warnf("%s lacks %s on %s; the features you chose need it", me.SAMAccountName, m, dom.DNS)
		}
		if len(missing) == 0 {
			r.Logf("%s has the permissions the chosen features need on %s", me.SAMAccountName, dom.DNS)
		}
	}
	return nil
}

func (c *run) createAccount(ctx context.Context, r *jobs.Run, fc *setup.ForestConn, target directory.Target) error {
	creds, ok := c.d.Vault.Get(fc.Forest)
	if !ok {
		return &setup.CheckError{Msg: "The enterprise admin credentials for " + fc.Forest + " are no longer in memory (the server restarted, or they expired). " +
			"On Connect your directories, remove the forest and add it again, then select Configure."}
	}
	r.Logf("Connecting to %s with the enterprise admin credentials (used once, never stored)", fc.Forest)
	conn, info, root, err := dialRoot(ctx, target, creds)
	if err != nil {
		return err
	}
	defer conn.Close()
	acct, err := conn.CreateConnectorAccount(ctx, root, c.rights())
	if err != nil {
		return err
	}
	r.Logf("Created the AD DS connector account %s\\%s (%s)", root.NetBIOS, acct.SAM, acct.DN)
	for _, dom := range info.Domains {
		missing, err := conn.CheckRights(ctx, dom, acct.SID, c.rights())
		if err != nil {
			return err
		}
		if len(missing) > 0 {
			return fmt.Errorf("the new account lacks %s on %s", strings.Join(missing, ", "), dom.DNS)
		}
		r.Logf("Granted the permissions the chosen features need on %s", dom.DNS)
	}
	sealed, err := c.d.Box.Seal(acct.Password)
	if err != nil {
		return err
	}
	fc.ConnectorUser, fc.ConnectorPassword = acct.UPN, sealed
	c.d.Vault.Drop(fc.Forest)
	if err := c.recordCreated(ctx, *fc); err != nil {
		r.Warnf("The wizard could not record the new account %s: %v. On Connect your directories, remove %s and add it with this account as an existing account.", acct.UPN, err, fc.Forest)
	}
	return nil
}

// recordCreated writes a created connector account (its password sealed) into
// the wizard's saved answers, where the forest still waits for Configure.
// Otherwise the wizard would go on showing the account as to be created, and
// the next Configure would ask for the enterprise admin credentials again (the
// vault dropped them) and create a second account, orphaning this one.
func (c *run) recordCreated(ctx context.Context, fc setup.ForestConn) error {
	return c.updateWizard(ctx, func(a *setup.Answers) bool {
		changed := false
		for i := range a.Directories.Forests {
			w := &a.Directories.Forests[i]
			if strings.EqualFold(w.Forest, fc.Forest) && w.Account == setup.AccountCreate && w.ConnectorUser == "" {
				w.ConnectorUser, w.ConnectorPassword = fc.ConnectorUser, fc.ConnectorPassword
				changed = true
			}
		}
		return changed
	})
}

// dialRoot connects with one-time credentials and reads the forest and its
// root domain, where the accounts Configure creates live.
func dialRoot(ctx context.Context, target directory.Target, creds setup.ForestCredentials) (*directory.Conn, directory.ForestInfo, directory.Domain, error) {
	conn, err := directory.Dial(ctx, target, creds.User, creds.Password)
	if err != nil {
		return nil, directory.ForestInfo{}, directory.Domain{}, err
	}
	info, err := conn.Forest(ctx)
	if err != nil {
		conn.Close()
		return nil, info, directory.Domain{}, err
	}
	root, ok := info.RootDomain()
	if !ok {
		conn.Close()
		return nil, info, root, fmt.Errorf("the forest root domain %s is not among the forest's domains", info.RootDomainNC)
	}
	return conn, info, root, nil
}
