package configure

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// Sessions is where Configure finds the administrator's Microsoft Entra
// sign-in (in memory only) and the cloud's addresses; setup.StoreChecker has it.
type Sessions interface {
	EntraConfig() entra.Config
	EntraSession() (*entra.Session, bool)
	ForgetEntra()
}

// MsgEntraGone is the failure when Configure needs the administrator's sign-in
// and it is no longer in memory.
const MsgEntraGone = "The Hybrid Identity Administrator's sign-in is no longer in memory (the server restarted, or two hours passed, since you signed in). Sign in again on Connect to Microsoft Entra ID, then select Configure."

// cloudSteps are the tenant's steps: the sync service account, the directory
// synchronization features, the directory extensions when some are chosen,
// and the record of the tenant.
func (c *run) cloudSteps() []jobs.Step {
	ce := c.p.Answers.ConnectEntra
	if ce.Tenant == nil {
		return nil
	}
	name := "Create the sync service account in Microsoft Entra ID"
	if ce.SyncAccount != "" {
		name = "Verify the sync service account " + ce.SyncAccount
	}
	steps := []jobs.Step{
		{Name: name, Run: c.syncAccount},
		{Name: "Switch on directory synchronization in Microsoft Entra ID", Run: c.syncFeatures},
	}
	if a := c.p.Answers; a.Features.DirectoryExtensions && len(a.Extensions.Selected) > 0 {
		steps = append(steps, jobs.Step{Name: "Register the directory extensions in Microsoft Entra ID", Run: c.registerExtensions})
	}
	return append(steps, jobs.Step{Name: "Record the tenant", Run: c.recordTenant})
}

func (c *run) entra() (entra.Config, error) {
	if c.d.Entra == nil {
		return entra.Config{}, errors.New("configure: no Microsoft Entra settings")
	}
	return c.d.Entra.EntraConfig(), nil
}

