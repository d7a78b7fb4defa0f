package setup

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hybridsync/hybridsync/engine/entra"
)

// entraFake signs admin@contoso.onmicrosoft.com in with "pw"; mfa@ needs MFA.
type entraFake struct {
	Checker
	cfg   entra.Config
	vault *EntraVault
}

func (f entraFake) EntraConfig() entra.Config { return f.cfg }
func (f entraFake) EntraPasswordSignIn(_ context.Context, user, pw string) (*entra.Session, error) {
	switch {
	case strings.HasPrefix(user, "mfa@"):
		return nil, &entra.Error{Msg: entra.MsgMFA, MFA: true}
	case !strings.HasPrefix(user, "admin@") || pw != "pw":
		return nil, &entra.Error{Msg: entra.MsgBadPassword}
	}
	s := entra.NewSession(user, entra.HowPassword, nil)
	s.Roles = []string{"Hybrid Identity Administrator"}
	s.Tenant = entra.Tenant{ID: "tid", DisplayName: "Contoso", InitialDomain: "contoso.onmicrosoft.com",
		Domains: []entra.Domain{{Name: "contoso.onmicrosoft.com", Verified: true, Initial: true}, {Name: "contoso.com", Verified: true}, {Name: "fabrikam.com"}}}
	f.vault.Put(s)
	return s, nil
}
func (f entraFake) EntraSession() (*entra.Session, bool) { return f.vault.Get() }
func (f entraFake) ForgetEntra()                         { f.vault.Drop() }

func newEntraFake() entraFake {
	return entraFake{cfg: entra.Config{Authority: "https://login.example/organizations", GraphURL: "https://graph.example/v1.0", ClientID: "app"}, vault: &EntraVault{}}
}

func TestConnectEntraRules(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		user, pw string
		wantErr  map[string]string // field → substring
		wantMFA  bool
		signedIn bool
	}{
		{"nothing typed", "", "", map[string]string{"entra_user": MsgEntraNoUser, "entra_password": MsgEntraNoPassword}, false, false},
		{"not a UPN", "admin", "pw", map[string]string{"entra_user": "user principal name"}, false, false},
		{"wrong password", "admin@contoso.onmicrosoft.com", "nope", map[string]string{"entra": entra.MsgBadPassword}, false, false},
		{"MFA", "mfa@contoso.onmicrosoft.com", "pw", map[string]string{"entra": "multi-factor"}, true, false},
		{"signed in", "admin@contoso.onmicrosoft.com", "pw", nil, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chk := newEntraFake()
			a := Defaults()
			connectEntraPage.Bind(&a, form("entra_user", tt.user))
			e := actConnectEntra(ctx, &a, ActionEntraSignIn, form("entra_password", tt.pw), chk)
			for field, want := range tt.wantErr {
				if !strings.Contains(e[field], want) {
					t.Errorf("%s: error %q, want it to contain %q (all: %v)", field, e[field], want, e)
				}
			}
			if len(tt.wantErr) == 0 && len(e) > 0 {
				t.Errorf("errors %v", e)
			}
			if a.ConnectEntra.User != tt.user {
				t.Errorf("typed user lost: %q", a.ConnectEntra.User)
			}
			if a.ConnectEntra.NeedsMFA != tt.wantMFA {
				t.Errorf("NeedsMFA = %v", a.ConnectEntra.NeedsMFA)
			}
			if got := a.ConnectEntra.Tenant != nil; got != tt.signedIn {
				t.Errorf("tenant recorded = %v", got)
			}
			// Next passes only once signed in.
			if e := connectEntraPage.Validate(ctx, &a, chk); (len(e) == 0) != tt.signedIn {
				t.Errorf("Validate = %v", e)
			}
		})
	}
}

func TestConnectEntraSessionLostAndRerun(t *testing.T) {
	ctx := context.Background()
	chk := newEntraFake()
	a := Defaults()
	connectEntraPage.Bind(&a, form("entra_user", "admin@contoso.onmicrosoft.com"))
	if e := actConnectEntra(ctx, &a, ActionEntraSignIn, form("entra_password", "pw"), chk); len(e) > 0 {
		t.Fatal(e)
	}
	// The server restarts: the sign-in is gone, the tenant is remembered.
	chk.vault = &EntraVault{}
	if e := connectEntraPage.Validate(ctx, &a, chk); e["entra"] != MsgEntraGone {
		t.Fatalf("after a restart: %v", e)
	}
	// Once Configure created the sync service account, no new sign-in is needed.
	a.ConnectEntra.SyncAccount = "Sync_host_0123456789ab@contoso.onmicrosoft.com"
	if e := connectEntraPage.Validate(ctx, &a, chk); len(e) > 0 {
		t.Fatalf("with a sync account: %v", e)
	}
	// Sign out keeps the tenant only while a sync account exists.
	actConnectEntra(ctx, &a, ActionEntraForget, Form{}, chk)
	if a.ConnectEntra.SignedInAs != "" || a.ConnectEntra.Tenant == nil {
		t.Fatalf("after sign out: %+v", a.ConnectEntra)
	}
	// An expired vault entry counts as gone.
	v := &EntraVault{TTL: time.Millisecond}
	v.Put(entra.NewSession("x", entra.HowPassword, nil))
	time.Sleep(5 * time.Millisecond)
	if _, ok := v.Get(); ok {
		t.Error("an expired session is still handed out")
	}
}

