// Package cycle is one synchronization cycle — import every forest into its
// connector space, synchronize the metaverse, export the pending changes to
// the tenant (or, in staging mode, keep them for review) — as a job with a
// step per forest and stage, run by the console's scheduler, its Run now
// button and `hybridsync sync`.
package cycle

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/configure"
	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/export"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/outcome"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// Kind is the job kind.
const Kind = "sync"

// Triggers of a cycle.
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
	TriggerCLI      = "cli"
)

// Params is what a cycle is started with.
type Params struct {
	// Full asks for a full import and a full sync.
	Full bool `json:"full"`
	// DryRun exports nothing, as staging mode does.
	DryRun  bool   `json:"dryRun"`
	Trigger string `json:"trigger"`
}

// Deps are a cycle's dependencies.
type Deps struct {
	Store    *store.Store
	Box      *secret.Box
	Entra    entra.Config
	Resolver *net.Resolver
	Log      *slog.Logger
	// WriteBudget and WriteWindow pace the export (default: Graph's).
	WriteBudget int
	WriteWindow time.Duration
	// SizeMemory sets the process's soft memory limit by the connector
	// spaces' size before each sync (metaverse.MemoryLimitFor): the
	// console's --memory-limit auto.
	SizeMemory bool
}

// Cycle runs cycles; it keeps the metaverse between them, so that a delta
// sync re-evaluates only what the imports changed.
type Cycle struct {
	d Deps

	mu       sync.Mutex
	engine   *metaverse.Engine
	engineOf string    // the configuration the engine was built for
	synced   time.Time // when the engine last synchronized
}

// New builds a Cycle.
func New(d Deps) *Cycle {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Cycle{d: d}
}

// Type is the job type to register with the runner.
func (c *Cycle) Type() jobs.Type {
	return jobs.Type{
		Kind:  Kind,
		Title: "Synchronization cycle",
		Steps: func(raw []byte) ([]jobs.Step, error) {
			var p Params
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, fmt.Errorf("cycle: bad params: %w", err)
			}
			return c.steps(p)
		},
	}
}

// run is one cycle's state between its steps.
type run struct {
	c    *Cycle
	p    Params
	a    setup.Answers
	cfg  store.Configuration
	full bool
	res  *metaverse.Result
}

func (c *Cycle) steps(p Params) ([]jobs.Step, error) {
	ctx := context.Background()
	cfg, err := c.d.Store.ActiveConfiguration(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errors.New("No configuration has been applied yet: run the wizard and select Configure first.")
	}
	if err != nil {
		return nil, err
	}
	a, err := setup.ConfigurationAnswers(cfg)
	if err != nil {
		return nil, err
	}
	r := &run{c: c, p: p, a: a, cfg: cfg}
	// Each step writes its run-history row (history.go) as it starts and
	// as it ends; pos is its position among the job's steps.
	var steps []jobs.Step
	add := func(name, connector, step string, fn func(context.Context, *jobs.Run, *stepRecord) error) {
		steps = append(steps, jobs.Step{Name: name, Run: r.recorded(len(steps)+1, connector, step, fn)})
	}
	for _, fc := range a.Directories.Forests {
		add("Import "+fc.Forest, fc.Forest, c.importStep(context.Background(), fc), func(ctx context.Context, jr *jobs.Run, rec *stepRecord) error {
			return r.importForest(ctx, jr, rec, fc.Forest)
		})
	}
	// Whether the sync is full is decided as it starts (synchronize).
	syncStep := StepDeltaSync
	if p.Full {
		syncStep = StepFullSync
	}
	add("Synchronize", "", syncStep, r.synchronize)
	if writesBack(a.Identifying) {
		var forests []string
		for _, fc := range a.Directories.Forests {
			forests = append(forests, fc.Forest)
		}
		add("Write the sourceAnchor back into ms-DS-ConsistencyGuid", strings.Join(forests, ", "), StepWriteBack, r.writeBack)
	}
	name, step := "Export to Microsoft Entra ID", StepExport
	if a.Ready.Staging || p.DryRun {
		name, step = "Keep the pending exports for review (staging mode)", StepReview
		if p.DryRun && !a.Ready.Staging {
			name = "Keep the pending exports for review (dry run)"
		}
	}
	tenant := EntraConnector
	if a.ConnectEntra.Tenant != nil && a.ConnectEntra.Tenant.InitialDomain != "" {
		tenant = a.ConnectEntra.Tenant.InitialDomain
	}
	add(name, tenant, step, r.export)
	r.writebackSteps(add)
	return steps, nil
}

