package configure

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/secret"
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
		// A retry replays the answers the job started with: an account an
		// earlier attempt created is in the wizard's answers, not in them.
		if _, saved, err := c.savedAnswers(ctx); err == nil {
			for _, sf := range saved.Directories.Forests {
				if strings.EqualFold(sf.Forest, fc.Forest) && sf.Account == setup.AccountCreate && sf.ConnectorUser != "" {
					fc.ConnectorUser, fc.ConnectorPassword = sf.ConnectorUser, sf.ConnectorPassword
					r.Logf("An earlier Configure created %s in %s", fc.ConnectorUser, fc.Forest)
				}
			}
		}
	}
	if fc.Account == setup.AccountCreate && fc.ConnectorUser == "" {
		return c.createAccount(ctx, r, fc, target)
	}
	pw, err := c.d.Box.OpenFor(secret.ForestConnectorPassword(fc.Forest), fc.ConnectorPassword)
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
		r.Logf("%s is a member of %s", me.SAMAccountName, group)
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
		if len(missing) > 0 {
			r.Warn("rights-missing/"+strings.ToLower(dom.DNS),
				fmt.Sprintf("The AD DS connector account %s lacks %d right(s) on %s that the chosen features need: %s.", me.SAMAccountName, len(missing), dom.DNS, strings.Join(missing, "; ")),
				fmt.Sprintf("Grant them to %s on the domain %s (Microsoft's ADSyncConfig module has a cmdlet for each), or let hybridsync create the connector account: on Connect your directories, remove %s and add it with Create new account. Then select Configure again.", me.SAMAccountName, dom.DN, fc.Forest))
		}
		if len(missing) == 0 {
			r.Logf("%s has the permissions the chosen features need on %s", me.SAMAccountName, dom.DNS)
		}
	}
	return c.recordContainers(ctx, r, *fc, info, conn, fc.ConnectorUser, pw)
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
	sealed, err := c.d.Box.SealFor(secret.ForestConnectorPassword(fc.Forest), acct.Password)
	if err != nil {
		return err
	}
	fc.ConnectorUser, fc.ConnectorPassword = acct.UPN, sealed
	c.d.Vault.Drop(fc.Forest)
	if err := c.recordCreated(ctx, *fc); err != nil {
		r.Warn("record-account/"+fc.Forest, fmt.Sprintf("The wizard could not record the new account %s: %v.", acct.UPN, err),
			fmt.Sprintf("On Connect your directories, remove %s and add it with %s as an existing account.", fc.Forest, acct.UPN))
	}
	return c.recordContainers(ctx, r, *fc, info, conn, acct.UPN, acct.Password)
}

// recordContainers, with Sync all new OUs off, records the DNs of every OU
// and container of the forest's selected domains as they are now
// (ForestFilter.Known): the import then leaves out what sits in an OU created
// later (engine/connector Scope). With the option on it clears what an
// earlier Configure recorded. root is the connection the step already holds;
// a domain other than the root domain is read from its own domain controller,
// as the import reads it, signed in as user.
func (c *run) recordContainers(ctx context.Context, r *jobs.Run, fc setup.ForestConn, info directory.ForestInfo, root containerLister, user, password string) error {
	if c.p.Answers.OUFiltering.SyncNewOUs {
		if len(c.p.Answers.OUFiltering.Forests[fc.Forest].Known) > 0 {
			r.Logf("Sync all new OUs is on: OUs created in %s later are synchronized", fc.Forest)
		}
		return c.setKnown(ctx, r, fc.Forest, nil)
	}
	domains := info.Domains
	if len(fc.Domains) > 0 { // the domains the wizard read, as the import uses them
		domains = nil
		for _, d := range fc.Domains {
			domains = append(domains, directory.Domain{DNS: d.DNS, NetBIOS: d.NetBIOS, DN: d.DN, SID: d.SID})
		}
	}
	var opened []*directory.Conn
	defer func() {
		for _, conn := range opened {
			conn.Close()
		}
	}()
	listFor := func(d directory.Domain) (containerLister, error) {
		if strings.EqualFold(d.DN, info.RootDomainNC) || len(domains) == 1 {
			return root, nil
		}
		t := fc.DirectoryTarget(c.d.Resolver)
		t.Forest, t.Host = d.DNS, ""
		conn, err := directory.Dial(ctx, t, user, password)
		if err != nil {
			return nil, err
		}
		opened = append(opened, conn)
		return conn, nil
	}
	known, err := knownContainers(ctx, domains, c.p.Answers.OUFiltering.Forests[fc.Forest], listFor)
	if err != nil {
		return err
	}
	r.Logf("Recorded the %d OUs and containers of %s: Sync all new OUs is off, so an OU created from now on is not synchronized until it is selected on Domain and OU filtering and Configure runs again", len(known), fc.Forest)
	return c.setKnown(ctx, r, fc.Forest, known)
}

// containerLister lists the OUs and containers under a DN (directory.Conn).
type containerLister interface {
	ContainerDNs(ctx context.Context, base string) ([]string, error)
}

// knownContainers lists the OUs and containers (lower case, sorted, each
// once) of the domains ff selects, excluded OUs included: an OU cleared now
// and selected later is not new, and the page must not mark it so.
func knownContainers(ctx context.Context, domains []directory.Domain, ff setup.ForestFilter, listFor func(directory.Domain) (containerLister, error)) ([]string, error) {
	var known []string
	for _, d := range domains {
		if !ff.Selected(d.DN) {
			continue
		}
		l, err := listFor(d)
		if err != nil {
			return nil, fmt.Errorf("unable to connect to the domain %s to record its OUs: %w", d.DNS, err)
		}
		dns, err := l.ContainerDNs(ctx, d.DN)
		if err != nil {
			return nil, fmt.Errorf("unable to record the OUs of %s: %w", d.DNS, err)
		}
		for _, dn := range dns {
			known = append(known, strings.ToLower(dn))
		}
	}
	slices.Sort(known)
	return slices.Compact(known), nil
}

// setKnown puts a forest's recorded containers into the configuration this
// job saves and into the wizard's saved answers, where the Domain and OU
// filtering page marks the OUs created since.
func (c *run) setKnown(ctx context.Context, r *jobs.Run, forest string, known []string) error {
	o := &c.p.Answers.OUFiltering
	if ff, ok := o.Forests[forest]; ok || len(known) > 0 {
		if o.Forests == nil {
			o.Forests = map[string]setup.ForestFilter{}
		}
		ff.Known = known
		o.Forests[forest] = ff
	}
	err := c.updateWizard(ctx, func(a *setup.Answers) bool {
		ff, ok := a.OUFiltering.Forests[forest]
		if slices.Equal(ff.Known, known) || !slices.ContainsFunc(a.Directories.Forests, func(w setup.ForestConn) bool { return strings.EqualFold(w.Forest, forest) }) {
			return false
		}
		if !ok && a.OUFiltering.Forests == nil {
			a.OUFiltering.Forests = map[string]setup.ForestFilter{}
		}
		ff.Known = known
		a.OUFiltering.Forests[forest] = ff
		return true
	})
	if err != nil {
		// The configuration still holds them; only the page's marks lag.
		r.Warnf("The wizard could not record the OUs of %s: %v", forest, err)
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
