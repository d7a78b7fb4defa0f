package helpdesk

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/engine/cycle"
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
		Job:    store.Job{ID: 3, Status: "failed", CreatedBy: "operator", CreatedAt: at, StartedAt: at, FinishedAt: at.Add(2 * time.Second)},
		Params: cycle.Params{Trigger: cycle.TriggerManual},
		Steps: []cycle.StepRecord{
			{Recorded: true, Name: "Import corp", RunStep: store.RunStep{Connector: "corp.example.test", Step: cycle.StepDeltaImport, Status: "succeeded", StartedAt: at, FinishedAt: at.Add(1200 * time.Millisecond), Adds: 2, Updates: 5}},
			{Recorded: true, Name: "Synchronize", RunStep: store.RunStep{Step: cycle.StepDeltaSync, Status: "succeeded", StartedAt: at, FinishedAt: at.Add(time.Second), Adds: 2}},
			{Recorded: true, Name: "Export", RunStep: store.RunStep{Connector: "contoso.onmicrosoft.com", Step: cycle.StepExport, Status: cycle.StoppedDeletion, StartedAt: at, FinishedAt: at.Add(time.Second), Note: "600 pending delete(s)"}},
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
		{"contoso.onmicrosoft.com", "export", "failed", "1s", "0"},
		{"—", "Write back", "skipped", "", ""},
	}
	if rows.Length() != len(want) {
		t.Fatalf("%d step rows, want %d", rows.Length(), len(want))
	}
	rows.Each(func(i int, tr *goquery.Selection) {
		td := tr.Find("td")
		w := want[i]
		got := []string{td.Eq(0).Text(), td.Eq(1).Text(), td.Eq(2).Find(".badge").AttrOr("class", ""), td.Eq(3).Text(), td.Eq(5).Text()}
		if got[0] != w.connector || got[1] != w.step || !strings.HasSuffix(got[2], " "+w.badge) || got[3] != w.took || got[4] != w.adds {
			t.Errorf("row %d = %q, want %+v", i, got, w)
		}
	})
	summary := doc.Find(`[data-testid="run-4"] summary`).Text()
	for _, w := range []string{"Cycle #4", "scheduled, full", "so far"} {
		if !strings.Contains(summary, w) {
			t.Errorf("the running cycle's summary %q lacks %q", summary, w)
		}
	}
	if s := doc.Find(`[data-testid="run-3"] summary`).Text(); !strings.Contains(s, "run by operator, delta") || !strings.Contains(s, "2s") {
		t.Errorf("the finished cycle's summary: %q", s)
	}
}
