package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mxschmitt/playwright-go"
)

// TestImportExportedSettings: the settings file one server exports is
// imported on another's Install required components, and pre-fills its pages.
func TestImportExportedSettings(t *testing.T) {
	needBrowser(t)
	needForests(t)

	// Server A: configured over HTTP, then exported.
	a := startServer(t, t.TempDir())
	ca := a.newClient()
	ca.firstRun(adminUser, adminPass)
	job := ca.driveWizard(map[string]url.Values{
		"components": {"custom_groups": {"on"}, "group_admins": {"HSAdmins"}, "group_operators": {"HSOperators"},
			"group_browse": {"HSHelpdesk"}, "group_passwordset": {"HSPasswords"}},
		"user-signin":       {"method": {"pass-through"}, "sso": {"on"}},
		"directories":       corpWithSvcSync(t),
		"optional-features": {"password_writeback": {"on"}},
		"single-sign-on":    {"sso_skip:corp.example.test": {"on"}},
		"ready":             {"staging": {"on"}, "start_sync": {"on"}},
	})
	// Pass-through authentication and password writeback can't be carried
	// out by hybridsync: applied, with warnings that say so.
	if st, err := ca.waitJob(job); err != nil || st != "succeeded-with-warnings" {
		t.Fatalf("%s on the first server is %q (%v)", job, st, err)
	}
	exp := ca.get("/config/export")
	if exp.Status != http.StatusOK || !strings.HasPrefix(exp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /config/export: %d %s", exp.Status, exp.Header.Get("Content-Type"))
	}
	if !strings.Contains(exp.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("the export is not a download: Content-Disposition %q", exp.Header.Get("Content-Disposition"))
	}
	if !json.Valid([]byte(exp.Body)) {
		t.Fatalf("the export is not JSON:\n%s", excerpt(exp.Body))
	}
	a.stop()

	// Server B: a fresh console imports the file.
	b := startServer(t, t.TempDir())
	p, _ := signedInPage(t, b)
	p.open("/setup")
	p.click("customize")
	p.onPage("components")
	p.check("import_settings")
	p.ok(p.id("field-settings_file").SetInputFiles([]playwright.InputFile{{
		Name: "hybridsync-settings.json", MimeType: "application/json", Buffer: []byte(exp.Body),
	}}), "choose the settings file")
	p.shot("import")
	p.click("next")

	// User sign-in is pre-filled with the exported method.
	p.onPage("user-signin")
	p.ok(expect.Locator(p.id("field-method-pass-through")).ToBeChecked(), "the imported sign-in method")
	p.expectChecked("sso", true)
	p.shot("user-signin-imported")

	// Back on Install required components: the import is recorded, with the
	// exported group names.
	p.click("back")
	p.onPage("components")
	p.visible("imported")
	p.expectContains("imported", "hybridsync-settings.json")
	p.expectContains("imported", "by alice")
	p.expectChecked("custom_groups", true)
	p.expectValue("group_admins", "HSAdmins")
	p.expectValue("group_browse", "HSHelpdesk")
	p.shot("imported")
	b.expectNoErrors()
	a.expectNoErrors()
}
