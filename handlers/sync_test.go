package handlers

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/configure"
	"github.com/hybridsync/hybridsync/engine/cycle"
	"github.com/hybridsync/hybridsync/engine/export"
	"github.com/hybridsync/hybridsync/engine/jobs"
	"github.com/hybridsync/hybridsync/engine/store"
)

// A whole cycle against the live fabrikam forest and a tenant emulator of its
// own: Configure, then import, sync and export; the users arrive in the
// tenant; a second cycle is a delta that exports nothing new.
func TestSyncCycleAgainstTheForestAndTenant(t *testing.T) {
	t.Parallel()
	e, em, _ := configuredWithTenant(t)

	first := e.waitJob(e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual}), 3*time.Minute)
	msgs := jobMessages(t, e, first.ID)
	// fabrikam's svc-sync may not write ms-DS-ConsistencyGuid: the first
	// refusal stops the domain's write-backs, and one warning names the
	// right; fabrikam's contacts are held. The cycle says so, and goes on.
	if first.Status != jobs.Warnings {
		t.Fatalf("first cycle %s, want succeeded with warnings: %s\n%s", first.Status, first.Error, msgs)
	}
	for _, want := range []string{"full import", "Full sync of", "may not write ms-DS-ConsistencyGuid", "Exported:"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("the first cycle's log lacks %q:\n%s", want, msgs)
		}
	}
	ps, err := e.st.Problems(context.Background(), first.ID)
	if err != nil {
		t.Fatal(err)
	}
	refused := 0
	for _, p := range ps[first.ID] {
		if strings.HasPrefix(p.Name, "consistencyguid-refused/") {
			refused++
			if p.Times != 1 || !strings.Contains(p.Action, "Write ms-DS-ConsistencyGuid") {
				t.Errorf("the refused write-back: %+v, want one warning naming the right", p)
			}
		}
	}
	if refused != 1 {
		t.Errorf("%d refused write-back problem(s), want one for fabrikam's domain: %+v", refused, ps[first.ID])
	}
	if n := strings.Count(msgs, "ms-DS-ConsistencyGuid of CN="); n > 0 {
		t.Errorf("%d refused writes logged one by one", n)
	}
	// The tenant's matching settings were read once, by Configure: no
	// export reads them again, or warns that it could not.
	if strings.Contains(msgs, "matching settings") || strings.Contains(e.logs.String(), "matching settings assumed") {
		t.Errorf("the export read the matching settings again, or warned about them:\n%s", msgs)
	}
	// In the tenant: a fabrikam user, with its sourceAnchor.
	ctx := context.Background()
	g := em.admin(t)
	users, err := g.FindUsers(ctx, "startswith(userPrincipalName,'tuser003@')")
	if err != nil || len(users) != 1 || users[0].OnPremisesImmutableID == "" {
		t.Fatalf("tuser003 in the tenant: %+v %v", users, err)
	}

	// The second cycle: nothing new to say. What stays true (the right, the
	// held contacts) is on the Overview, not repeated by every cycle.
	second := e.waitJob(e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual}), 3*time.Minute)
	msgs = jobMessages(t, e, second.ID)
	if second.Status != jobs.Succeeded {
		t.Fatalf("second cycle %s, want succeeded: %s\n%s", second.Status, second.Error, msgs)
	}
	if strings.Contains(msgs, "matching settings") || strings.Contains(e.logs.String(), "matching settings assumed") {
		t.Errorf("the second export read the matching settings again, or warned about them:\n%s", msgs)
	}
	for _, want := range []string{"delta import", "Delta sync of", "Exported: 0 add(s)", "Still so, as already said"} {
		if !strings.Contains(msgs, want) {
			t.Errorf("the second cycle's log lacks %q:\n%s", want, msgs)
		}
	}

	// The helpdesk: the cycles, and tuser003's path from the forest to the tenant.
	hd := e.signedIn("helpdesk")
	r := hd.get("/sync")
	wantStatus(t, r, http.StatusOK, "the sync page")
	if n := r.find(t, `[data-testid="sync-cycles"] li[data-testid^="run-"]`).Length(); n != 2 {
		t.Errorf("%d cycles listed, want 2", n)
	}
	// The first cycle after Configure imported in full, though nobody asked
	// for a full one: it is called full.
	if s := r.find(t, fmt.Sprintf(`[data-testid="run-%d"] [data-testid="run-trigger"]`, first.ID)).Text(); s != "run by test, full" {
		t.Errorf("the first cycle is called %q, want run by test, full", s)
	}
	if s := r.find(t, fmt.Sprintf(`[data-testid="run-%d"] [data-testid="run-trigger"]`, second.ID)).Text(); s != "run by test, delta" {
		t.Errorf("the second cycle is called %q, want run by test, delta", s)
	}
	// The Overview keeps what stays true until it is fixed.
	home := hd.get("/")
	for _, name := range []string{"held-changes", "consistencyguid-refused/fabrikam.example.test"} {
		if home.find(t, fmt.Sprintf(`[data-testid="condition"][data-name=%q]`, name)).Length() != 1 {
			t.Errorf("the Overview does not show %s: %q", name, home.find(t, `[data-testid="standing"]`).Text())
		}
	}
	// Configure ran as a Hybrid Identity Administrator, whom Graph does not
	// let read the features: the Overview says so, and what follows.
	if got := home.find(t, `[data-testid="tenant-features"]`).Text(); !strings.Contains(got, "could not be read") || !strings.Contains(got, "only a Global Administrator") {
		t.Errorf("the Overview does not say why the tenant's features are unread: %q", home.find(t, `[data-testid="tenant"]`).Text())
	}
	if home.find(t, `[data-testid="last-cycle-status"][data-status="succeeded"]`).Length() != 1 {
		t.Errorf("the Overview's last cycle: %q", home.find(t, `[data-testid="last-cycle"]`).Text())
	}
	if r.find(t, `[data-testid="sync-run"]`).Length() != 0 || r.find(t, `[data-testid="schedule-form"]`).Length() != 0 {
		t.Error("Browse is offered buttons it may not use")
	}
	r = hd.get("/sync/lookup?q=" + url.QueryEscape(users[0].UserPrincipalName))
	wantStatus(t, r, http.StatusOK, "lookup")
	path := strings.Join(strings.Fields(r.find(t, `[data-testid="hit-0"] [data-testid="path"]`).Text()), " ")
	for _, want := range []string{"in scope", "synchronized", users[0].OnPremisesImmutableID, "in Microsoft Entra ID", users[0].ID} {
		if !strings.Contains(path, want) {
			t.Errorf("the path lacks %q: %s", want, path)
		}
	}
	if r.find(t, `[data-testid="hit-0"] [data-testid="cloud-attrs"]`).Length() != 1 {
		t.Error("no computed cloud attributes")
	}
	if r := hd.get("/sync/lookup?q=nobody-like-this"); r.find(t, `[data-testid="lookup-none"]`).Length() != 1 {
		t.Error("an unknown name is not said to be unknown")
	}
	// Contacts can't be exported through Graph: they stay pending, reviewable and in the CSV.
	r = hd.get("/sync/pending?kind=contact")
	wantStatus(t, r, http.StatusOK, "pending exports")
	if n, count := r.find(t, `.panel[data-testid^="pending-"] .badge.add`).Length(), r.testid(t, "pending-count"); n != pendingPage || !strings.Contains(count, "50 are shown here, a page at a time") {
		t.Errorf("%d pending contact adds shown (%s), want the first page of fabrikam's contacts", n, count)
	}
	// Each is held, with why, and the header counts them all, not only the page shown.
	if n := r.find(t, `[data-testid="pending-held"]`).FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.Contains(s.Text(), export.MsgContactHeld)
	}).Length(); n != pendingPage {
		t.Errorf("%d pending contacts shown as held with the reason, want %d", n, pendingPage)
	}
	matching, _, _ := strings.Cut(r.testid(t, "pending-count"), " ")
	if held := r.testid(t, "pending-held-count"); !strings.HasPrefix(held, matching+" held") || !strings.Contains(held, export.MsgContactHeld) {
		t.Errorf("the held count %q does not count the %s matching contacts with the reason", held, matching)
	}
	// A contact's lookup (its "why" link) says its export is held.
	contact := r.find(t, `.panel[data-testid^="pending-"] a[href^="/sync/lookup?q="]`).First().AttrOr("href", "")
	r = hd.get(contact)
	if path := strings.Join(strings.Fields(r.find(t, `[data-testid="hit-0"] [data-testid="path"]`).Text()), " "); !strings.Contains(path, "held "+export.MsgContactHeld) {
		t.Errorf("the path of contact %q does not say it is held: %s", contact, path)
	}
	// And the cycle's export row counts the held changes.
	r = hd.get("/sync")
	if note := r.find(t, fmt.Sprintf(`[data-testid="run-%d"] tr[data-step=%q] + tr[data-testid="run-step-note"]`, first.ID, cycle.StepExport)).Text(); !strings.Contains(note, "change(s) held: Microsoft Graph cannot write organizational contacts") {
		t.Errorf("the first cycle's export row does not count the held contacts: %q", note)
	}
	csv := hd.get("/sync/pending.csv?kind=contact")
	if csv.status != http.StatusOK || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") || strings.Count(csv.text(), "\n") < 2 {
		t.Errorf("CSV: %d %s, %d lines", csv.status, csv.header.Get("Content-Type"), strings.Count(csv.text(), "\n"))
	}
	// Operators run a cycle; Browse may not.
	if r := hd.post("/sync/run", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("Browse ran a cycle: %d", r.status)
	}
	op := e.signedIn("operator")
	id := jobIDFrom(t, op.post("/sync/run", url.Values{"full": {"on"}}))
	if j := e.waitJob(id, 3*time.Minute); j.Status != jobs.Succeeded {
		t.Errorf("a full cycle from the page: %s %s", j.Status, j.Error)
	}
}

