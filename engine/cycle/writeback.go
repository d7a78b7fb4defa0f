package cycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/outcome"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
	"github.com/hybridsync/hybridsync/engine/writeback"
)

// Steps of group and device writeback in the run history (issue 14).
const (
	StepWriteBackGroups  = "write-back groups"
	StepWriteBackDevices = "write-back devices"
)

// writebackSteps adds a step per chosen writeback, after the export: the
// users it exported have their cloud ids recorded by then, so that a group's
// members and a device's owner are found in the forest in the same cycle.
func (r *run) writebackSteps(add func(name, connector, step string, fn func(context.Context, *jobs.Run, *stepRecord) error)) {
	w := r.a.Writeback
	if r.a.Features.GroupWriteback && w.GroupForest != "" && w.GroupOU != "" {
		add("Write Microsoft 365 groups back into "+w.GroupForest, w.GroupForest, StepWriteBackGroups,
			func(ctx context.Context, jr *jobs.Run, rec *stepRecord) error {
				return r.writeback(ctx, jr, rec, store.WritebackKindGroup, w.GroupForest)
			})
	}
	if r.a.Features.DeviceWriteback && w.DeviceForest != "" {
		add("Write devices back into "+w.DeviceForest, w.DeviceForest, StepWriteBackDevices,
			func(ctx context.Context, jr *jobs.Run, rec *stepRecord) error {
				return r.writeback(ctx, jr, rec, store.WritebackKindDevice, w.DeviceForest)
			})
	}
}

