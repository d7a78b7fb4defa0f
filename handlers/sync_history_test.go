package handlers

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/jobs"
)

// The run history on /sync, as Browse sees it, against the live fabrikam
// forest and a tenant emulator of its own: a dry run whose last step is a
// review that keeps its changes; while it runs the panel says so and
// reloads itself; then a cycle that exports them, per connector and step
// with counts and durations; then one the deletion guard stops.
func TestSyncRunHistory(t *testing.T) {
	t.Parallel()
	e, _, c := configuredWithTenant(t)
	hd := e.signedIn("helpdesk")

	first := e.startJob(cycle.Kind, cycle.Params{DryRun: true, Trigger: cycle.TriggerManual})
	// The panel alone, as its htmx poll asks for it. The cycle reads a
	// forest of thousands of objects, so it is most likely still running;
	// what is asserted follows what the store says after the request.
	frag := hd.get("/sync?part=history", "HX-Request", "true")
	wantStatus(t, frag, http.StatusOK, "the run history fragment")
	if strings.Contains(frag.text(), "<html") || frag.find(t, `#run-history`).Length() != 1 {
		t.Fatalf("an htmx request for the history did not get the panel alone:\n%.300s", frag.text())
	}
	if j, err := e.st.Job(context.Background(), first); err != nil {
		t.Fatal(err)
	} else if !jobs.Finished(j.Status) {
		row := frag.find(t, fmt.Sprintf(`[data-testid="run-%d"]`, first))
		if frag.find(t, `#run-history[data-polling="on"][hx-trigger]`).Length() != 1 {
			t.Error("the history does not reload itself while a cycle runs")
		}
		if s := row.Find(`[data-testid="run-status"]`).Text(); s != jobs.Running && s != jobs.Queued {
			t.Errorf("a running cycle shows as %q", s)
		}
		if row.Find("details[open]").Length() != 1 {
			t.Error("a running cycle is not shown open")
		}
	} else {
		t.Logf("cycle %d finished before the history was read; the running state went unchecked", first)
	}
	// fabrikam's contacts can't be exported through Graph: said once, as
	// a warning, by the first cycle that holds them.
	if j := e.waitJob(first, 3*time.Minute); j.Status != jobs.Warnings {
		t.Fatalf("the dry run %s, want succeeded with warnings (held contacts): %s\n%s", j.Status, j.Error, jobMessages(t, e, first))
	}
	r := hd.get("/sync")
	wantStatus(t, r, http.StatusOK, "the sync page as Browse")
	if r.find(t, `#run-history[hx-trigger]`).Length() != 0 {
		t.Error("the history still reloads itself with no cycle running")
	}
	row := r.find(t, fmt.Sprintf(`[data-testid="run-%d"]`, first))
	if !strings.Contains(row.Find("summary").Text(), "dry run") {
		t.Errorf("the dry run is not said to be one: %q", row.Find("summary").Text())
	}
	steps := historySteps(t, row)
	imp := steps.one(t, "fabrikam.example.test", cycle.StepFullImport)
	syn := steps.one(t, "", cycle.StepFullSync)
	rv := steps.oneOf(t, cycle.StepReview)
	for _, s := range []historyStep{imp, syn, rv} {
		if s.adds == 0 || s.took <= 0 {
			t.Errorf("%s %s: %d adds, took %s; want adds and a duration", s.connector, s.step, s.adds, s.took)
		}
	}
	if imp.status != jobs.Succeeded || syn.status != jobs.Succeeded || rv.status != jobs.Warnings || !strings.Contains(rv.note, "kept for review") {
		t.Errorf("import %s, sync %s, review %s (%q); want succeeded, succeeded, with warnings, kept for review", imp.status, syn.status, rv.status, rv.note)
	}
	if ps := row.Find(`[data-testid="problem"][data-name="held-changes"]`); ps.Length() != 1 || !strings.Contains(ps.Text(), "organizational contacts") {
		t.Errorf("the held contacts are not listed once with the cycle: %d %q", ps.Length(), ps.Text())
	}
	if imp.processed < imp.adds || !strings.Contains(imp.note, "full import from") {
		t.Errorf("the import read %d for %d adds: %q", imp.processed, imp.adds, imp.note)
	}
	if wb := steps.oneOf(t, cycle.StepWriteBack); wb.status != jobs.Succeeded || !strings.Contains(wb.note, "Nothing written") {
		t.Errorf("the dry run's write-back: %s %q, want succeeded, nothing written", wb.status, wb.note)
	}

	// The same changes exported: a delta import and sync, and the export.
	second := e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual})
	if j := e.waitJob(second, 3*time.Minute); j.Status != jobs.Warnings && j.Status != jobs.Errors {
		t.Fatalf("second cycle %s, want it to say that ms-DS-ConsistencyGuid was refused: %s\n%s", j.Status, j.Error, jobMessages(t, e, second))
	}
	r = hd.get("/sync")
	rows := r.find(t, `[data-testid="sync-cycles"] li[data-testid^="run-"]`)
	if rows.Length() != 2 || rows.First().AttrOr("data-testid", "") != fmt.Sprintf("run-%d", second) {
		t.Fatalf("%d cycles listed, the newest first: %v", rows.Length(), rows.First().AttrOr("data-testid", ""))
	}
	row = rows.First()
	if href := row.Find("a").AttrOr("href", ""); href != fmt.Sprintf("/jobs/%d", second) || row.Find("a").Length() != 1 {
		t.Errorf("the cycle's link is %q (%d links), want its live page", href, row.Find("a").Length())
	}
	if live := hd.get(fmt.Sprintf("/jobs/%d", second)); live.status != http.StatusOK || live.find(t, `[data-testid="job-live"]`).Length() != 1 {
		t.Errorf("Browse can't follow the cycle's live page: %d", live.status)
	}
	steps = historySteps(t, row)
	steps.one(t, "fabrikam.example.test", cycle.StepDeltaImport)
	steps.one(t, "", cycle.StepDeltaSync)
	exp := steps.oneOf(t, cycle.StepExport)
	if exp.adds == 0 || exp.took <= 0 || exp.processed < exp.adds || exp.connector == "" {
		t.Errorf("the export: %d adds of %d changes to %q, took %s; want adds, a tenant and a duration", exp.adds, exp.processed, exp.connector, exp.took)
	}
	// Errors are counted, and say so.
	switch {
	case exp.status == jobs.Succeeded && exp.errors == 0:
	case exp.status == jobs.Errors && exp.errors > 0:
	default:
		t.Errorf("the export: %s with %d errors (%q)", exp.status, exp.errors, exp.note)
	}
	// The write-back: fabrikam's svc-sync may not write ms-DS-ConsistencyGuid:
	// the first refusal stops the domain's writes and is said once.
	if wb := steps.oneOf(t, cycle.StepWriteBack); wb.status != jobs.Warnings || !strings.Contains(wb.note, "may not write ms-DS-ConsistencyGuid") {
		t.Errorf("the refused write-back: %s %q", wb.status, wb.note)
	}
	// The older cycle is folded, the newest open.
	if rows.First().Find("details[open]").Length() != 1 || rows.Eq(1).Find("details[open]").Length() != 0 {
		t.Error("want the newest cycle open and the older one folded")
	}

	// Staff cleared on Domain and OU filtering, over a threshold of 10: a
	// full import (the filters changed), and an export the deletion guard
	// stops, with its status and why.
	wantRedirect(t, c.post("/sync/guard", url.Values{"action": {"save"}, "threshold": {"10"}, "percent": {"0"}}), "/sync", "lower the threshold")
	staff := "OU=Staff,DC=fabrikam,DC=example,DC=test"
	ou := c.page("ou-filtering")
	v := url.Values{}
	ou.find(t, `[data-testid="tree-fabrikam.example.test"] input[type=hidden][name="seen:fabrikam.example.test"]`).Each(func(_ int, s *goquery.Selection) {
		v.Add("seen:fabrikam.example.test", s.AttrOr("value", ""))
		if dn := s.AttrOr("value", ""); dn != staff {
			v.Add("sync:fabrikam.example.test", dn)
		}
	})
	wantRedirect(t, c.submit(ou, "/setup/ou-filtering", "next", v), "/setup/identifying-users", "Next with Staff cleared")
	for _, p := range [][2]string{{"identifying-users", "group-filtering"}, {"group-filtering", "optional-features"}, {"optional-features", "ready"}} {
		c.next(p[0], nil, p[1])
	}
	c.configure(e)
	third := e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual})
	if j := e.waitJob(third, 3*time.Minute); j.Status != jobs.Stopped {
		t.Fatalf("the cycle over the threshold: %s %s", j.Status, j.Error)
	}
	row = hd.get("/sync").find(t, fmt.Sprintf(`[data-testid="run-%d"]`, third))
	if s := row.Find(`[data-testid="run-status"]`).AttrOr("data-status", ""); s != jobs.Stopped {
		t.Errorf("the stopped cycle shows as %q", s)
	}
	steps = historySteps(t, row)
	if imp := steps.one(t, "fabrikam.example.test", cycle.StepFullImport); imp.status != jobs.Succeeded || !strings.Contains(imp.note, "changed") {
		t.Errorf("the import with Staff cleared: %s, %q; want a full import that says why", imp.status, imp.note)
	}
	if syn := steps.one(t, "", cycle.StepFullSync); syn.deletes <= 10 {
		t.Errorf("the sync computed %d deletes, want more than the threshold", syn.deletes)
	}
	exp = steps.oneOf(t, cycle.StepExport)
	if exp.status != jobs.Stopped || exp.deletes != 0 || !strings.Contains(exp.note, "held back by the deletion guard") {
		t.Errorf("the stopped export: %s, %d deletes, %q", exp.status, exp.deletes, exp.note)
	}
}

