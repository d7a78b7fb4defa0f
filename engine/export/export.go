// Package export sends the metaverse's pending exports to the tenant through
// Microsoft Graph: creates first, then updates and membership changes,
// deletes last, as $batch calls of 20 within the tenant's write budget. It
// matches existing cloud users (hard match by onPremisesImmutableId, soft
// match by userPrincipalName or primary SMTP address) as the tenant's
// directory synchronization features allow, and devices by deviceId;
// quarantines a duplicate userPrincipalName or proxy address the way the
// cloud does and records it as a sync error, and sends the value again only
// once no other object holds it (conflicts.go); stops an export whose
// deletes exceed the deletion guard; and in staging mode exports nothing
// (review.go lists and downloads what would be exported). A running export
// records the counts that reached the tenant as it goes (progress.go), so
// that a run the server was killed during keeps them.
//
// It writes only what Graph v1.0 lets a client write: never proxyAddresses
// or the on-premises properties (a user's mail gives it its SMTP address in
// the cloud), directory extensions by their registered types, and no
// organizational contacts, whose changes are held (pending, not failed).
//
// An export is idempotent and restart-safe: a create is recorded as started
// before it is sent, and a change counts as done only once Graph confirmed
// it and its outcome is in the store; a re-run looks a started-but-unrecorded
// create up in the tenant before creating it again. What it records of an
// object (cloud id, create in flight) is the object's one row of the
// exported state (store.ExportObject, mv_exported), which the metaverse
// diffs against only once it recorded the change as exported (OnConfirmed):
// until then an add stays an add.
package export

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	outcomes "github.com/hybridsync/hybridsync/engine/outcome"
	"github.com/hybridsync/hybridsync/engine/store"
)

// Run statuses: running, then one of the six outcomes (engine/outcome),
// which store.ExportRun.Status records. A staging run's Result says
// StatusStaged; its record says succeeded, with Staging set.
const (
	StatusRunning                 = "running"
	StatusSuccess                 = outcomes.Succeeded
	StatusCompletedWithErrors     = outcomes.Errors
	StatusStoppedDeletionExceeded = outcomes.Stopped
	StatusStaged                  = "staged"
	StatusFailed                  = outcomes.Failed
	// StatusInterrupted is a run the server stopped during (killed): Run
	// never finished it, and store.EndInterruptedExportRuns ended it at the
	// next start with the counts its last progress recorded.
	StatusInterrupted = outcomes.Interrupted
)

// Defaults.
const (
	DefaultWriteBudget = 3000
	DefaultWriteWindow = 150 * time.Second
	DefaultConcurrency = 4
	// defaultProgressEvery bounds how often a running export records its
	// counts so far (progress.go).
	defaultProgressEvery = time.Second
)

// State is what an export reads and records; *store.Store implements it.
type State interface {
	ExportObjects(ctx context.Context, keys []string) (map[string]store.ExportObject, error)
	CountExportObjects(ctx context.Context) (int, error)
	BeginExportCreates(ctx context.Context, objs []store.ExportObject) error
	SaveExportObjects(ctx context.Context, objs []store.ExportObject) error
	DeleteExportObjects(ctx context.Context, keys []string) error
	RecordSyncErrors(ctx context.Context, errs []store.SyncError) error
	ResolveSyncErrors(ctx context.Context, key string, attrs []string) error
	SyncErrors(ctx context.Context, openOnly bool, limit int) ([]store.SyncError, error)
	DeletionGuard(ctx context.Context) (store.DeletionGuard, error)
	UseDeleteAllowance(ctx context.Context) error
	StartExportRun(ctx context.Context, staging bool) (int64, error)
	UpdateExportRunProgress(ctx context.Context, r store.ExportRun) error
	FinishExportRun(ctx context.Context, r store.ExportRun) error
}

