package e2e

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

// The emulator's seeded users this test signs in as (e2e/tenant's DefaultSeed).
const (
	oidcHelpdeskUser = "helpdesk.user@contoso.onmicrosoft.com"
	oidcOpsUser      = "ops.user@contoso.onmicrosoft.com"
)

// tenantPassword is a seeded account's password.
func tenantPassword(t *testing.T, tp *tenantProc, upn string) string {
	t.Helper()
	for _, a := range append(append([]tenant.SeedAccount(nil), tp.Seed.Admins...), tp.Seed.Users...) {
		if strings.EqualFold(a.UserPrincipalName, upn) {
			return a.Password
		}
	}
	t.Fatalf("the emulator's seed has no %s", upn)
	return ""
}

// TestOIDCSignIn: an administrator sets up sign-in with the tenant emulator
// as OpenID Connect provider on its page; someone whose group there maps to
// Browse signs in through the emulator's sign-in page (a wrong password first)
// and sees the read-only views; the local administrator still signs in.
func TestOIDCSignIn(t *testing.T) {
	needBrowser(t)
	tp := startTenant(t, tenant.DefaultSeed())
	s := startServer(t, t.TempDir())
	admin := s.newClient()
	admin.firstRun(adminUser, adminPass)
	browseGroups := tenantGroupIDs(t, tp, oidcHelpdeskUser)
	issuer := tp.Base + "/" + tp.Seed.TenantID + "/v2.0"

	// The administrator fills the settings in; a wrong issuer (a trailing
	// slash) is caught by the discovery test, and what was typed stays.
	p := newPage(t, s)
	p.signInAs(admin)
	p.open("/accounts")
	p.click("oidc-settings-link")
	p.visible("oidc-settings")
	p.check("enabled")
	p.fill("issuer", issuer+"/")
	p.fill("client_id", tenant.ConsoleClientID)
	p.fill("client_secret", tenant.ConsoleClientSecret)
	p.fill("display_name", "Contoso")
	p.fill("groups_browse", strings.Join(browseGroups, "\n"))
	p.click("save-oidc")
	p.expectContains("error-issuer", "calls itself "+issuer+", not "+issuer+"/")
	p.expectValue("client_id", tenant.ConsoleClientID)
	p.expectValue("groups_browse", strings.Join(browseGroups, "\n"))
	p.expectValue("client_secret", "")
	p.shot("settings-error")
	p.fill("issuer", issuer)
	p.fill("client_secret", tenant.ConsoleClientSecret)
	p.click("save-oidc")
	p.expectContains("flash", "Saved.")
	p.visible("secret-saved")
	p.expectValue("client_secret", "")
	p.expectText("redirect-uri", s.base+"/auth/oidc/callback")
	p.shot("settings")
	if r := admin.get("/accounts/oidc"); strings.Contains(r.Body, tenant.ConsoleClientSecret) {
		t.Error("the settings page shows the client secret")
	}

	// Someone else, in a browser of their own, signs in with the provider.
	q := newPage(t, s)
	q.open("/signin")
	q.expectText("signin-oidc", "Sign in with Contoso")
	q.shot("signin")
	q.click("signin-oidc")
	q.visible("tenant-username")
	q.ok(q.id("tenant-username").Fill(oidcHelpdeskUser), "fill the emulator's username")
	q.ok(q.id("tenant-password").Fill("not-the-password"), "fill the emulator's password")
	q.click("tenant-signin")
	q.expectContains("tenant-error", "password is incorrect")
	q.shot("tenant-wrong-password")
	q.ok(q.id("tenant-username").Fill(oidcHelpdeskUser), "fill the emulator's username")
	q.ok(q.id("tenant-password").Fill(tenantPassword(t, tp, oidcHelpdeskUser)), "fill the emulator's password")
	q.click("tenant-signin")
	q.ok(expect.Page(q.page).ToHaveURL(s.base+"/"), "back on hybridsync's overview")
	q.visible("signed-in-as")
	nav := q.page.Locator("header.topbar nav")
	for _, label := range []string{"Overview", "Configuration", "Jobs"} {
		q.ok(expect.Locator(nav.GetByRole("link", pwName(label))).ToBeVisible(), "nav link %s", label)
	}
	for _, label := range []string{"Setup", "Accounts", "Audit"} {
		q.ok(expectCount(nav.GetByRole("link", pwName(label)), 0), "no nav link %s for Browse", label)
	}
	q.shot("overview-browse")
	for path, testID := range map[string]string{"/jobs": "no-jobs", "/config": "no-config"} {
		if st := q.open(path); st != http.StatusOK {
			t.Errorf("GET %s as the OIDC Browse user: %d, want 200", path, st)
		}
		q.visible(testID)
	}
	for _, path := range []string{"/setup", "/accounts/oidc"} {
		if st := q.open(path); st != http.StatusForbidden {
			t.Errorf("GET %s as the OIDC Browse user: %d, want 403", path, st)
		}
		q.ok(expect.Locator(q.id("error-page").Locator("h1")).ToHaveText("Not allowed"), "heading on %s", path)
	}

	// Someone in a group that maps to nothing (ops.user: its group is not
	// mapped here) is refused, with a message that says why.
	o := newPage(t, s)
	o.open("/signin")
	o.click("signin-oidc")
	o.ok(o.id("tenant-username").Fill(oidcOpsUser), "fill the emulator's username")
	o.ok(o.id("tenant-password").Fill(tenantPassword(t, tp, oidcOpsUser)), "fill the emulator's password")
	o.click("tenant-signin")
	o.expectContains("signin-error", "Your account "+oidcOpsUser+" at Contoso isn't in a group that hybridsync maps to a role. Ask an administrator")
	o.visible("signin-oidc")
	o.shot("signin-refused")
	if st := o.open("/"); st != http.StatusOK || !strings.HasSuffix(o.page.URL(), "/signin?next=%2F") {
		t.Errorf("after the refusal, / is %d at %s; want the sign-in page", st, o.page.URL())
	}

	// The accounts page shows the new account as one that signs in with the
	// provider, in Browse.
	p.open("/accounts")
	row := p.page.Locator(`[data-testid^="account-helpdesk.user@"]`)
	p.ok(expect.Locator(row).ToHaveCount(1), "the OIDC account is listed")
	p.ok(expect.Locator(row.Locator(`[data-testid^="external-"]`)).ToHaveText("signs in with Contoso"), "marked as signing in with Contoso")
	p.ok(expect.Locator(row.Locator(`input[value="browse"]`)).ToBeChecked(), "in Browse")

	// The local administrator still signs in with a password.
	l := newPage(t, s)
	l.open("/signin")
	l.fill("username", adminUser)
	l.fill("password", adminPass)
	l.click("signin")
	l.ok(expect.Page(l.page).ToHaveURL(regexp.MustCompile(`/(setup/.*)?$`)), "signed in locally")
	l.expectText("signed-in-as", "Alice")

	s.expectLogged("the OIDC sign-in", func(e logEntry) bool {
		return e.Msg == "signed in" && e.Attrs["method"] == "oidc" && strings.HasPrefix(e.Attrs["user"].(string), "helpdesk.user@")
	})
	s.expectNoErrors()
}

// tenantGroupIDs reads the ids of the groups a user is a direct member of.
func tenantGroupIDs(t *testing.T, tp *tenantProc, upn string) []string {
	t.Helper()
	ids, err := tenant.GroupIDsOf(context.Background(), tp.HTTPClient(), tp.Base, tp.Seed.TenantID, upn)
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) == 0 {
		t.Fatalf("%s is in no group of the emulator", upn)
	}
	return ids
}
