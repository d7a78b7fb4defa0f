package setup

import (
	"context"
	"strings"
	"testing"
)

// ssoChecker is a fake of the single sign-on checks: admin@ is a domain admin,
// anyone else is not; accepted credentials go to its vault.
type ssoChecker struct {
	Checker
	vault *Vault
}

func (c ssoChecker) CheckSSOCredentials(_ context.Context, fc ForestConn, user, pw string) error {
	if !strings.HasPrefix(user, "admin@") || pw != "pw" {
		return &CheckError{Msg: user + " is not a member of Domain Admins"}
	}
	c.vault.Put(SSOVaultKey(fc.Forest), ForestCredentials{User: user, Password: pw})
	return nil
}
func (c ssoChecker) HasSSOCredentials(forest string) bool {
	_, ok := c.vault.Get(SSOVaultKey(forest))
	return ok
}
func (c ssoChecker) ForgetSSOCredentials(forest string) { c.vault.Drop(SSOVaultKey(forest)) }

func ssoAnswers() Answers {
	a := Defaults()
	a.SignIn = SignIn{Method: MethodPTA, SSO: true}
	a.Directories.Forests = []ForestConn{{Forest: "corp.test", Security: SecurityLDAPS}, {Forest: "fab.test", Security: SecurityLDAPS}}
	return a
}

func TestSSORules(t *testing.T) {
	ctx := context.Background()
	chk := ssoChecker{vault: &Vault{}}
	a := ssoAnswers()
	if !IsVisible(&a, PageSSO) {
		t.Fatal("the page is hidden with PTA and SSO")
	}
	// Neither skipped nor entered: both forests are asked for.
	e := ssoPage.Validate(ctx, &a, chk)
	if e["sso:corp.test"] != MsgSSONeedCreds || e["sso:fab.test"] != MsgSSONeedCreds {
		t.Fatalf("%v", e)
	}
	// A non-admin is refused, with the typed user kept; no credentials kept.
	ssoPage.Bind(&a, form("sso_user:corp.test", "svc@corp.test", "sso_skip:fab.test", "on"))
	e = actSSO(ctx, &a, ActionSSOCreds+":corp.test", form("sso_password:corp.test", "pw"), chk)
	if !strings.Contains(e["sso:corp.test"], "not a member of Domain Admins") || a.SSO.Forests["corp.test"].User != "svc@corp.test" || chk.HasSSOCredentials("corp.test") {
		t.Fatalf("non-admin: %v %+v", e, a.SSO.Forests)
	}
	// Form errors before any bind.
	ssoPage.Bind(&a, form("sso_user:corp.test", "justaname", "sso_skip:fab.test", "on"))
	e = actSSO(ctx, &a, ActionSSOCreds+":corp.test", Form{}, chk)
	if e["sso_user:corp.test"] == "" || e["sso_password:corp.test"] == "" {
		t.Fatalf("form errors: %v", e)
	}
	if e := actSSO(ctx, &a, ActionSSOCreds+":elsewhere.test", Form{}, chk); e[""] == "" {
		t.Fatalf("unknown forest: %v", e)
	}
	// The admin is accepted; fab is skipped: Next passes.
	ssoPage.Bind(&a, form("sso_user:corp.test", "admin@corp.test", "sso_skip:fab.test", "on"))
	if e := actSSO(ctx, &a, ActionSSOCreds+":corp.test", form("sso_password:corp.test", "pw"), chk); len(e) != 0 {
		t.Fatal(e)
	}
	if sf := a.SSO.Forests["corp.test"]; sf.EnteredAs != "admin@corp.test" || sf.Skip {
		t.Fatalf("%+v", sf)
	}
	ssoPage.Bind(&a, form("sso_user:corp.test", "admin@corp.test", "sso_skip:fab.test", "on"))
	if e := ssoPage.Validate(ctx, &a, chk); len(e) != 0 {
		t.Fatal(e)
	}
	rows := summarizeSSO(a)
	if len(rows) != 2 || !strings.Contains(rows[0].Value, "Credentials entered") || rows[1].Value != "Skipped" {
		t.Errorf("summary %v", rows)
	}
	// A restart (a fresh vault) asks again.
	restarted := ssoChecker{vault: &Vault{}}
	if e := ssoPage.Validate(ctx, &a, restarted); e["sso:corp.test"] != MsgSSOGone {
		t.Fatalf("after a restart: %v", e)
	}
	// Forget drops them.
	actSSO(ctx, &a, ActionSSOForget+":corp.test", Form{}, chk)
	if chk.HasSSOCredentials("corp.test") || a.SSO.Forests["corp.test"].EnteredAs != "" {
		t.Error("Forget kept the credentials")
	}
	// After Configure created the account, no credentials are needed.
	sf := a.SSO.Forests["corp.test"]
	sf.ComputerDN = "CN=AZUREADSSOACC,CN=Computers,DC=corp,DC=test"
	a.SSO.Forests["corp.test"] = sf
	if e := ssoPage.Validate(ctx, &a, restarted); len(e) != 0 {
		t.Fatal(e)
	}
	// Plain LDAP can't create the account.
	a.Directories.Forests[1].Security = SecurityInsecure
	ssoPage.Bind(&a, form("sso_user:fab.test", "admin@fab.test"))
	if e := actSSO(ctx, &a, ActionSSOCreds+":fab.test", form("sso_password:fab.test", "pw"), chk); e["sso:fab.test"] != MsgSSONeedsSecure {
		t.Errorf("insecure: %v", e)
	}
}

func TestSSOVisibilityAndKeys(t *testing.T) {
	a := ssoAnswers()
	a.SignIn.Method = MethodADFS
	if IsVisible(&a, PageSSO) || summarizeSSO(a) != nil {
		t.Error("SSO page shown with AD FS")
	}
	if SSOVaultKey("corp.test") == "corp.test" {
		t.Error("the SSO credentials share the connector credentials' vault key")
	}
	v := &Vault{}
	v.Put("corp.test", ForestCredentials{User: "ea"})
	v.Put(SSOVaultKey("corp.test"), ForestCredentials{User: "da"})
	if c, _ := v.Get("corp.test"); c.User != "ea" {
		t.Error("the SSO credentials replaced the enterprise admin's")
	}
}

func TestIntranetZoneInstructions(t *testing.T) {
	txt := IntranetZoneText()
	for _, want := range []string{
		"https://autologon.microsoftazuread-sso.com", "https://aadg.windows.net.nsatc.net", "with a value of 1 for both URLs",
		"User Configuration > Administrative Templates > Windows Components > Internet Explorer > Internet Control Panel > Security Page",
		"Site to Zone Assignment List", "Select OK twice.",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("the instructions lack %q", want)
		}
	}
}
