package e2e

import (
	"bytes"
	"encoding/base64"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/mxschmitt/playwright-go"

	"github.com/hybridsync/hybridsync/e2e/forest"
)

// msgAdminNotAllowed is the wizard's exact text for an existing account that
// is an Enterprise or Domain Admin.
const msgAdminNotAllowed = "Using an Enterprise or Domain administrator account for your AD forest account is not allowed. " +
	"Let hybridsync create the account for you or specify a synchronization account with the correct permissions."

// fillForest fills the Add directory form of Connect your directories: f over
// LDAPS, its test CA pasted, through host ("" finds a DC through DNS), with
// account "create" or "existing".
func (p *bpage) fillForest(f *forest.Forest, host, account, user, password string) {
	p.t.Helper()
	p.fill("forest", f.Name)
	p.fill("host", host)
	p.ok(p.id("field-security-ldaps").Check(), "choose LDAPS")
	p.fill("ca_pem", caPEM(p.t, f))
	p.ok(p.id("field-account-"+account).Check(), "choose the %s account", account)
	p.fill("user", user)
	p.fill("password", password)
}

// addForest submits the Add directory form and waits for the forest's row.
func (p *bpage) addForest(name string) {
	p.t.Helper()
	// The errors of an earlier try must not pass for this one's.
	_, err := p.page.Evaluate(`() => document.querySelectorAll('[data-testid^="error-"], [data-testid="page-error"]').forEach(e => e.remove())`)
	p.ok(err, "clear the old errors")
	p.click("add-forest")
	either := p.page.Locator(`[data-testid="forest-` + name + `"], [data-testid="error-add"], [data-testid^="error-"]`).First()
	p.ok(either.WaitFor(), "after Add directory, neither the row of %s nor an error", name)
	if n, _ := p.id("forest-" + name).Count(); n == 0 {
		errs, _ := p.page.Locator(`[data-testid^="error-"], [data-testid="page-error"]`).AllInnerTexts()
		p.shot("error-adding-" + name)
		p.t.Fatalf("adding %s on Connect your directories failed: %q", name, errs)
	}
}

// jobStep is the step of the job page with this exact name.
func (p *bpage) jobStep(name string) playwright.Locator {
	return p.page.Locator(`[data-testid="job-steps"] > li`).Filter(playwright.LocatorFilterOptions{
		Has: p.page.Locator(".name", playwright.PageLocatorOptions{HasText: regexp.MustCompile(`^\s*` + regexp.QuoteMeta(name) + `\s*$`)}),
	})
}