func jobMessages(t *testing.T, e *env, id int64) string {
	t.Helper()
	evs, err := e.st.Events(context.Background(), id, 0, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		out = append(out, ev.Level+": "+ev.Message)
	}
	return strings.Join(out, "\n")
}

// configuredWithTenant is a console with a tenant emulator of its own, the
// wizard walked with fabrikam and its defaults, and Configure applied: what
// the tests of a cycle start from. c is the administrator's client.
func configuredWithTenant(t *testing.T) (*env, *emulated, *client) {
	t.Helper()
	fabrikamForest(t)
	em := newTenant(t, fabrikamSeed())
	cfg := em.config()
	e := newEnvWith(t, envOptions{entra: &cfg})
	c := e.signedIn("admin")
	walkToReady(c, nil, nil, nil)
	c.configure(e)
	return e, em, c
}

// The deletion guard: Staff cleared on Domain and OU filtering would delete
// more users than the threshold, so the export does not start and nothing is
// deleted; the pending deletes are listed; allowed once, they go through.
func TestDeletionGuardStopsAnExport(t *testing.T) {
	t.Parallel()
	e, em, c := configuredWithTenant(t)
	if j := e.waitJob(e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual}), 3*time.Minute); j.Status != jobs.Succeeded && j.Status != jobs.Warnings {
		t.Fatalf("first cycle %s: %s", j.Status, j.Error)
	}
	ctx := context.Background()
	g := em.admin(t)
	inTenant := func() int {
		users, err := g.FindUsers(ctx, "startswith(userPrincipalName,'tuser')")
		if err != nil {
			t.Fatal(err)
		}
		return len(users)
	}
	before := inTenant()
	if before < 100 {
		t.Fatalf("%d fabrikam users in the tenant after the first cycle", before)
	}

	wantRedirect(t, c.post("/sync/guard", url.Values{"action": {"save"}, "threshold": {"10"}, "percent": {"0"}}), "/sync", "lower the threshold")

	// Clear Staff, and configure again.
	base := "DC=fabrikam,DC=example,DC=test"
	staff := "OU=Staff," + base
	r := c.page("ou-filtering")
	v := url.Values{}
	r.find(t, `[data-testid="tree-fabrikam.example.test"] input[type=hidden][name="seen:fabrikam.example.test"]`).Each(func(_ int, s *goquery.Selection) {
		v.Add("seen:fabrikam.example.test", s.AttrOr("value", ""))
		if dn := s.AttrOr("value", ""); dn != staff {
			v.Add("sync:fabrikam.example.test", dn)
		}
	})
	wantRedirect(t, c.submit(r, "/setup/ou-filtering", "next", v), "/setup/identifying-users", "Next with Staff cleared")
	for _, p := range [][2]string{{"identifying-users", "group-filtering"}, {"group-filtering", "optional-features"}, {"optional-features", "ready"}} {
		c.next(p[0], nil, p[1])
	}
	c.configure(e)

	stopped := e.waitJob(e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual}), 3*time.Minute)
	if stopped.Status != jobs.Stopped || !strings.Contains(stopped.Error, "deletion guard") {
		t.Fatalf("the cycle over the threshold: %s %q", stopped.Status, stopped.Error)
	}
	if got := inTenant(); got != before {
		t.Errorf("%d users in the tenant after the stopped export, want %d: something was deleted", got, before)
	}
	page := c.get("/sync")
	runs := strings.Join(strings.Fields(page.find(t, `[data-testid="export-runs"]`).Text()), " ")
	if page.find(t, `[data-testid="export-runs"] tr[data-status="stopped"]`).Length() != 1 || !strings.Contains(runs, "pending delete(s)") {
		t.Errorf("the stopped export is not shown with its pending deletes: %s", runs)
	}

	// Allowed once: the deletes go through, and the allowance is spent.
	wantRedirect(t, c.post("/sync/guard", url.Values{"action": {"allow"}, "allow": {"1000"}}), "/sync", "allow the deletes once")
	if j := e.waitJob(e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual}), 3*time.Minute); j.Status != jobs.Succeeded {
		t.Fatalf("the allowed cycle %s: %s", j.Status, j.Error)
	}
	if got := inTenant(); got >= before {
		t.Errorf("%d users in the tenant after the allowed deletes, want fewer than %d", got, before)
	}
	if g, err := e.st.DeletionGuard(ctx); err != nil || g.AllowDeletes != 0 {
		t.Errorf("the allowance is not spent: %+v %v", g, err)
	}
}