type historyStep struct {
	connector, step, status, note    string
	processed, adds, deletes, errors int
	took                             time.Duration
}

type historyRows []historyStep

func historySteps(t *testing.T, row *goquery.Selection) historyRows {
	t.Helper()
	var out historyRows
	row.Find(`tr[data-testid="run-step"]`).Each(func(_ int, tr *goquery.Selection) {
		num := func(id string) int {
			n, _ := strconv.Atoi(strings.TrimSpace(tr.Find(`[data-testid="` + id + `"]`).Text()))
			return n
		}
		took, _ := time.ParseDuration(strings.TrimSpace(tr.Find(`[data-testid="step-took"]`).Text()))
		out = append(out, historyStep{connector: tr.AttrOr("data-connector", ""), step: tr.AttrOr("data-step", ""), status: tr.AttrOr("data-status", ""),
			note: note(tr), processed: num("step-processed"), adds: num("step-adds"), deletes: num("step-deletes"),
			errors: num("step-errors"), took: took})
	})
	if len(out) == 0 {
		t.Fatalf("no steps in the history row:\n%s", row.Text())
	}
	return out
}

// note is a step's note, on the row after it.
func note(tr *goquery.Selection) string {
	if next := tr.Next(); next.AttrOr("data-testid", "") == "run-step-note" {
		return strings.TrimSpace(next.Text())
	}
	return ""
}

func (rs historyRows) one(t *testing.T, connector, step string) historyStep {
	t.Helper()
	for _, s := range rs {
		if s.connector == connector && s.step == step {
			return s
		}
	}
	t.Fatalf("no %q step for %q in %+v", step, connector, rs)
	return historyStep{}
}

func (rs historyRows) oneOf(t *testing.T, step string) historyStep {
	t.Helper()
	for _, s := range rs {
		if s.step == step {
			return s
		}
	}
	t.Fatalf("no %q step in %+v", step, rs)
	return historyStep{}
}