// TestConnectDirectories adds two forests on Connect your directories — corp
// found through DNS with a new connector account created by Configure,
// fabrikam through an explicit DC with an existing account (after an admin
// account is refused) — and configures them; then no password typed in the
// browser may be found in the server's database or log.
func TestConnectDirectories(t *testing.T) {
	needBrowser(t)
	corp, fab := needForests(t)
	s := startServer(t, t.TempDir())
	p := newPage(t, s)

	// The first administrator, created in the browser.
	const consolePass = "Console-Pa55word-e2e-7731"
	p.open("/")
	p.visible("firstrun-page")
	p.ok(p.id("field-token").Fill(s.setupToken()), "fill token")
	p.fill("username", adminUser)
	p.fill("display_name", "Alice Admin")
	p.fill("password", consolePass)
	p.fill("confirm", consolePass)
	p.click("create-admin")
	p.onPage("express")
	p.shot("express")
	p.click("customize")

	// A custom location for the sync database, whose write lock the test
	// holds so that the job is still running when its page opens.
	p.onPage("components")
	syncDir := filepath.Join(t.TempDir(), "syncdb")
	p.check("custom_location")
	p.fill("location", syncDir)
	p.shot("components")
	p.click("next")
	p.onPage("user-signin")
	p.shot("user-signin")
	p.click("next")
	p.onPage("connect-entra")
	p.shot("connect-entra")
	p.signInEntra(entraAdmin, entraPassword)
	p.click("next")

	// Connect your directories: nothing added yet.
	p.onPage("directories")
	p.ok(expectCount(p.id("forests"), 0), "no forests yet")
	p.ok(expect.Locator(p.id("field-security-ldaps")).ToBeChecked(), "LDAPS is the default")
	p.ok(expect.Locator(p.id("field-account-create")).ToBeChecked(), "Create new account is the default")
	p.shot("directories-empty")
	// Next without a forest is refused.
	p.click("next")
	p.expectText("page-error", "Add at least one directory: hybridsync needs a forest to synchronize.")
	p.onPage("directories")

	// corp.example.test, its DC found through DNS, with an enterprise admin
	// that Configure uses to create the connector account.
	p.fillForest(corp, "", "create", `CORP\Administrator`, forest.AdminPassword)
	p.shot("corp-typed")
	p.addForest(corp.Name)
	corpRow := p.id("forest-" + corp.Name)
	p.ok(expect.Locator(corpRow).ToContainText("dc-corp.corp.example.test:636"), "corp's DC was found through DNS")
	p.ok(expect.Locator(corpRow.GetByTestId("create-pending")).ToHaveText("A new account is created when you select Configure."), "corp's account is still to create")
	p.ok(expect.Locator(corpRow).ToContainText("corp.example.test (CORP)"), "corp's domain")
	p.ok(expect.Locator(corpRow).ToContainText("Not present"), "no Exchange schema in corp")
	// The form is empty again, the password above all.
	p.expectValue("forest", "")
	p.expectValue("user", "")
	p.expectValue("password", "")
	p.shot("corp-added")

	// fabrikam.example.test through an explicit DC, with an existing account
	// that is a Domain Admin through a nested group: refused.
	p.fillForest(fab, "127.0.0.33:636", "existing", `FABRIKAM\nested-admin`, forest.NestedAdminPassword)
	p.click("add-forest")
	p.expectText("error-add", msgAdminNotAllowed)
	p.onPage("directories")
	p.expectValue("forest", fab.Name)
	p.expectValue("host", "127.0.0.33:636")
	p.expectValue("user", `FABRIKAM\nested-admin`)
	p.ok(expect.Locator(p.id("field-account-existing")).ToBeChecked(), "Use existing account is kept")
	p.ok(expect.Locator(p.id("field-security-ldaps")).ToBeChecked(), "LDAPS is kept")
	p.expectValue("ca_pem", strings.TrimSpace(caPEM(t, fab)))
	p.expectValue("password", "") // never sent back
	p.ok(expectCount(p.page.Locator(`[data-testid="forests"] tbody > tr`), 1), "only corp is added")
	p.shot("nested-admin-refused")

	// The same form with an ordinary user (DOMAIN\user form) is accepted.
	p.fill("user", `FABRIKAM\svc-sync`)
	p.fill("password", forest.SvcSyncPassword)
	p.addForest(fab.Name)
	fabRow := p.id("forest-" + fab.Name)
	p.ok(expect.Locator(fabRow).ToContainText("127.0.0.33:636"), "fabrikam's DC")
	p.ok(expect.Locator(fabRow).ToContainText(`FABRIKAM\svc-sync`), "fabrikam's account")
	p.ok(expect.Locator(fabRow).ToContainText("Existing account"), "fabrikam's account is an existing one")
	p.ok(expect.Locator(fabRow).ToContainText("fabrikam.example.test (FABRIKAM)"), "fabrikam's domain")
	p.ok(expectCount(p.page.Locator(`[data-testid="forests"] tbody > tr`), 2), "two forests")
	p.ok(expect.Locator(fabRow).ToContainText("Exchange schema: Present"), "fabrikam's schema has Exchange")
	p.ok(expectCount(p.id("error-add"), 0), "no error left")
	p.shot("two-forests")
	p.leave("directories")

	// The pages up to Optional features, with their defaults.
	for i := 0; ; i++ {
		id := p.currentWizardPage()
		if id == "optional-features" {
			break
		}
		if i > 10 || id == "ready" {
			t.Fatalf("the wizard did not reach Optional features (at %s)", id)
		}
		if id == "ou-filtering" { // both forests are read, fabrikam through its explicit DC
			for _, f := range []string{corp.Name, fab.Name} {
				p.visible("tree-" + f)
				p.ok(expectCount(p.id("unreachable-"+f), 0), "%s is reachable", f)
			}
		}
		p.shot(id)
		p.click("next")
		p.ok(expect.Locator(p.id("page-"+id)).ToBeHidden(), "leave %s", id)
	}

	// Optional features: fabrikam's schema has Exchange and corp's has not.
	// Group writeback writes into one forest with Exchange, so it can be
	// chosen; the Exchange features need it in every forest, and say why not.
	p.onPage("optional-features")
	p.ok(expect.Locator(p.id("field-group_writeback")).ToBeEnabled(), "group writeback is offered")
	why := "Not available: it needs Exchange in your on-premises Active Directory, and the schema of corp.example.test has no Exchange attributes."
	for _, field := range []string{"exchange_hybrid", "exchange_public_folders"} {
		p.ok(expect.Locator(p.id("field-"+field)).ToBeDisabled(), "%s is disabled", field)
		label := p.page.Locator("label.choice").Filter(playwright.LocatorFilterOptions{Has: p.id("field-" + field)})
		p.ok(expect.Locator(label).ToContainText(why), "%s says why it is disabled", field)
	}
	p.ok(expect.Locator(p.id("field-password_writeback")).ToBeEnabled(), "password writeback is offered")
	p.shot("optional-features")
	p.leave("optional-features")

	// On to Ready to configure, which lists both forests.
	for i := 0; p.currentWizardPage() != "ready"; i++ {
		if i > 10 {
			t.Fatal("the wizard does not reach Ready to configure")
		}
		id := p.currentWizardPage()
		p.shot(id)
		p.click("next")
		p.ok(expect.Locator(p.id("page-"+id)).ToBeHidden(), "leave %s", id)
	}
	p.onPage("ready")
	p.expectText("summary-"+corp.Name, "through dc-corp.corp.example.test:636 over LDAPS, as a new account, created by Configure")
	p.expectText("summary-"+fab.Name, `through 127.0.0.33:636 over LDAPS, as FABRIKAM\svc-sync (existing account)`)
	p.shot("ready")

	// Configure: the job's steps arrive live over SSE.
	lock := lockSQLite(t, syncDir)
	p.click("configure")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "Configure leads to the job")
	p.ok(expect.Locator(p.page.Locator(`[data-testid="job-status"] .badge`)).ToHaveText("running"), "the job runs")
	p.ok(expect.Locator(p.id("job-live")).ToHaveAttribute("sse-connect", regexp.MustCompile(`^/jobs/\d+/events`)), "the job page streams")
	createStep := "Create the AD DS connector account in " + corp.Name
	verifyStep := "Verify the AD DS connector account of " + fab.Name
	names, err := p.page.Locator(`[data-testid="job-steps"] > li .name`).AllInnerTexts()
	p.ok(err, "step names")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	wantSteps := []string{"Prepare the sync database", "Create the sync service account in Microsoft Entra ID", "Switch on directory synchronization in Microsoft Entra ID", "Record the tenant",
		createStep, verifyStep, "Name the chosen options hybridsync can't carry out", "Create the sync groups", "Save the active configuration"}
	if !slices.Equal(names, wantSteps) {
		t.Errorf("job steps:\n got %q\nwant %q", names, wantSteps)
	}
	for _, st := range []string{createStep, verifyStep} {
		p.ok(expect.Locator(p.jobStep(st).Locator(".badge")).Not().ToHaveText("succeeded"), "%s has not run yet", st)
	}
	p.shot("job-running")
	_, err = p.page.Evaluate(`() => { window.__e2eNoReload = 42 }`)
	p.ok(err, "set the marker")
	lock.release()

	// The account Configure creates gets every right the features need;
	// fabrikam's svc-sync is an ordinary user without them, and password hash
	// synchronization (the default) can't upload hashes: warnings.
	slow := playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(45_000)}
	for st, want := range map[string]string{createStep: "succeeded", verifyStep: "succeeded with warnings"} {
		p.ok(expect.Locator(p.jobStep(st).Locator(".badge")).ToHaveText(want, slow), "step %q ends %s, live", st, want)
	}
	p.ok(expect.Locator(p.page.Locator(`[data-testid="job-status"] .badge`)).ToHaveText("succeeded with warnings", slow), "the job ends, live")
	marker, err := p.page.Evaluate(`() => window.__e2eNoReload`)
	p.ok(err, "read the marker")
	if marker != 42 {
		t.Errorf("the job page was reloaded (marker %v): the progress must arrive without a reload", marker)
	}
	p.ok(expect.Locator(p.page.Locator("#job-log")).ToContainText(`Created the AD DS connector account CORP\hybridsync-`), "the log names the new account")
	p.shot("job-succeeded")

	// The active configuration names the account Configure created.
	p.open("/config")
	p.ok(expect.Locator(p.id("summary-"+corp.Name)).ToHaveText(
		regexp.MustCompile(`^through dc-corp\.corp\.example\.test:636 over LDAPS, as hybridsync-[a-z0-9]{6}@corp\.example\.test \(created by hybridsync\)$`)),
		"corp's new connector account")
	p.shot("config")
	p.close()

	// No password typed in the browser is in the database or the log: not
	// while the server runs, not after it stopped.
	secrets := map[string]string{
		"Administrator's password": forest.AdminPassword,
		"svc-sync's password":      forest.SvcSyncPassword,
		"nested-admin's password":  forest.NestedAdminPassword,
		"the console password":     consolePass,
	}
	expectNoSecrets(t, s, []string{s.dataDir, syncDir}, secrets)
	s.expectNoErrors()
	s.stop()
	expectNoSecrets(t, s, []string{s.dataDir, syncDir}, secrets)
}