// An export killed with the server (SIGKILL) does not stay running with no
// counts: when the server starts again, the Exports table and the run
// history show it interrupted, with what reached the tenant before the stop.
func TestKilledExportShowsWhatReachedTheTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	at := time.Now().Add(-time.Minute)
	id, err := e.st.CreateJob(ctx, store.Job{Kind: cycle.Kind, Status: jobs.Running, Params: []byte(`{"trigger":"manual"}`), CreatedBy: "test",
		Steps: []store.Step{{Name: "Import corp", Status: jobs.Succeeded}, {Name: "Synchronize", Status: jobs.Succeeded}, {Name: "Export to Microsoft Entra ID", Status: jobs.Running}}})
	if err != nil {
		t.Fatal(err)
	}
	row, err := e.st.StartRunStep(ctx, store.RunStep{JobID: id, Position: 3, Connector: "contoso.onmicrosoft.com", Step: cycle.StepExport, StartedAt: at, Processed: 120})
	if err != nil {
		t.Fatal(err)
	}
	// What the export recorded as it went, before the kill.
	if err := e.st.UpdateRunStep(ctx, store.RunStep{ID: row, JobID: id, Position: 3, Connector: "contoso.onmicrosoft.com", Step: cycle.StepExport, Status: jobs.Running, Processed: 120, Adds: 37}); err != nil {
		t.Fatal(err)
	}
	run, err := e.st.StartExportRun(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.UpdateExportRunProgress(ctx, store.ExportRun{ID: run, Adds: 37, Writes: 40}); err != nil {
		t.Fatal(err)
	}

	// The server starts again: as serve does.
	if _, err := e.runner.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cycle.EndInterrupted(ctx, e.st); err != nil {
		t.Fatal(err)
	}
	r := e.signedIn("helpdesk").get("/sync")
	wantStatus(t, r, http.StatusOK, "the sync page")
	exp := r.find(t, fmt.Sprintf(`[data-testid="export-run-%d"]`, run))
	if exp.AttrOr("data-status", "") != jobs.Interrupted || exp.Find("td").Eq(2).Text() != "37" {
		t.Errorf("the killed export run: %q %q, want interrupted with its 37 adds", exp.AttrOr("data-status", ""), strings.Join(strings.Fields(exp.Text()), " "))
	}
	if note := r.find(t, `[data-testid="export-run-note"]`).Text(); !strings.Contains(note, "reached Microsoft Entra ID") {
		t.Errorf("the killed export run does not say what its counts are: %q", note)
	}
	step := r.find(t, fmt.Sprintf(`[data-testid="run-%d"] tr[data-step=%q]`, id, cycle.StepExport))
	if step.AttrOr("data-status", "") != jobs.Interrupted || step.Find(`[data-testid="step-adds"]`).Text() != "37" {
		t.Errorf("the killed export in the run history: %q %q, want interrupted with 37 adds", step.AttrOr("data-status", ""), strings.Join(strings.Fields(step.Text()), " "))
	}
}

