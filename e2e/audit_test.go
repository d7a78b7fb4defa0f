package e2e

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"
)

// TestAuditTrailInTheBrowser: a stranger's failed sign-in and two
// Configures, the second turning staging mode on, are in the audit trail;
// the configuration's change history shows exactly that change, the filter
// finds the stranger, and the CSV download holds what the page lists.
func TestAuditTrailInTheBrowser(t *testing.T) {
	needBrowser(t)
	needForests(t)
	s := startServer(t, t.TempDir())
	p, admin := signedInPage(t, s)

	stranger := s.newClient()
	stranger.get("/signin")
	if r := stranger.post("/signin", url.Values{"username": {"mallory"}, "password": {"Guess-Number-1234"}}); r.Status != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %d", r.Status)
	}

	if st, err := admin.waitJob(admin.driveWizard(map[string]url.Values{"directories": corpWithSvcSync(t)})); err != nil || !strings.HasPrefix(st, "succeeded") {
		t.Fatalf("first Configure: %s (%v)", st, err)
	}
	if st, err := admin.waitJob(admin.driveWizard(map[string]url.Values{"ready": {"staging": {"on"}}})); err != nil || !strings.HasPrefix(st, "succeeded") {
		t.Fatalf("second Configure: %s (%v)", st, err)
	}

	// The end of a Configure is recorded just after its job shows it ended.
	for deadline := time.Now().Add(10 * time.Second); strings.Count(admin.get("/audit?action=configure.end").Body, `data-action="configure.end"`) < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the two Configure ends are not in the audit trail after 10 s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Configuration → Change history: the two Configures, newest first.
	p.open("/config")
	p.shot("config")
	p.click("change-history")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/audit\?action=configure$`)), "change history address")
	starts := p.page.Locator(`tr[data-action="configure.start"]`)
	p.ok(expect.Locator(starts).ToHaveCount(2), "two Configure starts")
	p.ok(expect.Locator(p.page.Locator(`tr[data-action="configure.end"]`)).ToHaveCount(2), "two Configure ends")
	newest := starts.First().GetByTestId("audit-changes").Locator("li")
	p.ok(expect.Locator(newest).ToHaveCount(1), "the second Configure changed one choice")
	p.ok(expect.Locator(newest).ToContainText("Staging mode"), "the choice")
	p.ok(expect.Locator(newest.Locator("del")).ToHaveText("No"), "was")
	p.ok(expect.Locator(newest.Locator("ins")).ToHaveText("Yes"), "is")
	p.ok(expect.Locator(starts.Last().GetByTestId("audit-changes")).ToContainText("corp.example.test"), "the first Configure added the forest")
	p.shot("change-history")

	// The failed sign-in, found by the filter.
	p.open("/audit")
	for field, value := range map[string]string{"field-action": "signin", "field-outcome": "failed"} {
		_, err := p.id(field).SelectOption(playwright.SelectOptionValues{Values: &[]string{value}})
		p.ok(err, "choose %s", value)
	}
	p.click("audit-apply")
	rows := p.id("audit-events").Locator("tbody tr")
	p.ok(expect.Locator(rows).ToHaveCount(1), "one failed sign-in")
	p.ok(expect.Locator(rows).ToContainText("not signed in"), "by a stranger")
	p.ok(expect.Locator(rows).ToContainText("mallory"), "the name typed")
	p.ok(expect.Locator(rows).ToContainText("no such account"), "why")
	p.ok(expect.Locator(rows).Not().ToContainText("Guess-Number"), "never the password")
	p.shot("audit-filtered")

	// A day typed wrong says so and keeps the filter.
	p.open("/audit?action=signin&from=06/12/2026")
	p.ok(expect.Locator(p.id("audit-error")).ToContainText("YYYY-MM-DD"), "bad day")
	p.ok(expect.Locator(p.page.GetByTestId("field-action")).ToHaveValue("signin"), "action kept")

	// The CSV download is what the filter selects.
	p.open("/audit?action=signin&outcome=failed")
	dl, err := p.page.ExpectDownload(func() error { return p.id("audit-csv").Click() })
	p.ok(err, "download the CSV")
	path, err := dl.Path()
	p.ok(err, "downloaded file")
	f, err := os.Open(path)
	p.ok(err, "open the CSV")
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	p.ok(err, "read the CSV")
	if len(recs) != 2 || recs[1][5] != "mallory" || recs[1][6] != "failed" {
		t.Errorf("CSV: %q", recs)
	}
}
