package handlers

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/store"
)

// The OIDC tests run the console against the real tenant emulator
// (e2e/tenant), in-process behind httptest: discovery, its sign-in page, the
// token endpoint and its ID tokens with the groups claim.

// oidcTenant is an emulated tenant to sign in at.
type oidcTenant struct {
	t    *testing.T
	srv  *httptest.Server
	seed tenant.Seed
}

func newOIDCTenant(t *testing.T) *oidcTenant {
	t.Helper()
	seed := tenant.DefaultSeed()
	tn, err := tenant.New(seed, tenant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	return &oidcTenant{t: t, srv: srv, seed: seed}
}

// issuer is the tenant's v2.0 issuer, as its discovery document gives it.
func (o *oidcTenant) issuer() string { return o.srv.URL + "/" + o.seed.TenantID + "/v2.0" }

// settings is a settings form for this tenant, with groups mapped as given.
func (o *oidcTenant) settings(groups map[string]string) url.Values {
	v := url.Values{
		"enabled": {"on"}, "issuer": {o.issuer()}, "client_id": {tenant.ConsoleClientID},
		"client_secret": {tenant.ConsoleClientSecret}, "display_name": {"Contoso"}, "groups_claim": {"groups"},
	}
	for role, vals := range groups {
		v.Set("groups_"+role, vals)
	}
	return v
}

// configure saves the provider through the settings page as admin.
func (o *oidcTenant) configure(e *env, groups map[string]string) {
	o.t.Helper()
	admin := e.signedIn("admin")
	admin.get("/accounts/oidc")
	r := admin.post("/accounts/oidc", o.settings(groups))
	wantStatus(o.t, r, http.StatusOK, "save the provider")
	if got := r.testid(o.t, "flash"); !strings.HasPrefix(got, "Saved.") {
		o.t.Fatalf("saving says %q", got)
	}
}

// getURL GETs an absolute URL with the client's cookies, following nothing.
func (c *client) getURL(u string) *response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// postURL posts a form to an absolute URL.
func (c *client) postURL(u string, v url.Values) *response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// startOIDC follows "Sign in with …" to the provider and returns the
// authorization URL it was sent to.
func (c *client) startOIDC(next string) *url.URL {
	c.t.Helper()
	path := "/auth/oidc/start"
	if next != "" {
		path += "?next=" + url.QueryEscape(next)
	}
	r := c.get(path)
	wantStatus(c.t, r, http.StatusFound, "GET "+path)
	u, err := url.Parse(r.location())
	if err != nil {
		c.t.Fatal(err)
	}
	return u
}

// signInAtTenant types a username and password on the emulator's sign-in
// page (as a browser would post its form) and returns the emulator's answer:
// a redirect back to the console, or its page with an error.
func (c *client) signInAtTenant(authorize *url.URL, user, password string) *response {
	c.t.Helper()
	page := c.getURL(authorize.String())
	wantStatus(c.t, page, http.StatusOK, "the emulator's sign-in page")
	form := page.find(c.t, `form:has([data-testid="tenant-username"])`)
	if form.Length() != 1 {
		c.t.Fatalf("no sign-in form on the emulator's page:\n%s", page.text())
	}
	v := url.Values{}
	form.Find("input").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		val, _ := s.Attr("value")
		if t, _ := s.Attr("type"); name != "" && t == "hidden" {
			v.Set(name, val)
		}
	})
	userField, _ := form.Find(`[data-testid="tenant-username"]`).Attr("name")
	pwField, _ := form.Find(`[data-testid="tenant-password"]`).Attr("name")
	v.Set(userField, user)
	v.Set(pwField, password)
	action, _ := form.Attr("action")
	to, err := authorize.Parse(action)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.postURL(to.String(), v)
}