// A user whose userPrincipalName a cloud object already holds (synchronized
// from elsewhere, so no soft match): the cycle ends completed with errors,
// the sync error is paged and names its holder, linked to its lookup; the
// next cycle does not send the value again (no write), and stays completed
// with errors while the conflict stands; once the holder is gone, the value
// is sent once, the error closes and the cycle succeeds. The Overview says
// so throughout.
func TestDuplicateUPNHeldInTheCloud(t *testing.T) {
	t.Parallel()
	e, em, _ := configuredWithTenant(t)
	j, _ := e.st.LastJob(context.Background(), configure.Kind, "")
	// The server's scheduler is off here: Configure says so, and no cycle
	// is promised "within a minute".
	if msgs := jobMessages(t, e, j.ID); !strings.Contains(msgs, "this server's scheduler is off") || strings.Contains(msgs, "within a minute") {
		t.Errorf("Configure's promise with the scheduler off:\n%s", msgs)
	}

	ctx := context.Background()
	g := em.admin(t)
	const upn = "tuser007@fabrikam.example.test"
	holder, err := g.CreateUser(ctx, cloud.User{AccountEnabled: cloud.Bool(true), DisplayName: "Cloud Holder", MailNickname: "cloudholder", UserPrincipalName: upn,
		OnPremisesImmutableID: "aG9sZGVyLWZyb20tZWxzZXdoZXJl", PasswordProfile: &cloud.PasswordProfile{Password: "Holder-Passw0rd!"}})
	if err != nil {
		t.Fatal(err)
	}
	writes := func() int {
		t.Helper()
		runs, err := e.st.ExportRuns(ctx, 1)
		if err != nil || len(runs) != 1 {
			t.Fatalf("export runs: %+v %v", runs, err)
		}
		return runs[0].Writes
	}

	first := e.waitJob(e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual}), 3*time.Minute)
	if first.Status != jobs.Errors {
		t.Fatalf("the cycle with a duplicate userPrincipalName: %s, want completed with errors\n%s", first.Status, jobMessages(t, e, first.ID))
	}
	hd := e.signedIn("helpdesk")
	r := hd.get("/sync/errors?text=tuser007")
	wantStatus(t, r, http.StatusOK, "the sync errors page")
	if got := r.testid(t, "errors-count"); !strings.Contains(got, "1–1 of 1") {
		t.Errorf("the sync errors page counts %q", got)
	}
	h := r.find(t, `[data-testid="sync-error-row"] [data-testid="sync-error-holder"]`)
	if link := h.Find(`a[data-testid="holder-link"]`); link.Text() != upn || link.AttrOr("href", "") != "/sync/lookup?q="+url.QueryEscape(upn) || !strings.Contains(h.Text(), "not synchronized by hybridsync") {
		t.Errorf("the holder: %q (%s)", h.Text(), link.AttrOr("href", ""))
	}
	if r := hd.get("/sync/errors?text=nobody-like-this"); !strings.Contains(r.testid(t, "errors-count"), "No open sync error matches") {
		t.Errorf("a filter that matches nothing: %q", r.testid(t, "errors-count"))
	}

	// A second cycle: nothing sent for the quarantined value, the error
	// still open, the cycle still says so.
	second := e.waitJob(e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual}), 3*time.Minute)
	if second.Status != jobs.Errors {
		t.Errorf("the second cycle: %s, want completed with errors while the conflict stands", second.Status)
	}
	if n := writes(); n != 0 {
		t.Errorf("the second cycle's export wrote %d time(s), want none: the quarantined value is not sent again", n)
	}
	home := hd.get("/")
	if home.find(t, `[data-testid="health"][data-health="attention"]`).Length() != 1 || !strings.Contains(home.testid(t, "health"), "1 sync error(s) are open") {
		t.Errorf("the Overview's health: %q", home.testid(t, "health"))
	}
	if home.find(t, `[data-testid="last-cycle-status"][data-status="completed-with-errors"]`).Length() != 1 ||
		home.find(t, `[data-testid="last-cycle"] [data-testid="problem"][data-name="sync-errors"]`).Length() != 1 {
		t.Errorf("the Overview's last cycle: %q", home.testid(t, "last-cycle"))
	}

	// The holder goes: the value is sent once, the error closes.
	if err := g.DeleteUser(ctx, holder.ID); err != nil {
		t.Fatal(err)
	}
	third := e.waitJob(e.startJob(cycle.Kind, cycle.Params{Trigger: cycle.TriggerManual}), 3*time.Minute)
	if third.Status != jobs.Succeeded {
		t.Errorf("the cycle after the holder went: %s, want succeeded\n%s", third.Status, jobMessages(t, e, third.ID))
	}
	if n, err := e.st.CountSyncErrors(ctx); err != nil || n != 0 {
		t.Errorf("%d open sync error(s) after the conflict ended (%v)", n, err)
	}
	if u, err := g.GetUser(ctx, upn); err != nil || !strings.EqualFold(u.UserPrincipalName, upn) {
		t.Errorf("%s in the tenant: %+v %v", upn, u, err)
	}
	if home := hd.get("/"); home.find(t, `[data-testid="health"][data-health="attention"]`).Length() == 1 && strings.Contains(home.testid(t, "health"), "sync error") {
		t.Errorf("the Overview still counts the sync error: %q", home.testid(t, "health"))
	}
}

