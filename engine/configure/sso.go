package configure

import (
	"context"
	"time"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// ssoSteps are the single sign-on steps: one per forest that is not skipped,
// when single sign-on is chosen.
func (c *run) ssoSteps() []jobs.Step {
	a := c.p.Answers
	if !a.SignIn.SSOApplies() {
		return nil
	}
	var steps []jobs.Step
	for i, fc := range a.Directories.Forests {
		if a.SSO.Forests[fc.Forest].Skip {
			continue
		}
		steps = append(steps, jobs.Step{
			Name: "Create the single sign-on computer account in " + fc.Forest,
			Run:  func(ctx context.Context, r *jobs.Run) error { return c.ssoAccount(ctx, r, i) },
		})
	}
	return steps
}

// ssoAccount creates (or updates) AZUREADSSOACC in the forest root domain
// with the domain administrator credentials held in memory, uses them once and
// drops them, and records the computer account in the answers.
func (c *run) ssoAccount(ctx context.Context, r *jobs.Run, i int) error {
	fc := c.p.Answers.Directories.Forests[i]
	sf := c.p.Answers.SSO.Forests[fc.Forest]
	key := setup.SSOVaultKey(fc.Forest)
	creds, ok := c.d.Vault.Get(key)
	if !ok {
		if sf.ComputerDN != "" {
			r.Logf("The computer account %s was created by an earlier configuration; it is kept as it is (enter domain administrator credentials on Enable single sign-on to reset it)", sf.ComputerDN)
			return nil
		}
		return &setup.CheckError{Msg: "The domain administrator credentials for " + fc.Forest + " are no longer in memory (the server restarted, or they expired). " +
			"On Enable single sign-on, enter them again (or skip the forest), then select Configure."}
	}
	r.Logf("Connecting to %s with the domain administrator credentials (used once, never stored)", fc.Forest)
	conn, _, root, err := dialRoot(ctx, fc.DirectoryTarget(c.d.Resolver), creds)
	if err != nil {
		return err
	}
	defer conn.Close()
	acct, err := conn.EnsureSSOAccount(ctx, root)
	if err != nil {
		return err
	}
	if acct.Updated {
		r.Logf("The computer account %s existed; its password and SPN were reset (%s)", acct.DN, directory.SSOAccountSPN)
	} else {
		r.Logf("Created the computer account %s\\%s (%s) with the SPN %s", root.NetBIOS, directory.SSOAccountSAM, acct.DN, directory.SSOAccountSPN)
	}
	c.d.Vault.Drop(key)
	sf.EnteredAs, sf.EnteredAt = "", ""
	sf.ComputerDN, sf.ComputerAt = acct.DN, time.Now().UTC().Format(time.RFC3339)
	if c.p.Answers.SSO.Forests == nil {
		c.p.Answers.SSO.Forests = map[string]setup.SSOForest{}
	}
	c.p.Answers.SSO.Forests[fc.Forest] = sf
	if err := c.recordSSO(ctx, fc.Forest, sf); err != nil {
		r.Warnf("The wizard could not record the computer account %s: %v", acct.DN, err)
	}
	return nil
}

// recordSSO writes a forest's computer account into the wizard's saved
// answers, so the wizard shows it created and no longer asks for credentials.
func (c *run) recordSSO(ctx context.Context, forest string, sf setup.SSOForest) error {
	return c.updateWizard(ctx, func(a *setup.Answers) bool {
		if a.SSO.Forests == nil {
			a.SSO.Forests = map[string]setup.SSOForest{}
		}
		w := a.SSO.Forests[forest]
		if w.Skip {
			return false // skipped since Configure started
		}
		w.EnteredAs, w.EnteredAt, w.ComputerDN, w.ComputerAt = "", "", sf.ComputerDN, sf.ComputerAt
		a.SSO.Forests[forest] = w
		return true
	})
}
