package tenant_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

const (
	adminUPN  = "hybrid.admin@contoso.onmicrosoft.com"
	adminPass = "Passw0rd!hybrid"
	mfaUPN    = "mfa.admin@contoso.onmicrosoft.com"
	mfaPass   = "Passw0rd!mfa"
	mfaCode   = tenant.DefaultMFACode

	consoleRedirect = "http://localhost:8080" + tenant.ConsoleCallbackPath
	connectRedirect = "http://127.0.0.1:54321" + tenant.ConnectCallbackPath
)

// clock is a settable clock for expiry tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type idpEnv struct {
	tn  *tenant.Tenant
	srv *httptest.Server
	clk *clock
}

func startIdP(t *testing.T) *idpEnv {
	t.Helper()
	clk := &clock{now: time.Now()}
	tn, err := tenant.New(tenant.DefaultSeed(), tenant.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	return &idpEnv{tn: tn, srv: srv, clk: clk}
}

func (e *idpEnv) authority() string { return e.srv.URL + "/" + e.tn.TenantID() }

// ctx carries the test server's client for go-oidc and x/oauth2.
func (e *idpEnv) ctx() context.Context {
	return oidc.ClientContext(context.Background(), e.srv.Client())
}

// browser is a user agent with a cookie jar that stops at every redirect.
type browser struct {
	t *testing.T
	c *http.Client
}

func (e *idpEnv) browser(t *testing.T) *browser { return newBrowser(t, e.srv) }

// newBrowser is a browser for srv, plain HTTP or TLS (it trusts the test
// server's certificate).
func newBrowser(t *testing.T, srv *httptest.Server) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: srv.Client().Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is a response with its HTML parsed.
type page struct {
	status int
	loc    *url.URL
	doc    *goquery.Document
	url    *url.URL
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	p := page{status: resp.StatusCode, url: req.URL}
	if l := resp.Header.Get("Location"); l != "" {
		p.loc, _ = url.Parse(l)
	}
	p.doc, err = goquery.NewDocumentFromReader(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return p
}

func (b *browser) get(u string) page {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (p page) testid(id string) *goquery.Selection { return p.doc.Find(`[data-testid="` + id + `"]`) }

func (p page) errorText() string { return strings.TrimSpace(p.testid("tenant-error").Text()) }

// submit fills the page's form (fields by data-testid) and posts it.
func (b *browser) submit(p page, fields map[string]string) page {
	b.t.Helper()
	form := p.doc.Find("form")
	if form.Length() != 1 {
		b.t.Fatalf("no form on the page (status %d): %s", p.status, p.errorText())
	}
	vals := url.Values{}
	form.Find("input").Each(func(_ int, in *goquery.Selection) {
		name, _ := in.Attr("name")
		val, _ := in.Attr("value")
		if tid, ok := in.Attr("data-testid"); ok {
			if v, ok := fields[tid]; ok {
				val = v
			}
		}
		vals.Set(name, val)
	})
	if p.doc.Find(`input[type="hidden"][name="passwd"], input[type="hidden"][name="password"]`).Length() > 0 {
		b.t.Fatal("the password is carried in a hidden field")
	}
	action, _ := form.Attr("action")
	target := p.url.ResolveReference(&url.URL{Path: action})
	req, _ := http.NewRequest(http.MethodPost, target.String(), strings.NewReader(vals.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// signIn posts the username and password on a sign-in page.
func (b *browser) signIn(p page, user, pass string) page {
	b.t.Helper()
	if p.testid("tenant-username").Length() != 1 || p.testid("tenant-password").Length() != 1 || p.testid("tenant-signin").Length() != 1 {
		b.t.Fatalf("not a sign-in page (status %d): %s", p.status, p.errorText())
	}
	return b.submit(p, map[string]string{"tenant-username": user, "tenant-password": pass})
}

func claimsOf(t *testing.T, jwt string) map[string]any { t.Helper(); return jwtPart(t, jwt, 1) }

// headerOf is a JWT's header.
func headerOf(t *testing.T, jwt string) map[string]any { t.Helper(); return jwtPart(t, jwt, 0) }

func jwtPart(t *testing.T, jwt string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// checkV1AccessToken asserts a delegated or app-only Graph access token has
// the v1.0 shape (access-token-claims-reference): a header with kid and
// x5t, ver 1.0, the v1.0 issuer, and the claims listed in want (nil: must
// be absent).
func checkV1AccessToken(t *testing.T, authority, jwt string, want map[string]any) map[string]any {
	t.Helper()
	h, c := headerOf(t, jwt), claimsOf(t, jwt)
	if h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] == nil || h["x5t"] != h["kid"] {
		t.Errorf("access token header = %v, want kid and x5t alike", h)
	}
	if c["ver"] != "1.0" || c["iss"] != authority+"/" {
		t.Errorf("access token ver %v iss %v, want 1.0 %s/", c["ver"], c["iss"], authority)
	}
	for _, k := range []string{"iat", "nbf", "exp", "appid", "appidacr", "idtyp", "oid", "sub", "tid", "uti"} {
		if c[k] == nil {
			t.Errorf("access token without %s: %v", k, c)
		}
	}
	for _, k := range []string{"azp", "azpacr", "preferred_username"} { // v2.0 only
		if c[k] != nil {
			t.Errorf("v1.0 access token with %s: %v", k, c)
		}
	}
	for k, v := range want {
		got, _ := json.Marshal(c[k])
		exp, _ := json.Marshal(v)
		if string(got) != string(exp) {
			t.Errorf("access token %s = %s, want %s", k, got, exp)
		}
	}
	return c
}

// checkV2IDToken asserts an ID token has the v2.0 shape
// (id-token-claims-reference): kid without x5t, ver 2.0, the v2.0 issuer,
// the client as aud, and none of the v1.0-only claims.
func checkV2IDToken(t *testing.T, authority, clientID, jwt string) map[string]any {
	t.Helper()
	h, c := headerOf(t, jwt), claimsOf(t, jwt)
	if h["alg"] != "RS256" || h["kid"] == nil || h["x5t"] != nil {
		t.Errorf("ID token header = %v, want kid and no x5t", h)
	}
	if c["ver"] != "2.0" || c["iss"] != authority+"/v2.0" || c["aud"] != clientID {
		t.Errorf("ID token ver %v iss %v aud %v", c["ver"], c["iss"], c["aud"])
	}
	for _, k := range []string{"iat", "nbf", "exp", "sub", "tid", "uti"} {
		if c[k] == nil {
			t.Errorf("ID token without %s: %v", k, c)
		}
	}
	for _, k := range []string{"appid", "appidacr", "unique_name", "upn", "amr", "acr", "scp", "idtyp"} {
		if c[k] != nil {
			t.Errorf("v2.0 ID token with %s: %v", k, c)
		}
	}
	return c
}

// aadsts asserts an x/oauth2 token error carries the OAuth error and AADSTS code.
func aadsts(t *testing.T, err error, oauthErr, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a RetrieveError %s %s", err, oauthErr, code)
	}
	if re.ErrorCode != oauthErr || !strings.HasPrefix(re.ErrorDescription, code+": ") {
		t.Fatalf("error = %s %q, want %s %s", re.ErrorCode, re.ErrorDescription, oauthErr, code)
	}
}

// TestConsoleOIDC signs in to the confidential console app with a standard
// OpenID Connect client (go-oidc + x/oauth2) against the emulator's discovery
// document: wrong password, then the right one, code + PKCE exchange, ID
// token verification, refresh, UserInfo, and a replayed code.
func TestConsoleOIDC(t *testing.T) {
	e := startIdP(t)
	ctx := e.ctx()
	provider, err := oidc.NewProvider(ctx, e.authority()+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth2.Config{
		ClientID: tenant.ConsoleClientID, ClientSecret: tenant.ConsoleClientSecret,
		Endpoint: provider.Endpoint(), RedirectURL: consoleRedirect,
		Scopes: []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("st-123", oauth2.S256ChallengeOption(verifier), oidc.Nonce("n-456"),
		oauth2.SetAuthURLParam("login_hint", adminUPN))

	b := e.browser(t)
	p := b.get(authURL)
	if v, _ := p.testid("tenant-username").Attr("value"); v != adminUPN {
		t.Fatalf("login_hint not prefilled: %q", v)
	}
	p = b.signIn(p, adminUPN, "wrong")
	if got := p.errorText(); !strings.Contains(got, "Your account or password is incorrect") {
		t.Fatalf("wrong password: %q", got)
	}
	p = b.signIn(p, adminUPN, adminPass)
	if p.status != http.StatusFound || p.loc == nil {
		t.Fatalf("sign-in = %d, want 302: %s", p.status, p.errorText())
	}
	if got := p.loc.Scheme + "://" + p.loc.Host + p.loc.Path; got != consoleRedirect || p.loc.Query().Get("state") != "st-123" {
		t.Fatalf("redirected to %s", p.loc)
	}
	code := p.loc.Query().Get("code")

	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: tenant.ConsoleClientID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var ic struct {
		Name, PreferredUsername, OID, TID, Ver string
		Groups                                 []string
	}
	_ = idt.Claims(&ic)
	raw := checkV2IDToken(t, e.authority(), tenant.ConsoleClientID, rawID)
	if idt.Nonce != "n-456" || idt.Issuer != e.authority()+"/v2.0" || raw["preferred_username"] != adminUPN ||
		raw["name"] != "Hybrid Admin" || raw["tid"] != e.tn.TenantID() || raw["oid"] == nil || idt.Subject == "" || raw["sid"] == nil {
		t.Errorf("ID token claims = %v", raw)
	}
	if tok.RefreshToken == "" || tok.TokenType != "Bearer" {
		t.Errorf("token = %+v", tok)
	}
	// Only OpenID scopes: the access token is Graph's, named by its id.
	ac := checkV1AccessToken(t, e.authority(), tok.AccessToken, map[string]any{
		"aud": tenant.GraphAppID, "upn": adminUPN, "unique_name": adminUPN, "oid": raw["oid"], "name": "Hybrid Admin",
		"appid": tenant.ConsoleClientID, "appidacr": "1", "idtyp": "user", "amr": []string{"pwd"}, "acr": "1",
		"tid": e.tn.TenantID(), "ipaddr": "127.0.0.1", "scp": "openid profile", "wids": []string{tenant.RoleHybridIdentityAdministrator}, "roles": nil,
	})
	if ac["sub"] != raw["sub"] {
		t.Errorf("access token sub %v, ID token sub %v", ac["sub"], raw["sub"])
	}

	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || ui.Subject != idt.Subject {
		t.Errorf("UserInfo = %+v, %v (sub %s)", ui, err, idt.Subject)
	}

	// Refresh with x/oauth2's token source.
	fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil || fresh.AccessToken == "" || fresh.RefreshToken == "" {
		t.Fatalf("refresh = %+v, %v", fresh, err)
	}
	if rid, _ := fresh.Extra("id_token").(string); rid == "" {
		t.Error("refresh without an ID token")
	}

	// A code works once.
	_, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	aadsts(t, err, "invalid_grant", "AADSTS54005")
}

// TestConnectPKCEWithMFA: the public connect app on a loopback redirect URI
// with another port, an MFA account, a wrong then right verification code.
func TestConnectPKCEWithMFA(t *testing.T) {
	e := startIdP(t)
	ctx := e.ctx()
	cfg := oauth2.Config{
		ClientID: tenant.ConnectClientID, RedirectURL: connectRedirect,
		Endpoint: oauth2.Endpoint{AuthURL: e.authority() + "/oauth2/v2.0/authorize", TokenURL: e.authority() + "/oauth2/v2.0/token"},
		Scopes:   []string{"https://graph.microsoft.com/.default", "offline_access"},
	}
	verifier := oauth2.GenerateVerifier()
	b := e.browser(t)
	p := b.get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)))
	p = b.signIn(p, mfaUPN, mfaPass)
	if p.testid("tenant-mfa-code").Length() != 1 || p.testid("tenant-verify").Length() != 1 {
		t.Fatalf("no MFA page: %d %s", p.status, p.errorText())
	}
	p = b.submit(p, map[string]string{"tenant-mfa-code": "000000"})
	if got := p.errorText(); !strings.Contains(got, "verification code") || p.testid("tenant-mfa-code").Length() != 1 {
		t.Fatalf("wrong code: %q", got)
	}
	p = b.submit(p, map[string]string{"tenant-mfa-code": mfaCode})
	if p.status != http.StatusFound || p.loc == nil || p.loc.Host != "127.0.0.1:54321" {
		t.Fatalf("after MFA: %d %v %s", p.status, p.loc, p.errorText())
	}
	tok, err := cfg.Exchange(ctx, p.loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Extra("id_token") != nil {
		t.Error("ID token without openid")
	}
	checkV1AccessToken(t, e.authority(), tok.AccessToken, map[string]any{
		"upn": mfaUPN, "appid": tenant.ConnectClientID, "appidacr": "0", "amr": []string{"pwd", "mfa"},
		"aud": tenant.GraphResource, "idtyp": "user"})
	// prompt=none now finds the session.
	p = b.get(cfg.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "none")))
	if p.status != http.StatusFound || p.loc.Query().Get("code") == "" || p.loc.Query().Get("state") != "s2" {
		t.Fatalf("prompt=none with a session: %d %v", p.status, p.loc)
	}
	// Tokens from the session say how the user signed in to it.
	sso, err := cfg.Exchange(ctx, p.loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	checkV1AccessToken(t, e.authority(), sso.AccessToken, map[string]any{"upn": mfaUPN, "amr": []string{"pwd", "mfa"}})
}

// codeFor signs the admin in and returns a code.
func (e *idpEnv) codeFor(t *testing.T, q url.Values) string {
	t.Helper()
	b := e.browser(t)
	p := b.signIn(b.get(e.authority()+"/oauth2/v2.0/authorize?"+q.Encode()), adminUPN, adminPass)
	if p.status != http.StatusFound || p.loc.Query().Get("code") == "" {
		t.Fatalf("no code: %d %v %s", p.status, p.loc, p.errorText())
	}
	return p.loc.Query().Get("code")
}

func authQuery(clientID, redirect string, extra ...string) url.Values {
	q := url.Values{"client_id": {clientID}, "response_type": {"code"}, "redirect_uri": {redirect},
		"scope": {"openid profile offline_access"}, "state": {"xyz"}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return q
}

func (e *idpEnv) token(t *testing.T, form url.Values, basic ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.authority()+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestTokenEndpointCodeRules(t *testing.T) {
	e := startIdP(t)
	verifier := oauth2.GenerateVerifier()
	challenge := oauth2.S256ChallengeFromVerifier(verifier)
	pkce := []string{"code_challenge", challenge, "code_challenge_method", "S256"}
	redeem := func(clientID, secret, code, redirect, verifier string) url.Values {
		f := url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {code}, "redirect_uri": {redirect}}
		if secret != "" {
			f.Set("client_secret", secret)
		}
		if verifier != "" {
			f.Set("code_verifier", verifier)
		}
		return f
	}
	tests := []struct {
		name   string
		form   func() url.Values
		status int
		oauth  string
		code   int
	}{
		{"PKCE mismatch", func() url.Values {
			c := e.codeFor(t, authQuery(tenant.ConnectClientID, connectRedirect, pkce...))
			return redeem(tenant.ConnectClientID, "", c, connectRedirect, oauth2.GenerateVerifier())
		}, 400, "invalid_grant", 501481},
		{"PKCE verifier missing", func() url.Values {
			c := e.codeFor(t, authQuery(tenant.ConnectClientID, connectRedirect, pkce...))
			return redeem(tenant.ConnectClientID, "", c, connectRedirect, "")
		}, 400, "invalid_grant", 501481},
		{"public client without PKCE", func() url.Values {
			c := e.codeFor(t, authQuery(tenant.ConnectClientID, connectRedirect))
			return redeem(tenant.ConnectClientID, "", c, connectRedirect, "")
		}, 400, "invalid_request", 9002325},
		{"public client with a secret", func() url.Values {
			c := e.codeFor(t, authQuery(tenant.ConnectClientID, connectRedirect, pkce...))
			return redeem(tenant.ConnectClientID, "s3cret", c, connectRedirect, verifier)
		}, 401, "invalid_client", 700025},
		{"confidential client without a secret", func() url.Values {
			c := e.codeFor(t, authQuery(tenant.ConsoleClientID, consoleRedirect))
			return redeem(tenant.ConsoleClientID, "", c, consoleRedirect, "")
		}, 401, "invalid_client", 7000218},
		{"confidential client, wrong secret", func() url.Values {
			c := e.codeFor(t, authQuery(tenant.ConsoleClientID, consoleRedirect))
			return redeem(tenant.ConsoleClientID, "nope", c, consoleRedirect, "")
		}, 401, "invalid_client", 7000215},
		{"redirect_uri differs from the authorize request", func() url.Values {
			c := e.codeFor(t, authQuery(tenant.ConsoleClientID, consoleRedirect))
			return redeem(tenant.ConsoleClientID, tenant.ConsoleClientSecret, c, "http://localhost:9999"+tenant.ConsoleCallbackPath, "")
		}, 400, "invalid_grant", 500112},
		{"code of another client", func() url.Values {
			c := e.codeFor(t, authQuery(tenant.ConnectClientID, connectRedirect, pkce...))
			return redeem(tenant.ConsoleClientID, tenant.ConsoleClientSecret, c, connectRedirect, verifier)
		}, 400, "invalid_grant", 70000},
		{"unknown code", func() url.Values {
			return redeem(tenant.ConsoleClientID, tenant.ConsoleClientSecret, "garbage", consoleRedirect, "")
		}, 400, "invalid_grant", 9002313},
		{"expired code", func() url.Values {
			c := e.codeFor(t, authQuery(tenant.ConsoleClientID, consoleRedirect))
			e.clk.Add(11 * time.Minute)
			return redeem(tenant.ConsoleClientID, tenant.ConsoleClientSecret, c, consoleRedirect, "")
		}, 400, "invalid_grant", 70008},
		{"unknown client", func() url.Values {
			return redeem("00000000-0000-0000-0000-00000000abcd", "", "x", consoleRedirect, "")
		}, 400, "unauthorized_client", 700016},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.token(t, tt.form())
			codes, _ := body["error_codes"].([]any)
			if status != tt.status || body["error"] != tt.oauth || len(codes) != 1 || int(codes[0].(float64)) != tt.code {
				t.Fatalf("= %d %v", status, body)
			}
			if d, _ := body["error_description"].(string); !strings.Contains(d, "Trace ID: ") || body["trace_id"] == nil {
				t.Errorf("error body = %v", body)
			}
		})
	}

	t.Run("client secret by HTTP Basic", func(t *testing.T) {
		c := e.codeFor(t, authQuery(tenant.ConsoleClientID, consoleRedirect))
		f := url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {consoleRedirect}}
		status, body := e.token(t, f, tenant.ConsoleClientID, tenant.ConsoleClientSecret)
		if status != 200 || body["id_token"] == nil || body["refresh_token"] == nil || body["ext_expires_in"] == nil || body["scope"] == nil {
			t.Fatalf("= %d %v", status, body)
		}
	})
}

func TestAuthorizeErrors(t *testing.T) {
	e := startIdP(t)
	az := e.authority() + "/oauth2/v2.0/authorize?"
	onPage := []struct {
		name, url, want string
	}{
		{"unknown tenant", e.srv.URL + "/nowhere.example.test/oauth2/v2.0/authorize?" + authQuery(tenant.ConsoleClientID, consoleRedirect).Encode(), "AADSTS90002: "},
		{"no client_id", az + "response_type=code&redirect_uri=" + url.QueryEscape(consoleRedirect), "AADSTS900144: "},
		{"unknown client", az + authQuery("00000000-0000-0000-0000-00000000abcd", consoleRedirect).Encode(), "AADSTS700016: "},
		{"no redirect URI", az + authQuery(tenant.ConsoleClientID, "").Encode(), "AADSTS900971: "},
		{"unregistered redirect URI", az + authQuery(tenant.ConsoleClientID, "https://evil.example.test/auth/oidc/callback").Encode(), "AADSTS50011: "},
		{"path case differs", az + authQuery(tenant.ConsoleClientID, "http://localhost/AUTH/oidc/callback").Encode(), "AADSTS50011: "},
		{"another app's redirect URI", az + authQuery(tenant.ConsoleClientID, "http://localhost"+tenant.ConnectCallbackPath).Encode(), "AADSTS50011: "},
		{"not loopback", az + authQuery(tenant.ConsoleClientID, "http://localhost.example.test"+tenant.ConsoleCallbackPath).Encode(), "AADSTS50011: "},
	}
	for _, tt := range onPage {
		t.Run(tt.name, func(t *testing.T) {
			p := e.browser(t).get(tt.url)
			if p.status != http.StatusOK || p.loc != nil || !strings.HasPrefix(p.errorText(), tt.want) || p.doc.Find("form").Length() != 0 {
				t.Fatalf("= %d %v %q", p.status, p.loc, p.errorText())
			}
		})
	}
	redirected := []struct {
		name  string
		q     url.Values
		error string
		code  string
	}{
		{"no response_type", func() url.Values {
			q := authQuery(tenant.ConsoleClientID, consoleRedirect)
			q.Del("response_type")
			return q
		}(), "invalid_request", "AADSTS900144"},
		{"token response type", authQuery(tenant.ConsoleClientID, consoleRedirect, "response_type", "id_token"), "unsupported_response_type", "AADSTS700054"},
		{"no scope", authQuery(tenant.ConsoleClientID, consoleRedirect, "scope", ""), "invalid_request", "AADSTS900144"},
		{"bad challenge method", authQuery(tenant.ConnectClientID, connectRedirect, "code_challenge", strings.Repeat("a", 43), "code_challenge_method", "S512"), "invalid_request", "AADSTS50149"},
		{"short challenge", authQuery(tenant.ConnectClientID, connectRedirect, "code_challenge", "abc", "code_challenge_method", "S256"), "invalid_request", "AADSTS501491"},
		{"prompt=none without a session", authQuery(tenant.ConsoleClientID, consoleRedirect, "prompt", "none"), "login_required", "AADSTS50058"},
	}
	for _, tt := range redirected {
		t.Run(tt.name, func(t *testing.T) {
			p := e.browser(t).get(az + tt.q.Encode())
			if p.status != http.StatusFound || p.loc == nil {
				t.Fatalf("= %d, want a redirect: %s", p.status, p.errorText())
			}
			q := p.loc.Query()
			if !strings.HasPrefix(p.loc.String(), tt.q.Get("redirect_uri")) || q.Get("error") != tt.error ||
				!strings.HasPrefix(q.Get("error_description"), tt.code+": ") || q.Get("state") != "xyz" {
				t.Fatalf("redirect = %s", p.loc)
			}
		})
	}
	t.Run("loopback port ignored", func(t *testing.T) {
		for _, ru := range []string{"http://localhost:1234" + tenant.ConsoleCallbackPath, "http://127.0.0.1" + tenant.ConsoleCallbackPath, "http://127.0.0.1:5000" + tenant.ConsoleCallbackPath} {
			p := e.browser(t).get(az + authQuery(tenant.ConsoleClientID, ru).Encode())
			if p.testid("tenant-signin").Length() != 1 {
				t.Errorf("%s: %d %q", ru, p.status, p.errorText())
			}
		}
	})
	t.Run("form_post", func(t *testing.T) {
		b := e.browser(t)
		p := b.signIn(b.get(az+authQuery(tenant.ConsoleClientID, consoleRedirect, "response_mode", "form_post").Encode()), adminUPN, adminPass)
		action, _ := p.doc.Find("form").Attr("action")
		code, _ := p.doc.Find(`input[name="code"]`).Attr("value")
		if p.status != 200 || action != consoleRedirect || code == "" {
			t.Fatalf("form_post = %d %q %q", p.status, action, code)
		}
	})
}

func TestSignInPageErrors(t *testing.T) {
	e := startIdP(t)
	az := e.authority() + "/oauth2/v2.0/authorize?" + authQuery(tenant.ConsoleClientID, consoleRedirect).Encode()
	tests := []struct{ name, user, pass, want string }{
		{"unknown account", "nobody@contoso.onmicrosoft.com", "x", "This username may be incorrect"},
		{"wrong password", adminUPN, "x", "Your account or password is incorrect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := e.browser(t)
			p := b.signIn(b.get(az), tt.user, tt.pass)
			if p.status != 200 || !strings.Contains(p.errorText(), tt.want) || p.testid("tenant-password").Length() != 1 {
				t.Fatalf("= %d %q", p.status, p.errorText())
			}
			if v, _ := p.testid("tenant-username").Attr("value"); v != tt.user {
				t.Errorf("username not kept: %q", v)
			}
		})
	}
	t.Run("expired flow", func(t *testing.T) {
		b := e.browser(t)
		p := b.get(az)
		e.clk.Add(time.Hour)
		p = b.signIn(p, adminUPN, adminPass)
		if !strings.HasPrefix(p.errorText(), "AADSTS50089: ") {
			t.Fatalf("= %d %q", p.status, p.errorText())
		}
	})
}

func TestMultiTenantSegments(t *testing.T) {
	e := startIdP(t)
	for _, seg := range []string{"common", "organizations"} {
		resp, err := e.srv.Client().Get(e.srv.URL + "/" + seg + "/v2.0/.well-known/openid-configuration")
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&d)
		resp.Body.Close()
		if d["issuer"] != e.srv.URL+"/{tenantid}/v2.0" || d["token_endpoint"] != e.srv.URL+"/"+seg+"/oauth2/v2.0/token" {
			t.Errorf("%s discovery = %v", seg, d)
		}
	}
	// A token from /organizations carries the tenant's real issuer.
	req := url.Values{"grant_type": {"password"}, "client_id": {tenant.PasswordGrantClientID}, "username": {adminUPN}, "password": {adminPass}, "scope": {"https://graph.microsoft.com/.default"}}
	resp, err := e.srv.Client().PostForm(e.srv.URL+"/organizations/oauth2/v2.0/token", req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	at, _ := body["access_token"].(string)
	checkV1AccessToken(t, e.authority(), at, map[string]any{"tid": e.tn.TenantID()})
	// ROPC is not offered on /common.
	resp, err = e.srv.Client().PostForm(e.srv.URL+"/common/oauth2/v2.0/token", req)
	if err != nil {
		t.Fatal(err)
	}
	body = nil
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if codes, _ := body["error_codes"].([]any); resp.StatusCode != 400 || len(codes) != 1 || codes[0] != float64(9001023) {
		t.Errorf("ROPC on /common = %d %v", resp.StatusCode, body)
	}
}

func TestPasswordGrantClients(t *testing.T) {
	e := startIdP(t)
	base := url.Values{"grant_type": {"password"}, "username": {adminUPN}, "password": {adminPass}, "scope": {"openid offline_access https://graph.microsoft.com/.default"}}
	with := func(kv ...string) url.Values {
		f := url.Values{}
		for k, v := range base {
			f[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			f.Set(kv[i], kv[i+1])
		}
		return f
	}
	status, body := e.token(t, with("client_id", tenant.PasswordGrantClientID))
	if status != 200 || body["id_token"] == nil || body["refresh_token"] == nil {
		t.Fatalf("public client = %d %v", status, body)
	}
	if status, body = e.token(t, with("client_id", "00000000-0000-0000-0000-00000000abcd")); status != 400 || body["error"] != "unauthorized_client" {
		t.Errorf("unregistered client = %d %v", status, body)
	}
	if status, body = e.token(t, with("client_id", tenant.SyncClientID)); status != 401 || body["error"] != "invalid_client" {
		t.Errorf("confidential client without secret = %d %v", status, body)
	}
	if status, body = e.token(t, with("client_id", tenant.SyncClientID, "client_secret", tenant.SyncClientSecret)); status != 200 {
		t.Errorf("confidential client with secret = %d %v", status, body)
	}
}

func TestSignInAs(t *testing.T) {
	e := startIdP(t)
	verifier := oauth2.GenerateVerifier()
	az := e.authority() + "/oauth2/v2.0/authorize?" + authQuery(tenant.ConnectClientID, connectRedirect,
		"code_challenge", oauth2.S256ChallengeFromVerifier(verifier), "code_challenge_method", "S256").Encode()
	var onPage *tenant.ErrorOnPage
	if _, err := tenant.SignInAs(e.srv.Client(), az, mfaUPN, "wrong", mfaCode); !errors.As(err, &onPage) || !strings.Contains(onPage.Text, "password is incorrect") {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := tenant.SignInAs(nil, az, mfaUPN, mfaPass, "000000"); !errors.As(err, &onPage) || !strings.Contains(onPage.Text, "verification code") {
		t.Errorf("wrong code: %v", err)
	}
	if _, err := tenant.SignInAs(nil, e.authority()+"/oauth2/v2.0/authorize?"+authQuery("nope", connectRedirect).Encode(), mfaUPN, mfaPass, mfaCode); !errors.As(err, &onPage) || !strings.HasPrefix(onPage.Text, "AADSTS700016") {
		t.Errorf("unknown client: %v", err)
	}
	cb, err := tenant.SignInAs(nil, az, mfaUPN, mfaPass, mfaCode)
	if err != nil || !strings.HasPrefix(cb, connectRedirect+"?") || !strings.Contains(cb, "code=") {
		t.Fatalf("SignInAs = %q, %v", cb, err)
	}
}

// graph calls the emulator's Graph as the sync app.
func (e *idpEnv) graph(t *testing.T, method, path, body string) int {
	t.Helper()
	status, _ := e.graphJSON(t, method, path, body)
	return status
}

func (e *idpEnv) graphJSON(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	tok, err := e.tn.MintToken(tenant.TokenSpec{BaseURL: e.srv.URL, Roles: []string{"Directory.ReadWrite.All", "User.ReadWrite.All", "RoleManagement.ReadWrite.Directory"}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(method, e.srv.URL+"/v1.0"+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestDisabledAccount: a disabled account gets AADSTS50057 from the password
// grant (after a right password only), loses its refresh tokens and is told
// so on the sign-in page.
func TestDisabledAccount(t *testing.T) {
	e := startIdP(t)
	ropc := url.Values{"grant_type": {"password"}, "client_id": {tenant.PasswordGrantClientID}, "username": {adminUPN},
		"password": {adminPass}, "scope": {"openid offline_access https://graph.microsoft.com/.default"}}
	status, body := e.token(t, ropc)
	rt, _ := body["refresh_token"].(string)
	if status != 200 || rt == "" {
		t.Fatalf("ROPC = %d %v", status, body)
	}
	if s := e.graph(t, http.MethodPatch, "/users/"+adminUPN, `{"accountEnabled":false}`); s != http.StatusNoContent {
		t.Fatalf("PATCH accountEnabled = %d", s)
	}
	want := func(name string, form url.Values, code float64) {
		t.Helper()
		status, body := e.token(t, form)
		if codes, _ := body["error_codes"].([]any); status != 400 || len(codes) != 1 || codes[0] != code {
			t.Errorf("%s = %d %v", name, status, body)
		}
	}
	want("ROPC", ropc, 50057)
	wrong := url.Values{}
	for k, v := range ropc {
		wrong[k] = v
	}
	wrong.Set("password", "nope")
	want("ROPC, wrong password", wrong, 50126)
	want("refresh", url.Values{"grant_type": {"refresh_token"}, "client_id": {tenant.PasswordGrantClientID}, "refresh_token": {rt}}, 50057)

	b := e.browser(t)
	p := b.signIn(b.get(e.authority()+"/oauth2/v2.0/authorize?"+authQuery(tenant.ConsoleClientID, consoleRedirect).Encode()), adminUPN, adminPass)
	if !strings.Contains(p.errorText(), "Contact your support person") {
		t.Errorf("sign-in page = %d %q", p.status, p.errorText())
	}
}

// TestLockedAccount: smart lockout answers AADSTS50053 whatever the password,
// and the sign-in page says the account is locked.
func TestLockedAccount(t *testing.T) {
	e := startIdP(t)
	const upn = "locked.admin@contoso.onmicrosoft.com"
	for _, pass := range []string{"Passw0rd!locked", "wrong"} {
		status, body := e.token(t, url.Values{"grant_type": {"password"}, "client_id": {tenant.PasswordGrantClientID},
			"username": {upn}, "password": {pass}, "scope": {"https://graph.microsoft.com/.default"}})
		d, _ := body["error_description"].(string)
		if status != 400 || body["error"] != "invalid_grant" || !strings.HasPrefix(d, "AADSTS50053: The account is locked") {
			t.Errorf("ROPC (%s) = %d %v", pass, status, body)
		}
	}
	b := e.browser(t)
	p := b.signIn(b.get(e.authority()+"/oauth2/v2.0/authorize?"+authQuery(tenant.ConsoleClientID, consoleRedirect).Encode()), upn, "Passw0rd!locked")
	if !strings.Contains(p.errorText(), "Your account is temporarily locked") {
		t.Errorf("sign-in page = %d %q", p.status, p.errorText())
	}
}

// TestGroupsAndRolesInTokens: the console app (groupMembershipClaims
// SecurityGroup) gets the user's groups in the ID token; a directory role
// assigned after sign-in shows in the wids of the next refreshed access token.
func TestGroupsAndRolesInTokens(t *testing.T) {
	e := startIdP(t)
	const upn, pass = "ops.user@contoso.onmicrosoft.com", "Passw0rd!ops"
	_, groups := e.graphJSON(t, http.MethodGet, "/groups", "")
	var admins string
	vals, _ := groups["value"].([]any)
	for _, g := range vals {
		if m, _ := g.(map[string]any); m["displayName"] == "HybridSync Admins" {
			admins, _ = m["id"].(string)
		}
	}
	if admins == "" {
		t.Fatalf("no HybridSync Admins group: %v", groups)
	}
	ctx := e.ctx()
	provider, err := oidc.NewProvider(ctx, e.authority()+"/v2.0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := oauth2.Config{ClientID: tenant.ConsoleClientID, ClientSecret: tenant.ConsoleClientSecret, Endpoint: provider.Endpoint(),
		RedirectURL: consoleRedirect, Scopes: []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess}}
	verifier := oauth2.GenerateVerifier()
	b := e.browser(t)
	p := b.signIn(b.get(cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))), upn, pass)
	if p.loc == nil {
		t.Fatalf("sign-in = %d %q", p.status, p.errorText())
	}
	tok, err := cfg.Exchange(ctx, p.loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: tenant.ConsoleClientID}).Verify(ctx, tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Groups []string `json:"groups"`
		OID    string   `json:"oid"`
	}
	if err := idt.Claims(&c); err != nil || len(c.Groups) != 1 || c.Groups[0] != admins {
		t.Fatalf("groups = %v, %v (want [%s])", c.Groups, err, admins)
	}
	if w, _ := claimsOf(t, tok.AccessToken)["wids"].([]any); len(w) != 0 {
		t.Fatalf("wids before the assignment = %v", w)
	}
	body := `{"principalId":"` + c.OID + `","roleDefinitionId":"` + tenant.RoleUserAdministrator + `","directoryScopeId":"/"}`
	if s := e.graph(t, http.MethodPost, "/roleManagement/directory/roleAssignments", body); s != http.StatusCreated {
		t.Fatalf("role assignment = %d", s)
	}
	fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if w, _ := claimsOf(t, fresh.AccessToken)["wids"].([]any); len(w) != 1 || w[0] != tenant.RoleUserAdministrator {
		t.Fatalf("wids after the assignment = %v", w)
	}
}

// TestSeededServicePrincipals: every seeded app has a service principal,
// whose id app-only tokens carry as oid; the id is the same at every start,
// and a state file keeps it.
func TestSeededServicePrincipals(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "tenant.json")
	spIDs := func(opts tenant.Options) map[string]string {
		t.Helper()
		tn, err := tenant.New(tenant.DefaultSeed(), opts)
		if err != nil {
			t.Fatal(err)
		}
		defer tn.Close()
		srv := httptest.NewServer(tn)
		defer srv.Close()
		tok, err := tn.MintToken(tenant.TokenSpec{BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1.0/servicePrincipals", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Value []struct{ ID, AppID, DisplayName string }
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET servicePrincipals = %d %v", resp.StatusCode, err)
		}
		out := map[string]string{}
		for _, sp := range body.Value {
			out[sp.AppID] = sp.ID
		}
		for _, a := range tenant.DefaultSeed().Apps {
			if out[a.ClientID] == "" || out[a.ClientID] == a.ClientID {
				t.Errorf("app %s has service principal %q", a.ClientID, out[a.ClientID])
			}
		}
		// An app-only token of a seeded app names its service principal.
		app, _ := tn.MintToken(tenant.TokenSpec{BaseURL: srv.URL, AppID: tenant.SyncClientID})
		if c := claimsOf(t, app); c["oid"] != out[tenant.SyncClientID] || c["sub"] != out[tenant.SyncClientID] {
			t.Errorf("app token oid %v sub %v, want %s", c["oid"], c["sub"], out[tenant.SyncClientID])
		}
		return out
	}
	first := spIDs(tenant.Options{StatePath: statePath})
	b, err := os.ReadFile(statePath)
	if err != nil || !strings.Contains(string(b), first[tenant.SyncClientID]) {
		t.Fatalf("state file without the service principal %s: %v", first[tenant.SyncClientID], err)
	}
	for name, opts := range map[string]tenant.Options{"from the state file": {StatePath: statePath}, "without one": {}} {
		if again := spIDs(opts); !maps.Equal(again, first) {
			t.Errorf("%s: service principals %v, first %v", name, again, first)
		}
	}
}
