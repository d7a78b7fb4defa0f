package e2e

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/mxschmitt/playwright-go"

	"github.com/hybridsync/hybridsync/engine/cloud"
)

// TestSyncCycleInTheBrowser configures corp over HTTP with the scheduler on,
// watches the first scheduled cycle import, sync and export live, then a
// helpdesk look-up shows a user's path from the forest to the tenant, and
// the staging review lists what is still pending.
func TestSyncCycleInTheBrowser(t *testing.T) {
	needBrowser(t)
	corp, _ := needForests(t)
	s := startServer(t, t.TempDir(), "--scheduler=true", "--schedule-check", "2s")
	p, c := signedInPage(t, s)
	c.driveWizard(map[string]url.Values{"directories": corpWithSvcSync(t), "ready": {"start_sync": {"on"}}})

	// The scheduler starts the first cycle at its first check after
	// Configure (every 2 s here; every minute by default).
	slow := playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(90_000)}
	row := p.id("sync-cycles").Locator("li").First()
	deadline := time.Now().Add(60 * time.Second)
	for {
		p.open("/sync")
		if n, _ := row.Count(); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no cycle started on schedule within 60 s of Configure")
		}
		time.Sleep(2 * time.Second)
	}
	p.ok(row.GetByRole("link").Click(), "open the cycle")
	for _, st := range []string{"Import " + corp.Name, "Synchronize"} {
		p.ok(expect.Locator(p.jobStep(st).Locator(".badge")).ToHaveText("succeeded", slow), "step %q succeeds, live", st)
	}
	// corp's contacts can't be written through Graph: said once, by the
	// first export.
	p.ok(expect.Locator(p.jobStep("Export to Microsoft Entra ID").Locator(".badge")).ToHaveText("succeeded with warnings", slow), "the export, live")
	p.ok(expect.Locator(p.page.Locator(`[data-testid="problem"][data-name="held-changes"]`)).ToBeVisible(), "the held contacts above the steps")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "the cycle's page")
	p.shot("sync-cycle")

	p.open("/sync")
	p.visible("sync-decision")
	// The run history: the cycle per connector and step, with its counts.
	hist := p.id("sync-cycles").Locator("li").First()
	p.ok(expect.Locator(hist.Locator(`[data-testid="run-step"][data-step="full import"][data-connector="`+corp.Name+`"]`)).ToBeVisible(), "the import of %s in the run history", corp.Name)
	exportAdds := hist.Locator(`[data-testid="run-step"][data-step="export"] [data-testid="step-adds"]`)
	p.ok(expect.Locator(exportAdds).ToHaveText(regexp.MustCompile(`^[1-9][0-9]*$`)), "the export's adds in the run history")
	p.shot("sync")
	p.ok(p.id("field-q").Fill("tuser003"), "look up by sAMAccountName")
	p.ok(p.id("lookup").Click(), "find")
	p.expectContains("hit-0", "in scope")
	p.expectContains("hit-0", "synchronized")
	p.expectContains("hit-0", "in Microsoft Entra ID")
	p.shot("lookup")

	p.open("/sync/pending?kind=contact&text=contact00")
	p.visible("pending-count")
	p.shot("pending")
	// More than a page: the next one, with the way back to the first.
	p.open("/sync/pending?kind=contact")
	p.click("pending-next")
	p.visible("pending-first")
	p.expectContains("pending-count", "50 are shown here, a page at a time")
	p.shot("pending-page-2")
	s.expectNoErrors()
}

// TestSyncSurvivesSIGKILLDuringExport kills the server with SIGKILL while a
// cycle exports to a tenant whose write budget makes the export take a while;
// after a restart the next cycle finishes the export with no duplicate
// creates and no lost change, and a third cycle has nothing left to add.
func TestSyncSurvivesSIGKILLDuringExport(t *testing.T) {
	needForests(t)
	tn := startTenant(t, testSeed(), "-budget", "100", "-window", "2s")
	s := startServer(t, t.TempDir(), tn.flags()...)
	c := s.newClient()
	c.firstRun(adminUser, adminPass)
	if st, err := c.waitJob(c.driveWizard(map[string]url.Values{"directories": corpWithSvcSync(t)})); err != nil || st != "succeeded-with-warnings" {
		t.Fatalf("configure: %s %v", st, err)
	}
	g := tn.Graph(t, entraAdmin, entraPassword)
	synced := func() []cloud.User {
		us, err := g.ListUsers(context.Background(), 999)
		if err != nil {
			t.Fatal(err)
		}
		var out []cloud.User
		for _, u := range us {
			if u.OnPremisesImmutableID != "" {
				out = append(out, u)
			}
		}
		return out
	}

	first := c.post("/sync/run", url.Values{})
	if !strings.HasPrefix(first.URL, "/jobs/") {
		t.Fatalf("run a cycle: %d at %s", first.Status, first.URL)
	}
	// Kill it once the export has created some users but not all.
	deadline := time.Now().Add(60 * time.Second)
	for len(synced()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the export created nobody within 60 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.kill()
	partial := len(synced())
	s.start()
	c.signIn(adminUser, adminPass)
	if st, err := c.waitJob(first.URL); err != nil || st != "interrupted" {
		t.Fatalf("the killed cycle is %q (%v), want interrupted", st, err)
	}
	// The killed export shows interrupted, in the Exports table and the run
	// history, with no more than what reached the tenant.
	page, err := goquery.NewDocumentFromReader(strings.NewReader(c.get("/sync").Body))
	if err != nil {
		t.Fatal(err)
	}
	run := page.Find(`[data-testid="export-runs"] tr[data-testid^="export-run-"]`).First()
	if adds, _ := strconv.Atoi(run.Find("td").Eq(2).Text()); run.AttrOr("data-status", "") != "interrupted" || adds > partial {
		t.Errorf("the killed export run: %q with %d adds, want interrupted with at most the %d users that reached the tenant", run.AttrOr("data-status", ""), adds, partial)
	}
	if step := page.Find(`[data-testid="sync-cycles"] tr[data-step="export"]`).First(); step.AttrOr("data-status", "") != "interrupted" {
		t.Errorf("the killed export in the run history: %q", step.AttrOr("data-status", ""))
	}

	second := c.post("/sync/run", url.Values{})
	// The held contacts are said by the first export that reaches them.
	if st, err := c.waitJobWithin(second.URL, 3*time.Minute); err != nil || st != "succeeded-with-warnings" {
		t.Fatalf("the cycle after the restart: %q %v", st, err)
	}
	users := synced()
	seen := map[string]bool{}
	for _, u := range users {
		if seen[u.OnPremisesImmutableID] || strings.Contains(u.UserPrincipalName, "+") {
			t.Errorf("a duplicate create: %s (%s)", u.UserPrincipalName, u.OnPremisesImmutableID)
		}
		seen[u.OnPremisesImmutableID] = true
	}
	if len(users) <= partial {
		t.Fatalf("%d synced users after the restart, %d when killed: the export did not finish", len(users), partial)
	}
	third := c.post("/sync/run", url.Values{})
	if st, err := c.waitJobWithin(third.URL, 3*time.Minute); err != nil || st != "succeeded" {
		t.Fatalf("the third cycle: %q %v", st, err)
	}
	if r := c.get(third.URL); !strings.Contains(r.Body, "Exported: 0 add(s)") {
		t.Errorf("the third cycle still added objects:\n%s", excerpt(r.Body))
	}
	if n := len(synced()); n != len(users) {
		t.Errorf("%d synced users after the third cycle, %d after the second", n, len(users))
	}
	t.Logf("killed with %d of %d users exported", partial, len(users))
}