// writeback reads the tenant's Microsoft 365 groups or devices (a delta
// round), plans what changes in the forest and, unless in staging mode or on
// a dry run, writes it as the forest's connector account. The deletion guard
// holds deletes in the forest as it holds the export's.
func (r *run) writeback(ctx context.Context, jr *jobs.Run, rec *stepRecord, kind, forest string) error {
	st := r.c.d.Store
	staging := r.a.Ready.Staging || r.p.DryRun
	opts, fc, ok := WritebackOptions(r.a, r.cfg.ID, kind)
	if !ok || !strings.EqualFold(fc.Forest, forest) {
		return fmt.Errorf("the writeback forest %s is not among the connected forests: choose it again on Writeback and select Configure", forest)
	}
	opts.Full = r.p.Full
	what := map[string]string{store.WritebackKindGroup: "Microsoft 365 group", store.WritebackKindDevice: "device"}[kind]
	rootDN := rootDNOf(fc)

	// The tenant, read as the sync service account (also in staging mode:
	// reads change nothing, and the review needs them).
	ce := r.a.ConnectEntra
	if ce.SyncAccount == "" {
		return errors.New("no sync service account is recorded: select Configure in the wizard first")
	}
	pw, err := r.c.d.Box.OpenFor(secret.PurposeSyncPassword, ce.SyncPassword)
	if err != nil {
		return fmt.Errorf("the saved password of %s can't be read (was the secret key replaced?)", ce.SyncAccount)
	}
	g, err := cloud.New(cloud.Config{GraphURL: r.c.d.Entra.GraphURL, HTTPClient: r.c.d.Entra.HTTPClient}, r.c.d.Entra.SyncTokens(ce.SyncAccount, pw))
	if err != nil {
		return err
	}
	read, full, err := writeback.Read(ctx, st, g, opts)
	if err != nil {
		return fmt.Errorf("the tenant's %ss could not be read: %w", what, err)
	}
	mode := "changes"
	if full {
		mode = "a full read"
	}
	jr.Logf("Read the tenant's %ss (%s): %d reported", what, mode, read)

	// The forest: its schema says which optional attributes exist.
	var conn *directory.Conn
	if !staging {
		fpw, err := r.c.d.Box.OpenFor(secret.ForestConnectorPassword(fc.Forest), fc.ConnectorPassword)
		if err != nil {
			return fmt.Errorf("the saved password of %s can't be read (was the secret key replaced?)", fc.ConnectorUser)
		}
		conn, err = directory.Dial(ctx, fc.DirectoryTarget(r.c.d.Resolver), fc.ConnectorUser, fpw)
		if err != nil {
			return err
		}
		defer conn.Close()
		schema, err := conn.WritebackSchema(ctx)
		if err != nil {
			return err
		}
		opts.ExternalID, opts.Compliant = schema.Has(directory.AttrExternalDirectoryObjectID), schema.Has("msDS-IsCompliant")
		// A forest not prepared yet (Configure said so, with the commands):
		// nothing is written into it, said once while it lasts.
		cond := "writeback-not-ready/" + kind + "/" + strings.ToLower(fc.Forest)
		var problems []string
		if kind == store.WritebackKindGroup {
			gr, err := conn.GroupWritebackReadiness(ctx, opts.GroupOU, "")
			if err != nil {
				return err
			}
			problems = gr.Problems
		} else {
			dr, err := conn.DeviceWritebackReadiness(ctx, directory.Domain{DN: rootDN}, "")
			if err != nil {
				return err
			}
			problems = dr.Problems
		}
		if len(problems) > 0 {
			msg := fmt.Sprintf("%s is not ready for %s writeback, so nothing was written into it: %s", fc.Forest, what, strings.Join(problems, " "))
			jr.Condition(outcome.LevelWarn, cond, strings.Join(problems, "|"), msg,
				"Have an enterprise admin of "+fc.Forest+" run the commands Configure logged, or enter enterprise admin credentials on Writeback and select Configure again.")
			rec.row.Processed = read
			rec.row.Note = msg
			return nil
		}
		jr.ClearCondition(cond, false)
	}

	plan, err := writeback.MakePlan(ctx, st, opts)
	if err != nil {
		return err
	}
	adds, updates, deletes, members := writeback.Counts(plan.Ops)
	rec.row.Processed = read
	for i, n := range plan.NotWritten {
		if i == 20 {
			jr.Logf("… and %d more not written", len(plan.NotWritten)-20)
			break
		}
		jr.Logf("Not written: %s", n)
	}
	notWritten := ""
	if n := len(plan.NotWritten); n > 0 {
		notWritten = fmt.Sprintf(" %d %s(s) with something not written (cloud-only members, owners not synchronized from %s; see the log).", n, what, fc.Forest)
	}

	if staging {
		rec.row.Adds, rec.row.Updates, rec.row.Deletes, rec.row.Memberships = adds, updates, deletes, members
		logOps(jr, "Pending", plan.Ops)
		rec.row.Note = fmt.Sprintf("Nothing written to %s (staging mode): %d pending writeback change(s) kept for review.", fc.Forest, len(plan.Ops)) + notWritten
		jr.Logf("Staging mode: nothing is written to %s; %d pending writeback change(s)", fc.Forest, len(plan.Ops))
		return nil
	}

	guard, err := st.DeletionGuard(ctx)
	if err != nil {
		return err
	}
	d := writeback.GuardCheck(guard, plan)
	if d.Stop {
		var dels []writeback.Op
		for _, op := range plan.Ops {
			if op.Op == writeback.OpDelete {
				dels = append(dels, op)
			}
		}
		logOps(jr, "Pending", dels)
		rec.row.Deletes = deletes
		rec.row.Note = fmt.Sprintf("%d delete(s) in %s held back by the deletion guard; nothing was written.", deletes, fc.Forest)
		return &jobs.StopError{Msg: "The deletion guard stopped the " + what + " writeback before it changed anything in " + fc.Forest + ": " +
			strings.Replace(d.Reason, "The export was stopped: it", "it", 1) +
			" If these deletes are expected, an administrator allows them once under Deletion guard, and the next cycle writes them."}
	}
	if d.UseAllowance {
		if err := st.UseDeleteAllowance(ctx); err != nil {
			return err
		}
		jr.Logf("%s", d.Reason)
	}

	started := time.Now()
	res, err := writeback.Apply(ctx, st, conn, opts, plan)
	if res != nil {
		rec.row.Adds, rec.row.Updates, rec.row.Deletes, rec.row.Memberships = writeback.Counts(res.Done)
		rec.row.Errors = len(res.Failed)
		logOps(jr, "Written", res.Done)
	}
	if err != nil {
		return err
	}
	jr.Logf("Wrote %d change(s) into %s in %s", len(res.Done), fc.Forest, time.Since(started).Round(time.Millisecond))
	note := fmt.Sprintf("%d change(s) written to %s.", len(res.Done), fc.Forest)
	if res.TakenOver > 0 {
		note += fmt.Sprintf(" %d object(s) found already written (an earlier run stopped before recording them): taken over, not created again.", res.TakenOver)
	}
	if n := len(res.Failed); n > 0 {
		f := res.Failed[0]
		note += fmt.Sprintf(" %d failed.", n)
		jr.Error("writeback-failed/"+kind+"/"+strings.ToLower(fc.Forest),
			fmt.Sprintf("%d %s writeback change(s) in %s failed; the first: %s of %s (%s): %v", n, what, fc.Forest, f.Op.Op, f.Op.Name, f.Op.DN, f.Err),
			"The next cycle tries them again. Check that the connector account may write in "+writebackWhere(opts)+" (Configure prepares it, or gives the commands).")
	}
	rec.row.Note = note + notWritten
	return nil
}

