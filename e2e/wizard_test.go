package e2e

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"slices"
	"testing"

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

	// Every page whose capability is still to come says so and lets the
	// wizard move on; Optional features sits among them.
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
		if p.isComing(id) {
			p.visible("coming")
		} else { // a page that became real (Domain and OU filtering, …): its defaults
			p.ok(expectCount(p.id("coming"), 0), "%s is not marked coming and says nothing is to come", id)
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

	p.ok(expect.Locator(p.page.Locator(`[data-testid="job-status"] .badge`)).ToHaveText("succeeded"), "the job succeeds, live")
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
	// Prepare the sync database, the three tenant steps, Verify the AD DS
	// connector account of corp.example.test, Create the sync groups, Save
	// the active configuration.
	if !slices.Equal(steps, slices.Repeat([]string{"succeeded"}, 7)) {
		t.Errorf("step statuses: %v, want seven succeeded", steps)
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
