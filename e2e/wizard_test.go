package e2e

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

	"github.com/mxschmitt/playwright-go"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

const (
	adminUser = "alice"
	adminPass = "correct-horse-battery-9"
)

// TestSignInAndWizard is the one test that signs in through the UI: first run
// with the logged setup token, every page of the custom path, Configure, and
// the job's progress arriving live over SSE.
func TestSignInAndWizard(t *testing.T) {
	needBrowser(t)
	corp, _ := needForests(t)
	s := startServer(t, t.TempDir())
	p := newPage(t, s)

	// No account yet: every address leads to the first-run page.
	p.open("/")
	p.visible("firstrun-page")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/first-run$`)), "first-run address")
	p.shot("first-run")

	// A short password is refused, and what was typed stays.
	p.ok(p.id("field-token").Fill(s.setupToken()), "fill token")
	p.fill("username", adminUser)
	p.fill("display_name", "Alice Admin")
	p.fill("password", "too-short")
	p.fill("confirm", "too-short")
	p.click("create-admin")
	p.expectText("error-password", "Use at least 12 characters.")
	p.expectValue("username", adminUser)
	p.expectValue("display_name", "Alice Admin")
	p.shot("first-run-error")

	p.ok(p.id("field-token").Fill(s.setupToken()), "fill token")
	p.fill("password", adminPass)
	p.fill("confirm", adminPass)
	p.click("create-admin")

	// Signed in, on the wizard's first page.
	p.onPage("express")
	p.expectText("signed-in-as", "Alice Admin")
	p.ok(expect.Locator(p.id("express-settings")).ToBeDisabled(), "Use express settings is disabled")
	p.shot("express")
	s.expectLogged(`"first administrator created"`, func(e logEntry) bool {
		return e.Msg == "first administrator created" && e.Attrs["user"] == adminUser
	})
	// The first form posted after signing in through the UI (htmx-boosted
	// pages: the body's CSRF header must follow the new session).
	p.clickTo("customize", `[data-testid="page-components"]`)

	// Install required components: a custom location for the sync database
	// and custom sync groups.
	p.onPage("components")
	syncDir := filepath.Join(t.TempDir(), "syncdb")
	p.check("custom_location")
	p.fill("location", syncDir)
	p.check("custom_groups")
	p.expectValue("group_admins", "ADSyncAdmins") // the defaults are offered
	groups := map[string]string{"admins": "SyncAdmins", "operators": "SyncOperators", "browse": "SyncHelpdesk", "passwordset": "ADSyncPasswordSet"}
	for role, name := range groups {
		p.fill("group_"+role, name)
	}
	p.shot("components")
	p.click("next")

	// User sign-in: pass-through authentication with single sign-on.
	p.onPage("user-signin")
	p.ok(expect.Locator(p.id("field-method-password-hash-sync")).ToBeChecked(), "password hash sync is the default")
	p.ok(p.id("field-method-pass-through").Check(), "choose pass-through")
	p.check("sso")
	p.shot("user-signin")
	p.leave("user-signin")

	// Every page, with its defaults, lets the wizard move on; Optional
	// features sits among them.
	var visited []string
	for {
		id := p.currentWizardPage()
		visited = append(visited, id)
		if id == "ready" {
			break
		}
		if len(visited) > 20 {
			t.Fatalf("the wizard does not reach Ready to configure: %v", visited)
		}
		if id == "directories" {
			// Connect your directories needs a forest: corp, its DC found
			// through DNS, with an ordinary user as the existing account.
			p.fillForest(corp, "", "existing", `CORP\svc-sync`, forest.SvcSyncPassword)
			p.addForest(corp.Name)
			p.ok(expect.Locator(p.id("forest-"+corp.Name)).ToContainText(`CORP\svc-sync`), "corp is added with svc-sync")
			p.shot(id)
			p.click("next")
			p.ok(expect.Locator(p.id("page-"+id)).ToBeHidden(), "leave %s", id)
			continue
		}
		if id == "single-sign-on" {
			// Single sign-on needs a decision per forest: skip corp here (the
			// computer account's creation is tested in the handler tests).
			p.check("sso_skip:" + corp.Name)
			p.shot(id)
			p.click("next")
			p.ok(expect.Locator(p.id("page-"+id)).ToBeHidden(), "leave %s", id)
			continue
		}
		if id == "optional-features" {
			p.expectChecked("password_hash_sync", true)
			p.check("password_writeback")
			p.check("directory_extensions")
			p.check("app_attribute_filtering")
			p.shot(id)
			p.click("next")
			p.ok(expect.Locator(p.id("page-"+id)).ToBeHidden(), "leave %s", id)
			continue
		}
		if id == "app-filtering" {
			// No app at all is refused on the page; then two apps.
			for _, app := range setup.EntraAppList {
				p.ok(p.field(setup.AppField(app.ID)).Uncheck(), "clear %s", app.Label)
			}
			p.click("next")
			p.visible("error-apps")
			p.onPage(id)
			p.check(setup.AppField(setup.AppExchange))
			p.check(setup.AppField(setup.AppIntune))
			p.shot(id)
			p.click("next")
			p.ok(expect.Locator(p.id("page-"+id)).ToBeHidden(), "leave %s", id)
			continue
		}
		if id == "attribute-filtering" {
			// Clear department; userPrincipalName can't be cleared.
			p.ok(expect.Locator(p.field(setup.AttrField("userPrincipalName"))).ToBeDisabled(), "userPrincipalName can't be cleared")
			p.visible("required-userPrincipalName")
			p.ok(p.field(setup.AttrField("department")).Uncheck(), "clear department")
			p.shot(id)
			p.click("next")
			p.ok(expect.Locator(p.id("page-"+id)).ToBeHidden(), "leave %s", id)
			continue
		}
		if id == "connect-entra" {
			p.signInEntra(entraAdmin, entraPassword)
		}
		p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/setup/`+id+`$`)), "address of %s", id)
		p.shot(id)
		p.click("next")
		p.ok(expect.Locator(p.id("page-"+id)).ToBeHidden(), "leave %s", id)
	}
	want := []string{"connect-entra", "directories", "signin-configuration", "ou-filtering", "identifying-users",
		"group-filtering", "optional-features", "app-filtering", "attribute-filtering", "directory-extensions", "single-sign-on", "ready"}
	if !slices.Equal(visited, want) {
		t.Errorf("pages after User sign-in:\n got %v\nwant %v", visited, want)
	}

	// Ready to configure sums up every choice.
	p.onPage("ready")
	p.expectText("summary-Sign-in method", "Pass-through authentication")
	p.expectText("summary-Single sign-on", "Yes")
	p.expectText("summary-Database", "Embedded LocalDB (SQLite) at "+filepath.Join(syncDir, "hybridsync.db"))
	p.expectText("summary-Sync groups", "Administrators: SyncAdmins; Operators: SyncOperators; Browse: SyncHelpdesk; Password Reset: ADSyncPasswordSet")
	p.expectText("summary-Features", "Microsoft Entra app and attribute filtering, Password hash synchronization, Password writeback, Directory extension attribute sync")
	p.expectText("summary-Microsoft Entra apps", "Exchange Online, Intune")
	p.expectText("summary-Unsynchronized attributes", "1: department")
	p.expectText("summary-Staging mode", "No")
	p.check("staging")
	p.shot("ready")

	// Hold the sync database's write lock so that the job is still running
	// when its page opens: its progress must then arrive over SSE.
	lock := lockSQLite(t, syncDir)
	p.click("configure")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "Configure leads to the job")
	jobURL := p.page.URL()
	p.ok(expect.Locator(p.page.Locator(`[data-testid="job-status"] .badge`)).ToHaveText("running"), "the job runs")
	p.ok(expect.Locator(p.id("job-live")).ToHaveAttribute("sse-connect", regexp.MustCompile(`^/jobs/\d+/events`)), "the job page streams")
	p.shot("job-running")
	before, err := p.page.Locator("#job-log > li").Count()
	p.ok(err, "count log lines")
	// A marker that a reload would wipe out.
	_, err = p.page.Evaluate(`() => { window.__e2eNoReload = 42 }`)
	p.ok(err, "set the marker")
	lock.release()

	p.ok(expect.Locator(p.page.Locator(`[data-testid="job-status"] .badge`)).ToHaveText("succeeded with warnings"), "the job ends, live")
	p.visible("configured")
	p.ok(expect.Locator(p.page.Locator("#job-log > li")).Not().ToHaveCount(before), "log lines arrive")
	after, err := p.page.Locator("#job-log > li").Count()
	p.ok(err, "count log lines")
	if after <= before {
		t.Errorf("the event log has %d lines after the job ran, %d before: no line was appended", after, before)
	}
	p.ok(expect.Locator(p.page.Locator("#job-log")).ToContainText("is now active"), "the last step's line arrived")
	marker, err := p.page.Evaluate(`() => window.__e2eNoReload`)
	p.ok(err, "read the marker")
	if marker != 42 {
		t.Errorf("the job page was reloaded (marker %v): the progress must arrive without a reload", marker)
	}
	if p.page.URL() != jobURL {
		t.Errorf("the job page moved from %s to %s", jobURL, p.page.URL())
	}
	steps, err := p.page.Locator(`[data-testid="job-steps"] > li .badge`).AllTextContents()
	p.ok(err, "step badges")
	// Prepare the sync database, the three tenant steps (staging mode leaves
	// the tenant's features as they are; Graph lets only a Global
	// Administrator read them, which the Hybrid Identity Administrator is
	// not, and the switch-on step says so), Verify the AD DS connector account
	// of corp.example.test (svc-sync, an ordinary user, lacks the rights the
	// features need), Name the chosen options hybridsync can't carry out
	// (pass-through authentication, password hash sync, password writeback),
	// Create the sync groups, Save the active configuration.
	const ok, warned = "succeeded", "succeeded with warnings"
	if want := []string{ok, ok, warned, ok, warned, warned, ok, ok}; !slices.Equal(steps, want) {
		t.Errorf("step statuses:\n got %q\nwant %q", steps, want)
	}
	p.shot("job-succeeded")

	// The configuration view shows what was applied.
	p.ok(p.id("configured").GetByRole("link").Click(), "follow the link to the configuration")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/config$`)), "configuration address")
	p.visible("config-applied")
	p.expectContains("config-applied", "by alice")
	p.expectText("summary-Sign-in method", "Pass-through authentication")
	p.expectText("summary-Staging mode", "Yes")
	p.expectText("summary-Sync groups", "Administrators: SyncAdmins; Operators: SyncOperators; Browse: SyncHelpdesk; Password Reset: ADSyncPasswordSet")
	p.visible("export")
	p.shot("config")

	// The overview now offers to change the configuration.
	p.open("/")
	p.expectText("open-wizard", "Change the configuration")
	p.shot("overview")

	// Sign out, and back in through the sign-in form.
	p.clickTo("signout", `[data-testid="signin-page"]`)
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/signin$`)), "signed out")
	p.fill("username", adminUser)
	p.fill("password", "wrong-password-42")
	p.clickTo("signin", `[data-testid="signin-error"]`)
	p.expectText("signin-error", "The username or password is wrong.")
	p.expectValue("username", adminUser)
	p.shot("signin-error")
	p.fill("password", adminPass)
	p.clickTo("signin", `[data-testid="config-status"]`)
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`:\d+/$`)), "signed in, on the overview")
	// The wizard reopens on its last page, and its forms work in this new
	// session (a Back posts the page).
	p.ok(p.page.Locator("header.topbar nav").GetByRole("link", pwName("Setup")).Click(), "open Setup")
	p.onPage("ready")
	p.visible("rerun")
	p.clickTo("back", `[data-testid="page-single-sign-on"]`)
	p.onPage("single-sign-on")
	p.shot("wizard-after-sign-in")

	s.expectNoErrors()
}

