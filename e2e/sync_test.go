package e2e

import (
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"
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
	for _, st := range []string{"Import " + corp.Name, "Synchronize", "Export to Microsoft Entra ID"} {
		p.ok(expect.Locator(p.jobStep(st).Locator(".badge")).ToHaveText("succeeded", slow), "step %q succeeds, live", st)
	}
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "the cycle's page")
	p.shot("sync-cycle")

	p.open("/sync")
	p.visible("sync-decision")
	p.shot("sync")
	p.ok(p.id("field-q").Fill("tuser003"), "look up by sAMAccountName")
	p.ok(p.id("lookup").Click(), "find")
	p.expectContains("hit-0", "in scope")
	p.expectContains("hit-0", "synchronized")
	p.expectContains("hit-0", "in Microsoft Entra ID")
	p.shot("lookup")

	p.open("/sync/pending?kind=contact")
	p.visible("pending-count")
	p.shot("pending")
	s.expectNoErrors()
}
