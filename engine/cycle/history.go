package cycle

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/export"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/store"
)

// Steps of the run history (store.RunStep.Step).
const (
	StepFullImport  = "full import"
	StepDeltaImport = "delta import"
	StepFullSync    = "full sync"
	StepDeltaSync   = "delta sync"
	StepWriteBack   = "write-back"
	StepExport      = "export"
	StepReview      = "review" // staging mode and dry runs: kept for review
)

// EntraConnector names the tenant in the run history when its initial
// domain is not known.
const EntraConnector = "Microsoft Entra ID"

// stepRecord is the run-history row of a step while it runs: the step sets
// its counts and note into row, and end writes them with the step's
// outcome, decided as the job runner decides it (jobs.Run.Outcome).
type stepRecord struct {
	st  *store.Store
	log *slog.Logger
	jr  *jobs.Run
	row store.RunStep
}

// record starts a step's row. A row that can't be written is logged and the
// step runs on: the history must never stop a cycle.
func (c *Cycle) record(ctx context.Context, jr *jobs.Run, pos int, connector, step string) *stepRecord {
	rec := &stepRecord{st: c.d.Store, log: c.d.Log, jr: jr, row: store.RunStep{JobID: jr.JobID, Position: pos, Connector: connector, Step: step,
		StartedAt: time.Now(), Status: jobs.Running}}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	id, err := rec.st.StartRunStep(wctx, rec.row)
	if err != nil {
		rec.log.Warn("cycle: unable to record a step in the run history", "job", jr.JobID, "step", step, "connector", connector, "err", err)
	}
	rec.row.ID = id
	return rec
}

// end records the step's outcome — the job step's, from err and the
// problems the step met — and err, when there is one, goes into its note.
func (rec *stepRecord) end(ctx context.Context, err error) {
	r := &rec.row
	r.Status = rec.jr.Outcome(ctx, err)
	if err != nil {
		if r.Note != "" {
			r.Note += " "
		}
		r.Note += err.Error()
	}
	r.FinishedAt = time.Now()
	rec.update(ctx)
}

// update writes the row as it is now: a step's progress, or its outcome.
func (rec *stepRecord) update(ctx context.Context) {
	if rec.row.ID == 0 {
		return // its start was not recorded (logged then)
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := rec.st.UpdateRunStep(wctx, rec.row); err != nil {
		rec.log.Warn("cycle: unable to record a step in the run history", "job", rec.row.JobID, "step", rec.row.Step, "connector", rec.row.Connector, "err", err)
	}
}

// recorded wraps a step so that its run-history row is written as it
// starts and as it ends, whatever way it ends (a panic included, which the
// runner turns into a failure).
func (r *run) recorded(pos int, connector, step string, fn func(context.Context, *jobs.Run, *stepRecord) error) func(context.Context, *jobs.Run) error {
	return func(ctx context.Context, jr *jobs.Run) (err error) {
		rec := r.c.record(ctx, jr, pos, connector, step)
		defer func() {
			if p := recover(); p != nil {
				rec.end(ctx, fmt.Errorf("internal error: %v", p))
				panic(p)
			}
			rec.end(ctx, err)
		}()
		return fn(ctx, jr, rec)
	}
}

// Record is one cycle in the run history: its job, per job step what each
// connector did, and the warnings and errors it met.
type Record struct {
	Job      store.Job
	Params   Params
	Steps    []StepRecord
	Problems []store.Problem
}

// StepRecord is one row of a cycle's history: a recorded step, or a job
// step that recorded nothing (skipped, or not reached yet).
type StepRecord struct {
	store.RunStep
	// Name is the job step's name ("Import fabrikam.example.test").
	Name string
	// Recorded is false for a job step that has no run-history row.
	Recorded bool
}

// Running reports whether the cycle is queued or running.
func (r Record) Running() bool { return !jobs.Finished(r.Job.Status) }

// Full reports whether the cycle was, or is, a full one: asked for, or
// with a full import or a full sync among its steps (the first cycle after
// Configure imports in full however it was started).
func (r Record) Full() bool {
	if r.Params.Full {
		return true
	}
	for _, s := range r.Steps {
		if s.Recorded && (s.Step == StepFullImport || s.Step == StepFullSync) {
			return true
		}
	}
	return false
}

// History reads the latest cycles, newest first, with their steps.
func History(ctx context.Context, st *store.Store, cycles int) ([]Record, error) {
	js, err := st.JobsOf(ctx, Kind, "", cycles)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(js))
	for i, j := range js {
		ids[i] = j.ID
	}
	return records(ctx, st, ids)
}

