package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestAccountManagementInTheBrowser: an administrator ends another
// account's sessions, disables, enables and deletes it, and changes their own
// password without being signed out; each step is in the audit trail.
func TestAccountManagementInTheBrowser(t *testing.T) {
	needBrowser(t)
	s := startServer(t, t.TempDir())
	p, admin := signedInPage(t, s)
	const (
		helpdeskPass = "Blue-Lantern-2024x"
		newPass      = "a-new-admin-password-42"
	)
	if r := admin.post("/accounts", url.Values{"username": {"helpdesk"}, "display_name": {"Help Desk"}, "password": {helpdeskPass}, "groups": {"browse"}}); r.Status != http.StatusOK {
		t.Fatalf("POST /accounts: %d", r.Status)
	}
	helpdesk := s.newClient()
	helpdesk.signIn("helpdesk", helpdeskPass)

	p.open("/accounts")
	p.expectText("sessions-helpdesk", "1")
	p.click("end-sessions-helpdesk")
	p.expectText("sessions-helpdesk", "0")
	if r := helpdesk.get("/"); r.URL != "/signin" && !strings.HasPrefix(r.URL, "/signin") {
		t.Errorf("after End sessions the helpdesk's browser is at %s, want the sign-in page", r.URL)
	}

	p.click("disable-helpdesk")
	p.visible("disabled-helpdesk")
	p.shot("disabled")
	refused := s.newClient()
	refused.get("/signin")
	if r := refused.post("/signin", url.Values{"username": {"helpdesk"}, "password": {helpdeskPass}}); r.Status != http.StatusUnauthorized {
		t.Errorf("a disabled account signs in: %d", r.Status)
	}
	p.click("enable-helpdesk")
	p.visible("disable-helpdesk")

	// Your own account can be neither disabled nor deleted here.
	p.visible("self-" + adminUser)
	p.ok(expectCount(p.id("delete-"+adminUser), 0), "no Delete on your own row")

	p.click("delete-helpdesk")
	p.visible("delete-account-page")
	p.shot("delete-confirm")
	p.click("confirm-delete")
	p.visible("flash")
	p.ok(expectCount(p.id("account-helpdesk"), 0), "the deleted account's row")

	// Your own password: a wrong current one is refused and loses nothing
	// typed; the right one changes it, and this browser stays signed in.
	p.click("change-password-link")
	p.visible("change-password")
	p.fill("current", "not my password at all")
	p.fill("password", newPass)
	p.fill("confirm", newPass)
	p.click("change-password-submit")
	p.visible("error-current")
	p.fill("current", adminPass)
	p.fill("password", newPass)
	p.fill("confirm", newPass)
	p.click("change-password-submit")
	p.expectContains("flash", "Password changed")
	p.expectText("signed-in-as", "Alice")
	p.shot("password-changed")
	if r := admin.get("/accounts"); r.URL != "/signin" && !strings.HasPrefix(r.URL, "/signin") {
		t.Errorf("the admin's other session survived the password change: at %s", r.URL)
	}
	again := s.newClient()
	again.signIn(adminUser, newPass)

	// The audit trail has each of it.
	p.open("/audit?action=account")
	for _, action := range []string{"account.create", "account.end-sessions", "account.disable", "account.enable", "account.delete"} {
		p.ok(expectCount(p.page.Locator(`tr[data-action="`+action+`"] .badge.succeeded`), 1), "one %s record", action)
	}
	p.ok(expectCount(p.page.Locator(`tr[data-action="account.password"] .badge.failed`), 1), "the wrong current password")
	p.ok(expectCount(p.page.Locator(`tr[data-action="account.password"] .badge.succeeded`), 1), "the password changed")
	p.shot("audit-accounts")
}
