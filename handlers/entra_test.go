package handlers

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// The seed's accounts (e2e/tenant.DefaultSeed).
const (
	adminUPN      = "hybrid.admin@contoso.onmicrosoft.com"
	adminPassword = "Passw0rd!hybrid"
	mfaUPN        = "mfa.admin@contoso.onmicrosoft.com"
	mfaPassword   = "Passw0rd!mfa"
	mfaCode       = "123456"
)

// emulated is the tenant emulator the package's tests sign in to, served on
// loopback once for all of them.
type emulated struct {
	t   *tenant.Tenant
	srv *httptest.Server
}

var sharedTenant struct {
	once sync.Once
	e    *emulated
	err  error
}

func testTenant(t testing.TB) *emulated {
	t.Helper()
	sharedTenant.once.Do(func() {
		// The seed's tenant with the test forests' domains verified, so that
		// pass-through authentication can be chosen with them.
		seed := fabrikamSeed()
		seed.Domains = append(seed.Domains, tenant.SeedDomain{Name: "corp.example.test", Verified: true})
		tn, err := tenant.New(seed, tenant.Options{})
		if err != nil {
			sharedTenant.err = err
			return
		}
		// Never closed: it lives as long as the test binary.
		sharedTenant.e = &emulated{t: tn, srv: httptest.NewServer(tn)}
	})
	if sharedTenant.err != nil {
		t.Fatal(sharedTenant.err)
	}
	return sharedTenant.e
}

// fabrikamSeed is the seed's tenant with fabrikam's domain verified.
func fabrikamSeed() tenant.Seed {
	seed := tenant.DefaultSeed()
	for i := range seed.Domains {
		if seed.Domains[i].Name == "fabrikam.example.test" {
			seed.Domains[i].Verified = true
		}
	}
	return seed
}

// admin is a Graph client signed in as the seed's Hybrid Identity Administrator.
func (em *emulated) admin(t *testing.T) *cloud.Client {
	t.Helper()
	g, err := cloud.New(cloud.Config{GraphURL: em.srv.URL + "/v1.0"}, &cloud.PasswordGrant{Authority: em.srv.URL + "/organizations", ClientID: tenant.ConnectClientID, Username: adminUPN, Password: adminPassword})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// newTenant serves an emulated tenant of the test's own, seeded as given.
func newTenant(t *testing.T, seed tenant.Seed) *emulated {
	t.Helper()
	tn, err := tenant.New(seed, tenant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	return &emulated{t: tn, srv: srv}
}

func (em *emulated) config() entra.Config {
	return entra.Config{Authority: em.srv.URL + "/organizations", GraphURL: em.srv.URL + "/v1.0", ClientID: tenant.ConnectClientID}
}

// signInEntra signs in on Connect to Microsoft Entra ID with a password.
func (c *client) signInEntra(user, password string) {
	c.t.Helper()
	r := c.submit(c.page("connect-entra"), "/setup/connect-entra", setup.ActionEntraSignIn, url.Values{"entra_user": {user}, "entra_password": {password}})
	wantRedirect(c.t, r, "/setup/connect-entra", "sign in as "+user)
}

// passEntra signs in as the seed's Hybrid Identity Administrator and moves on.
func (c *client) passEntra() {
	c.t.Helper()
	c.signInEntra(adminUPN, adminPassword)
	c.next("connect-entra", nil, "directories")
}

// signInEntraAgain is the admin after a restart: Configure first asks for
// the tenant's sign-in, which only memory held, and gets it.
func (c *client) signInEntraAgain() {
	c.t.Helper()
	r := c.post("/setup/configure", withAction(formValues(c.t, c.page("ready"), "/setup/ready"), "configure"))
	wantStatus(c.t, r, http.StatusUnprocessableEntity, "Configure after a restart")
	if got := r.testid(c.t, "error-entra"); got != setup.MsgEntraGone || r.header.Get("HX-Push-Url") != "/setup/connect-entra" {
		c.t.Fatalf("Configure after a restart shows %q at %q, want the tenant's sign-in asked for again", got, r.header.Get("HX-Push-Url"))
	}
	c.signInEntra(adminUPN, adminPassword)
}

func walkToEntra(c *client) {
	c.t.Helper()
	c.next("express", nil, "components")
	c.next("components", nil, "user-signin")
	c.next("user-signin", nil, "connect-entra")
}

func TestConnectEntraPassword(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, user, password string
		want                 string // the page's error; "" signs in
		mfa                  bool
	}{
		{"wrong password", adminUPN, "nope", entra.MsgBadPassword, false},
		{"locked account", "locked.admin@contoso.onmicrosoft.com", "Passw0rd!locked", "is locked", false},
		{"no admin role", "helpdesk.user@contoso.onmicrosoft.com", "Passw0rd!helpdesk", "is not a Hybrid Identity Administrator or Global Administrator", false},
		{"MFA", mfaUPN, mfaPassword, "multi-factor authentication", true},
		{"Hybrid Identity Administrator", adminUPN, adminPassword, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			c := e.signedIn("admin")
			walkToEntra(c)
			r := c.submit(c.page("connect-entra"), "/setup/connect-entra", setup.ActionEntraSignIn, url.Values{"entra_user": {tc.user}, "entra_password": {tc.password}})
			if tc.want != "" {
				wantStatus(t, r, http.StatusUnprocessableEntity, tc.name)
				if got := r.testid(t, "error-entra"); !strings.Contains(got, tc.want) {
					t.Errorf("error %q, want %q", got, tc.want)
				}
				if v, _ := r.value(t, "entra_user"); v != tc.user {
					t.Errorf("the typed account was lost: %q", v)
				}
				if v, _ := r.value(t, "entra_password"); v != "" {
					t.Errorf("the password was rendered back")
				}
				if got := r.find(t, `[data-testid="entra-mfa"]`).Length() == 1; got != tc.mfa {
					t.Errorf("MFA hint shown = %v", got)
				}
				if strings.Contains(r.text(), tc.password) {
					t.Errorf("the page shows the password")
				}
				// Next is refused without a sign-in.
				r = c.submit(c.page("connect-entra"), "/setup/connect-entra", "next", nil)
				wantStatus(t, r, http.StatusUnprocessableEntity, "Next without a sign-in")
				return
			}
			wantRedirect(t, r, "/setup/connect-entra", "sign in")
			r = c.page("connect-entra")
			if got := r.testid(t, "entra-signed-in"); !strings.Contains(got, adminUPN) || !strings.Contains(got, "Hybrid Identity Administrator") {
				t.Errorf("signed in: %q", got)
			}
			if r.find(t, `[data-testid="entra-domain-contoso.example.test"]`).Length() != 1 {
				t.Errorf("the tenant's domains are not listed")
			}
			c.next("connect-entra", nil, "directories")
			a := e.savedAnswers()
			if a.ConnectEntra.Tenant == nil || a.ConnectEntra.Tenant.InitialDomain != "contoso.onmicrosoft.com" || a.ConnectEntra.SignedInAs != adminUPN {
				t.Errorf("saved %+v", a.ConnectEntra)
			}
			if strings.Contains(e.snapshot(), adminPassword) || strings.Contains(e.logs.String(), adminPassword) {
				t.Errorf("the administrator's password was stored or logged")
			}
		})
	}
}