// The lookup shows an object's own open sync errors however many newer ones
// other objects have: user 1's is the oldest of 1,001.
func TestLookupShowsTheObjectsOwnErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fillUsers(t, e.st, 1100, 1001, 1)
	c := e.signedIn("helpdesk")
	for _, user := range []int{1, 1001, 1050} {
		r := c.get("/sync/lookup?q=" + url.QueryEscape(scaleUPN(user)))
		wantStatus(t, r, http.StatusOK, "lookup")
		errs := r.find(t, `[data-testid="hit-0"] [data-testid="hit-error"]`)
		want := 1
		if user > 1001 {
			want = 0
		}
		if errs.Length() != want {
			t.Errorf("user %d: %d errors shown, want %d", user, errs.Length(), want)
		} else if want == 1 && !strings.Contains(errs.Text(), fmt.Sprintf("shared%04d@", user)) {
			t.Errorf("user %d: %q", user, errs.Text())
		}
	}
}

// The staging review's page is kept between views and read again once the
// pending exports change, whoever changed them: here another process on the
// same store (`hybridsync sync` beside the console).
func TestPendingPageFollowsTheStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fillUsers(t, e.st, 30, 0, 1)
	c := e.signedIn("helpdesk")
	count := func() string {
		t.Helper()
		r := c.get("/sync/pending")
		wantStatus(t, r, http.StatusOK, "pending")
		return strings.Join(strings.Fields(r.testid(t, "pending-count")), " ")
	}
	if got := count(); !strings.HasPrefix(got, "30 of 30 ") {
		t.Fatalf("after the first sync: %q", got)
	}
	if got := count(); !strings.HasPrefix(got, "30 of 30 ") {
		t.Fatalf("viewed again: %q", got)
	}
	ctx := context.Background()
	other := e.otherProcess()
	gone := []string{scaleKey(1), scaleKey(2), scaleKey(3)}
	if err := other.SaveMetaverse(ctx, store.MVWrite{PendingKeys: gone}); err != nil {
		t.Fatal(err)
	}
	if got := count(); !strings.HasPrefix(got, "27 of 27 ") {
		t.Errorf("after another process took three away: %q", got)
	}
	r := c.get("/sync/pending")
	if n := r.find(t, `[data-testid="pending-`+scaleKey(2)+`"]`).Length(); n != 0 {
		t.Errorf("a pending export taken away is still listed (%d)", n)
	}
	if n := r.find(t, `[data-testid="pending-`+scaleKey(4)+`"]`).Length(); n != 1 {
		t.Errorf("a pending export left is not listed (%d)", n)
	}
}

