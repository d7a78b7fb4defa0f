package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/outcome"
	"github.com/hybridsync/hybridsync/engine/store"
)

func TestPrintSummary(t *testing.T) {
	at := time.UnixMilli(1_800_000_000_000)
	step := func(pos int, connector, name, status string, took time.Duration, adds, errs int, note string) cycle.StepRecord {
		return cycle.StepRecord{Recorded: true, RunStep: store.RunStep{Position: pos, Connector: connector, Step: name, Status: status,
			StartedAt: at, FinishedAt: at.Add(took), Adds: adds, Errors: errs, Note: note}}
	}
	rec := cycle.Record{
		Job:    store.Job{ID: 12, Status: outcome.Stopped, StartedAt: at, FinishedAt: at.Add(3 * time.Second), Error: "The deletion guard stopped the export"},
		Params: cycle.Params{Full: true},
		Problems: []store.Problem{
			{Level: outcome.LevelWarn, Message: "held contacts", Action: "nothing to do"},
			{Level: outcome.LevelError, Message: "a write failed", Times: 3},
		},
		Steps: []cycle.StepRecord{
			step(1, "fabrikam.example.test", cycle.StepFullImport, "succeeded", 1500*time.Millisecond, 4051, 0, "fabrikam.example.test: full import from dc1."),
			step(2, "", cycle.StepFullSync, "succeeded", time.Second, 4000, 0, ""),
			step(3, "contoso.onmicrosoft.com", cycle.StepExport, outcome.Stopped, 250*time.Millisecond, 0, 0, "600 pending delete(s) held back"),
			{Name: "Later", RunStep: store.RunStep{Position: 4, Status: "skipped"}},
		},
	}
	var b bytes.Buffer
	if err := printSummary(&b, rec); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	tests := []struct {
		line int
		want []string
	}{
		{0, []string{"sync cycle 12 (full): stopped in 3s"}},
		{1, []string{"CONNECTOR", "STEP", "DURATION", "ADDS", "ERRORS"}},
		{2, []string{"fabrikam.example.test", "full import", "succeeded", "1.5s", "4051"}},
		{3, []string{"metaverse", "full sync", "1s", "4000"}},
		{4, []string{"contoso.onmicrosoft.com", "export", outcome.Stopped, "250ms"}},
		{5, []string{"-", "Later", "skipped"}},
		{6, []string{"fabrikam.example.test, full import: fabrikam.example.test: full import from dc1."}},
		{7, []string{"contoso.onmicrosoft.com, export: 600 pending delete(s) held back"}},
		{8, []string{"warning: held contacts"}},
		{9, []string{"what to do: nothing to do"}},
		{10, []string{"error: a write failed (×3)"}},
		{11, []string{"error: The deletion guard stopped the export"}},
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

// hybridsync sync exits with a distinct code for each outcome but success.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{&outcomeError{status: outcome.Warnings}, 3},
		{&outcomeError{status: outcome.Errors}, 4},
		{&outcomeError{status: outcome.Stopped}, 5},
		{&outcomeError{status: outcome.Interrupted}, 6},
		{&outcomeError{status: outcome.Failed}, 1},
		{fmt.Errorf("wrapped: %w", &outcomeError{status: outcome.Errors}), 4},
		{errors.New("the store could not be opened"), 1},
	}
	seen := map[int]string{}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
	for status, code := range exitCodes {
		if other, dup := seen[code]; dup {
			t.Errorf("%s and %s share exit code %d", status, other, code)
		}
		seen[code] = status
	}
	if len(exitCodes) != len(outcome.All) {
		t.Errorf("%d exit codes for %d outcomes", len(exitCodes), len(outcome.All))
	}
}