// syncAccount verifies the sync service account an earlier Configure created,
// or creates one with the administrator's sign-in, which it uses for nothing else.
func (c *run) syncAccount(ctx context.Context, r *jobs.Run) error {
	cfg, err := c.entra()
	if err != nil {
		return err
	}
	ce := &c.p.Answers.ConnectEntra
	sess, live := c.d.Entra.EntraSession()
	if ce.SyncAccount == "" {
		// A retry replays the answers the job started with: an account an
		// earlier attempt created is in the wizard's answers, not in them.
		_, saved, err := c.savedAnswers(ctx)
		if rec := saved.ConnectEntra; err == nil && rec.SyncAccount != "" && rec.Tenant != nil && rec.Tenant.ID == ce.Tenant.ID {
			ce.SyncAccount, ce.SyncAccountID, ce.SyncPassword, ce.SyncCreatedAt = rec.SyncAccount, rec.SyncAccountID, rec.SyncPassword, rec.SyncCreatedAt
			r.Logf("An earlier Configure created %s", ce.SyncAccount)
		}
	}
	if ce.SyncAccount != "" {
		pw, err := c.d.Box.OpenFor(secret.PurposeSyncPassword, ce.SyncPassword)
		if err != nil {
			return fmt.Errorf("the saved password of %s can't be read (was the secret key replaced?)", ce.SyncAccount)
		}
		r.Logf("Signing in as %s", ce.SyncAccount)
		err = cfg.CheckSyncAccount(ctx, ce.SyncAccount, pw)
		if err == nil {
			r.Logf("%s signs in and is in the Directory Synchronization Accounts role", ce.SyncAccount)
			return nil
		}
		if !live {
			return fmt.Errorf("%s Sign in on Connect to Microsoft Entra ID so that Configure can create a new sync service account", strings.TrimSuffix(entra.Message(err), "."))
		}
		r.Warn("sync-account-replaced", fmt.Sprintf("%s hybridsync creates a new sync service account.", entra.Message(err)),
			"Nothing to do; remove the old account "+ce.SyncAccount+" from the tenant once the new one works.")
	}
	if !live {
		return errors.New(MsgEntraGone)
	}
	if sess.Tenant.ID != ce.Tenant.ID {
		return fmt.Errorf("the administrator signed in to %s, but the configuration is for %s: sign in again on Connect to Microsoft Entra ID", sess.Tenant.InitialDomain, ce.Tenant.InitialDomain)
	}
	g, err := cfg.Graph(sess.TokenSource())
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	r.Logf("Creating the sync service account in %s as %s", sess.Tenant.InitialDomain, sess.User)
	acct, err := entra.CreateSyncAccount(ctx, g, sess.Tenant, host)
	if err != nil {
		return err
	}
	r.Logf("Created %s and gave it the Directory Synchronization Accounts role", acct.UPN)
	// A new account can take a moment to sign in on a real tenant (replication).
	var checkErr error
	for i, wait := 0, time.Second; i < 6; i, wait = i+1, wait*2 {
		if checkErr = cfg.CheckSyncAccount(ctx, acct.UPN, acct.Password); checkErr == nil {
			break
		}
		r.Logf("%s can't sign in yet (%s); trying again in %s", acct.UPN, entra.Message(checkErr), wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	if checkErr != nil {
		return fmt.Errorf("the sync service account %s was created but can't sign in: %s", acct.UPN, entra.Message(checkErr))
	}
	r.Logf("%s signs in", acct.UPN)
	sealed, err := c.d.Box.SealFor(secret.PurposeSyncPassword, acct.Password)
	if err != nil {
		return fmt.Errorf("unable to seal the sync service account's password: %w", err)
	}
	ce.SyncAccount, ce.SyncAccountID, ce.SyncPassword = acct.UPN, acct.ID, sealed
	ce.SyncCreatedAt = time.Now().UTC().Format(time.RFC3339)
	if err := c.recordEntra(ctx, *ce); err != nil {
		r.Warnf("The wizard could not record the sync service account %s: %v", acct.UPN, err)
	}
	return nil
}

// tokens are the administrator's while the sign-in is in memory, else the
// sync service account's.
func (c *run) tokens(cfg entra.Config) (cloud.TokenSource, string, error) {
	if sess, ok := c.d.Entra.EntraSession(); ok {
		return sess.TokenSource(), sess.User, nil
	}
	ce := c.p.Answers.ConnectEntra
	pw, err := c.d.Box.OpenFor(secret.PurposeSyncPassword, ce.SyncPassword)
	if err != nil || ce.SyncAccount == "" {
		return nil, "", errors.New(MsgEntraGone)
	}
	return cfg.SyncTokens(ce.SyncAccount, pw), ce.SyncAccount, nil
}

// syncFeatures switches directory synchronization on for the tenant with the
// features the wizard chose (a staging server leaves the tenant as it is),
// and reads them back: the Overview shows them, and every export applies
// their matching settings without reading them again.
func (c *run) syncFeatures(ctx context.Context, r *jobs.Run) error {
	a := c.p.Answers
	cfg, err := c.entra()
	if err != nil {
		return err
	}
	sess, live := c.d.Entra.EntraSession()
	if !live {
		// The sync service account may neither read nor change them.
		r.Warn("features-not-signed-in", "The tenant's directory synchronization features were neither set nor read: that needs the administrator's sign-in, which is no longer in memory. Exports apply soft and hard match as by default (neither blocked).",
			"Sign in on Connect to Microsoft Entra ID as a Global Administrator and select Configure again.")
		c.recordFeatures(ctx, r, entra.SyncFeatures{ReadAt: time.Now().UTC().Format(time.RFC3339), Unread: "The administrator's sign-in was no longer in memory."})
		return nil
	}
	g, err := cfg.Graph(sess.TokenSource())
	if err != nil {
		return err
	}
	if a.Ready.Staging {
		r.Logf("Staging mode is on: the tenant's directory synchronization settings are left as they are (password hash sync and password writeback stay off for this server)")
	} else {
		r.Logf("Setting the directory synchronization features as %s", sess.User)
		done, err := entra.ApplyFeatures(ctx, g, entra.Features{
			PasswordHashSync:    a.Features.PasswordHashSync,
			DeviceWriteback:     a.Features.DeviceWriteback,
			GroupWriteback:      a.Features.GroupWriteback,
			DirectoryExtensions: a.Features.DirectoryExtensions,
			DeletionThreshold:   entra.DefaultDeletionThreshold,
		})
		for _, line := range done {
			r.Logf("%s", line)
		}
		var fr *entra.FeaturesRefused
		switch {
		case errors.As(err, &fr):
			r.Warn("features-refused", "The tenant's directory synchronization features (password hash sync, writeback, accidental-deletion prevention) were left as they were: Microsoft Graph lets only a Global Administrator change them, and "+sess.User+" is not one.",
				"Sign in on Connect to Microsoft Entra ID as a Global Administrator and select Configure again, or set them in the Microsoft Entra admin center.")
		case err != nil:
			return err
		}
	}
	f, err := entra.ReadSyncFeatures(ctx, g)
	if err != nil {
		return err
	}
	if f.Unread != "" {
		r.Warn("features-unread", "The tenant's matching settings (blockSoftMatchEnabled, blockCloudObjectTakeoverThroughHardMatchEnabled) could not be read: "+f.Unread+" Every export applies soft and hard match as by default (neither blocked) until a Global Administrator runs Configure.",
			"If your tenant blocks soft or hard match, sign in on Connect to Microsoft Entra ID as a Global Administrator and select Configure again, so hybridsync reads them once for this configuration.")
	} else {
		r.Logf("Read the tenant's features: password hash sync %s, soft match %s, hard match takeover %s", entra.OnOff(f.PasswordHashSync), entra.Blocked(f.BlockSoftMatch), entra.Blocked(f.BlockHardMatch))
	}
	c.recordFeatures(ctx, r, f)
	return nil
}

// recordFeatures puts the features read into the configuration this job
// saves and into the wizard's answers.
func (c *run) recordFeatures(ctx context.Context, r *jobs.Run, f entra.SyncFeatures) {
	ce := &c.p.Answers.ConnectEntra
	if ce.Tenant == nil {
		return
	}
	ce.Tenant.Sync = &f
	if err := c.recordEntra(ctx, *ce); err != nil {
		r.Warnf("The wizard could not record the tenant's features: %v", err)
	}
}

// registerExtensions registers the chosen directory extension attributes on
// the tenant's Tenant Schema Extension App (found or created, with its
// service principal) and records the app's id with the tenant: the sync
// cycle names the extensions after it.
func (c *run) registerExtensions(ctx context.Context, r *jobs.Run) error {
	cfg, err := c.entra()
	if err != nil {
		return err
	}
	ts, who, err := c.tokens(cfg)
	if err != nil {
		return err
	}
	g, err := cfg.Graph(ts)
	if err != nil {
		return err
	}
	a := &c.p.Answers
	defs := make([]entra.ExtensionDef, 0, len(a.Extensions.Selected))
	for _, x := range a.Extensions.Selected {
		dt := x.Type
		if dt == "" {
			dt = setup.ExtString
		}
		defs = append(defs, entra.ExtensionDef{Name: x.Name, DataType: dt, MultiValued: x.MultiValued})
	}
	r.Logf("Registering %d directory extensions as %s", len(defs), who)
	appID, done, err := entra.RegisterExtensions(ctx, g, defs)
	for _, line := range done {
		r.Logf("%s", line)
	}
	if err != nil {
		if _, live := c.d.Entra.EntraSession(); !live && cloud.IsForbidden(err) {
			return fmt.Errorf("%s The sync service account may not register directory extensions: sign in on Connect to Microsoft Entra ID as a Hybrid Identity Administrator, then select Configure again", strings.TrimSuffix(entra.Message(err), ".")+".")
		}
		return err
	}
	ce := &a.ConnectEntra
	ce.Tenant.SchemaExtensionAppID = appID
	r.Logf("The directory extensions are written as %s", cloud.ExtensionName(appID, "<attribute>"))
	if err := c.recordEntra(ctx, *ce); err != nil {
		r.Warnf("The wizard could not record the directory extensions' application: %v", err)
	}
	return nil
}

// recordTenant reads the tenant once more, records it in the configuration
// and the wizard, and drops the administrator's sign-in: it is not used after
// the installation.
func (c *run) recordTenant(ctx context.Context, r *jobs.Run) error {
	cfg, err := c.entra()
	if err != nil {
		return err
	}
	ts, _, err := c.tokens(cfg)
	if err != nil {
		return err
	}
	g, err := cfg.Graph(ts)
	if err != nil {
		return err
	}
	t, err := entra.ReadTenant(ctx, g)
	if err != nil {
		return err
	}
	ce := &c.p.Answers.ConnectEntra
	if ce.Tenant != nil {
		if t.SchemaExtensionAppID == "" {
			// The account may not read applications: keep the one registered.
			t.SchemaExtensionAppID = ce.Tenant.SchemaExtensionAppID
		}
		t.Sync = ce.Tenant.Sync // read by syncFeatures, with the administrator's sign-in
	}
	ce.Tenant = &t
	r.Logf("Tenant %s (%s), id %s", t.DisplayName, t.InitialDomain, t.ID)
	if v := t.VerifiedCustomDomains(); len(v) > 0 {
		r.Logf("Verified domains: %s", strings.Join(v, ", "))
	} else {
		r.Warn("no-verified-domain", fmt.Sprintf("%s has no verified domain besides %s: users will sign in as user@%s.", t.DisplayName, t.InitialDomain, t.InitialDomain),
			"Add and verify your domains in the Microsoft Entra admin center, then select Configure again (Microsoft Entra sign-in configuration shows what to publish in DNS).")
	}
	if err := c.recordEntra(ctx, *ce); err != nil {
		r.Warnf("The wizard could not record the tenant: %v", err)
	}
	if _, live := c.d.Entra.EntraSession(); live {
		if server := setup.Federates(&c.p.Answers); server != "" {
			r.Logf("The administrator's sign-in stays in memory until the domain is federated with %s", server)
			return nil
		}
		c.d.Entra.ForgetEntra()
		r.Logf("The administrator's sign-in is no longer needed and was dropped from memory")
	}
	return nil
}

// recordEntra writes the tenant and the sync service account into the
// wizard's saved answers, so a later run of the wizard knows them.
func (c *run) recordEntra(ctx context.Context, ce setup.ConnectEntra) error {
	return c.updateWizard(ctx, func(a *setup.Answers) bool {
		w := &a.ConnectEntra
		w.Tenant = ce.Tenant
		w.SyncAccount, w.SyncAccountID, w.SyncPassword, w.SyncCreatedAt = ce.SyncAccount, ce.SyncAccountID, ce.SyncPassword, ce.SyncCreatedAt
		return true
	})
}