// importStep is what a forest's import is expected to be as it starts: a
// full import when asked for, when the configuration changed or when none
// ran yet; else a delta. The import itself decides (a refused cookie or a
// new DC make it full), and its row is corrected when it ends.
func (c *Cycle) importStep(ctx context.Context, fc setup.ForestConn) string {
	state, err := c.d.Store.CSConnectorState(ctx, connector.Spec{Forest: fc}.Name())
	if err != nil || state.NeedsFull || state.LastFullAt.IsZero() {
		return StepFullImport
	}
	return StepDeltaImport
}

func (r *run) importForest(ctx context.Context, jr *jobs.Run, rec *stepRecord, forest string) error {
	var fc *setup.ForestConn
	for i := range r.a.Directories.Forests {
		if r.a.Directories.Forests[i].Forest == forest {
			fc = &r.a.Directories.Forests[i]
		}
	}
	if fc == nil || fc.ConnectorUser == "" {
		return fmt.Errorf("%s has no connector account recorded: select Configure in the wizard first", forest)
	}
	pw, err := r.c.d.Box.OpenFor(secret.ForestConnectorPassword(fc.Forest), fc.ConnectorPassword)
	if err != nil {
		return fmt.Errorf("the saved password of %s can't be read (was the secret key replaced?)", fc.ConnectorUser)
	}
	spec, err := connector.SpecFor(&r.a, forest, pw)
	if err != nil {
		return err
	}
	spec.Full, spec.Resolver = r.p.Full, r.c.d.Resolver
	spec.Progress = importProgress(ctx, rec)
	jr.Logf("Importing %s as %s", forest, fc.ConnectorUser)
	res, err := connector.Import(ctx, r.c.d.Store, spec)
	recordImport(rec, res)
	if err != nil {
		return err
	}
	for _, d := range res.Domains {
		why := ""
		if d.FullReason != "" {
			why = " (" + d.FullReason + ")"
		}
		jr.Logf("%s: %s import%s from %s: %d read, %d added, %d updated, %d deleted, %d out of scope, %d object(s) moved with their OU; memberships +%d −%d (%s)",
			d.Domain, d.Mode, why, d.DC, d.Read, d.Added, d.Updated, d.Deleted, d.OutOfScope, d.Moved, d.MembersAdded, d.MembersRemoved, d.Took.Round(time.Millisecond))
	}
	return nil
}

