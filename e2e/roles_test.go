package e2e

import (
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBrowseUserIsReadOnly: a Browse-only account sees the configuration and
// the jobs, and nothing that changes them.
func TestBrowseUserIsReadOnly(t *testing.T) {
	needBrowser(t)
	needForests(t)
	s := startServer(t, t.TempDir())
	admin := s.newClient()
	admin.firstRun(adminUser, adminPass)

	// A first configure is cut short: the server dies while the job runs
	// (held by the sync database's lock), so the job ends up interrupted.
	syncDir := filepath.Join(t.TempDir(), "syncdb")
	lock := lockSQLite(t, syncDir)
	job1 := admin.driveWizard(map[string]url.Values{
		"components":  {"custom_location": {"on"}, "location": {syncDir}},
		"user-signin": {"method": {"password-hash-sync"}},
		"directories": corpWithSvcSync(t),
		// corp's schema has no Exchange, so Exchange hybrid
		// deployment can't be chosen: device writeback instead.
		"optional-features": {"password_hash_sync": {"on"}, "device_writeback": {"on"}},
	})
	if r := admin.get(job1); !strings.Contains(r.Body, `<span class="badge running"`) {
		t.Fatalf("%s should still be running while the sync database is locked:\n%s", job1, excerpt(r.Body))
	}
	s.kill()
	lock.release()
	s.start()
	s.expectLogged("that the job was interrupted", func(e logEntry) bool { return e.Msg == "marked jobs interrupted by the last stop" })
	admin.signIn(adminUser, adminPass)
	if st, err := admin.waitJob(job1); err != nil || st != "interrupted" {
		t.Fatalf("%s is %q (%v), want interrupted", job1, st, err)
	}
	if r := admin.get(job1); !strings.Contains(r.Body, `data-testid="retry"`) {
		t.Errorf("an administrator sees no Retry on the interrupted %s", job1)
	}

	// The second configure succeeds, after signing in to the tenant again:
	// the restart lost the Hybrid Identity Administrator's sign-in, which is
	// kept only in memory.
	// The wizard walks on from there, so the features are given again.
	admin.signInEntra(nil)
	job2 := admin.driveWizard(map[string]url.Values{
		"optional-features": {"password_hash_sync": {"on"}, "device_writeback": {"on"}},
	})
	// Password hash sync and device writeback can't be carried out in full
	// by hybridsync, and svc-sync lacks rights: applied, with warnings.
	if st, err := admin.waitJob(job2); err != nil || st != "succeeded-with-warnings" {
		t.Fatalf("%s is %q (%v), want succeeded-with-warnings", job2, st, err)
	}

	// The admin adds a Browse-only account.
	r := admin.post("/accounts", url.Values{"username": {"helpdesk"}, "display_name": {"Help Desk"}, "password": {"Blue-Lantern-2024x"}, "groups": {"browse"}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "Added helpdesk.") {
		t.Fatalf("POST /accounts: %d\n%s", r.Status, excerpt(r.Body))
	}

	browse := s.newClient()
	browse.signIn("helpdesk", "Blue-Lantern-2024x")
	p := newPage(t, s)
	p.signInAs(browse)

	// Overview: no way into the wizard.
	p.open("/")
	p.expectText("signed-in-as", "Help Desk")
	nav := p.page.Locator("header.topbar nav")
	for _, label := range []string{"Overview", "Configuration", "Jobs"} {
		p.ok(expect.Locator(nav.GetByRole("link", pwName(label))).ToBeVisible(), "nav link %s", label)
	}
	for _, label := range []string{"Setup", "Accounts", "Audit"} {
		p.ok(expectCount(nav.GetByRole("link", pwName(label)), 0), "no nav link %s for Browse", label)
	}
	p.ok(expectCount(p.id("open-wizard"), 0), "no wizard button for Browse")
	p.shot("overview")

	// The configuration, without Export.
	p.open("/config")
	p.visible("config-summary")
	p.expectText("summary-Sign-in method", "Password hash synchronization")
	p.expectText("summary-Features", "Password hash synchronization, Device writeback")
	p.expectContains("config-applied", "by alice")
	p.ok(expectCount(p.id("export"), 0), "no Export for Browse")
	p.shot("config")

	// The jobs and their steps, without Retry.
	p.open("/jobs")
	p.visible("jobs")
	p.ok(expect.Locator(p.id("job-row-1").GetByTestId("status")).ToHaveText("interrupted"), "job 1 in the list")
	p.ok(expect.Locator(p.id("job-row-2").GetByTestId("status")).ToHaveText("succeeded with warnings"), "job 2 in the list")
	p.shot("jobs")
	p.ok(p.id("job-row-1").GetByRole("link", pwName("1")).Click(), "open job 1")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/1$`)), "job 1 address")
	p.ok(expect.Locator(p.page.Locator(`[data-testid="job-status"] .badge`)).ToHaveText("interrupted"), "job 1 status")
	// Prepare the sync database, the three tenant steps, Verify the AD DS
	// connector account of corp.example.test, Prepare corp.example.test for
	// writeback, Name the chosen options hybridsync can't carry out
	// (password hash sync), Create the sync groups, Save the active
	// configuration.
	p.ok(expectCount(p.page.Locator(`[data-testid="job-steps"] > li`), 9), "job 1 steps")
	p.ok(expectCount(p.id("retry"), 0), "no Retry for Browse")
	p.shot("job-interrupted")
	p.open(job2)
	p.ok(expect.Locator(p.page.Locator(`[data-testid="job-status"] .badge`)).ToHaveText("succeeded with warnings"), "job 2 status")
	p.ok(expectCount(p.page.Locator(`[data-testid="job-steps"] > li`), 9), "job 2 steps")
	p.visible("configured")

	// Setup and Accounts are refused.
	for _, path := range []string{"/setup", "/setup/ready", "/accounts", "/audit"} {
		if st := p.open(path); st != http.StatusForbidden {
			t.Errorf("GET %s as Browse: %d, want 403", path, st)
		}
		p.visible("error-page")
		p.ok(expect.Locator(p.id("error-page").Locator("h1")).ToHaveText("Not allowed"), "heading on %s", path)
	}
	p.shot("forbidden")
	for _, path := range []string{"/config/export", "/setup/ready"} {
		if r := browse.get(path); r.Status != http.StatusForbidden {
			t.Errorf("GET %s as Browse over HTTP: %d, want 403", path, r.Status)
		}
	}
	for _, path := range []string{"/setup/configure", "/jobs/1/retry", "/accounts"} {
		if r := browse.post(path, url.Values{"username": {"mallory"}, "password": {"mallory-pass-123"}, "groups": {"admins"}}); r.Status != http.StatusForbidden {
			t.Errorf("POST %s as Browse: %d, want 403", path, r.Status)
		}
	}
	// Nothing changed: still two jobs, and no account named mallory.
	if r := admin.get("/jobs"); strings.Contains(r.Body, `data-testid="job-row-3"`) {
		t.Error("a Browse account started a job")
	}
	if r := admin.get("/accounts"); strings.Contains(r.Body, "mallory") {
		t.Error("a Browse account created an account")
	}
	s.expectLogged("the refusals", func(e logEntry) bool { return e.Msg == "forbidden" && e.Attrs["user"] == "helpdesk" })
	s.expectNoErrors()
}
