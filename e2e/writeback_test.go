package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"testing"

	"github.com/mxschmitt/playwright-go"

	"github.com/hybridsync/hybridsync/engine/store"
)

// TestWritebackPageInTheBrowser: device writeback into corp. The Writeback
// page reads that the forest is not prepared yet, takes an enterprise admin's
// credentials, and Configure prepares the forest in a step of its own; the
// page then finds it ready, and a sync cycle run by hand has its writeback
// step, in the job and in the run history.
func TestWritebackPageInTheBrowser(t *testing.T) {
	needBrowser(t)
	corp, _ := needForests(t)
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	p, c := signedInPage(t, s)
	const name = "corp.example.test"
	c.driveWizardTo(map[string]url.Values{
		"directories":       corpWithSvcSync(t),
		"optional-features": {"password_hash_sync": {"on"}, "device_writeback": {"on"}},
	}, "writeback")

	p.open("/setup/writeback")
	p.onPage("writeback")
	p.ok(expect.Locator(p.id("field-device_forest-"+name)).ToBeChecked(), "the only forest is chosen")
	p.visible("wb-prepare-" + name)
	p.visible("limit-device-writeback")
	p.ok(expect.Locator(p.id("wb-"+name).GetByTestId("wb-schema")).ToContainText("2012 R2"), "the schema level")
	p.fill("wb_user:"+name, corp.AdminUPN)
	p.fill("wb_password:"+name, corp.AdminPassword)
	p.click("wb-admin-" + name)
	p.ok(expect.Locator(p.id("wb-entered-"+name)).ToContainText(corp.AdminUPN), "credentials entered")
	p.shot("writeback")
	p.click("next")
	p.onPage("ready")
	p.ok(expect.Locator(p.id("summary-Device writeback")).ToContainText(name), "the summary")

	p.click("configure")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "Configure leads to the job")
	step := "Prepare " + name + " for writeback"
	slow := playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(60_000)}
	p.ok(expect.Locator(p.jobStep(step).Locator(".badge")).ToHaveText("succeeded", slow), "the preparing step")
	p.ok(expect.Locator(p.id("job-log")).ToContainText("Created CN=RegisteredDevices,"+corp.BaseDN), "the log says what was created")
	p.shot("configured")

	p.open("/setup/writeback")
	p.visible("wb-ready-" + name)
	p.ok(expectCount(p.page.Locator(`input[type="password"]`), 0), "no credentials asked for a prepared forest")

	p.open("/sync")
	p.click("sync-run")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/jobs/\d+$`)), "Run now leads to the cycle")
	wb := p.jobStep("Write devices back into " + name).Locator(".badge")
	p.ok(expect.Locator(wb).ToHaveText(regexp.MustCompile(`^succeeded`), playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(90_000)}), "the writeback step ends")
	p.shot("cycle")
	p.open("/sync")
	p.ok(expect.Locator(p.id("sync-cycles").Locator("li").First()).ToContainText("write-back devices"), "the run history has the writeback step")

	// A device written back earlier and since deleted in the tenant (put in
	// the console's store as a cycle would leave it): the review lists its
	// pending delete, and the lookup shows its path into the forest.
	st, err := store.Open(context.Background(), store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(dataDir)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const devID = "5d2f0c1e-8b6a-4f3e-9d21-0a1b2c3d4e5f"
	devDN := "CN=5d2f0c1e-8b6a-4f3e-9d21-0a1b2c3d4e5f,CN=RegisteredDevices," + corp.BaseDN
	if err := st.SaveWritebackObjects(context.Background(), []store.WritebackObject{{Kind: store.WritebackKindDevice, CloudID: devID, Forest: name,
		Tenant: json.RawMessage(`{"id":"` + devID + `","displayName":"LAPTOP-ALICE"}`), Removed: true, DN: devDN}}); err != nil {
		t.Fatal(err)
	}
	p.open("/sync/pending")
	p.ok(expect.Locator(p.id("pending-wb-"+devID)).ToContainText("delete"), "the pending delete in the review")
	p.open("/sync/pending?text=laptop-alice") // the review filtered to it, for the screenshot
	p.ok(expect.Locator(p.id("pending-wb-"+devID)).ToBeVisible(), "the filtered review")
	p.shot("pending-writebacks")
	p.open("/sync/lookup?q=laptop-alice")
	p.ok(expect.Locator(p.id("writeback-0").GetByTestId("writeback-words")).ToContainText("the next cycle deletes "+devDN), "the lookup's path")
	p.shot("lookup-writeback")
}
