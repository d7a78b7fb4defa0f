package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hybridsync/hybridsync/engine/store"
)

const msgGroupsLocal = "The groups must be local on the server. They can't be located in the domain."

// TestWrongInputKeepsTheRest: a bad value on Install required components is
// reported at its field, and every other value typed stays in its input.
func TestWrongInputKeepsTheRest(t *testing.T) {
	needBrowser(t)
	s := startServer(t, t.TempDir())
	p, _ := signedInPage(t, s)
	p.open("/setup")
	p.click("customize")
	p.onPage("components")

	loc := filepath.Join(t.TempDir(), "custom", "location")
	p.check("custom_location")
	p.fill("location", loc)
	p.check("use_service_account")
	p.ok(p.id("field-service_account_type-managed").Check(), "managed service account")
	p.fill("service_account_name", `CONTOSO\hybridsync$`)
	p.check("custom_groups")
	p.fill("group_admins", `CONTOSO\Admins`)
	p.fill("group_operators", "SyncOperators")
	p.fill("group_browse", "SyncHelpdesk")
	p.fill("group_passwordset", "SyncPasswords")
	p.click("next")

	// Still on the page, with the exact message at the group's field...
	p.visible("page-error")
	p.expectText("error-group_admins", msgGroupsLocal)
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/setup/components$`)), "still on Install required components")
	p.ok(expectCount(p.page.Locator(`[data-testid^="error-"]`), 1), "only the bad field has an error")
	p.shot("group-error")
	// ...and everything typed is still there.
	p.expectChecked("custom_location", true)
	p.expectValue("location", loc)
	p.expectChecked("use_service_account", true)
	p.ok(expect.Locator(p.id("field-service_account_type-managed")).ToBeChecked(), "account type kept")
	p.expectValue("service_account_name", `CONTOSO\hybridsync$`)
	p.expectChecked("custom_groups", true)
	p.expectValue("group_admins", `CONTOSO\Admins`)
	p.expectValue("group_operators", "SyncOperators")
	p.expectValue("group_browse", "SyncHelpdesk")
	p.expectValue("group_passwordset", "SyncPasswords")
	p.expectChecked("use_sql", false)

	// A reload shows the saved (wrong) answers too: nothing was lost.
	_, err := p.page.Reload()
	p.ok(err, "reload")
	p.onPage("components")
	p.expectValue("group_admins", `CONTOSO\Admins`)
	p.expectValue("location", loc)

	// Fixed, the wizard moves on; Back shows the corrected value.
	p.fill("group_admins", "SyncAdmins")
	p.click("next")
	p.onPage("user-signin")
	p.click("back")
	p.onPage("components")
	p.expectValue("group_admins", "SyncAdmins")
	p.expectValue("service_account_name", `CONTOSO\hybridsync$`)
	p.ok(expectCount(p.page.Locator(`[data-testid^="error-"]`), 0), "no errors left")
	p.shot("fixed")
	s.expectNoErrors()
}

// TestDatabaseAlreadyHoldsData: a custom location whose LocalDB holds another
// install's configuration is refused with the seed's message and fix.
func TestDatabaseAlreadyHoldsData(t *testing.T) {
	needBrowser(t)
	s := startServer(t, t.TempDir())

	foreign := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: filepath.Join(foreign, "hybridsync.db")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveActiveConfiguration(ctx, store.Configuration{InstallID: "someone-else", Answers: []byte("{}"), AppliedBy: "x", JobID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	p, _ := signedInPage(t, s)
	p.open("/setup")
	p.click("customize")
	p.onPage("components")
	p.check("custom_location")
	p.fill("location", foreign)
	p.click("next")

	p.visible("holds-data")
	msg := "The HybridSync database already contains data and cannot be overwritten. Please remove the existing database and try again."
	p.ok(expect.Locator(p.id("holds-data").Locator("strong")).ToHaveText(msg), "the message")
	p.expectText("error-location", msg)
	items, err := p.id("holds-data").Locator("ol > li").AllTextContents()
	p.ok(err, "the fix")
	if len(items) != 4 || items[1] != "Back up the database." || items[3] != "Then select Next again to retry." {
		t.Errorf("the fix list is %q", items)
	}
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile(`/setup/components$`)), "still on Install required components")
	p.expectValue("location", foreign)
	p.shot("holds-data")

	// An empty folder next to it is fine.
	p.fill("location", filepath.Join(foreign, "fresh"))
	p.click("next")
	p.onPage("user-signin")
	s.expectNoErrors()
}