// sqliteLock holds the write lock of a LocalDB.
type sqliteLock struct {
	t       *testing.T
	db      *sql.DB
	conn    *sql.Conn
	release func()
}

// lockSQLite creates an empty LocalDB (WAL mode, no tables: nobody's data) in
// dir and holds its write lock until release; readers are not blocked.
func lockSQLite(t *testing.T, dir string) *sqliteLock {
	t.Helper()
	ctx := context.Background()
	path := store.SQLitePath(dir)
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: path}) // creates it, in WAL mode
	if err != nil {
		t.Fatalf("create %s: %v", path, err)
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(1000)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatalf("lock %s: %v", path, err)
	}
	l := &sqliteLock{t: t, db: db, conn: conn}
	done := false
	l.release = func() {
		if done {
			return
		}
		done = true
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Errorf("unlock %s: %v", path, err)
		}
		conn.Close()
		db.Close()
	}
	t.Cleanup(l.release)
	return l
}

// historyLength is the number of entries in the tab's history.
func (p *bpage) historyLength() int {
	p.t.Helper()
	n, err := p.page.Evaluate(`() => history.length`)
	p.ok(err, "history length")
	return n.(int)
}

// wantHistory fails unless the tab's history holds n entries.
func (p *bpage) wantHistory(n int, after string) {
	p.t.Helper()
	if got := p.historyLength(); got != n {
		p.t.Errorf("after %s, %d history entries, want %d: a submit that shows the same page must not add one", after, got, n)
	}
}