// The staging review a page at a time: each page's Next link starts after
// its last object, the pages hold every pending export once, in order, with
// a link back to the first; a page link the page did not make shows the
// first page and says so.
func TestPendingPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fillUsers(t, e.st, 2*pendingPage+20, 0, 1)
	c := e.signedIn("helpdesk")
	var keys []string
	next := "/sync/pending?kind=user"
	for page := 0; next != ""; page++ {
		if page > 3 {
			t.Fatal("more pages than the objects fill")
		}
		r := c.get(next)
		wantStatus(t, r, http.StatusOK, next)
		r.find(t, `.panel[data-testid^="pending-key-"]`).Each(func(_ int, s *goquery.Selection) {
			keys = append(keys, strings.TrimPrefix(s.AttrOr("data-testid", ""), "pending-"))
		})
		if first := r.find(t, `[data-testid="pending-first"]`); (first.Length() == 1) != (page > 0) ||
			page > 0 && first.AttrOr("href", "") != "/sync/pending?kind=user&op=&text=" {
			t.Errorf("page %d: the first page's link: %d %q", page+1, first.Length(), first.AttrOr("href", ""))
		}
		next = r.find(t, `[data-testid="pending-next"]`).AttrOr("href", "")
		if !strings.Contains(next, "kind=user") && next != "" {
			t.Errorf("page %d: the next page's link loses the filter: %q", page+1, next)
		}
	}
	want := make([]string, 0, 2*pendingPage+20)
	for i := 1; i <= 2*pendingPage+20; i++ {
		want = append(want, scaleKey(i))
	}
	if !slices.Equal(keys, want) {
		t.Errorf("the pages hold %d objects (%v…), want the %d in order", len(keys), keys[:min(3, len(keys))], len(want))
	}
	// The CSV has them all, a row per attribute change.
	rows, err := csv.NewReader(strings.NewReader(c.get("/sync/pending.csv?kind=user").text())).ReadAll()
	if err != nil || len(rows) != 1+2*len(want) || rows[1][1] != scaleKey(1) || rows[len(rows)-1][1] != want[len(want)-1] {
		t.Errorf("the CSV: %d rows (%v), want a header and %d", len(rows), err, 2*len(want))
	}
	r := c.get("/sync/pending?after=" + url.QueryEscape("not a place"))
	wantStatus(t, r, http.StatusOK, "a bad page link")
	if notice := r.testid(t, "pending-notice"); !strings.Contains(notice, "the first page is shown") {
		t.Errorf("a bad page link: %q", notice)
	}
	if n := r.find(t, `[data-testid="pending-`+scaleKey(1)+`"]`).Length(); n != 1 {
		t.Error("a bad page link does not show the first page")
	}
}

