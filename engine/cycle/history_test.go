package cycle

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/export"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/metaverse"
	"github.com/hybridsync/hybridsync/engine/store"
)

func historyStore(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// A cycle whose steps run through the runner: each writes its row as it
// starts and as it ends, with the status its outcome gives; the steps after
// a failed one are not recorded, and History lays the rows over the job's
// steps.
func TestRecordedSteps(t *testing.T) {
	ctx := context.Background()
	st := historyStore(t)
	c := New(Deps{Store: st})
	r := &run{c: c}
	started := make(chan struct{})
	proceed := make(chan struct{})
	runner := jobs.NewRunner(st, jobs.NewHub(), slog.New(slog.DiscardHandler), 1)
	runner.Register(jobs.Type{Kind: Kind, Title: "Synchronization cycle", Steps: func([]byte) ([]jobs.Step, error) {
		return []jobs.Step{
			{Name: "Import fabrikam.example.test", Run: r.recorded(1, "fabrikam.example.test", StepDeltaImport, func(ctx context.Context, jr *jobs.Run, rec *stepRecord) error {
				recordImport(rec, connector.Result{Domains: []connector.DomainResult{
					{Domain: "fabrikam.example.test", DC: "dc1", Mode: "delta", Read: 4, Added: 1, Updated: 2, Deleted: 1},
					{Domain: "child.fabrikam.example.test", DC: "dc2", Mode: "full", FullReason: "No delta watermark yet.", Read: 10, Added: 10, MembersAdded: 3, OutOfScope: 2},
					{Domain: "other.fabrikam.example.test", Mode: "skipped"},
				}})
				close(started)
				<-proceed
				return nil
			})},
			{Name: "Synchronize", Run: r.recorded(2, "", StepDeltaSync, func(ctx context.Context, jr *jobs.Run, rec *stepRecord) error {
				rec.row.Step, rec.row.Processed, rec.row.Adds = StepFullSync, 11, 9
				jr.Warn("w", "a warning", "do this")
				return nil
			})},
			{Name: "Export to Microsoft Entra ID", Run: r.recorded(3, "contoso.onmicrosoft.com", StepExport, func(ctx context.Context, jr *jobs.Run, rec *stepRecord) error {
				recordExport(rec, &export.Result{Status: export.StatusStoppedDeletionExceeded, PendingDeletes: make([]store.PendingDelete, 600)}, pendingSummary{N: 620, Deletes: 620})
				return &jobs.StopError{Msg: "600 deletes exceed the threshold of 500"}
			})},
			{Name: "Never reached", Run: r.recorded(4, "x", StepReview, func(context.Context, *jobs.Run, *stepRecord) error { return nil })},
		}, nil
	}})
	id, err := runner.Start(ctx, jobs.Request{Kind: Kind, Params: Params{Full: true, Trigger: TriggerCLI}, By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	<-started
	// While the import runs: its row says so, and History says the cycle runs.
	rec, err := RecordOf(ctx, st, id)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.Running() || len(rec.Steps) != 4 || rec.Steps[0].Status != jobs.Running || !rec.Steps[0].Recorded || rec.Steps[0].Step != StepDeltaImport {
		t.Fatalf("while importing: running=%v %+v", rec.Running(), rec.Steps)
	}
	close(proceed)
	runner.Wait()

	hist, err := History(ctx, st, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 1 || hist[0].Job.ID != id || hist[0].Running() || !hist[0].Params.Full || hist[0].Params.Trigger != TriggerCLI || hist[0].Job.Status != jobs.Stopped {
		t.Fatalf("History = %+v", hist)
	}
	if ps := hist[0].Problems; len(ps) != 1 || ps[0].Message != "a warning" || ps[0].Action != "do this" || ps[0].Step != 2 {
		t.Errorf("the cycle's problems: %+v", ps)
	}
	got := hist[0].Steps
	want := []struct {
		name, connector, step, status string
		recorded                      bool
		processed, adds, deletes, mem int
	}{
		{"Import fabrikam.example.test", "fabrikam.example.test", StepFullImport, jobs.Succeeded, true, 14, 11, 1, 3},
		{"Synchronize", "", StepFullSync, jobs.Warnings, true, 11, 9, 0, 0},
		{"Export to Microsoft Entra ID", "contoso.onmicrosoft.com", StepExport, jobs.Stopped, true, 620, 0, 0, 0},
		{"Never reached", "", "", jobs.Skipped, false, 0, 0, 0, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("%d steps, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.Connector != w.connector || g.Step != w.step || g.Status != w.status || g.Recorded != w.recorded ||
			g.Processed != w.processed || g.Adds != w.adds || g.Deletes != w.deletes || g.Memberships != w.mem {
			t.Errorf("step %d = %+v, want %+v", i+1, g, w)
		}
		if w.recorded && (g.StartedAt.IsZero() || g.FinishedAt.IsZero() || g.FinishedAt.Before(g.StartedAt)) {
			t.Errorf("step %d has no duration: %s → %s", i+1, g.StartedAt, g.FinishedAt)
		}
	}
	for _, want := range []string{"child.fabrikam.example.test: full import from dc2 (No delta watermark yet)", "fabrikam.example.test: delta import from dc1", "2 object(s) read out of scope"} {
		if !strings.Contains(got[0].Note, want) {
			t.Errorf("the import's note %q lacks %q", got[0].Note, want)
		}
	}
	if strings.Contains(got[0].Note, "other.fabrikam") {
		t.Errorf("a skipped domain is in the note: %q", got[0].Note)
	}
	for _, want := range []string{"600 pending delete(s) held back", "600 deletes exceed the threshold"} {
		if !strings.Contains(got[2].Note, want) {
			t.Errorf("the stopped export's note %q lacks %q", got[2].Note, want)
		}
	}
}

// A row ends with its step's outcome, as the runner decides it.
func TestStepRecordEnd(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		err    error
		status string
		note   string
	}{
		{"success", context.Background(), nil, jobs.Succeeded, "n"},
		{"failure", context.Background(), errors.New("boom"), jobs.Failed, "n boom"},
		{"interrupted", cancelled, context.Canceled, jobs.Interrupted, "n context canceled"},
		{"stopped", context.Background(), &jobs.StopError{Msg: "stopped"}, jobs.Stopped, "n stopped"},
	}
	for _, tt := range tests {
		rec := &stepRecord{jr: &jobs.Run{}, row: store.RunStep{Status: jobs.Running, Note: "n"}}
		rec.end(tt.ctx, tt.err)
		if rec.row.Status != tt.status || rec.row.Note != tt.note || rec.row.FinishedAt.IsZero() {
			t.Errorf("%s: %q %q %s, want %q %q", tt.name, rec.row.Status, rec.row.Note, rec.row.FinishedAt, tt.status, tt.note)
		}
	}
}

func TestRecordExport(t *testing.T) {
	pending := []metaverse.Change{
		{Op: metaverse.OpAdd}, {Op: metaverse.OpAdd}, {Op: metaverse.OpUpdate, AddMembers: []string{"a", "b"}, RemoveMembers: []string{"c"}}, {Op: metaverse.OpDelete},
	}
	tests := []struct {
		name                                  string
		res                                   *export.Result
		adds, updates, deletes, members, errs int
		note                                  string
	}{
		{"not started", nil, 0, 0, 0, 0, 0, ""},
		{"staged", &export.Result{Status: export.StatusStaged}, 2, 1, 1, 3, 0, "kept for review"},
		{"exported", &export.Result{Status: export.StatusSuccess, Adds: 1, Matched: 1, Updates: 1, Deletes: 1, Memberships: 3, Writes: 7, Throttled: 1500 * time.Millisecond},
			2, 1, 1, 3, 0, "7 write(s) to Microsoft Graph, 1.5s waiting"},
		{"with errors", &export.Result{Status: export.StatusCompletedWithErrors, Adds: 1, SyncErrors: make([]store.SyncError, 1), Failed: make([]export.ChangeError, 2)},
			1, 0, 0, 0, 3, "2 change(s) failed"},
		{"failed", &export.Result{Status: export.StatusFailed, Adds: 1}, 1, 0, 0, 0, 0, ""},
		{"held", &export.Result{Status: export.StatusSuccess, Adds: 1, Held: make([]export.HeldChange, 3)}, 1, 0, 0, 0, 0,
			"3 change(s) held: Microsoft Graph cannot write organizational contacts"},
		{"held while staged", &export.Result{Status: export.StatusStaged, Held: make([]export.HeldChange, 2)}, 2, 1, 1, 3, 0, "2 change(s) held"},
	}
	var sum pendingSummary
	for _, c := range pending {
		sum.add(c)
	}
	for _, tt := range tests {
		rec := &stepRecord{row: store.RunStep{Status: jobs.Running}}
		recordExport(rec, tt.res, sum)
		r := rec.row
		if r.Processed != len(pending) || r.Adds != tt.adds || r.Updates != tt.updates || r.Deletes != tt.deletes ||
			r.Memberships != tt.members || r.Errors != tt.errs || !strings.Contains(r.Note, tt.note) {
			t.Errorf("%s: %+v", tt.name, r)
		}
	}
}

// A row a stopped server left running takes its job step's final state; a
// job step with no row shows as itself.
func TestMerge(t *testing.T) {
	at := time.UnixMilli(1_800_000_000_000)
	j := store.Job{ID: 5, Steps: []store.Step{
		{Position: 1, Name: "Import a", Status: jobs.Succeeded, StartedAt: at, FinishedAt: at.Add(time.Second)},
		{Position: 2, Name: "Synchronize", Status: jobs.Interrupted, StartedAt: at, FinishedAt: at.Add(2 * time.Second), Detail: "server stopped"},
		{Position: 3, Name: "Export", Status: jobs.Interrupted},
	}}
	rows := []store.RunStep{
		{JobID: 5, Position: 1, Connector: "a", Step: StepDeltaImport, Status: jobs.Succeeded, StartedAt: at, FinishedAt: at.Add(time.Second), Adds: 3},
		{JobID: 5, Position: 2, Step: StepFullSync, Status: jobs.Running, StartedAt: at},
	}
	got := merge(j, rows)
	want := []struct {
		name, step, status, note string
		recorded, finished       bool
	}{
		{"Import a", StepDeltaImport, jobs.Succeeded, "", true, true},
		{"Synchronize", StepFullSync, jobs.Interrupted, "server stopped", true, true},
		{"Export", "", jobs.Interrupted, "", false, false},
	}
	if len(got) != len(want) {
		t.Fatalf("%d steps: %+v", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		if g.Name != w.name || g.Step != w.step || g.Status != w.status || g.Note != w.note || g.Recorded != w.recorded || g.FinishedAt.IsZero() == w.finished {
			t.Errorf("step %d = %+v, want %+v", i+1, g, w)
		}
	}
}