func TestConnectEntraConfigAndInteractiveOnly(t *testing.T) {
	ctx := context.Background()
	chk := newEntraFake()
	chk.cfg.ClientID = ""
	a := Defaults()
	if e := connectEntraPage.Validate(ctx, &a, chk); e[""] != entra.MsgNoClientID {
		t.Errorf("no client id: %v", e)
	}
	chk = newEntraFake()
	chk.cfg.Interactive = true
	connectEntraPage.Bind(&a, form("entra_user", "admin@contoso.onmicrosoft.com"))
	if e := actConnectEntra(ctx, &a, ActionEntraSignIn, form("entra_password", "pw"), chk); e["entra"] != MsgEntraInteractiveOnly {
		t.Errorf("--interactive-auth takes no password: %v", e)
	}
}

func TestConnectEntraNotices(t *testing.T) {
	a := Defaults()
	a.SignIn.Method = MethodADFS
	a.ConnectEntra.SignedInAs = "admin@contoso.com"
	a.ConnectEntra.Tenant = &entra.Tenant{DisplayName: "Contoso", InitialDomain: "contoso.onmicrosoft.com", Domains: []entra.Domain{{Name: "contoso.onmicrosoft.com", Verified: true, Initial: true}}}
	a.ConnectEntra.Roles = []string{entra.RoleNameHybridIdentityAdministrator}
	n := connectEntraNotices(&a)
	if len(n) != 3 || !strings.Contains(n[0].Text, MsgEntraADFS) || !strings.Contains(n[0].Text, "admin@contoso.com") ||
		n[1].Level != "warn" || !strings.Contains(n[1].Text, MsgFedRoles) || !strings.Contains(n[1].Text, "has: Hybrid Identity Administrator.") ||
		!strings.Contains(n[2].Text, "no verified domain") {
		t.Errorf("notices %+v", n)
	}
	// A Global Administrator, or a Hybrid Identity Administrator who is also
	// Domain Name Administrator, may federate: the page only says what is needed.
	for _, roles := range [][]string{{entra.RoleNameGlobalAdministrator}, {entra.RoleNameHybridIdentityAdministrator, entra.RoleNameDomainNameAdministrator}} {
		a.ConnectEntra.Roles = roles
		if n := connectEntraNotices(&a); len(n) != 3 || n[1].Level != "info" || strings.Contains(n[1].Text, MsgFedRoles) {
			t.Errorf("%v: notices %+v", roles, n)
		}
	}
	a.SignIn.Method = MethodPHS
	a.ConnectEntra.Tenant.Domains = append(a.ConnectEntra.Tenant.Domains, entra.Domain{Name: "contoso.com", Verified: true})
	if n := connectEntraNotices(&a); len(n) != 0 {
		t.Errorf("notices %+v", n)
	}
}

func TestSuffixStatesAgainstTheTenant(t *testing.T) {
	a := Defaults()
	a.SignIn.Method = MethodPTA
	a.Directories.Forests = []ForestConn{{Forest: "corp.test", Domains: []ForestDomain{{DNS: "contoso.com"}}, UPNSuffixes: []string{"fabrikam.com", "other.com"}, CheckedAt: "2026-01-01T00:00:00Z"}}
	s := func(name string) UPNSuffix { return UPNSuffix{Forest: "corp.test", Suffix: name} }
	if got := SuffixState(&a, s("contoso.com")); got != StateTenantNotConnected {
		t.Errorf("no tenant: %q", got)
	}
	if b, w := verifiedDomainRule(&a); b != "" || w == "" {
		t.Errorf("PTA without a tenant: %q %q", b, w)
	}
	a.ConnectEntra.Tenant = &entra.Tenant{InitialDomain: "contoso.onmicrosoft.com", Domains: []entra.Domain{{Name: "contoso.com", Verified: true}, {Name: "fabrikam.com", VerifyTXT: "MS=ms12345678"}}}
	for name, want := range map[string]string{"contoso.com": StateVerified, "FABRIKAM.com": StateNotVerified, "other.com": StateNotAdded} {
		got := SuffixState(&a, s(name))
		if got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
		if instead := SuffixInstead(&a, s(name), got); (instead == "") != (want == StateVerified) || (instead != "" && !strings.Contains(instead, "user@contoso.onmicrosoft.com")) {
			t.Errorf("%s: instead %q", name, instead)
		}
	}
	if got := SuffixInstead(&a, s("fabrikam.com"), StateNotVerified); !strings.Contains(got, `TXT record "MS=ms12345678" at fabrikam.com`) {
		t.Errorf("how to verify fabrikam.com: %q", got)
	}
	if b, _ := verifiedDomainRule(&a); b != "" {
		t.Errorf("PTA with a verified suffix: %q", b)
	}
	a.ConnectEntra.Tenant.Domains[0].Verified = false
	if b, _ := verifiedDomainRule(&a); b != MsgPTANeedsVerified {
		t.Errorf("PTA with no verified suffix: %q", b)
	}
}