// noOverflow fails if a table of the page is wider than its panel, or the
// page scrolls sideways.
func (p *bpage) noOverflow(where string) {
	p.t.Helper()
	over, err := p.page.Evaluate(`() => {
		const out = [];
		for (const t of document.querySelectorAll('main table')) {
			const box = t.parentElement.closest('.panel, fieldset, #wizard-page, main').getBoundingClientRect();
			const r = t.getBoundingClientRect();
			if (r.right > box.right + 1 || t.scrollWidth > t.clientWidth + 1) out.push(t.dataset.testid || t.className || 'table');
		}
		if (document.documentElement.scrollWidth > window.innerWidth) out.push('the page scrolls sideways');
		return out.join(', ');
	}`)
	p.ok(err, "measure the tables")
	if over != "" {
		p.shot("overflow-" + where)
		p.t.Errorf("%s: wider than its panel: %s", where, over)
	}
}

// TestWizardPagesAnAdminReads walks the pages as an admin reads them: Back
// leaves a page in one press however often it was submitted, the forests
// table fits its panel at 1280 px, Show sample values works for
// userPrincipalName, each option hybridsync can't do in full says so at the
// choice, and with AD FS Ready says why Configure is not offered.
func TestWizardPagesAnAdminReads(t *testing.T) {
	needBrowser(t)
	corp, fab := needForests(t)
	s := startServer(t, t.TempDir())
	p, _ := signedInPage(t, s)
	p.open("/setup")
	p.clickTo("customize", `[data-testid="page-components"]`)
	p.onPage("components")
	start := p.historyLength()

	// Install required components: errors twice, then fixed. The errors add
	// no history entry; Next adds one.
	p.check("custom_groups")
	p.fill("group_admins", `CONTOSO\Admins`)
	for range 2 {
		// The error of the first submit must not pass for the second's: a
		// slow second answer would otherwise swap the page back after the
		// field below is fixed.
		_, err := p.page.Evaluate(`() => document.querySelectorAll('[data-testid^="error-"]').forEach(e => e.remove())`)
		p.ok(err, "clear the old errors")
		p.click("next")
		p.visible("error-group_admins")
	}
	p.onPage("components")
	p.wantHistory(start, "two submits with errors")
	p.expectContains("page-error", "A password you typed is kept encrypted and never shown again")
	p.fill("group_admins", "SyncAdmins")
	p.click("next")
	p.onPage("user-signin")
	p.wantHistory(start+1, "Next")

	// User sign-in: what hybridsync does and can't do, at each choice.
	for _, id := range []string{"limit-phs", "limit-pta", "limit-sso"} {
		p.visible(id)
	}
	p.check("sso")
	p.shot("user-signin")
	p.click("next")

	// Connect to Microsoft Entra ID: signing in stays on the page, in place.
	p.onPage("connect-entra")
	at := p.historyLength()
	p.signInEntra(entraAdmin, entraPassword)
	p.wantHistory(at, "Sign in")
	p.noOverflow("connect-entra")
	p.click("next")

	// Connect your directories: a refused password, then two forests and a
	// Remove, all in one history entry; Back leaves the page in one press.
	p.onPage("directories")
	at = p.historyLength()
	p.fillForest(corp, "", "existing", `CORP\svc-sync`, "not-the-password")
	p.click("add-forest")
	p.visible("page-error")
	p.expectContains("page-error", "Passwords are never kept: enter the password again.")
	p.ok(expectCount(p.page.GetByText("Nothing you entered was lost."), 0), "no 'nothing lost' above a cleared password")
	p.fillForest(corp, "", "existing", `CORP\svc-sync`, forest.SvcSyncPassword)
	p.addForest(corp.Name)
	p.fillForest(fab, fab.IP+":636", "existing", forest.LayoutOf(fab).SvcSyncUPN, forest.SvcSyncPassword)
	p.addForest(fab.Name)
	p.noOverflow("directories")
	p.shot("directories")
	p.clickTo("remove-"+fab.Name, `[data-testid="page-directories"]`)
	p.ok(expectCount(p.id("forest-"+fab.Name), 0), "fabrikam removed")
	p.wantHistory(at, "a refused Add directory, two added and a Remove")
	_, err := p.page.GoBack()
	p.ok(err, "browser Back")
	p.onPage("connect-entra")
	p.click("next")
	p.onPage("directories")
	p.click("next")

	// Microsoft Entra sign-in configuration: sample values of the default,
	// userPrincipalName.
	p.onPage("signin-configuration")
	at = p.historyLength()
	p.click("show-samples")
	p.ok(expect.Locator(p.page.Locator(`[data-testid="samples"] h3`)).ToHaveText("Sample values of userPrincipalName"), "samples of userPrincipalName")
	p.ok(expect.Locator(p.page.Locator(`[data-testid="sample-value"]`).First()).ToContainText("@"), "a sample value is an address")
	p.ok(expectCount(p.page.Locator(`#attribute option[value="msFVE-RecoveryPassword"]`), 0), "msFVE-RecoveryPassword is not offered")
	p.wantHistory(at, "Show sample values")
	p.noOverflow("signin-configuration")
	p.shot("signin-configuration")

	// On to Optional features: each writeback says what it does, the legacy
	// sync warning stands once even with errors.
	for id := p.currentWizardPage(); id != "optional-features"; id = p.currentWizardPage() {
		p.noOverflow(id)
		p.leave(id)
	}
	// Only corp is left, and its schema has no Exchange: the Exchange
	// features and group writeback can't be chosen, and say why.
	why := "Not available: it needs Exchange in your on-premises Active Directory, and the schema of corp.example.test has no Exchange attributes."
	for _, field := range []string{"group_writeback", "exchange_hybrid", "exchange_public_folders"} {
		p.ok(expect.Locator(p.id("field-"+field)).ToBeDisabled(), "%s is disabled", field)
		label := p.page.Locator("label.choice").Filter(playwright.LocatorFilterOptions{Has: p.id("field-" + field)})
		p.ok(expect.Locator(label).ToContainText(why), "%s says why it is disabled", field)
	}
	p.check("legacy_sync_active")
	p.check("password_writeback")
	p.check("device_writeback")
	p.click("next")
	p.visible("error-password_writeback")
	p.ok(expectCount(p.page.GetByText(setup.MsgLegacyWriteback, playwright.PageGetByTextOptions{Exact: playwright.Bool(false)}), 1), "the legacy sync warning once")
	for _, id := range []string{"limit-phs", "limit-password-writeback", "limit-group-writeback", "limit-device-writeback", "limit-exchange-hybrid"} {
		p.visible(id)
	}
	p.shot("optional-features-errors")
	p.ok(p.field("legacy_sync_active").Uncheck(), "Azure AD Sync is not active")
	p.check("app_attribute_filtering")
	p.check("directory_extensions")
	p.click("next")
	for id := p.currentWizardPage(); id != "single-sign-on"; id = p.currentWizardPage() {
		p.noOverflow(id)
		p.shot(id)
		p.leave(id)
	}

	// Single sign-on: skip corp.
	p.onPage("single-sign-on")
	p.visible("limit-sso")
	p.noOverflow("single-sign-on")
	p.check("sso_skip:" + corp.Name)
	p.shot("single-sign-on")
	p.click("next")

	// Ready: the notes under each page's summary, Configure offered.
	p.onPage("ready")
	p.visible("configure")
	p.visible("ready-limit-phs")
	p.visible("ready-limit-sso")
	p.noOverflow("ready")
	p.shot("ready")

	// AD FS with single sign-on ticked: cleared, with a note; the AD FS
	// pages join the steps (TestFederationWithADFS walks them).
	p.ok(p.id("step-user-signin").Click(), "open User sign-in")
	p.onPage("user-signin")
	p.ok(p.id("field-method-federation-adfs").Check(), "choose AD FS")
	p.click("next")
	p.onPage("connect-entra")
	p.ok(p.id("step-user-signin").Click(), "open User sign-in again")
	p.onPage("user-signin")
	p.expectChecked("sso", false)
	p.ok(expect.Locator(p.page.GetByText(setup.MsgSSOCleared)).ToBeVisible(), "the note that single sign-on was cleared")
	p.shot("user-signin-adfs")
	for _, id := range []string{"adfs-farm", "adfs-servers", "adfs-proxies", "adfs-service-account", "adfs-domain"} {
		p.visible("step-" + id)
	}
	s.expectNoErrors()
}