// The sync errors' page is kept between views and read again once an error
// is recorded or resolved, whoever did it (here another process).
func TestErrorsPageFollowsTheStore(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fillUsers(t, e.st, 30, 5, 2)
	c := e.signedIn("helpdesk")
	count := func(path string) string {
		t.Helper()
		r := c.get(path)
		wantStatus(t, r, http.StatusOK, path)
		return strings.Join(strings.Fields(r.testid(t, "errors-count")), " ")
	}
	for range 2 {
		if got := count("/sync/errors"); got != "1–5 of 5" {
			t.Fatalf("after the first export: %q", got)
		}
	}
	if got := count("/sync/errors?text=" + url.QueryEscape("shared0003@")); got != "1–1 of 1 (of 5 open)" {
		t.Fatalf("filtered: %q", got)
	}
	ctx := context.Background()
	other := e.otherProcess()
	if err := other.ResolveSyncErrors(ctx, scaleKey(6), nil); err != nil { // shared0003's
		t.Fatal(err)
	}
	if got := count("/sync/errors"); got != "1–4 of 4" {
		t.Errorf("after another process resolved one: %q", got)
	}
	if got := count("/sync/errors?text=" + url.QueryEscape("shared0003@")); got != "No open sync error matches." {
		t.Errorf("the resolved one, filtered: %q", got)
	}
	if err := other.RecordSyncErrors(ctx, []store.SyncError{{Key: scaleKey(7), Kind: "user", Attribute: "userPrincipalName",
		Value: scaleUPN(7), Message: "Another object in the tenant already has this value."}}); err != nil {
		t.Fatal(err)
	}
	if got := count("/sync/errors"); got != "1–5 of 5" {
		t.Errorf("after another process recorded one: %q", got)
	}
}

// otherProcess opens the env's store a second time, as another process
// (`hybridsync sync`) does.
func (e *env) otherProcess() *store.Store {
	e.t.Helper()
	st, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(e.dataDir)})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	return st
}