// synchronize runs the metaverse: a full sync on the first cycle after a
// start, after a configuration change or when asked; else a delta of the
// connector-space objects the imports changed.
func (r *run) synchronize(ctx context.Context, jr *jobs.Run, rec *stepRecord) error {
	c := r.c
	c.mu.Lock()
	defer c.mu.Unlock()
	fingerprint := fmt.Sprintf("%d", r.cfg.ID)
	r.full = r.p.Full || c.engine == nil || c.engineOf != fingerprint
	if r.full {
		mcfg, err := metaverse.NewConfig(r.a, r.a.ConnectEntra.Tenant)
		if err != nil {
			return fmt.Errorf("the sync rules can't be built: %w", err)
		}
		c.engine, c.engineOf = metaverse.NewEngine(mcfg), fingerprint
	}
	if r.full != (rec.row.Step == StepFullSync) {
		rec.row.Step = StepDeltaSync
		if r.full {
			rec.row.Step = StepFullSync
		}
		rec.update(ctx)
	}
	if c.d.SizeMemory {
		n, err := c.d.Store.CountCSObjects(ctx)
		if err != nil {
			return err
		}
		limit := metaverse.MemoryLimitFor(n)
		debug.SetMemoryLimit(limit)
		jr.Logf("Soft memory limit: %d MiB for %d connector-space object(s)", limit>>20, n)
	}
	started := time.Now()
	res, err := c.engine.SyncEach(ctx, c.d.Store, r.full, r.objects(ctx, c.synced))
	if err != nil {
		c.engine = nil // rebuilt from the store by the next cycle
		return err
	}
	c.synced = started
	r.res = res
	rec.row.Processed, rec.row.Adds, rec.row.Updates, rec.row.Deletes, rec.row.Memberships = res.Evaluated, res.Adds, res.Updates, res.Deletes, res.Memberships
	rec.row.Note = fmt.Sprintf("%d in the metaverse, %d not synchronized; the counts are the pending exports computed.", res.Objects, res.NotSynced)
	kind := "Delta"
	if r.full {
		kind = "Full"
	}
	jr.Logf("%s sync of %d connector-space object(s): %d in the metaverse, %d not synchronized", kind, res.Evaluated, res.Objects, res.NotSynced)
	jr.Logf("Pending exports: %d add(s), %d update(s), %d delete(s), %d membership change(s)", res.Adds, res.Updates, res.Deletes, res.Memberships)
	if n := len(res.Writebacks); n > 0 {
		jr.Logf("%d user(s) get their objectGUID written back into ms-DS-ConsistencyGuid", n)
	}
	return nil
}

// objects are the connector-space objects to synchronize, read from the
// store one at a time, each group with its members read beside it: all of
// them for a full sync, else those whose rows changed since the last sync
// (a group whose members changed counts as changed). A full sync of a
// million objects never holds the connector spaces as rows: the engine
// keeps its own compact copy of each.
func (r *run) objects(ctx context.Context, since time.Time) metaverse.Objects {
	st := r.c.d.Store
	return func(yield func(*connector.Object, error) bool) {
		for _, fc := range r.a.Directories.Forests {
			name := connector.Spec{Forest: fc}.Name()
			reads := st.EachCSObject(ctx, name)
			if !r.full {
				// A second of slack: the store keeps milliseconds, and seeing
				// an object again is harmless.
				reads = st.EachCSObjectChangedSince(ctx, name, since.Add(-time.Second))
			}
			for read, err := range reads {
				if err != nil {
					yield(nil, err)
					return
				}
				o := connector.FromRow(read.Object)
				o.Members = read.Members
				if !yield(o, nil) {
					return
				}
			}
		}
	}
}