// Options tune an Exporter.
type Options struct {
	// Staging exports nothing: the run only counts what is pending.
	Staging bool
	// WriteBudget writes per WriteWindow (defaults: Graph's 3,000 per 150 s).
	WriteBudget int
	WriteWindow time.Duration
	// Concurrency is the number of $batch calls in flight (default 4).
	Concurrency int
	// InitialDomain is the tenant's xxx.onmicrosoft.com domain, for
	// placeholder userPrincipalNames; read from the tenant when empty.
	InitialDomain string
	// Match, when set, is used instead of reading the tenant's matching
	// features (e.g. read by Configure with the administrator's sign-in:
	// the sync service account may not read them).
	Match *MatchSettings
	// OnConfirmed, when set, is told about changes once Graph confirmed them
	// and the store recorded them (the metaverse marks them done).
	OnConfirmed func(ctx context.Context, done []metaverse.Change) error
	// Progress, when set, is told the run's counts so far — a snapshot:
	// Status running, Confirmed left out — at the moments the run records
	// them in its export run: after a batch's outcome was recorded, at most
	// about once a second. It is called from a goroutine of the run's own,
	// which the batches never wait for, one call at a time, and never once
	// Run returned (Run's Result has the final counts).
	Progress func(Result)
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Exporter exports pending changes to one tenant. Safe for one Run at a time.
type Exporter struct {
	g     *cloud.Client
	st    State
	opts  Options
	pacer *Pacer
	log   *slog.Logger
	now   func() time.Time

	// afterGraph, when set (tests), runs after a $batch answered and before
	// its outcome is recorded: an error there stands for a crash.
	afterGraph func() error
	// progressEvery bounds how often a run records its progress.
	progressEvery time.Duration
	// filterDialect remembers how the tenant takes a proxyAddresses filter
	// (see holders).
	filterOnce    sync.Once
	lambdaFilters bool
}

// New builds an exporter. Wire Exporter.OnRetry into the cloud.Config the
// client was made with (OnRetry) so that a Retry-After holds every worker.
func New(g *cloud.Client, st State, opts Options) *Exporter {
	if opts.WriteBudget <= 0 {
		opts.WriteBudget = DefaultWriteBudget
	}
	if opts.WriteWindow <= 0 {
		opts.WriteWindow = DefaultWriteWindow
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Exporter{g: g, st: st, opts: opts, pacer: NewPacer(opts.WriteBudget, opts.WriteWindow), log: log, now: time.Now,
		progressEvery: defaultProgressEvery}
}

// OnRetry is a cloud.Config.OnRetry: a 429 or 503 with Retry-After pauses
// every write of the exporter for that long.
func (e *Exporter) OnRetry(status int, wait time.Duration) {
	if status == 429 || status == 503 {
		e.pacer.Pause(wait)
	}
}

// MatchSettings are the tenant's matching features an export applied.
type MatchSettings struct {
	BlockSoftMatch bool
	BlockHardMatch bool // blockCloudObjectTakeoverThroughHardMatchEnabled
	// Assumed: the tenant's settings could not be read (Graph lets only a
	// Global Administrator, and the emulator also a Hybrid Identity
	// Administrator or Global Reader, read them — not the sync service
	// account), so the defaults (neither blocked) were assumed.
	Assumed bool
	Note    string
}

// MsgContactHeld is why a contact's change is held: Graph's orgContact
// resource is read-only ("organizational contacts are either synchronized
// from on-premises directories or from Exchange Online, and are read-only in
// Microsoft Graph").
const MsgContactHeld = "Held: Microsoft Graph cannot write organizational contacts (they are read-only through Graph), so this change stays pending and is not counted as an error."

// MsgDistributionGroupHeld is why a distribution group's creation is held:
// Graph creates only security and Microsoft 365 groups; "Mail-enabled and
// distribution groups are read-only through Microsoft Graph" (Working with
// groups in Microsoft Graph). Created as a security group it would become
// something it is not — a group that can be given access.
const MsgDistributionGroupHeld = "Held: Microsoft Graph cannot create distribution groups (they are read-only through Graph), and creating it as a security group would change what it is, so this change stays pending and is not counted as an error."

// HeldReason says why the export holds a change back instead of sending it:
// a change it can't make through Microsoft Graph at all, which is neither
// sent nor counted as failed and stays pending. "" for a change it sends.
// A mail-enabled security group is created as a security group (its mail is
// Exchange's); a distribution group is held.
func HeldReason(c metaverse.Change) string {
	switch {
	case c.Kind == metaverse.KindContact:
		return MsgContactHeld
	case c.Kind == metaverse.KindGroup && c.Op == metaverse.OpAdd && newValue(c, "securityEnabled") == "false":
		return MsgDistributionGroupHeld
	}
	return ""
}

// newValue is the first new value of a change's attribute, or "".
func newValue(c metaverse.Change, name string) string {
	for _, a := range c.Attrs {
		if a.Name == name && len(a.New) > 0 {
			return a.New[0]
		}
	}
	return ""
}

// HeldChange is a change the export held back (HeldReason); it stays pending.
type HeldChange struct {
	Key    string
	Kind   string
	Op     string
	Reason string
}

// ChangeError is a change that was not done; it stays pending.
type ChangeError struct {
	Key  string
	Kind string
	Op   string
	Err  string
}

// Result is one export run's outcome.
type Result struct {
	RunID  int64
	Status string
	// Adds are objects created; Matched are adds that took over an existing
	// cloud object (hard or soft match, or a create of an earlier run that
	// was not recorded).
	Adds, Matched, Updates, Deletes, Memberships int
	// Confirmed are the changes Graph confirmed and the store recorded.
	Confirmed []metaverse.Change
	// Failed are the changes not done (they stay pending).
	Failed []ChangeError
	// Held are the changes the export can't make through Microsoft Graph
	// (HeldReason): not sent, not failures; they stay pending.
	Held []HeldChange
	// SyncErrors are the values quarantined in this run: refused by the
	// cloud in this run, or — StillHeld of them — found still held by
	// another object when the run checked its open sync errors, and so not
	// sent again (conflicts.go).
	SyncErrors []store.SyncError
	// StillHeld counts the SyncErrors whose value another object still held
	// at the start of the run (or that could not be checked): no write was
	// spent on them.
	StillHeld      int
	Guard          GuardDecision
	PendingDeletes []store.PendingDelete
	Match          MatchSettings
	Writes         int
	Throttled      time.Duration
	Duration       time.Duration
	Message        string
}

// Errors counts failed changes and sync errors.
func (r *Result) Errors() int { return len(r.Failed) + len(r.SyncErrors) }

// Run exports changes. It returns an error only when the run could not go on
// (the store or Graph unreachable, ctx cancelled); the changes not confirmed
// by then stay pending, and the run is recorded as failed. A run the
// deletion guard stops returns no error and Status StatusStoppedDeletionExceeded.
func (e *Exporter) Run(ctx context.Context, changes []metaverse.Change) (*Result, error) {
	return e.runWith(ctx, func(res *Result) error { return e.run(ctx, changes, res) })
}

// RunEach is Run over changes read one at a time (a sequence that may end
// with the store's error). In staging mode none is held: each is counted
// and let go, so a staging review of a million pending exports costs no
// memory; an export collects them first, as Run takes them.
func (e *Exporter) RunEach(ctx context.Context, changes iter.Seq2[metaverse.Change, error]) (*Result, error) {
	return e.runWith(ctx, func(res *Result) error {
		if e.opts.Staging {
			return e.stage(changes, res)
		}
		var all []metaverse.Change
		for c, err := range changes {
			if err != nil {
				return err
			}
			all = append(all, c)
		}
		return e.run(ctx, all, res)
	})
}

// runWith records an export run around run.
func (e *Exporter) runWith(ctx context.Context, run func(*Result) error) (*Result, error) {
	start := e.now()
	res := &Result{Status: StatusRunning}
	id, err := e.st.StartExportRun(ctx, e.opts.Staging)
	if err != nil {
		return nil, err
	}
	res.RunID = id
	runErr := run(res)
	res.Duration = e.now().Sub(start)
	res.Throttled = e.pacer.Waited()
	if runErr != nil {
		res.Status, res.Message = StatusFailed, runErr.Error()
	}
	// The run's record is written even when ctx was cancelled.
	if err := e.st.FinishExportRun(context.WithoutCancel(ctx), res.exportRun(e.opts.Staging)); err != nil {
		return res, errors.Join(runErr, err)
	}
	return res, runErr
}

// stage counts the changes a staging review keeps: nothing is exported.
func (e *Exporter) stage(changes iter.Seq2[metaverse.Change, error], res *Result) error {
	n := 0
	for c, err := range changes {
		if err != nil {
			return err
		}
		if err := validChange(c); err != nil {
			return err
		}
		n++
		if why := HeldReason(c); why != "" {
			res.Held = append(res.Held, HeldChange{Key: c.Key, Kind: c.Kind, Op: c.Op, Reason: why})
			continue
		}
		res.count(c, true)
	}
	res.Status, res.Message = StatusStaged, fmt.Sprintf("Staging mode: %d pending exports were kept for review; nothing was exported.", n)
	res.Message = joinSentences(res.Message, res.HeldNote())
	return nil
}

func (e *Exporter) run(ctx context.Context, changes []metaverse.Change, res *Result) error {
	if e.opts.Staging {
		return e.stage(func(yield func(metaverse.Change, error) bool) {
			for _, c := range changes {
				if !yield(c, nil) {
					return
				}
			}
		}, res)
	}
	for _, c := range changes {
		if err := validChange(c); err != nil {
			return err
		}
	}
	var deletes []store.PendingDelete
	var sendable []metaverse.Change
	for _, c := range changes {
		if why := HeldReason(c); why != "" {
			res.Held = append(res.Held, HeldChange{Key: c.Key, Kind: c.Kind, Op: c.Op, Reason: why})
			continue
		}
		sendable = append(sendable, c)
		if c.Op == metaverse.OpDelete {
			deletes = append(deletes, store.PendingDelete{Key: c.Key, Kind: c.Kind, Object: ObjectName(c), Source: c.Source})
		}
	}
	changes = sendable
	guard, err := e.st.DeletionGuard(ctx)
	if err != nil {
		return err
	}
	exported, err := e.st.CountExportObjects(ctx)
	if err != nil {
		return err
	}
	res.Guard = CheckDeletions(guard, len(deletes), exported)
	if res.Guard.Stop {
		res.Status, res.Message, res.PendingDeletes = StatusStoppedDeletionExceeded, res.Guard.Reason, deletes
		res.Message = joinSentences(res.Message, res.HeldNote())
		return nil
	}
	if res.Guard.UseAllowance {
		if err := e.st.UseDeleteAllowance(ctx); err != nil {
			return err
		}
	}
	r, err := e.newRun(ctx, changes, res)
	if err != nil {
		return err
	}
	r.startProgress(ctx)
	defer r.stopProgress()
	if err := r.export(ctx); err != nil {
		return err
	}
	switch {
	case res.Errors() > 0:
		res.Status = StatusCompletedWithErrors
		res.Message = fmt.Sprintf("%d changes not exported, %d sync errors.", len(res.Failed), len(res.SyncErrors))
		if res.StillHeld > 0 {
			res.Message = joinSentences(res.Message, fmt.Sprintf("%d of them are values another object still holds in the tenant: they were not sent again.", res.StillHeld))
		}
	default:
		res.Status = StatusSuccess
	}
	if res.Guard.UseAllowance {
		res.Message = joinSentences(res.Message, res.Guard.Reason)
	}
	if res.Match.Assumed {
		res.Message = joinSentences(res.Message, res.Match.Note)
	}
	res.Message = joinSentences(res.Message, res.HeldNote())
	return nil
}

// HeldNote counts the held changes by what Graph cannot write, for the
// run's message and its history: "" when none was held.
func (r *Result) HeldNote() string {
	if len(r.Held) == 0 {
		return ""
	}
	var contacts, groups int
	for _, h := range r.Held {
		if h.Kind == metaverse.KindGroup {
			groups++
		} else {
			contacts++
		}
	}
	var what []string
	if contacts > 0 {
		what = append(what, fmt.Sprintf("organizational contacts (%d)", contacts))
	}
	if groups > 0 {
		what = append(what, fmt.Sprintf("distribution groups (%d)", groups))
	}
	return fmt.Sprintf("%d change(s) held: Microsoft Graph cannot write %s; they stay pending.", len(r.Held), strings.Join(what, " or "))
}

func joinSentences(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

func validChange(c metaverse.Change) error {
	switch {
	case c.Key == "":
		return fmt.Errorf("export: a %s %s change has no key", c.Op, c.Kind)
	case c.Op != metaverse.OpAdd && c.Op != metaverse.OpUpdate && c.Op != metaverse.OpDelete:
		return fmt.Errorf("export: change %s has unknown operation %q", c.Key, c.Op)
	case c.Kind != metaverse.KindUser && c.Kind != metaverse.KindGroup && c.Kind != metaverse.KindContact && c.Kind != metaverse.KindDevice:
		return fmt.Errorf("export: change %s has unknown kind %q", c.Key, c.Kind)
	}
	return nil
}

// count adds a change to the result's counters (staging counts them all).
func (r *Result) count(c metaverse.Change, staged bool) {
	switch c.Op {
	case metaverse.OpAdd:
		r.Adds++
	case metaverse.OpUpdate:
		if len(c.Attrs) > 0 || staged {
			r.Updates++
		}
	case metaverse.OpDelete:
		r.Deletes++
	}
	if c.Op != metaverse.OpDelete {
		r.Memberships += len(c.AddMembers) + len(c.RemoveMembers)
	}
}

func randomPassword() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "Hs" + hex.EncodeToString(b) + "!Q7"
}
