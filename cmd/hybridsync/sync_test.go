package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/store"
)

func TestPrintSummary(t *testing.T) {
	at := time.UnixMilli(1_800_000_000_000)
	step := func(pos int, connector, name, status string, took time.Duration, adds, errs int, note string) cycle.StepRecord {
		return cycle.StepRecord{Recorded: true, RunStep: store.RunStep{Position: pos, Connector: connector, Step: name, Status: status,
			StartedAt: at, FinishedAt: at.Add(took), Adds: adds, Errors: errs, Note: note}}
	}
	rec := cycle.Record{
		Job:    store.Job{ID: 12, Status: "failed", StartedAt: at, FinishedAt: at.Add(3 * time.Second), Error: "Export to Microsoft Entra ID: stopped"},
		Params: cycle.Params{Full: true},
		Steps: []cycle.StepRecord{
			step(1, "fabrikam.example.test", cycle.StepFullImport, "succeeded", 1500*time.Millisecond, 4051, 0, "fabrikam.example.test: full import from dc1."),
			step(2, "", cycle.StepFullSync, "succeeded", time.Second, 4000, 0, ""),
			step(3, "contoso.onmicrosoft.com", cycle.StepExport, cycle.StoppedDeletion, 250*time.Millisecond, 0, 0, "600 pending delete(s) held back"),
			{Name: "Later", RunStep: store.RunStep{Position: 4, Status: "skipped"}},
		},
	}
	var b bytes.Buffer
	if err := printSummary(&b, rec, []string{"Pending delete: user x"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	tests := []struct {
		line int
		want []string
	}{
		{0, []string{"sync cycle 12 (full): failed in 3s"}},
		{1, []string{"CONNECTOR", "STEP", "DURATION", "ADDS", "ERRORS"}},
		{2, []string{"fabrikam.example.test", "full import", "succeeded", "1.5s", "4051"}},
		{3, []string{"metaverse", "full sync", "1s", "4000"}},
		{4, []string{"contoso.onmicrosoft.com", "export", cycle.StoppedDeletion, "250ms"}},
		{5, []string{"-", "Later", "skipped"}},
		{6, []string{"fabrikam.example.test, full import: fabrikam.example.test: full import from dc1."}},
		{7, []string{"contoso.onmicrosoft.com, export: 600 pending delete(s) held back"}},
		{8, []string{"warning: Pending delete: user x"}},
		{9, []string{"error: Export to Microsoft Entra ID: stopped"}},
	}
	if len(lines) != len(tests) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tests), out)
	}
	for _, tt := range tests {
		for _, w := range tt.want {
			if !strings.Contains(lines[tt.line], w) {
				t.Errorf("line %d %q lacks %q", tt.line, lines[tt.line], w)
			}
		}
	}
	// The table's columns line up.
	if i, j := strings.Index(lines[1], "STATUS"), strings.Index(lines[2], "succeeded"); i != j {
		t.Errorf("STATUS at %d, the first status at %d:\n%s", i, j, out)
	}
}