// export sends the pending exports to the tenant as the sync service
// account, or, in staging mode and on a dry run, records them for review.
func (r *run) export(ctx context.Context, jr *jobs.Run, rec *stepRecord) error {
	if r.res == nil {
		return errors.New("nothing was synchronized")
	}
	staging := r.a.Ready.Staging || r.p.DryRun
	ce := r.a.ConnectEntra
	if ce.Tenant == nil {
		return errors.New("no tenant is connected: sign in on Connect to Microsoft Entra ID and select Configure")
	}
	opts := export.Options{Staging: staging, InitialDomain: ce.Tenant.InitialDomain, WriteBudget: r.c.d.WriteBudget, WriteWindow: r.c.d.WriteWindow,
		Match: matchSettings(ce.Tenant), OnConfirmed: metaverse.RecordExported(r.c.d.Store), Progress: exportProgress(ctx, rec), Logger: r.c.d.Log}
	var ex *export.Exporter
	if !staging {
		if ce.SyncAccount == "" {
			return errors.New("no sync service account is recorded: select Configure in the wizard first")
		}
		pw, err := r.c.d.Box.OpenFor(secret.PurposeSyncPassword, ce.SyncPassword)
		if err != nil {
			return fmt.Errorf("the saved password of %s can't be read (was the secret key replaced?)", ce.SyncAccount)
		}
		// A Retry-After pauses every writer of the exporter, which needs the
		// client first: the client tells the exporter through ex.
		g, err := cloud.New(cloud.Config{GraphURL: r.c.d.Entra.GraphURL, HTTPClient: r.c.d.Entra.HTTPClient,
			OnRetry: func(s int, w time.Duration) { ex.OnRetry(s, w) }}, r.c.d.Entra.SyncTokens(ce.SyncAccount, pw))
		if err != nil {
			return err
		}
		ex = export.New(g, r.c.d.Store, opts)
		jr.Logf("Exporting the pending changes as %s", ce.SyncAccount)
	} else {
		ex = export.New(nil, r.c.d.Store, opts)
	}
	// The changes are read from the store a page at a time as the export
	// takes them; the progress shows against the store's count.
	tally, err := r.c.d.Store.PendingTally(ctx)
	if err != nil {
		return err
	}
	rec.row.Processed = 0
	for _, n := range tally {
		rec.row.Processed += n
	}
	var pending pendingSummary
	res, err := ex.RunEach(ctx, func(yield func(metaverse.Change, error) bool) {
		for c, err := range EachPendingChange(ctx, r.c.d.Store, "", "") {
			if err == nil {
				pending.add(c)
			}
			if !yield(c, err) {
				return
			}
		}
	})
	recordExport(rec, res, pending)
	if err != nil {
		return err
	}
	tellHeld(jr, res)
	switch res.Status {
	case export.StatusStaged:
		jr.Logf("Staging: nothing was exported; %d pending change(s) are kept for review under Sync → Pending exports", pending.N)
		return nil
	case export.StatusStoppedDeletionExceeded:
		for i, d := range res.PendingDeletes {
			if i == 20 {
				jr.Logf("… and %d more", len(res.PendingDeletes)-20)
				break
			}
			jr.Logf("Pending delete: %s %s (%s)", d.Kind, d.Object, d.Source)
		}
		return &jobs.StopError{Msg: "The deletion guard stopped the export before it changed anything: " + res.Message +
			" Review the pending deletes on the Sync page; if they are expected, an administrator allows them once under Deletion guard, and the next cycle exports them."}
	}
	jr.Logf("Exported: %d add(s), %d matched, %d update(s), %d delete(s), %d membership change(s); %d write(s), throttled %s",
		res.Adds, res.Matched, res.Updates, res.Deletes, res.Memberships, res.Writes, res.Throttled.Round(time.Millisecond))
	if res.Message != "" {
		jr.Logf("%s", res.Message)
	}
	if n := len(res.Failed); n > 0 {
		f := res.Failed[0]
		jr.Error("export-failed", fmt.Sprintf("%d change(s) could not be exported and stay pending; the first: %s of %s %s: %s", n, f.Op, f.Kind, f.Key, f.Err),
			"The next cycle tries them again. If they keep failing, look them up under Sync → Pending exports and fix what Microsoft Graph refused.")
	}
	open, err := r.c.d.Store.CountSyncErrors(ctx)
	if err != nil {
		return err
	}
	if open > 0 {
		jr.Error("sync-errors", fmt.Sprintf("%d sync error(s) are open (%d new in this cycle): another object in Microsoft Entra ID holds a userPrincipalName or proxy address, so that value was not exported.", open, len(res.SyncErrors)),
			"Open Sync → Sync errors: each names the object that holds the value. Change the value on one of the two objects in Active Directory; the next cycle exports it and closes the error.")
	}
	return nil
}

// matchSettings are the tenant's matching settings as Configure read them,
// once for the configuration: the sync service account may not read them,
// so the export never tries. Unread (Configure said so), soft and hard
// match apply as by default.
func matchSettings(t *entra.Tenant) *export.MatchSettings {
	if t == nil || t.Sync == nil || t.Sync.Unread != "" {
		return &export.MatchSettings{Assumed: true}
	}
	return &export.MatchSettings{BlockSoftMatch: t.Sync.BlockSoftMatch, BlockHardMatch: t.Sync.BlockHardMatch}
}