// rootDNOf is a forest's root domain DN.
func rootDNOf(fc setup.ForestConn) string {
	if fc.RootDN == "" && len(fc.Domains) > 0 {
		return fc.Domains[0].DN
	}
	return fc.RootDN
}

// WritebackOptions are the options of one kind of writeback (store.WritebackKindGroup
// or WritebackKindDevice) of a configuration, as its cycle step uses them,
// with the forest it writes into; ok is false when the kind is not chosen or
// its forest is not connected.
func WritebackOptions(a setup.Answers, configurationID int64, kind string) (writeback.Options, setup.ForestConn, bool) {
	w := a.Writeback
	forest := ""
	switch kind {
	case store.WritebackKindGroup:
		if a.Features.GroupWriteback && w.GroupOU != "" {
			forest = w.GroupForest
		}
	case store.WritebackKindDevice:
		if a.Features.DeviceWriteback {
			forest = w.DeviceForest
		}
	}
	if forest == "" {
		return writeback.Options{}, setup.ForestConn{}, false
	}
	for _, fc := range a.Directories.Forests {
		if strings.EqualFold(fc.Forest, forest) {
			return writeback.Options{Kind: kind, ConfigurationID: configurationID, Forest: fc.Forest, Connector: connector.Spec{Forest: fc}.Name(),
				GroupOU: w.GroupOU, GroupNaming: w.GroupNaming,
				DevicesDN: directory.RegisteredDevicesDN(directory.Domain{DN: rootDNOf(fc)})}, fc, true
		}
	}
	return writeback.Options{}, setup.ForestConn{}, false
}

// PendingWritebacks is what the chosen writebacks would change in the
// forests, from what the last cycle read of the tenant: in staging mode, what
// is kept for review. Attributes that need the forest's schema to decide
// (msDS-ExternalDirectoryObjectId, msDS-IsCompliant) are left out.
func PendingWritebacks(ctx context.Context, st *store.Store, a setup.Answers, configurationID int64) ([]writeback.Op, error) {
	var out []writeback.Op
	for _, kind := range []string{store.WritebackKindGroup, store.WritebackKindDevice} {
		opts, _, ok := WritebackOptions(a, configurationID, kind)
		if !ok {
			continue
		}
		plan, err := writeback.MakePlan(ctx, st, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, plan.Ops...)
	}
	return out, nil
}

// writebackWhere names where a writeback writes.
func writebackWhere(o writeback.Options) string {
	if o.Kind == store.WritebackKindGroup {
		return o.GroupOU
	}
	return o.DevicesDN
}

// logOps tells the operations of a writeback, the first fifty.
func logOps(jr *jobs.Run, verb string, ops []writeback.Op) {
	for i, op := range ops {
		if i == 50 {
			jr.Logf("… and %d more", len(ops)-50)
			return
		}
		switch op.Op {
		case writeback.OpMemberAdd, writeback.OpMemberRemove:
			jr.Logf("%s: %s %s of %s: %s", verb, op.Op, op.Kind, op.Name, op.Value)
		default:
			jr.Logf("%s: %s %s %s (%s)", verb, op.Op, op.Kind, op.Name, op.DN)
		}
	}
}
