package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/mxschmitt/playwright-go"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/e2e/tenant"
)

// TestConnectEntraAndConfigure walks Connect to Microsoft Entra ID in the
// browser against the tenant emulator — a wrong password, the MFA account
// refused with a password and then signed in interactively through the
// emulator's sign-in pages with its verification code — then configures, and
// checks in the emulator that Configure created the sync service account and
// switched directory synchronization on. The sign-in configuration page
// shows each UPN suffix's state against the tenant.
func TestConnectEntraAndConfigure(t *testing.T) {
	needBrowser(t)
	corp, _ := needForests(t)
	seed := tenant.DefaultSeed()
	// corp's domain is verified, its routable extra suffix added but not
	// verified; its .local suffix is not in the tenant at all.
	seed.Domains = append(seed.Domains, tenant.SeedDomain{Name: corp.Spec.Name, Verified: true}, tenant.SeedDomain{Name: corp.Spec.RoutableSuffix})
	// The MFA account is a Global Administrator here: Graph lets only that
	// role set the directory synchronization features.
	for i := range seed.Admins {
		if seed.Admins[i].UserPrincipalName == entraMFAAdmin {
			seed.Admins[i].Roles = []string{tenant.RoleGlobalAdministrator}
		}
	}
	tn := startTenant(t, seed)
	s := startServer(t, t.TempDir(), tn.flags()...)
	p, c := signedInPage(t, s)

	p.open("/setup")
	p.onPage("express")
	p.click("customize")
	p.onPage("components")
	p.click("next")
	p.onPage("user-signin")
	p.click("next")

	p.onPage("connect-entra")
	p.visible("entra-use")
	p.shot("connect-entra")
	// Next before signing in is refused.
	p.click("next")
	p.expectText("error-entra", "Sign in with a Hybrid Identity Administrator or Global Administrator account of your tenant.")

	// A wrong password: the message, the account kept, the password not.
	p.fill("entra_user", entraAdmin)
	p.fill("entra_password", "not-the-password")
	p.click("entra-signin")
	p.expectText("error-entra", "The account or password is incorrect.")
	p.expectValue("entra_user", entraAdmin)
	p.expectValue("entra_password", "")

	// The MFA account: a password alone is refused and the interactive
	// sign-in is offered.
	p.fill("entra_user", entraMFAAdmin)
	p.fill("entra_password", entraMFAPassword)
	p.click("entra-signin")
	p.expectContains("error-entra", "multi-factor authentication")
	p.visible("entra-mfa")
	p.shot("connect-entra-mfa")

	// Interactive: the emulator's sign-in page, then its verification code.
	p.click("entra-interactive")
	p.ok(expect.Page(p.page).ToHaveURL(regexp.MustCompile("^"+regexp.QuoteMeta(tn.Base)+"/")), "at the tenant's sign-in page")
	p.ok(expect.Locator(p.id("tenant-username")).ToHaveValue(entraMFAAdmin), "the account is the login hint")
	p.ok(p.id("tenant-password").Fill(entraMFAPassword), "password")
	p.shot("tenant-signin")
	p.ok(p.id("tenant-signin").Click(), "sign in at the tenant")
	p.ok(p.id("tenant-mfa-code").Fill("000000"), "wrong code")
	p.ok(p.id("tenant-verify").Click(), "verify")
	p.visible("tenant-error")
	p.ok(p.id("tenant-mfa-code").Fill(entraMFACode), "code")
	p.shot("tenant-mfa")
	p.ok(p.id("tenant-verify").Click(), "verify")

	// Back in the wizard, signed in.
	p.onPage("connect-entra")
	p.expectContains("entra-signed-in", entraMFAAdmin)
	p.expectContains("entra-signed-in", "signed in interactively")
	p.expectContains("entra-signed-in", "Global Administrator")
	p.visible("entra-domain-" + corp.Spec.Name)
	p.shot("connect-entra-signed-in")
	p.click("next")

	// Connect your directories: corp with its existing svc-sync account.
	p.onPage("directories")
	p.fillForest(corp, "", "existing", `CORP\svc-sync`, forest.SvcSyncPassword)
	p.addForest(corp.Spec.Name)
	p.click("next")

	// The UPN suffixes against the tenant.
	p.onPage("signin-configuration")
	state := func(suffix string) playwright.Locator {
		return p.id("suffix-" + suffix).GetByTestId("suffix-state")
	}
	p.ok(expect.Locator(state(corp.Spec.Name)).ToHaveText("Verified"), "corp's domain")
	p.ok(expect.Locator(state(corp.Spec.RoutableSuffix)).ToHaveText("Not Verified"), "the routable suffix")
	p.ok(expect.Locator(state(corp.Spec.NonRoutableSuffix)).ToHaveText("Not Added"), "the .local suffix")
	p.expectContains("instead-"+corp.Spec.RoutableSuffix, "user@contoso.onmicrosoft.com")
	p.expectContains("instead-"+corp.Spec.RoutableSuffix, `TXT record "MS=ms`)
	p.shot("signin-configuration-states")

	// The rest of the wizard with its defaults, then Configure.
	job := c.driveWizard(nil)
	p.open(job)
	slow := playwright.LocatorAssertionsToHaveTextOptions{Timeout: playwright.Float(60_000)}
	for _, st := range []string{"Create the sync service account in Microsoft Entra ID", "Switch on directory synchronization in Microsoft Entra ID", "Record the tenant"} {
		p.ok(expect.Locator(p.jobStep(st).Locator(".badge")).ToHaveText("succeeded", slow), "step %q succeeds", st)
	}
	p.ok(expect.Locator(p.page.GetByText(regexp.MustCompile(`Created Sync_[A-Za-z0-9-]+_[0-9a-f]{12}@contoso\.onmicrosoft\.com`))).ToBeVisible(), "the created account in the log")
	p.shot("configure-cloud-steps")

	// In the tenant: the account exists, is a Directory Synchronization
	// Account, and directory synchronization is on with password hash sync.
	ctx := context.Background()
	g := tn.Graph(t, entraAdmin, entraPassword)
	users, err := g.FindUsers(ctx, "startswith(userPrincipalName,'Sync_')")
	if err != nil || len(users) != 1 {
		t.Fatalf("sync accounts in the tenant: %+v, %v", users, err)
	}
	assigned, err := g.RoleAssignments(ctx, users[0].ID)
	if err != nil || len(assigned) != 1 || !strings.EqualFold(assigned[0].RoleDefinitionID, tenant.RoleDirectorySynchronizationAcct) {
		t.Errorf("role assignments of %s: %+v, %v", users[0].UserPrincipalName, assigned, err)
	}
	org, err := g.Organization(ctx)
	if err != nil || org.OnPremisesSyncEnabled == nil || !*org.OnPremisesSyncEnabled {
		t.Errorf("directory synchronization is not on: %+v, %v", org, err)
	}
	// Only a Global Administrator may read the features.
	sync, err := tn.Graph(t, entraGlobalAdmin, entraGlobalPassword).OnPremisesSync(ctx)
	if err != nil || !sync.Features.PasswordSyncEnabled {
		t.Errorf("password hash sync feature: %+v, %v", sync, err)
	}

	// Neither the administrators' passwords nor the sync account's is in
	// the database or the log.
	expectNoSecrets(t, s, []string{s.dataDir}, map[string]string{"admin password": entraPassword, "MFA admin password": entraMFAPassword})
	s.expectNoErrors()
}