// tellHeld says which changes Microsoft Graph cannot make (contacts,
// distribution groups): once, as a condition, while they are held.
func tellHeld(jr *jobs.Run, res *export.Result) {
	const name = "held-changes"
	note := res.HeldNote()
	if note == "" {
		jr.ClearCondition(name, false)
		return
	}
	jr.Condition(outcome.LevelWarn, name, note, note,
		"Nothing in hybridsync can change this: Microsoft Graph has no way to write them (see the README). They stay under Sync → Pending exports, marked held; create them in Exchange Online if you need them in the cloud.")
}

// writesBack reports whether the sourceAnchor is ms-DS-ConsistencyGuid, so
// that objectGUID is written back into it where it is empty (the
// ms-DS-ConsistencyGuid logic).
func writesBack(id setup.Identifying) bool {
	attr := id.Resolved
	if attr == "" {
		attr = setup.AttrConsistencyGuid
		if id.AnchorMode() == setup.AnchorAttribute {
			attr = id.SourceAnchorAttribute
		}
	}
	return strings.EqualFold(attr, setup.AttrConsistencyGuid)
}

// writeBack writes each user's objectGUID into its empty
// ms-DS-ConsistencyGuid, as the forest's connector account. A value that is
// there already is left alone. The first write a domain refuses for want of
// the right stops that domain's writes for the cycle: a condition, said
// once and kept on the Overview, while every later cycle tries one write
// again. The objects keep their objectGUID-based anchor either way.
func (r *run) writeBack(ctx context.Context, jr *jobs.Run, rec *stepRecord) error {
	if r.res == nil {
		return errors.New("nothing was synchronized")
	}
	rec.row.Processed = len(r.res.Writebacks)
	if len(r.res.Writebacks) == 0 {
		jr.Logf("Every synchronized user has ms-DS-ConsistencyGuid set")
		rec.row.Note = "Every synchronized user has ms-DS-ConsistencyGuid set."
		return nil
	}
	if r.a.Ready.Staging || r.p.DryRun {
		jr.Logf("Staging mode: nothing is written to the forests; %d user(s) would get ms-DS-ConsistencyGuid", len(r.res.Writebacks))
		rec.row.Note = fmt.Sprintf("Nothing written: %d user(s) would get ms-DS-ConsistencyGuid.", len(r.res.Writebacks))
		return nil
	}
	var notes []string
	byForest := map[string][]metaverse.Writeback{}
	for _, wb := range r.res.Writebacks {
		byForest[wb.Connector] = append(byForest[wb.Connector], wb)
	}
	for _, fc := range r.a.Directories.Forests {
		wbs := byForest[connector.Spec{Forest: fc}.Name()]
		if len(wbs) == 0 {
			continue
		}
		pw, err := r.c.d.Box.OpenFor(secret.ForestConnectorPassword(fc.Forest), fc.ConnectorPassword)
		if err != nil {
			return fmt.Errorf("the saved password of %s can't be read (was the secret key replaced?)", fc.ConnectorUser)
		}
		conn, err := directory.Dial(ctx, fc.DirectoryTarget(r.c.d.Resolver), fc.ConnectorUser, pw)
		if err != nil {
			jr.Error("writeback-unreachable/"+fc.Forest, fmt.Sprintf("%s: ms-DS-ConsistencyGuid not written: %v", fc.Forest, err),
				"Check that a domain controller of "+fc.Forest+" answers; the next cycle writes them.")
			rec.row.Errors += len(wbs)
			notes = append(notes, fmt.Sprintf("%s: not written (%v).", fc.Forest, err))
			continue
		}
		for _, d := range byDomain(fc, wbs) {
			w := writeDomain(ctx, conn, d.wbs)
			rec.row.Updates += w.wrote
			rec.row.Errors += w.failed
			note := fmt.Sprintf("%s: %d written, %d had a value already", d.name, w.wrote, w.already)
			cond := configure.ConditionWriteback + strings.ToLower(d.name)
			switch {
			case w.refused > 0:
				note += fmt.Sprintf(", %d not written: the connector account may not write ms-DS-ConsistencyGuid here", w.refused)
				jr.Condition(outcome.LevelWarn, cond, fc.ConnectorUser,
					fmt.Sprintf("The connector account %s may not write ms-DS-ConsistencyGuid in %s, so %d user(s) there keep it empty. Sync goes on: their sourceAnchor is their objectGUID, the same value, but it does not follow a user moved to another forest or domain.", fc.ConnectorUser, d.name, w.refused),
					fmt.Sprintf("Grant %s \"Write ms-DS-ConsistencyGuid\" on the user objects of %s (Entra Connect's ADSyncConfig module does it with Set-ADSyncMsDsConsistencyGuidPermissions), or let hybridsync create the connector account (Connect your directories, then Configure). Each cycle tries one write, and this clears once one is allowed.", fc.ConnectorUser, d.name))
			case w.wrote > 0:
				jr.ClearCondition(cond, false)
			}
			if w.failed > 0 {
				jr.Error("writeback-failed/"+strings.ToLower(d.name), fmt.Sprintf("%s: %d write(s) of ms-DS-ConsistencyGuid failed; the first: %v", d.name, w.failed, w.first),
					"The next cycle tries them again; if they keep failing, look the users up on the Sync page.")
				note += fmt.Sprintf(", %d failed", w.failed)
			}
			jr.Logf("%s", note)
			notes = append(notes, note+".")
		}
		conn.Close()
	}
	rec.row.Note = strings.Join(notes, " ")
	return nil
}