// expectNoSecrets fails the test if any secret appears, in any of the forms
// it could be written in, in the SQLite files (database, -wal, -shm) in dirs
// or in the server's log.
func expectNoSecrets(t *testing.T, s *server, dirs []string, secrets map[string]string) {
	t.Helper()
	type blob struct {
		name string
		data []byte
	}
	var blobs []blob
	for _, dir := range dirs {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			path := filepath.Join(dir, "hybridsync.db"+suffix)
			b, err := os.ReadFile(path)
			if os.IsNotExist(err) {
				if suffix == "" {
					t.Errorf("no database at %s", path)
				}
				continue
			}
			if err != nil {
				t.Fatalf("read %s: %v", path, err)
			}
			blobs = append(blobs, blob{path, b})
		}
	}
	log := strings.Join(s.logs.snapshot(), "\n")
	if !strings.Contains(log, `"msg":"stopped"`) && s.cmd == nil {
		t.Errorf("the log is not complete: no %q line after the server stopped", "stopped")
	}
	blobs = append(blobs, blob{"the server's log", []byte(log)})
	for what, secret := range secrets {
		forms := map[string][]byte{
			"as typed":    []byte(secret),
			"URL-encoded": []byte(url.QueryEscape(secret)),
			"base64":      []byte(base64.StdEncoding.EncodeToString([]byte(secret))),
			"UTF-16LE":    utf16le(secret),
		}
		for _, b := range blobs {
			for form, needle := range forms {
				if bytes.Contains(b.data, needle) {
					t.Errorf("%s is in %s (%s, %d bytes searched)", what, b.name, form, len(b.data))
				}
			}
		}
	}
	t.Logf("searched %d files and the log (%d lines) for %d passwords", len(blobs)-1, len(s.logs.snapshot()), len(secrets))
}

func utf16le(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}