// RecordOf reads one cycle's history.
func RecordOf(ctx context.Context, st *store.Store, jobID int64) (Record, error) {
	rs, err := records(ctx, st, []int64{jobID})
	if err != nil {
		return Record{}, err
	}
	return rs[0], nil
}

func records(ctx context.Context, st *store.Store, ids []int64) ([]Record, error) {
	rows, err := st.RunSteps(ctx, ids)
	if err != nil {
		return nil, err
	}
	problems, err := st.Problems(ctx, ids...)
	if err != nil {
		return nil, err
	}
	byJob := map[int64][]store.RunStep{}
	for _, r := range rows {
		byJob[r.JobID] = append(byJob[r.JobID], r)
	}
	out := make([]Record, 0, len(ids))
	for _, id := range ids {
		j, err := st.Job(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("cycle: unable to read cycle %d: %w", id, err)
		}
		if j.Kind != Kind {
			return nil, fmt.Errorf("cycle: job %d is a %s job, not a sync cycle: %w", id, j.Kind, store.ErrNotFound)
		}
		rec := Record{Job: j, Problems: problems[id]}
		if err := json.Unmarshal(j.Params, &rec.Params); err != nil {
			return nil, fmt.Errorf("cycle: cycle %d has unreadable params: %w", id, err)
		}
		rec.Steps = merge(j, byJob[id])
		out = append(out, rec)
	}
	return out, nil
}

// merge lays a cycle's recorded steps over its job steps. A row left
// running by a server that stopped takes its job step's final status.
func merge(j store.Job, rows []store.RunStep) []StepRecord {
	var out []StepRecord
	for _, js := range j.Steps {
		found := false
		for _, r := range rows {
			if r.Position != js.Position {
				continue
			}
			found = true
			if r.Status == jobs.Running && jobs.Finished(js.Status) {
				r.Status, r.FinishedAt = js.Status, js.FinishedAt
				if r.Note == "" {
					r.Note = js.Detail
				}
			}
			out = append(out, StepRecord{RunStep: r, Name: js.Name, Recorded: true})
		}
		if !found {
			out = append(out, StepRecord{RunStep: store.RunStep{JobID: j.ID, Position: js.Position, Status: js.Status,
				StartedAt: js.StartedAt, FinishedAt: js.FinishedAt, Note: js.Detail}, Name: js.Name})
		}
	}
	return out
}

// EndInterrupted ends the run-history rows and the export runs that a stop
// left running, once the job runner has marked their cycles interrupted
// (jobs.Runner.Recover): call it right after Recover. Both keep the counts
// they last recorded: what reached the tenant before the stop.
func EndInterrupted(ctx context.Context, st *store.Store) (int, error) {
	n, err := st.EndRunSteps(ctx, jobs.Running, jobs.Interrupted, jobs.Queued, jobs.Running)
	if err != nil {
		return n, err
	}
	m, err := st.EndInterruptedExportRuns(ctx)
	return n + m, err
}

// progressEvery bounds how often a running import writes its counts.
const progressEvery = time.Second

// importProgress is an import's connector.Spec.Progress: it keeps each
// domain's counts so far and writes their sum into the step's row at most
// every progressEvery, so the run history shows a long import move. The
// import's end (recordImport) writes the final counts.
func importProgress(ctx context.Context, rec *stepRecord) func(connector.DomainResult) {
	var mu sync.Mutex
	domains := map[string]connector.DomainResult{}
	var last time.Time
	return func(d connector.DomainResult) {
		mu.Lock()
		defer mu.Unlock()
		domains[d.Domain] = d
		if time.Since(last) < progressEvery {
			return
		}
		last = time.Now()
		t := connector.Result{Domains: slices.Collect(maps.Values(domains))}.Totals()
		r := &rec.row
		r.Processed, r.Adds, r.Updates, r.Memberships = t.Read, t.Added, t.Updated, t.MembersAdded+t.MembersRemoved
		rec.update(ctx)
	}
}

