package helpdesk

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/jobs"
	outcomes "github.com/hybridsync/hybridsync/engine/outcome"
	"github.com/hybridsync/hybridsync/engine/store"
)

func render(t *testing.T, runs []cycle.Record) *goquery.Document {
	t.Helper()
	var b bytes.Buffer
	if err := RunHistory(runs).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestRunHistory(t *testing.T) {
	at := time.Now().Add(-time.Minute)
	done := cycle.Record{
		Job:    store.Job{ID: 3, Status: jobs.Stopped, CreatedBy: "operator", CreatedAt: at, StartedAt: at, FinishedAt: at.Add(2 * time.Second)},
		Params: cycle.Params{Trigger: cycle.TriggerManual},
		Steps: []cycle.StepRecord{
			{Recorded: true, Name: "Import corp", RunStep: store.RunStep{Connector: "corp.example.test", Step: cycle.StepDeltaImport, Status: "succeeded", StartedAt: at, FinishedAt: at.Add(1200 * time.Millisecond), Adds: 2, Updates: 5}},
			{Recorded: true, Name: "Synchronize", RunStep: store.RunStep{Step: cycle.StepDeltaSync, Status: "succeeded", StartedAt: at, FinishedAt: at.Add(time.Second), Adds: 2}},
			{Recorded: true, Name: "Export", RunStep: store.RunStep{Connector: "contoso.onmicrosoft.com", Step: cycle.StepExport, Status: jobs.Stopped, StartedAt: at, FinishedAt: at.Add(time.Second), Note: "600 pending delete(s)"}},
			{Name: "Write back", RunStep: store.RunStep{Status: "skipped"}},
		},
	}
	running := cycle.Record{
		Job:    store.Job{ID: 4, Status: "running", CreatedAt: at, StartedAt: at},
		Params: cycle.Params{Trigger: cycle.TriggerSchedule, Full: true},
		Steps: []cycle.StepRecord{
			{Recorded: true, Name: "Import corp", RunStep: store.RunStep{Connector: "corp.example.test", Step: cycle.StepFullImport, Status: "running", StartedAt: at}},
			{Name: "Synchronize", RunStep: store.RunStep{Status: "pending"}},
		},
	}
	tests := []struct {
		name    string
		runs    []cycle.Record
		polling bool
		open    []bool
	}{
		{"none", nil, false, nil},
		{"finished", []cycle.Record{done}, false, []bool{true}},
		{"running", []cycle.Record{running, done}, true, []bool{true, false}},
	}
	for _, tt := range tests {
		doc := render(t, tt.runs)
		panel := doc.Find("#run-history")
		if _, ok := panel.Attr("hx-trigger"); ok != tt.polling {
			t.Errorf("%s: polling %v, want %v", tt.name, ok, tt.polling)
		}
		items := panel.Find("li")
		if items.Length() != len(tt.runs) {
			t.Fatalf("%s: %d cycles, want %d", tt.name, items.Length(), len(tt.runs))
		}
		items.Each(func(i int, li *goquery.Selection) {
			if li.Find("a").Length() != 1 {
				t.Errorf("%s: cycle %d has %d links, want its job page alone", tt.name, i, li.Find("a").Length())
			}
			if got := li.Find("details[open]").Length() == 1; got != tt.open[i] {
				t.Errorf("%s: cycle %d open %v, want %v", tt.name, i, got, tt.open[i])
			}
		})
	}

	doc := render(t, []cycle.Record{running, done})
	rows := doc.Find(`[data-testid="run-3"] tr[data-testid="run-step"]`)
	want := []struct{ connector, step, badge, took, adds string }{
		{"corp.example.test", "delta import", "succeeded", "1.2s", "2"},
		{"Metaverse", "delta sync", "succeeded", "1s", "2"},
		{"contoso.onmicrosoft.com", "export", "stopped", "1s", "0"},
		{"—", "Write back", "skipped", "", ""},
	}
	if rows.Length() != len(want) {
		t.Fatalf("%d step rows, want %d", rows.Length(), len(want))
	}
	rows.Each(func(i int, tr *goquery.Selection) {
		td := tr.Find("td")
		w := want[i]
		got := []string{tr.Find(`[data-testid="step-connector"]`).Text(), tr.Find(`[data-testid="step-name"]`).Text(), td.Eq(1).Find(".badge").AttrOr("class", ""), td.Eq(2).Text(), td.Eq(4).Text()}
		if got[0] != w.connector || got[1] != w.step || !strings.HasSuffix(got[2], " "+w.badge) || got[3] != w.took || got[4] != w.adds {
			t.Errorf("row %d = %q, want %+v", i, got, w)
		}
	})
	if n := doc.Find(`[data-testid="run-3"] tr[data-testid="run-step-note"]`); n.Length() != 1 || n.Prev().Find(`[data-testid="step-name"]`).Text() != "export" || !strings.Contains(n.Text(), "600 pending delete(s)") {
		t.Errorf("the export's note is not under it: %d notes, %q", n.Length(), n.Text())
	}
	summary := doc.Find(`[data-testid="run-4"] summary`).Text()
	for _, w := range []string{"Cycle #4", "scheduled, full", "so far"} {
		if !strings.Contains(summary, w) {
			t.Errorf("the running cycle's summary %q lacks %q", summary, w)
		}
	}
	if s := doc.Find(`[data-testid="run-3"] summary`).Text(); !strings.Contains(s, "run by operator, delta") || !strings.Contains(s, "2s") {
		t.Errorf("the finished cycle's summary: %q", s)
	}
	if s := doc.Find(`[data-testid="run-3"] [data-testid="run-outcome"]`).Text(); s != "export stopped by the deletion guard" {
		t.Errorf("the stopped cycle's outcome: %q", s)
	}
	if s := doc.Find(`[data-testid="run-4"] [data-testid="run-outcome"]`).Text(); s != "" {
		t.Errorf("a running cycle has an outcome: %q", s)
	}
	running4 := doc.Find(`[data-testid="run-4"] tr[data-testid="run-step"]`).First()
	if running4.Find(`[data-testid="step-adds"]`).Length() != 0 || !strings.Contains(running4.Text(), "counted when the step ends") {
		t.Errorf("a running step shows counts: %q", running4.Text())
	}
	// An import that has written some batches shows its counts so far.
	running.Steps[0].Processed, running.Steps[0].Adds = 2000, 1900
	doc = render(t, []cycle.Record{running})
	running4 = doc.Find(`[data-testid="run-4"] tr[data-testid="run-step"]`).First()
	if running4.Find(`[data-testid="step-processed"]`).Text() != "2000" || running4.Find(`[data-testid="step-adds"]`).Text() != "1900" ||
		running4.Find(`[data-testid="step-so-far"]`).Length() != 1 {
		t.Errorf("a running import's counts so far: %q", running4.Text())
	}
}

func TestOutcome(t *testing.T) {
	done := store.Job{Status: "succeeded"}
	step := func(name, status string, adds, errs int) cycle.StepRecord {
		return cycle.StepRecord{Recorded: true, RunStep: store.RunStep{Step: name, Status: status, Adds: adds, Errors: errs}}
	}
	tests := []struct {
		name string
		rec  cycle.Record
		want string
	}{
		{"exported", cycle.Record{Job: done, Steps: []cycle.StepRecord{step(cycle.StepFullImport, "succeeded", 9, 0), step(cycle.StepExport, "succeeded", 3, 0)}},
			"exported 3 add(s), 0 update(s), 0 delete(s)"},
		{"errors summed", cycle.Record{Job: done, Steps: []cycle.StepRecord{step(cycle.StepWriteBack, "completed-with-errors", 0, 2), step(cycle.StepExport, "completed-with-errors", 1, 3)}},
			"exported 1 add(s), 0 update(s), 0 delete(s) · 5 error(s)"},
		{"review", cycle.Record{Job: done, Steps: []cycle.StepRecord{step(cycle.StepReview, jobs.Succeeded, 4, 0)}},
			"kept for review: 4 add(s), 0 update(s), 0 delete(s)"},
		{"failed before the export", cycle.Record{Job: store.Job{Status: "failed"}, Steps: []cycle.StepRecord{step(cycle.StepDeltaImport, "failed", 0, 0), {Name: "Export"}}}, ""},
		{"running", cycle.Record{Job: store.Job{Status: "running"}, Steps: []cycle.StepRecord{step(cycle.StepExport, "succeeded", 3, 1)}}, ""},
	}
	for _, tt := range tests {
		if got := outcome(tt.rec); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// A cycle started as a delta that imported in full (the first after
// Configure) is called full; its warnings and errors are listed, each once,
// with what to do.
func TestRunHistoryKindAndProblems(t *testing.T) {
	at := time.Now().Add(-time.Minute)
	rec := cycle.Record{
		Job:    store.Job{ID: 7, Status: jobs.Errors, CreatedAt: at, StartedAt: at, FinishedAt: at.Add(time.Second)},
		Params: cycle.Params{Trigger: cycle.TriggerSchedule},
		Steps: []cycle.StepRecord{
			{Recorded: true, Name: "Import corp", RunStep: store.RunStep{Connector: "corp.example.test", Step: cycle.StepFullImport, Status: jobs.Succeeded, StartedAt: at, FinishedAt: at}},
			{Recorded: true, Name: "Export", RunStep: store.RunStep{Connector: "contoso.onmicrosoft.com", Step: cycle.StepExport, Status: jobs.Errors, StartedAt: at, FinishedAt: at, Errors: 1}},
		},
		Problems: []store.Problem{
			{Level: outcomes.LevelWarn, Name: "held-changes", Message: "2 change(s) held", Action: "nothing to do", Times: 1},
			{Level: outcomes.LevelError, Name: "sync-errors", Message: "1 sync error(s) are open", Action: "Open Sync errors", Times: 1},
		},
	}
	doc := render(t, []cycle.Record{rec})
	if s := doc.Find(`[data-testid="run-7"] [data-testid="run-trigger"]`).Text(); s != "scheduled, full" {
		t.Errorf("the first cycle after Configure is called %q, want scheduled, full", s)
	}
	if s := doc.Find(`[data-testid="run-7"] [data-testid="run-status"]`).Text(); s != "completed with errors" {
		t.Errorf("status %q", s)
	}
	ps := doc.Find(`[data-testid="run-7"] [data-testid="problem"]`)
	if ps.Length() != 2 || ps.Eq(1).AttrOr("data-level", "") != "error" || !strings.Contains(ps.Eq(1).Text(), "Open Sync errors") {
		t.Errorf("problems: %d, %q", ps.Length(), ps.Text())
	}
}