func TestConnectEntraInteractive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	em := testTenant(t)
	c := e.signedIn("admin")
	walkToEntra(c)
	// The MFA account fails with a password and is pointed to the interactive sign-in.
	r := c.submit(c.page("connect-entra"), "/setup/connect-entra", setup.ActionEntraSignIn, url.Values{"entra_user": {mfaUPN}, "entra_password": {mfaPassword}})
	wantStatus(t, r, http.StatusUnprocessableEntity, "MFA")
	if cls := r.find(t, `[data-testid="entra-interactive"]`).AttrOr("class", ""); !strings.Contains(cls, "primary") {
		t.Errorf("the interactive sign-in is not the suggested next step: class %q", cls)
	}

	// The button sends the browser to the authority, with the typed account as the hint.
	r = c.post("/setup/connect-entra/interactive", withAction(formValues(t, c.page("connect-entra"), "/setup/connect-entra"), "interactive"))
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location(), em.srv.URL+"/organizations/oauth2/v2.0/authorize?") {
		t.Fatalf("interactive: %d to %q", r.status, r.location())
	}
	auth, _ := url.Parse(r.location())
	if q := auth.Query(); q.Get("login_hint") != mfaUPN || q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != e.srv.URL+"/setup/connect-entra/callback" {
		t.Errorf("authorization request %s", auth)
	}
	// htmx can't follow a redirect to another origin: it is told to navigate.
	hr := c.post("/setup/connect-entra/interactive", withAction(formValues(t, c.page("connect-entra"), "/setup/connect-entra"), "interactive"), "HX-Request", "true", "HX-Boosted", "true")
	if hr.status != http.StatusOK || !strings.HasPrefix(hr.header.Get("HX-Redirect"), em.srv.URL) {
		t.Errorf("htmx: %d, HX-Redirect %q", hr.status, hr.header.Get("HX-Redirect"))
	}

	// The emulator's pages: password, then the verification code.
	cb, err := tenant.SignInAs(em.srv.Client(), r.location(), mfaUPN, mfaPassword, mfaCode)
	if err != nil {
		t.Fatal(err)
	}
	back, _ := url.Parse(cb)
	r = c.get(back.RequestURI())
	wantRedirect(t, r, "/setup/connect-entra", "callback")
	r = c.page("connect-entra")
	if got := r.testid(t, "entra-signed-in"); !strings.Contains(got, mfaUPN) || !strings.Contains(got, "signed in interactively") {
		t.Errorf("signed in: %q", got)
	}
	// The same answer can't be used twice.
	r = c.get(back.RequestURI())
	wantStatus(t, r, http.StatusUnprocessableEntity, "a replayed callback")
	if got := r.testid(t, "error-entra"); !strings.Contains(got, "does not belong to a sign-in hybridsync started") {
		t.Errorf("replayed callback: %q", got)
	}
	// The identity platform's error is shown, worded.
	r = c.get("/setup/connect-entra/callback?error=access_denied&error_description=" + url.QueryEscape("AADSTS50126: Error validating credentials. Trace ID: 1") + "&state=x")
	wantStatus(t, r, http.StatusUnprocessableEntity, "an error from the authority")
	c.next("connect-entra", nil, "directories")
	if a := e.savedAnswers(); a.ConnectEntra.SignedInHow != entra.HowInteractive || a.ConnectEntra.SignedInAs != mfaUPN {
		t.Errorf("saved %+v", a.ConnectEntra)
	}
}

func TestConnectEntraUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tlsSrv.Close)
	cases := []struct {
		name, authority, want string
	}{
		{"refused", "http://" + closed + "/organizations", "can't reach the Microsoft Entra sign-in service at " + closed},
		{"untrusted certificate", tlsSrv.URL + "/organizations", "isn't trusted"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := testTenant(t).config()
			cfg.Authority = tc.authority
			e := newEnvWith(t, envOptions{entra: &cfg})
			c := e.signedIn("admin")
			walkToEntra(c)
			for _, action := range []string{setup.ActionEntraSignIn, "interactive"} {
				path := "/setup/connect-entra"
				if action == "interactive" {
					path += "/interactive"
				}
				v := withAction(formValues(t, c.page("connect-entra"), "/setup/connect-entra"), action)
				v.Set("entra_user", adminUPN)
				v.Set("entra_password", adminPassword)
				r := c.post(path, v)
				wantStatus(t, r, http.StatusUnprocessableEntity, action)
				if got := r.testid(t, "error-entra"); !strings.Contains(got, tc.want) {
					t.Errorf("%s: %q, want %q", action, got, tc.want)
				}
				if v, _ := r.value(t, "entra_user"); v != adminUPN {
					t.Errorf("%s: the typed account was lost", action)
				}
			}
		})
	}
}

// verifyDomain verifies a domain in an emulated tenant through Graph, as an
// administrator who added its DNS record would.
func (em *emulated) verifyDomain(t *testing.T, name string) {
	t.Helper()
	if _, err := em.admin(t).VerifyDomain(context.Background(), name); err != nil {
		t.Fatalf("verify %s: %v", name, err)
	}
}

// --interactive-auth: no password is asked for; the only way is the browser.
func TestConnectEntraInteractiveOnly(t *testing.T) {
	t.Parallel()
	cfg := testTenant(t).config()
	cfg.Interactive = true
	e := newEnvWith(t, envOptions{entra: &cfg})
	c := e.signedIn("admin")
	walkToEntra(c)
	r := c.page("connect-entra")
	if r.find(t, `[data-testid="entra-interactive-only"]`).Length() != 1 || r.find(t, `input[name="entra_password"]`).Length() != 0 {
		t.Fatal("the page asks for a password under --interactive-auth")
	}
	v := withAction(formValues(t, r, "/setup/connect-entra"), setup.ActionEntraSignIn)
	v.Set("entra_user", adminUPN)
	v.Set("entra_password", adminPassword)
	r = c.post("/setup/connect-entra", v)
	wantStatus(t, r, http.StatusUnprocessableEntity, "a password under --interactive-auth")
	if got := r.testid(t, "error-entra"); got != setup.MsgEntraInteractiveOnly {
		t.Errorf("error %q", got)
	}
	r = c.post("/setup/connect-entra/interactive", withAction(formValues(t, c.page("connect-entra"), "/setup/connect-entra"), "interactive"))
	if r.status != http.StatusSeeOther || !strings.Contains(r.location(), "/oauth2/v2.0/authorize?") {
		t.Errorf("interactive: %d to %q", r.status, r.location())
	}
}