// exportProgress is an export's Options.Progress: the export tells its
// counts so far (at most about once a second), and the step's row takes
// them, so the run history shows a long export move and a killed one keeps
// what reached the tenant.
func exportProgress(ctx context.Context, rec *stepRecord) func(export.Result) {
	return func(res export.Result) {
		countExport(&rec.row, &res)
		rec.update(ctx)
	}
}

// countExport puts what an export did so far, or in all, into its row: its
// adds count the matched ones too.
func countExport(r *store.RunStep, res *export.Result) {
	r.Adds, r.Updates, r.Deletes, r.Memberships, r.Errors = res.Adds+res.Matched, res.Updates, res.Deletes, res.Memberships, res.Errors()
}

// recordImport puts a forest's import into its row: the step it turned out
// to be (full when any domain ran a full import) and the store's changes.
func recordImport(rec *stepRecord, res connector.Result) {
	t := res.Totals()
	r := &rec.row
	r.Processed, r.Adds, r.Updates, r.Deletes, r.Memberships = t.Read, t.Added, t.Updated, t.Deleted, t.MembersAdded+t.MembersRemoved
	var notes []string
	ran := false
	for _, d := range res.Domains {
		if d.Mode == "skipped" {
			continue
		}
		if !ran {
			r.Step = StepDeltaImport
			ran = true
		}
		note := fmt.Sprintf("%s: %s import from %s", d.Domain, d.Mode, d.DC)
		if d.Mode == "full" {
			r.Step = StepFullImport
			if d.FullReason != "" {
				note += " (" + strings.TrimSuffix(d.FullReason, ".") + ")"
			}
		}
		notes = append(notes, note+".")
	}
	if t.OutOfScope > 0 {
		notes = append(notes, fmt.Sprintf("%d object(s) read out of scope.", t.OutOfScope))
	}
	r.Note = strings.Join(notes, " ")
}

// pendingSummary counts the changes an export was given, as it reads them.
type pendingSummary struct {
	N, Adds, Updates, Deletes, Memberships int
}

func (p *pendingSummary) add(c metaverse.Change) {
	p.N++
	switch c.Op {
	case metaverse.OpAdd:
		p.Adds++
	case metaverse.OpUpdate:
		p.Updates++
	case metaverse.OpDelete:
		p.Deletes++
	}
	p.Memberships += len(c.AddMembers) + len(c.RemoveMembers)
}

// recordExport puts an export (or a staging review) into its row. pending
// counts the changes it was given; res is nil when the export could not
// start. Its outcome is the step's (the problems the export step met).
func recordExport(rec *stepRecord, res *export.Result, pending pendingSummary) {
	r := &rec.row
	r.Processed = pending.N
	if res == nil {
		return
	}
	r.Errors = res.Errors()
	if res.Status == export.StatusStaged {
		// Nothing was exported: the counts are what is kept for review.
		r.Adds, r.Updates, r.Deletes, r.Memberships = pending.Adds, pending.Updates, pending.Deletes, pending.Memberships
		r.Note = joinNotes("Nothing exported: the pending changes are kept for review.", res.HeldNote())
		return
	}
	countExport(r, res)
	var notes []string
	if res.Status == export.StatusStoppedDeletionExceeded {
		notes = append(notes, fmt.Sprintf("%d pending delete(s) held back by the deletion guard; nothing was exported.", len(res.PendingDeletes)))
	} else {
		notes = append(notes, fmt.Sprintf("%d add(s) matched an existing cloud object; %d write(s) to Microsoft Graph, %s waiting for the write budget.",
			res.Matched, res.Writes, res.Throttled.Round(time.Millisecond)))
	}
	if n := len(res.SyncErrors); n > 0 {
		notes = append(notes, fmt.Sprintf("%d sync error(s) (see Sync errors).", n))
	}
	if n := len(res.Failed); n > 0 {
		notes = append(notes, fmt.Sprintf("%d change(s) failed and stay pending.", n))
	}
	r.Note = joinNotes(append(notes, res.HeldNote())...)
}

// joinNotes joins the non-empty notes of a row.
func joinNotes(notes ...string) string {
	return strings.Join(slices.DeleteFunc(notes, func(n string) bool { return n == "" }), " ")
}