// domainWritebacks are the write-backs of one domain of a forest.
type domainWritebacks struct {
	name string // the domain's DNS name
	wbs  []metaverse.Writeback
}

// byDomain groups a forest's write-backs by the domain their DN is in, in
// the forest's order of domains (a DN in none goes by its DC= parts).
func byDomain(fc setup.ForestConn, wbs []metaverse.Writeback) []domainWritebacks {
	var out []domainWritebacks
	index := map[string]int{}
	for _, wb := range wbs {
		name := domainOf(fc, wb.DN)
		i, ok := index[name]
		if !ok {
			i = len(out)
			index[name] = i
			out = append(out, domainWritebacks{name: name})
		}
		out[i].wbs = append(out[i].wbs, wb)
	}
	return out
}

// domainOf names the domain of a DN: the forest's domain whose DN ends it
// (the longest), else the DN's DC= parts joined with dots.
func domainOf(fc setup.ForestConn, dn string) string {
	lower, best, name := strings.ToLower(dn), 0, ""
	for _, d := range fc.Domains {
		if suffix := strings.ToLower(d.DN); suffix != "" && strings.HasSuffix(lower, suffix) && len(suffix) > best {
			best, name = len(suffix), d.DNS
		}
	}
	if name != "" {
		return name
	}
	var parts []string
	for _, rdn := range strings.Split(dn, ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(rdn), "="); ok && strings.EqualFold(k, "DC") {
			parts = append(parts, v)
		}
	}
	if len(parts) == 0 {
		return fc.Forest
	}
	return strings.ToLower(strings.Join(parts, "."))
}

// written counts one domain's write-backs.
type written struct {
	wrote, already, failed int
	// refused counts the writes not made once the domain refused one for
	// want of the right (that one included).
	refused int
	first   error
}

// writeDomain writes one domain's write-backs until the domain refuses one
// for want of the right.
func writeDomain(ctx context.Context, conn *directory.Conn, wbs []metaverse.Writeback) written {
	var w written
	for i, wb := range wbs {
		guid, err := base64.StdEncoding.DecodeString(wb.Value)
		if err == nil {
			err = conn.WriteConsistencyGuid(ctx, wb.DN, guid)
		}
		switch {
		case err == nil:
			w.wrote++
		case errors.Is(err, directory.ErrAlreadySet):
			w.already++
		case directory.IsPermissionDenied(err):
			w.refused = len(wbs) - i
			return w
		default:
			w.failed++
			if w.first == nil {
				w.first = err
			}
		}
	}
	return w
}
