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
	"strings"
	"sync"
	"time"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/export"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/metaverse"
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
	pw, err := r.c.d.Box.Open(fc.ConnectorPassword)
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
	started := time.Now()
	objs, err := r.objects(ctx, c.synced)
	if err != nil {
		return err
	}
	res, err := c.engine.Sync(ctx, c.d.Store, r.full, objs)
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

// objects are the connector-space objects to synchronize: all of them for a
// full sync, else those whose rows changed since the last sync (a group
// whose members changed counts as changed), with their members.
func (r *run) objects(ctx context.Context, since time.Time) ([]connector.Object, error) {
	st := r.c.d.Store
	var out []connector.Object
	for _, fc := range r.a.Directories.Forests {
		name := connector.Spec{Forest: fc}.Name()
		var rows []store.CSObject
		var members map[string][]string
		var err error
		if r.full {
			rows, err = st.CSObjectsOf(ctx, name)
			if err == nil {
				members, err = st.CSMembersOf(ctx, name)
			}
		} else {
			// A second of slack: the store keeps milliseconds, and seeing an
			// object again is harmless.
			rows, err = st.CSObjectsChangedSince(ctx, name, since.Add(-time.Second))
		}
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			o := connector.FromRow(row)
			if o.Class == connector.ClassGroup {
				if members != nil {
					o.Members = members[o.Anchor]
				} else if o.Members, err = st.CSMembers(ctx, name, o.Anchor); err != nil {
					return nil, err
				}
			}
			out = append(out, *o)
		}
	}
	return out, nil
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
		OnConfirmed: metaverse.RecordExported(r.c.d.Store), Logger: r.c.d.Log}
	var ex *export.Exporter
	if !staging {
		if ce.SyncAccount == "" {
			return errors.New("no sync service account is recorded: select Configure in the wizard first")
		}
		pw, err := r.c.d.Box.Open(ce.SyncPassword)
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
	pending, err := PendingChanges(ctx, r.c.d.Store, "", "")
	if err != nil {
		return err
	}
	res, err := ex.Run(ctx, pending)
	recordExport(rec, res, pending)
	if err != nil {
		return err
	}
	switch res.Status {
	case export.StatusStaged:
		jr.Logf("Staging: nothing was exported; %d pending change(s) are kept for review under Sync → Pending exports", len(pending))
		return nil
	case export.StatusStoppedDeletionExceeded:
		for i, d := range res.PendingDeletes {
			if i == 20 {
				jr.Warnf("… and %d more", len(res.PendingDeletes)-20)
				break
			}
			jr.Warnf("Pending delete: %s %s (%s)", d.Kind, d.Object, d.Source)
		}
		return fmt.Errorf("%s: %s", StoppedDeletion, res.Message)
	}
	jr.Logf("Exported: %d add(s), %d matched, %d update(s), %d delete(s), %d membership change(s); %d write(s), throttled %s",
		res.Adds, res.Matched, res.Updates, res.Deletes, res.Memberships, res.Writes, res.Throttled.Round(time.Millisecond))
	if n := len(res.SyncErrors); n > 0 {
		jr.Warnf("%d sync error(s), see Sync → Errors (a duplicate userPrincipalName or proxy address is quarantined, not fatal)", n)
	}
	if n := len(res.Failed); n > 0 {
		f := res.Failed[0]
		jr.Warnf("%d change(s) failed and stay pending; the first: %s of %s %s: %s", n, f.Op, f.Kind, f.Key, f.Err)
	}
	if res.Message != "" {
		jr.Logf("%s", res.Message)
	}
	return nil
}

// PendingChanges are the pending exports in the store of an operation and a
// kind ("" for any), in export order: this cycle's and those an earlier
// cycle left (staged, failed, stopped).
func PendingChanges(ctx context.Context, st *store.Store, op, kind string) ([]metaverse.Change, error) {
	var out []metaverse.Change
	f := store.PendingFilter{Op: op, Kind: kind, Limit: 1000}
	for {
		rows, err := st.PendingExports(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			var c metaverse.Change
			if err := json.Unmarshal(row.Change, &c); err != nil {
				return nil, fmt.Errorf("cycle: the pending export of %s is corrupt: %w", row.Key, err)
			}
			out = append(out, c)
		}
		if len(rows) < f.Limit {
			return out, nil
		}
		last := rows[len(rows)-1]
		f.AfterOrder, f.AfterKey = last.Order, last.Key
	}
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
// there already is left alone; a refused write is a warning, and the object
// keeps its objectGUID-based anchor either way.
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
		rec.row.Status, rec.row.Note = StatusStaged, fmt.Sprintf("Nothing written: %d user(s) would get ms-DS-ConsistencyGuid.", len(r.res.Writebacks))
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
		pw, err := r.c.d.Box.Open(fc.ConnectorPassword)
		if err != nil {
			return fmt.Errorf("the saved password of %s can't be read (was the secret key replaced?)", fc.ConnectorUser)
		}
		conn, err := directory.Dial(ctx, fc.DirectoryTarget(r.c.d.Resolver), fc.ConnectorUser, pw)
		if err != nil {
			jr.Warnf("%s: ms-DS-ConsistencyGuid not written: %v", fc.Forest, err)
			rec.row.Errors += len(wbs)
			notes = append(notes, fmt.Sprintf("%s: not written (%v).", fc.Forest, err))
			continue
		}
		var wrote, already, failed int
		var first error
		for _, wb := range wbs {
			guid, err := base64.StdEncoding.DecodeString(wb.Value)
			if err == nil {
				err = conn.WriteConsistencyGuid(ctx, wb.DN, guid)
			}
			switch {
			case err == nil:
				wrote++
			case errors.Is(err, directory.ErrAlreadySet):
				already++
			default:
				failed++
				if first == nil {
					first = err
				}
			}
		}
		conn.Close()
		jr.Logf("%s: wrote ms-DS-ConsistencyGuid of %d user(s); %d had a value already", fc.Forest, wrote, already)
		rec.row.Updates += wrote
		rec.row.Errors += failed
		note := fmt.Sprintf("%s: %d written, %d had a value already", fc.Forest, wrote, already)
		if failed > 0 {
			jr.Warnf("%s: %d write(s) of ms-DS-ConsistencyGuid were refused (the connector account needs the right to write it); the first: %v", fc.Forest, failed, first)
			note += fmt.Sprintf(", %d refused (the connector account needs the right to write it)", failed)
		}
		notes = append(notes, note+".")
	}
	rec.row.Note = strings.Join(notes, " ")
	if rec.row.Errors > 0 {
		rec.row.Status = export.StatusCompletedWithErrors
	}
	return nil
}
