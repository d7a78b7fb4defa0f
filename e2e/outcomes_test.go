package e2e

import (
	"context"
	"regexp"
	"testing"

	"github.com/mxschmitt/playwright-go"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/cloud"
)

// TestOutcomesTellTheTruth walks the wizard in the browser with password
// hash synchronization and single sign-on on, signed in as the Hybrid
// Identity Administrator, with an existing connector account that lacks
// rights: Configure ends "succeeded with warnings" with those warnings
// above its steps. A cycle with a duplicate userPrincipalName ends
// "completed with errors": the error is paged and names its holder, and the
// Overview shows all of it.
func TestOutcomesTellTheTruth(t *testing.T) {
	needBrowser(t)
	corp, _ := needForests(t)
	s := startServer(t, t.TempDir())
	p, _ := signedInPage(t, s)
	slow := playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(180_000)}

	p.open("/setup")
	p.clickTo("customize", `[data-testid="page-components"]`)
	p.click("next")
	p.onPage("user-signin")
	p.ok(p.id("field-method-password-hash-sync").Check(), "password hash synchronization")
	p.check("sso")
	p.visible("limit-phs")
	p.visible("limit-sso")
	p.click("next")
	p.onPage("connect-entra")
	p.signInEntra(entraAdmin, entraPassword) // a Hybrid Identity Administrator, not a Global Administrator
	p.click("next")
	p.onPage("directories")
	p.fillForest(corp, "", "existing", `CORP\svc-sync`, forest.SvcSyncPassword) // a plain user: it lacks the replication rights
	p.addForest(corp.Name)
	p.click("next")
	for id := p.currentWizardPage(); id != "single-sign-on"; id = p.currentWizardPage() {
		p.leave(id)
	}
	p.fill("sso_user:"+corp.Name, corp.AdminUPN)
	p.fill("sso_password:"+corp.Name, corp.AdminPassword)
	p.click("sso-creds-" + corp.Name)
	p.visible("sso-entered-" + corp.Name)
	p.click("next")
	p.onPage("ready")
	p.click("configure")

	// Configure: applied, with its warnings above the steps, each with what
	// to do.
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "the Configure job's page")
	p.ok(expect.Locator(p.page.Locator(`[data-testid="job-status"] .badge`)).ToHaveText("succeeded with warnings", slow), "Configure succeeded with warnings")
	for _, name := range []string{"features-refused", "rights-missing/" + corp.Name, "limit/phs", "limit/sso"} {
		w := p.page.Locator(`[data-testid="problems"] [data-testid="problem"][data-name="` + name + `"]`)
		p.ok(expect.Locator(w).ToHaveCount(1), "the warning %s, once", name)
		p.ok(expect.Locator(w.GetByTestId("problem-action")).ToBeVisible(), "what to do about %s", name)
	}
	top, err := p.page.Evaluate(`() => {
		const ps = document.querySelector('[data-testid="problems"]'), steps = document.querySelector('[data-testid="job-steps"]');
		return !!(ps && steps && (ps.compareDocumentPosition(steps) & Node.DOCUMENT_POSITION_FOLLOWING));
	}`)
	p.ok(err, "where the warnings are")
	if top != true {
		t.Error("the warnings are not above the steps")
	}
	p.visible("configured")
	p.noOverflow("configure")
	p.shot("configure-with-warnings")

	// A cloud user synchronized from elsewhere holds tuser007's
	// userPrincipalName: no soft match, a conflict.
	const upn = "tuser007@corp.example.test"
	ctx := context.Background()
	g := s.tenant.Graph(t, entraAdmin, entraPassword)
	if _, err := g.CreateUser(ctx, cloud.User{AccountEnabled: cloud.Bool(true), DisplayName: "Cloud Holder", MailNickname: "cloudholder", UserPrincipalName: upn,
		OnPremisesImmutableID: "aG9sZGVyLWZyb20tZWxzZXdoZXJl", PasswordProfile: &cloud.PasswordProfile{Password: "Holder-Passw0rd!"}}); err != nil {
		t.Fatal(err)
	}

	p.open("/sync")
	p.click("sync-run")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "the cycle's page")
	p.ok(expect.Locator(p.page.Locator(`[data-testid="job-status"] .badge`)).ToHaveText("completed with errors", slow), "the cycle completed with errors")
	p.visible("problems")
	p.ok(expect.Locator(p.page.Locator(`[data-testid="problem"][data-name="sync-errors"]`)).ToContainText("1 sync error(s) are open"), "the sync error above the steps")
	p.shot("cycle-completed-with-errors")

	// The sync errors, paged, the holder named and linked to its lookup.
	p.open("/sync/errors")
	p.expectContains("errors-count", "1–1 of 1")
	holder := p.page.Locator(`[data-testid="sync-error-row"] [data-testid="holder-link"]`)
	p.ok(expect.Locator(holder).ToHaveText(upn), "the holder is named")
	p.noOverflow("sync-errors")
	p.shot("sync-errors")
	p.ok(holder.Click(), "open the holder's lookup")
	p.ok(expect.Locator(p.id("cloud-only-0")).ToContainText(upn), "the holder, found in the tenant")
	p.ok(expect.Locator(p.id("cloud-only-verdict")).ToContainText("In Microsoft Entra ID"), "the holder's verdict")

	// The Overview: what needs attention, and why.
	p.open("/")
	p.ok(expect.Locator(p.page.Locator(`[data-testid="health"][data-health="attention"]`)).ToBeVisible(), "sync needs attention")
	p.expectContains("health", "1 sync error(s) are open.")
	p.ok(expect.Locator(p.page.Locator(`[data-testid="last-cycle-status"] .badge`)).ToHaveText("completed with errors"), "the last cycle")
	p.expectContains("sync-error-count", "1 open sync error(s)")
	p.expectContains("scheduler-state", "The scheduler is off on this server")
	for _, l := range []string{"phs", "sso"} {
		p.ok(expect.Locator(p.page.Locator(`[data-testid="limit"][data-limit="`+l+`"]`)).ToBeVisible(), "the limitation %s", l)
	}
	p.ok(expect.Locator(p.page.Locator(`[data-testid="condition"][data-name="consistencyguid-refused/`+corp.Name+`"]`)).ToBeVisible(), "the refused ms-DS-ConsistencyGuid, until fixed")
	p.visible("tenant-features")
	p.noOverflow("overview")
	p.shot("overview")
	p.open("/sync")
	p.noOverflow("sync")
	p.shot("sync-page")
	s.expectNoErrors()
}