// oidcSignIn signs in at the emulator and follows it back to the console's
// callback, returning the callback's answer.
func (c *client) oidcSignIn(user, password, next string) *response {
	c.t.Helper()
	back := c.signInAtTenant(c.startOIDC(next), user, password)
	if back.status != http.StatusFound && back.status != http.StatusSeeOther {
		c.t.Fatalf("the emulator did not send the browser back (%d):\n%s", back.status, back.text())
	}
	cb, err := url.Parse(back.location())
	if err != nil || cb.Path != oidcCallbackPath {
		c.t.Fatalf("the emulator sent the browser to %q", back.location())
	}
	return c.getURL(back.location())
}

// groupIDs returns the ids of the groups the emulator's user is a direct
// member of.
func (o *oidcTenant) groupIDs(upn string) []string {
	o.t.Helper()
	ids, err := tenant.GroupIDsOf(context.Background(), o.srv.Client(), o.srv.URL, o.seed.TenantID, upn)
	if err != nil {
		o.t.Fatal(err)
	}
	if len(ids) == 0 {
		o.t.Fatalf("%s is in no group of the emulator", upn)
	}
	return ids
}

func TestOIDCSettings(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newOIDCTenant(t)
	admin := e.signedIn("admin")

	// The accounts page links to the settings; a fresh page has nothing saved.
	if r := admin.get("/accounts"); r.find(t, `a[data-testid="oidc-settings-link"][href="/accounts/oidc"]`).Length() != 1 {
		t.Fatal("the accounts page has no link to the OIDC settings")
	}
	r := admin.get("/accounts/oidc")
	wantStatus(t, r, http.StatusOK, "settings page")
	if v, _ := r.value(t, "groups_claim"); v != "groups" {
		t.Errorf("groups claim defaults to %q", v)
	}
	if got := r.testid(t, "redirect-uri"); got != e.srv.URL+"/auth/oidc/callback" {
		t.Errorf("redirect URI shown: %q", got)
	}
	if r.find(t, `[data-testid="secret-saved"]`).Length() != 0 {
		t.Error("a fresh page says a secret is saved")
	}

	// Closed port, TLS with an unknown authority, a document that is not one.
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return "http://" + addr + "/tid/v2.0"
	}()
	tlsTenant, err := tenant.New(tenant.DefaultSeed(), tenant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tlsSrv := httptest.NewUnstartedServer(tlsTenant)
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is the point
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html>hello</html>")
	}))
	t.Cleanup(notJSON.Close)
	noEndpoints := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"issuer":"http://`+r.Host+`"}`)
	}))
	t.Cleanup(noEndpoints.Close)

	groups := map[string]string{"browse": "some-group-id"}
	tests := []struct {
		name  string
		edit  func(v url.Values)
		field string // the field whose error is shown
		want  string // in the error
	}{
		{"no issuer", func(v url.Values) { v.Set("issuer", "") }, "issuer", "Enter the provider's issuer URL"},
		{"not a URL", func(v url.Values) { v.Set("issuer", "login.example.test") }, "issuer", "Enter a URL such as"},
		{"plain http elsewhere", func(v url.Values) { v.Set("issuer", "http://login.example.test/tid/v2.0") }, "issuer", "Use https"},
		{"query", func(v url.Values) { v.Set("issuer", tn.issuer()+"?x=1") }, "issuer", "no query"},
		{"no client id", func(v url.Values) { v.Set("client_id", "") }, "client_id", "Enter the client id"},
		{"no secret", func(v url.Values) { v.Del("client_secret") }, "client_secret", "Enter the client secret"},
		{"no name", func(v url.Values) { v.Set("display_name", " ") }, "display_name", "Enter the name for the button"},
		{"bad claim name", func(v url.Values) { v.Set("groups_claim", "my groups") }, "groups_claim", "Enter the claim's name"},
		{"no group mapped", func(v url.Values) { v.Del("groups_browse") }, "groups", "Enter at least one group"},
		{"unreachable", func(v url.Values) { v.Set("issuer", closed) }, "issuer", "couldn't connect to"},
		{"TLS authority unknown", func(v url.Values) { v.Set("issuer", tlsSrv.URL+"/"+tn.seed.TenantID+"/v2.0") }, "issuer", "not signed by an authority this server trusts"},
		{"issuer mismatch", func(v url.Values) { v.Set("issuer", tn.srv.URL+"/contoso.onmicrosoft.com/v2.0") }, "issuer", "calls itself " + tn.issuer() + ", not"},
		{"trailing slash", func(v url.Values) { v.Set("issuer", tn.issuer()+"/") }, "issuer", "mind a trailing slash"},
		{"unknown tenant", func(v url.Values) { v.Set("issuer", tn.srv.URL+"/nope.example/v2.0") }, "issuer", "There is no OpenID Connect discovery document at " + tn.srv.URL + "/nope.example/v2.0/.well-known/openid-configuration (the server answered 400"},
		{"not a discovery document", func(v url.Values) { v.Set("issuer", notJSON.URL) }, "issuer", "is not an OpenID Connect discovery document"},
		{"no endpoints", func(v url.Values) { v.Set("issuer", noEndpoints.URL) }, "issuer", "names no authorization or token endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := tn.settings(groups)
			tt.edit(form)
			r := admin.post("/accounts/oidc", form)
			wantStatus(t, r, http.StatusUnprocessableEntity, tt.name)
			if got := r.testid(t, "error-"+tt.field); !strings.Contains(got, tt.want) {
				t.Errorf("error-%s says %q, want %q", tt.field, got, tt.want)
			}
			// Everything typed is kept, except the secret.
			for _, f := range []string{"issuer", "client_id", "display_name"} {
				if got, _ := r.value(t, f); got != strings.TrimSpace(form.Get(f)) {
					t.Errorf("%s shows %q, typed %q", f, got, form.Get(f))
				}
			}
			if got := r.find(t, `textarea[name="groups_browse"]`).Text(); got != form.Get("groups_browse") {
				t.Errorf("groups_browse shows %q, typed %q", got, form.Get("groups_browse"))
			}
			if _, ok := r.value(t, "client_secret"); ok || strings.Contains(r.text(), tenant.ConsoleClientSecret) {
				t.Error("the page renders the client secret back")
			}
			if _, err := e.st.OIDCProvider(context.Background()); err != store.ErrNotFound {
				t.Errorf("a refused form saved the provider (%v)", err)
			}
		})
	}

	// A good form is saved, the secret sealed and never shown.
	r = admin.post("/accounts/oidc", tn.settings(map[string]string{"browse": "g1\n g2 \n\ng1", "admins": "G-ADMINS"}))
	wantStatus(t, r, http.StatusOK, "save")
	if got := r.testid(t, "flash"); !strings.Contains(got, "Sign in with Contoso") {
		t.Errorf("flash %q", got)
	}
	p, err := e.st.OIDCProvider(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !p.Enabled || p.Issuer != tn.issuer() || p.ClientID != tenant.ConsoleClientID || p.DisplayName != "Contoso" || p.UpdatedBy != "admin" ||
		!slices.Equal(p.RoleGroups["browse"], []string{"g1", "g2"}) || !slices.Equal(p.RoleGroups["admins"], []string{"G-ADMINS"}) {
		t.Errorf("saved %+v", p)
	}
	if !strings.HasPrefix(p.ClientSecret, "sealed:v2:") || strings.Contains(p.ClientSecret, tenant.ConsoleClientSecret) {
		t.Errorf("the secret is stored as %q", p.ClientSecret)
	}
	if got, err := e.box.OpenFor(secret.PurposeOIDCClientSecret, p.ClientSecret); err != nil || got != tenant.ConsoleClientSecret {
		t.Errorf("the sealed secret opens to %q, %v", got, err)
	}
	r = admin.get("/accounts/oidc")
	if r.find(t, `[data-testid="secret-saved"]`).Length() != 1 || strings.Contains(r.text(), tenant.ConsoleClientSecret) {
		t.Error("the saved page does not say a secret is saved, or shows it")
	}
	if got := r.find(t, `textarea[name="groups_browse"]`).Text(); got != "g1\ng2" {
		t.Errorf("groups_browse shows %q", got)
	}

	// Saving again without a secret keeps it; a new client id needs its own.
	form := tn.settings(groups)
	form.Del("client_secret")
	wantStatus(t, admin.post("/accounts/oidc", form), http.StatusOK, "save keeping the secret")
	if q, _ := e.st.OIDCProvider(context.Background()); q.ClientSecret != p.ClientSecret {
		t.Error("saving without a secret replaced it")
	}
	form.Set("client_id", "another-client")
	r = admin.post("/accounts/oidc", form)
	wantStatus(t, r, http.StatusUnprocessableEntity, "new client without a secret")
	if got := r.testid(t, "error-client_secret"); !strings.Contains(got, "belongs to another client id") {
		t.Errorf("error-client_secret %q", got)
	}

	// Turned off, it is saved without asking the provider (which is down).
	off := tn.settings(groups)
	off.Del("enabled")
	off.Set("issuer", closed)
	wantStatus(t, admin.post("/accounts/oidc", off), http.StatusOK, "turn off")
	if r := e.newClient().get("/signin"); r.find(t, `[data-testid="signin-oidc"]`).Length() != 0 {
		t.Error("the sign-in page offers a provider that is off")
	}

	// Only administrators reach the page.
	for _, user := range []string{"operator", "helpdesk"} {
		c := e.signedIn(user)
		if r := c.get("/accounts/oidc"); r.status != http.StatusForbidden {
			t.Errorf("GET /accounts/oidc as %s: %d", user, r.status)
		}
	}
}

func TestOIDCSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newOIDCTenant(t)
	const (
		helpdeskUser = "helpdesk.user@contoso.onmicrosoft.com"
		helpdeskPass = "Passw0rd!helpdesk"
		opsUser      = "ops.user@contoso.onmicrosoft.com"
	)
	helpdeskGroups := tn.groupIDs(helpdeskUser)
	opsPass := seedPassword(t, tn.seed, opsUser)
	opsGroups := tn.groupIDs(opsUser)
	tn.configure(e, map[string]string{"browse": strings.Join(helpdeskGroups, "\n"), "admins": strings.Join(opsGroups, "\n")})

	// The sign-in page offers the provider, with next carried along.
	anon := e.newClient()
	r := anon.get("/signin?next=%2Fjobs")
	if href, _ := r.find(t, `a[data-testid="signin-oidc"]`).Attr("href"); href != "/auth/oidc/start?next=%2Fjobs" {
		t.Fatalf("the provider's button links to %q", href)
	}
	if got := r.testid(t, "signin-oidc"); got != "Sign in with Contoso" {
		t.Errorf("button says %q", got)
	}

	// Start: to the provider's authorization endpoint with state, nonce and
	// PKCE S256; nothing readable in the page, nothing stored.
	before := e.snapshot()
	authz := anon.startOIDC("/jobs")
	q := authz.Query()
	if authz.Path != "/"+tn.seed.TenantID+"/oauth2/v2.0/authorize" {
		t.Errorf("sent to %s", authz)
	}
	for k, want := range map[string]string{
		"client_id": tenant.ConsoleClientID, "response_type": "code", "code_challenge_method": "S256",
		"redirect_uri": e.srv.URL + "/auth/oidc/callback",
	} {
		if q.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, q.Get(k), want)
		}
	}
	if !slices.Contains(strings.Fields(q.Get("scope")), "openid") || len(q.Get("state")) < 32 || len(q.Get("nonce")) < 32 || len(q.Get("code_challenge")) != 43 {
		t.Errorf("scope, state, nonce or challenge missing: %v", q)
	}
	if strings.Contains(anon.cookie(), q.Get("state")) {
		t.Error("the state is readable in the cookie")
	}
	if after := e.snapshot(); after != before {
		t.Errorf("GET /auth/oidc/start changed the store:\n%s\n%s", before, after)
	}

	// A wrong password at the emulator shows its error and never comes back.
	wrong := anon.signInAtTenant(anon.startOIDC(""), helpdeskUser, "not the password")
	wantStatus(t, wrong, http.StatusOK, "wrong password at the emulator")
	if got := wrong.testid(t, "tenant-error"); !strings.Contains(got, "password is incorrect") {
		t.Errorf("the emulator says %q", got)
	}

	// The helpdesk user signs in: a new account in Browse, signed in.
	helpdesk := e.newClient()
	cb := helpdesk.oidcSignIn(helpdeskUser, helpdeskPass, "/jobs")
	wantRedirect(t, cb, "/jobs", "callback as the helpdesk user")
	home := helpdesk.get("/")
	wantStatus(t, home, http.StatusOK, "overview after OIDC sign-in")
	acct, err := e.st.AccountByUsername(context.Background(), helpdeskUser)
	if err != nil {
		t.Fatal(err)
	}
	if acct.PasswordHash != "" || !slices.Equal(acct.Roles, []string{"browse"}) {
		t.Errorf("account made: %+v", acct)
	}
	if got := home.testid(t, "signed-in-as"); got != acct.DisplayName || got == "" {
		t.Errorf("signed in as %q, account %q", got, acct.DisplayName)
	}
	for path, want := range map[string]int{"/config": 200, "/jobs": 200, "/setup": 403, "/accounts": 403, "/accounts/oidc": 403} {
		if r := helpdesk.get(path); r.status != want {
			t.Errorf("GET %s as the OIDC helpdesk user: %d, want %d", path, r.status, want)
		}
	}
	// The session is like a local one: a CSRF token that works, sign-out.
	if r := helpdesk.post("/signout", nil); r.status != http.StatusSeeOther {
		t.Errorf("sign out: %d", r.status)
	}

	// The account can't sign in with a password, and says no more than a
	// wrong password does.
	for _, pw := range []string{"", "anything", testPassword} {
		c := e.newClient()
		c.get("/signin")
		r := c.post("/signin", url.Values{"username": {helpdeskUser}, "password": {pw}})
		if r.status == http.StatusSeeOther || (pw != "" && r.testid(t, "signin-error") != msgBadCredentials) {
			t.Errorf("local sign-in of the OIDC account with %q: %d %q", pw, r.status, r.testid(t, "signin-error"))
		}
	}
	if strings.Contains(e.logs.String(), "Unable to check the password") {
		t.Error("local sign-in of an OIDC account failed with an error")
	}

	// The admin-group user: the same again, signed in as an administrator.
	ops := e.newClient()
	wantRedirect(t, ops.oidcSignIn(opsUser, opsPass, ""), "/", "callback as the ops user")
	if r := ops.get("/accounts"); r.status != http.StatusOK {
		t.Errorf("GET /accounts as the OIDC admin: %d", r.status)
	}

	// Its groups change: the mapping now gives it nothing. Its roles go, and
	// it can't sign in; the account stays, known by issuer and subject.
	tn.configure(e, map[string]string{"browse": strings.Join(helpdeskGroups, "\n")})
	again := e.newClient()
	r = again.oidcSignIn(opsUser, opsPass, "")
	wantStatus(t, r, http.StatusForbidden, "sign-in without a mapped group")
	if got := r.testid(t, "signin-error"); !strings.Contains(got, "Your account "+opsUser+" at Contoso isn't in a group that hybridsync maps to a role. Ask an administrator") {
		t.Errorf("refusal says %q", got)
	}
	if a, err := e.st.AccountByUsername(context.Background(), opsUser); err != nil || len(a.Roles) != 0 {
		t.Errorf("the ops account after losing its group: %+v, %v", a, err)
	}
	if r := again.get("/"); r.status != http.StatusSeeOther {
		t.Errorf("a refused sign-in left a session: %d", r.status)
	}
}

// TestOIDCRefusals: sign-ins that must not succeed, and change nothing.
func TestOIDCRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newOIDCTenant(t)
	const hybridAdmin = "hybrid.admin@contoso.onmicrosoft.com"

	// Before the provider is set up.
	c := e.newClient()
	r := c.get("/auth/oidc/start")
	wantStatus(t, r, http.StatusNotFound, "start without a provider")
	if got := r.testid(t, "signin-error"); !strings.Contains(got, "isn't set up here") {
		t.Errorf("start without a provider says %q", got)
	}

	tn.configure(e, map[string]string{"browse": "no-such-group"})
	before := e.snapshot()
	accounts, _ := e.st.CountAccounts(context.Background())

	tests := []struct {
		name   string
		run    func(c *client) *response
		status int
		want   string
	}{
		{"a user in no mapped group", func(c *client) *response {
			return c.oidcSignIn(hybridAdmin, seedPassword(t, tn.seed, hybridAdmin), "")
		}, http.StatusForbidden, "Your account " + hybridAdmin + " at Contoso isn't in a group that hybridsync maps to a role. Ask an administrator"},
		{"no flow in this browser", func(c *client) *response {
			return c.get("/auth/oidc/callback?code=abc&state=xyz")
		}, http.StatusBadRequest, "This sign-in didn't start in this browser"},
		{"another state", func(c *client) *response {
			c.startOIDC("")
			return c.get("/auth/oidc/callback?code=abc&state=" + strings.Repeat("A", 43))
		}, http.StatusBadRequest, "This sign-in didn't start in this browser"},
		{"another browser's state", func(c *client) *response {
			other := e.newClient()
			st := other.startOIDC("").Query().Get("state")
			c.startOIDC("")
			return c.get("/auth/oidc/callback?code=abc&state=" + url.QueryEscape(st))
		}, http.StatusBadRequest, "This sign-in didn't start in this browser"},
		{"the provider refuses", func(c *client) *response {
			st := c.startOIDC("").Query().Get("state")
			return c.get("/auth/oidc/callback?error=access_denied&error_description=" +
				url.QueryEscape("AADSTS65004: User declined to consent to access the app.\r\nTrace ID: 1\r\nCorrelation ID: 2") + "&state=" + url.QueryEscape(st))
		}, http.StatusUnauthorized, "Sign-in at Contoso was cancelled or refused: AADSTS65004: User declined to consent to access the app. Try again, or sign in with your hybridsync account."},
		{"a forged code", func(c *client) *response {
			st := c.startOIDC("").Query().Get("state")
			return c.get("/auth/oidc/callback?code=forged&state=" + url.QueryEscape(st))
		}, http.StatusBadGateway, "hybridsync couldn't complete your sign-in with Contoso: it did not accept hybridsync's request for your token"},
		{"an ID token for another nonce", func(c *client) *response {
			// A code obtained for another nonce (an injected code) with this
			// browser's state and PKCE challenge.
			authz := c.startOIDC("")
			q := authz.Query()
			q.Set("nonce", "attacker-nonce")
			authz.RawQuery = q.Encode()
			helpdesk := "helpdesk.user@contoso.onmicrosoft.com"
			back := c.signInAtTenant(authz, helpdesk, seedPassword(t, tn.seed, helpdesk))
			return c.getURL(back.location())
		}, http.StatusBadGateway, "hybridsync couldn't complete your sign-in with Contoso: its ID token was not made for this sign-in"},
		{"a code replayed", func(c *client) *response {
			helpdesk := "helpdesk.user@contoso.onmicrosoft.com"
			back := c.signInAtTenant(c.startOIDC(""), helpdesk, seedPassword(t, tn.seed, helpdesk))
			c.getURL(back.location())
			return c.getURL(back.location())
		}, http.StatusBadRequest, "This sign-in didn't start in this browser, or was already used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.newClient()
			r := tt.run(c)
			wantStatus(t, r, tt.status, tt.name)
			if got := r.testid(t, "signin-error"); got != tt.want && !strings.HasPrefix(got, tt.want) {
				t.Errorf("the sign-in page says %q, want %q", got, tt.want)
			}
			if r.find(t, `[data-testid="signin-oidc"]`).Length() != 1 {
				t.Error("the refusal page lost the provider's button")
			}
			if r := c.get("/"); r.status != http.StatusSeeOther {
				t.Errorf("signed in after a refusal: %d", r.status)
			}
		})
	}
	if after := e.snapshot(); after != before {
		t.Errorf("refused sign-ins changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if n, _ := e.st.CountAccounts(context.Background()); n != accounts {
		t.Errorf("refused sign-ins made accounts: %d, had %d", n, accounts)
	}
}

// seedPassword is a seeded account's password.
func seedPassword(t *testing.T, seed tenant.Seed, upn string) string {
	t.Helper()
	for _, a := range append(slices.Clone(seed.Admins), seed.Users...) {
		if strings.EqualFold(a.UserPrincipalName, upn) {
			return a.Password
		}
	}
	t.Fatalf("no seeded account %s", upn)
	return ""
}

func TestProviderErrorMessage(t *testing.T) {
	tests := []struct{ code, desc, want string }{
		{"access_denied", "", "Sign-in at X was cancelled or refused (access_denied). Try again, or sign in with your hybridsync account."},
		{"access_denied", "The user cancelled.", "Sign-in at X was cancelled or refused: The user cancelled. Try again, or sign in with your hybridsync account."},
		{"server_error", "AADSTS50000: oops\nTrace ID: 1", "X had a problem and couldn't sign you in: AADSTS50000: oops. Try again, or sign in with your hybridsync account."},
		{"invalid_scope", strings.Repeat("x", 400), "X didn't sign you in: " + strings.Repeat("x", 300) + "…. Try again, or sign in with your hybridsync account."},
	}
	for _, tt := range tests {
		if got := providerErrorMessage("X", tt.code, tt.desc); got != tt.want {
			t.Errorf("providerErrorMessage(%q, %q)\n got %q\nwant %q", tt.code, tt.desc, got, tt.want)
		}
	}
}

// The provider takes the groups of the only enabled administrator away: it
// stays an administrator, signs in, and the audit trail says why.
func TestOIDCKeepsTheOnlyAdministrator(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tn := newOIDCTenant(t)
	const opsUser = "ops.user@contoso.onmicrosoft.com"
	opsPass := seedPassword(t, tn.seed, opsUser)
	tn.configure(e, map[string]string{"admins": strings.Join(tn.groupIDs(opsUser), "\n")})
	ops := e.newClient()
	wantRedirect(t, ops.oidcSignIn(opsUser, opsPass, ""), "/", "first sign-in as ops")
	ctx := context.Background()
	if _, err := e.st.DisableAccount(ctx, e.ids["admin"]); err != nil {
		t.Fatal(err)
	}
	// ops, now the only enabled administrator, maps nobody to Administrators.
	ops.get("/accounts/oidc")
	wantStatus(t, ops.post("/accounts/oidc", tn.settings(map[string]string{"browse": "some-other-group"})), http.StatusOK, "ops saves the mapping")

	again := e.newClient()
	wantRedirect(t, again.oidcSignIn(opsUser, opsPass, ""), "/", "sign-in without a mapped group, as the only administrator")
	if a, err := e.st.AccountByUsername(ctx, opsUser); err != nil || !slices.Equal(a.Roles, []string{"admins"}) {
		t.Errorf("the only administrator after losing its group: %v, %v", a.Roles, err)
	}
	if r := again.get("/accounts"); r.status != http.StatusOK {
		t.Errorf("GET /accounts: %d", r.status)
	}
	got, _ := e.lastAudit(t, audit.SignInOIDC)
	if got.Outcome != audit.Succeeded || !strings.Contains(got.Detail, "it is the only enabled administrator") {
		t.Errorf("audit record %+v", got)
	}
}
