package configure

import (
	"context"
	"fmt"
	"strings"

	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// writebackSteps prepare each forest the chosen writebacks write into: one
// step per forest, after its connector account exists.
func (c *run) writebackSteps() []jobs.Step {
	a := c.p.Answers
	if !setup.WritebackShown(&a) {
		return nil
	}
	var steps []jobs.Step
	for _, forest := range a.Writeback.Forests(&a) {
		steps = append(steps, jobs.Step{
			Name: "Prepare " + forest + " for writeback",
			Run:  func(ctx context.Context, r *jobs.Run) error { return c.prepareWriteback(ctx, r, forest) },
		})
	}
	return steps
}

// prepareWriteback makes a forest ready for the chosen writebacks: with the
// enterprise admin credentials typed on Writeback (used once, then dropped)
// it creates the device containers and grants the connector account its
// rights; then, as the connector account, it checks what it can do. A forest
// still not ready ends the step with a warning and the commands an
// enterprise admin runs instead: writeback into it waits for them.
func (c *run) prepareWriteback(ctx context.Context, r *jobs.Run, forest string) error {
	a := &c.p.Answers
	var fc setup.ForestConn
	for _, f := range a.Directories.Forests {
		if strings.EqualFold(f.Forest, forest) {
			fc = f
		}
	}
	if fc.Forest == "" {
		return fmt.Errorf("the forest %s is no longer among the connected forests", forest)
	}
	ou := ""
	if a.Features.GroupWriteback && strings.EqualFold(forest, a.Writeback.GroupForest) {
		ou = a.Writeback.GroupOU
	}
	devices := a.Features.DeviceWriteback && strings.EqualFold(forest, a.Writeback.DeviceForest)

	pw, err := c.d.Box.OpenFor(secret.ForestConnectorPassword(fc.Forest), fc.ConnectorPassword)
	if err != nil {
		return fmt.Errorf("the saved password of %s can't be read (was the secret key replaced?)", fc.ConnectorUser)
	}
	target := fc.DirectoryTarget(c.d.Resolver)
	conn, err := directory.Dial(ctx, target, fc.ConnectorUser, pw)
	if err != nil {
		return err
	}
	defer conn.Close()
	me, err := conn.BoundUser(ctx)
	if err != nil {
		return err
	}
	info, err := conn.Forest(ctx)
	if err != nil {
		return err
	}
	root, ok := info.RootDomain()
	if !ok {
		return fmt.Errorf("the forest root domain %s is not among the forest's domains", info.RootDomainNC)
	}

	key := setup.WritebackVaultKey(fc.Forest)
	if creds, ok := c.d.Vault.Get(key); ok {
		r.Logf("Connecting to %s with the enterprise admin credentials (used once, never stored)", fc.Forest)
		admin, _, _, err := dialRoot(ctx, target, creds)
		if err != nil {
			return err
		}
		_, err = c.prepareAs(ctx, r, admin, root, ou, devices, me)
		admin.Close()
		if err != nil {
			return err
		}
		// Used once: dropped, and no longer said to be entered, here (the
		// configuration saved at the end) and in the wizard.
		c.d.Vault.Drop(key)
		clear := func(w *setup.Answers) bool {
			adm, ok := w.Writeback.Admins[fc.Forest]
			if !ok || adm.EnteredAs == "" {
				return false
			}
			adm.EnteredAs, adm.EnteredAt = "", ""
			w.Writeback.Admins[fc.Forest] = adm
			return true
		}
		clear(a)
		if err := c.updateWizard(ctx, clear); err != nil {
			r.Warnf("The wizard could not record that the credentials for %s were used: %v", fc.Forest, err)
		}
	}

	// What the connector account finds now.
	var problems []string
	if devices {
		d, err := conn.DeviceWritebackReadiness(ctx, root, me.SID)
		if err != nil {
			return err
		}
		r.Logf("%s: schema %s; device container %s %s", fc.Forest, d.Schema.Release, d.ContainerDN, present(d.ContainerExists))
		problems = append(problems, d.Problems...)
		for _, n := range d.Notes {
			r.Logf("%s", n)
		}
	}
	if ou != "" {
		g, err := conn.GroupWritebackReadiness(ctx, ou, me.SID)
		if err != nil {
			return err
		}
		r.Logf("%s: organizational unit %s %s", fc.Forest, ou, present(g.OUExists))
		problems = append(problems, g.Problems...)
		for _, n := range g.Notes {
			r.Logf("%s", n)
		}
	}
	if len(problems) == 0 {
		r.Logf("%s is ready for writeback: %s can write what it needs", fc.Forest, me.SAMAccountName)
		return nil
	}
	p := directory.ScriptParams{Domain: root, ConfigurationNC: info.ConfigurationNC, Account: root.NetBIOS + `\` + me.SAMAccountName, AccountDN: me.DN, OU: ou}
	r.Logf("The commands an enterprise admin of %s runs to prepare it (PowerShell, safe to run twice):", fc.Forest)
	if devices {
		logLines(r, directory.DeviceWritebackCommands(p))
	}
	if ou != "" {
		logLines(r, directory.GroupWritebackCommands(p))
	}
	r.Warn("writeback-not-ready/"+strings.ToLower(fc.Forest),
		fmt.Sprintf("%s is not ready for writeback: %s.", fc.Forest, strings.Join(problems, "; ")),
		fmt.Sprintf("Have an enterprise admin of %s run the commands in this step's log, or enter enterprise admin credentials on Writeback and select Configure again. Until then nothing is written back into %s.", fc.Forest, fc.Forest))
	return nil
}

// prepareAs creates and grants what the writebacks need, as the enterprise
// admin on admin, for the connector account me; it says whether anything
// changed.
func (c *run) prepareAs(ctx context.Context, r *jobs.Run, admin *directory.Conn, root directory.Domain, ou string, devices bool, me directory.User) (bool, error) {
	changed := false
	if devices {
		p, err := admin.PrepareDeviceWriteback(ctx, root, me.SID)
		if err != nil {
			return changed, err
		}
		logPreparation(r, "device writeback", p, me.SAMAccountName)
		changed = changed || p.Changed()
	}
	if ou != "" {
		p, err := admin.PrepareGroupWriteback(ctx, ou, me.SID)
		if err != nil {
			return changed, err
		}
		logPreparation(r, "group writeback", p, me.SAMAccountName)
		changed = changed || p.Changed()
	}
	return changed, nil
}

func logPreparation(r *jobs.Run, what string, p directory.Preparation, account string) {
	if !p.Changed() {
		r.Logf("The forest was already prepared for %s", what)
		return
	}
	for _, dn := range p.Created {
		r.Logf("Created %s", dn)
	}
	for _, dn := range p.Updated {
		r.Logf("Set the attributes of %s", dn)
	}
	if p.ACEsAdded > 0 {
		r.Logf("Granted %s %d permission(s) for %s", account, p.ACEsAdded, what)
	}
}

func logLines(r *jobs.Run, text string) {
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		if strings.TrimSpace(l) != "" {
			r.Logf("  %s", l)
		}
	}
}

func present(ok bool) string {
	if ok {
		return "present"
	}
	return "missing"
}
