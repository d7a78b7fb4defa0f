package tenant_test

import (
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/PuerkitoBio/goquery"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/hybridsync/hybridsync/e2e/tenant"
)

// Microsoft's own client library, MSAL for Go, against the emulator.
//
// MSAL refuses an authority that is not https, so the emulator is served with
// httptest.NewTLSServer and MSAL is given that server's client, which trusts
// its certificate. MSAL validates an authority on a host it does not know by
// asking login.microsoftonline.com (instance discovery); the tests turn that
// off (WithInstanceDiscovery(false)) to keep every request on loopback,
// except TestMSALInstanceDiscovery, which keeps it on and dials every host,
// login.microsoftonline.com included, to the emulator.

const graphDefault = "https://graph.microsoft.com/.default"

type msalEnv struct {
	tn  *tenant.Tenant
	srv *httptest.Server

	mu   sync.Mutex
	seen []string // host + path of every request
}

func startMSAL(t *testing.T, seed tenant.Seed, opts tenant.Options) *msalEnv {
	t.Helper()
	tn, err := tenant.New(seed, opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &msalEnv{tn: tn}
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.seen = append(e.seen, r.Host+r.URL.Path)
		e.mu.Unlock()
		tn.ServeHTTP(w, r)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// getJSON GETs path from the emulator and decodes its JSON; anything but
// 200 fails the test.
func (e *msalEnv) getJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	resp, err := e.srv.Client().Get(e.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&b)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d %v", path, resp.StatusCode, b)
	}
	return b
}

func (e *msalEnv) authority() string { return e.srv.URL + "/" + e.tn.TenantID() }

func (e *msalEnv) host() string { u, _ := url.Parse(e.srv.URL); return u.Host }

func (e *msalEnv) requested(hostPath string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Contains(e.seen, hostPath)
}

func (e *msalEnv) publicClient(t *testing.T, clientID string) public.Client {
	t.Helper()
	c, err := public.New(clientID, public.WithAuthority(e.authority()), public.WithHTTPClient(e.srv.Client()), public.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// graph calls the emulator's Graph with a token.
func (e *msalEnv) graph(t *testing.T, tok, path string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1.0/"+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// userID is a user's object id, read from Graph.
func (e *msalEnv) userID(t *testing.T, upn string) string {
	t.Helper()
	tok, err := e.tn.MintToken(tenant.TokenSpec{BaseURL: e.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	st, u := e.graph(t, tok, "users/"+upn)
	id, _ := u["id"].(string)
	if st != 200 || id == "" {
		t.Fatalf("GET users/%s = %d %v", upn, st, u)
	}
	return id
}

// checkAccount asserts MSAL's account for a user: its home account id is
// uid.utid from client_info, the rest from the ID token.
func checkAccount(t *testing.T, e *msalEnv, a public.Account, oid, upn string) {
	t.Helper()
	tid := e.tn.TenantID()
	if a.HomeAccountID != oid+"."+tid || a.LocalAccountID != oid || a.PreferredUsername != upn || a.Realm != tid || a.Environment != e.host() {
		t.Errorf("account = %+v, want home %s.%s, local %s, %s in %s at %s", a, oid, tid, oid, upn, tid, e.host())
	}
}

// scpHas reports whether a token's scp holds every scope in want.
func scpHas(c map[string]any, want ...string) bool {
	scp, _ := c["scp"].(string)
	for _, s := range want {
		if !slices.Contains(strings.Fields(scp), s) {
			return false
		}
	}
	return true
}

// TestMSALUsernamePassword: a public client's resource-owner password grant
// (user realm discovery, then the token endpoint), the account MSAL makes
// from client_info and the ID token, then AcquireTokenSilent from MSAL's
// cache, and with short-lived tokens through the refresh token.
func TestMSALUsernamePassword(t *testing.T) {
	ctx := context.Background()
	e := startMSAL(t, tenant.DefaultSeed(), tenant.Options{})
	pca := e.publicClient(t, tenant.PasswordGrantClientID)
	oid := e.userID(t, adminUPN)

	res, err := pca.AcquireTokenByUsernamePassword(ctx, []string{graphDefault}, adminUPN, adminPass)
	if err != nil {
		t.Fatal(err)
	}
	if !e.requested(e.host() + "/common/UserRealm/" + adminUPN) {
		t.Error("MSAL did not ask the user realm")
	}
	checkAccount(t, e, res.Account, oid, adminUPN)
	c := checkV1AccessToken(t, e.authority(), res.AccessToken, map[string]any{
		"aud": tenant.GraphResource, "appid": tenant.PasswordGrantClientID, "appidacr": "0", "idtyp": "user",
		"oid": oid, "upn": adminUPN, "unique_name": adminUPN, "name": "Hybrid Admin", "amr": []string{"pwd"}, "acr": "1",
		"tid": e.tn.TenantID(), "ipaddr": "127.0.0.1", "wids": []string{tenant.RoleHybridIdentityAdministrator}, "roles": nil,
	})
	if !scpHas(c, "Directory.ReadWrite.All", "User.ReadWrite.All") {
		t.Errorf("scp = %v", c["scp"])
	}
	id := checkV2IDToken(t, e.authority(), tenant.PasswordGrantClientID, res.IDToken.RawToken)
	if id["oid"] != oid || id["preferred_username"] != adminUPN || id["name"] != "Hybrid Admin" || id["tid"] != e.tn.TenantID() || id["sid"] != nil {
		t.Errorf("ID token = %v", id)
	}
	if res.IDToken.Oid != oid || res.IDToken.TenantID != e.tn.TenantID() || res.Metadata.TokenSource != public.TokenSourceIdentityProvider {
		t.Errorf("result = %+v", res)
	}
	// The token is good for Graph.
	if st, me := e.graph(t, res.AccessToken, "me"); st != 200 || me["id"] != oid {
		t.Errorf("GET /me = %d %v", st, me)
	}

	// Silent: from the cache, for the account MSAL listed.
	accts, err := pca.Accounts(ctx)
	if err != nil || len(accts) != 1 {
		t.Fatalf("accounts = %v, %v", accts, err)
	}
	checkAccount(t, e, accts[0], oid, adminUPN)
	silent, err := pca.AcquireTokenSilent(ctx, []string{graphDefault}, public.WithSilentAccount(accts[0]))
	if err != nil {
		t.Fatal(err)
	}
	if silent.AccessToken != res.AccessToken || silent.Metadata.TokenSource != public.TokenSourceCache {
		t.Errorf("silent = %v from %v, want the cached token", silent.AccessToken == res.AccessToken, silent.Metadata.TokenSource)
	}

	// Wrong password: the identity platform's error reaches the caller.
	if _, err := pca.AcquireTokenByUsernamePassword(ctx, []string{graphDefault}, adminUPN, "wrong"); err == nil || !strings.Contains(err.Error(), "AADSTS50126") {
		t.Errorf("wrong password = %v", err)
	}

	// Tokens that expire within MSAL's five-minute margin are not cached:
	// silent goes to the token endpoint with the refresh token, and the
	// account stays the same (client_info on the refresh too).
	short := startMSAL(t, tenant.DefaultSeed(), tenant.Options{TokenLifetime: 2 * time.Minute})
	spca := short.publicClient(t, tenant.PasswordGrantClientID)
	first, err := spca.AcquireTokenByUsernamePassword(ctx, []string{graphDefault}, adminUPN, adminPass)
	if err != nil {
		t.Fatal(err)
	}
	refreshed, err := spca.AcquireTokenSilent(ctx, []string{graphDefault}, public.WithSilentAccount(first.Account))
	if err != nil {
		t.Fatal(err)
	}
	if refreshed.Metadata.TokenSource != public.TokenSourceIdentityProvider || refreshed.AccessToken == first.AccessToken {
		t.Errorf("silent with an expiring token came from %v", refreshed.Metadata.TokenSource)
	}
	checkAccount(t, short, refreshed.Account, short.userID(t, adminUPN), adminUPN)
	checkV1AccessToken(t, short.authority(), refreshed.AccessToken, map[string]any{"amr": []string{"pwd"}, "appid": tenant.PasswordGrantClientID})
}

// TestMSALUserRealm: what the user realm endpoint answers for a managed, a
// federated and an unknown domain, and what MSAL makes of it.
func TestMSALUserRealm(t *testing.T) {
	ctx := context.Background()
	seed := tenant.DefaultSeed()
	seed.Domains = append(seed.Domains, tenant.SeedDomain{Name: "federated.example.test", Verified: true, AuthenticationType: "Federated"})
	e := startMSAL(t, seed, tenant.Options{})
	realm := func(user, path string) map[string]any {
		t.Helper()
		return e.getJSON(t, "/common/"+path+"/"+url.PathEscape(user)+"?api-version=1.0")
	}
	want := func(got map[string]any, w map[string]any) {
		t.Helper()
		if len(got) != len(w) {
			t.Errorf("user realm = %v, want %v", got, w)
			return
		}
		for k, v := range w {
			if got[k] != v {
				t.Errorf("user realm %s = %v, want %v (%v)", k, got[k], v, got)
			}
		}
	}
	managed := map[string]any{"ver": "1.0", "account_type": "Managed", "domain_name": "contoso.onmicrosoft.com",
		"cloud_instance_name": "microsoftonline.com", "cloud_audience_urn": "urn:federation:MicrosoftOnline"}
	want(realm(adminUPN, "UserRealm"), managed)
	want(realm(strings.ToUpper(adminUPN), "userrealm"), managed)
	want(realm("someone@contoso.example.test", "userrealm"), map[string]any{"ver": "1.0", "account_type": "Managed",
		"domain_name": "contoso.example.test", "cloud_instance_name": "microsoftonline.com", "cloud_audience_urn": "urn:federation:MicrosoftOnline"})
	want(realm("alice@federated.example.test", "userrealm"), map[string]any{"ver": "1.0", "account_type": "Federated",
		"domain_name": "federated.example.test", "federation_protocol": "WSTrust",
		"cloud_instance_name": "microsoftonline.com", "cloud_audience_urn": "urn:federation:MicrosoftOnline"})
	for _, unknown := range []string{"someone@fabrikam.example.test", "someone@elsewhere.example.test", "nodomain"} {
		want(realm(unknown, "userrealm"), map[string]any{"ver": "1.0", "account_type": "Unknown", "cloud_instance_name": "microsoftonline.com"})
	}

	pca := e.publicClient(t, tenant.PasswordGrantClientID)
	// A federated domain without a known federation service: MSAL cannot go on.
	if _, err := pca.AcquireTokenByUsernamePassword(ctx, []string{graphDefault}, "alice@federated.example.test", "x"); err == nil || !strings.Contains(err.Error(), "federation metadata URL") {
		t.Errorf("federated without metadata = %v", err)
	}
	if _, err := pca.AcquireTokenByUsernamePassword(ctx, []string{graphDefault}, "someone@elsewhere.example.test", "x"); err == nil || !strings.Contains(err.Error(), "user realm") {
		t.Errorf("unknown domain = %v", err)
	}
}

// TestMSALAuthCodePKCE: a public client's authorization code flow with PKCE:
// AuthCodeURL (MSAL for Go has no PKCE option there, so the challenge is
// added to the URL as an application does), the emulator's sign-in page,
// the code from the redirect, AcquireTokenByAuthCode with the verifier.
func TestMSALAuthCodePKCE(t *testing.T) {
	ctx := context.Background()
	e := startMSAL(t, tenant.DefaultSeed(), tenant.Options{})
	pca := e.publicClient(t, tenant.ConnectClientID)
	oid := e.userID(t, mfaUPN)
	redirect := "http://localhost:8400" + tenant.ConnectCallbackPath
	scopes := []string{graphDefault, "openid", "profile", "offline_access"}

	u, err := pca.AuthCodeURL(ctx, tenant.ConnectClientID, redirect, scopes, public.WithLoginHint(mfaUPN))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, e.authority()+"/oauth2/v2.0/authorize?") {
		t.Fatalf("AuthCodeURL = %s", u)
	}
	verifier := oauth2.GenerateVerifier()
	au, _ := url.Parse(u)
	q := au.Query()
	q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
	q.Set("code_challenge_method", "S256")
	q.Set("state", "st-msal")
	au.RawQuery = q.Encode()

	b := newBrowser(t, e.srv)
	p := b.get(au.String())
	if v, _ := p.testid("tenant-username").Attr("value"); v != mfaUPN {
		t.Fatalf("login_hint not prefilled: %q (%d %s)", v, p.status, p.errorText())
	}
	p = b.signIn(p, mfaUPN, mfaPass)
	p = b.submit(p, map[string]string{"tenant-mfa-code": mfaCode})
	if p.status != http.StatusFound || p.loc == nil || p.loc.Host != "localhost:8400" || p.loc.Query().Get("state") != "st-msal" {
		t.Fatalf("sign-in = %d %v %s", p.status, p.loc, p.errorText())
	}
	code := p.loc.Query().Get("code")

	// The wrong verifier is refused.
	if _, err := pca.AcquireTokenByAuthCode(ctx, code, redirect, scopes, public.WithChallenge(oauth2.GenerateVerifier())); err == nil || !strings.Contains(err.Error(), "AADSTS501481") {
		t.Fatalf("wrong verifier = %v", err)
	}
	res, err := pca.AcquireTokenByAuthCode(ctx, code, redirect, scopes, public.WithChallenge(verifier))
	if err != nil {
		t.Fatal(err)
	}
	checkAccount(t, e, res.Account, oid, mfaUPN)
	checkV1AccessToken(t, e.authority(), res.AccessToken, map[string]any{
		"aud": tenant.GraphResource, "appid": tenant.ConnectClientID, "appidacr": "0", "idtyp": "user",
		"oid": oid, "upn": mfaUPN, "amr": []string{"pwd", "mfa"}, "ipaddr": "127.0.0.1",
	})
	id := checkV2IDToken(t, e.authority(), tenant.ConnectClientID, res.IDToken.RawToken)
	if id["oid"] != oid || id["preferred_username"] != mfaUPN || id["sid"] == nil || id["nonce"] != nil {
		t.Errorf("ID token = %v", id)
	}
	// A code works once.
	if _, err := pca.AcquireTokenByAuthCode(ctx, code, redirect, scopes, public.WithChallenge(verifier)); err == nil || !strings.Contains(err.Error(), "AADSTS54005") {
		t.Errorf("replayed code = %v", err)
	}
	silent, err := pca.AcquireTokenSilent(ctx, []string{graphDefault}, public.WithSilentAccount(res.Account))
	if err != nil || silent.AccessToken != res.AccessToken {
		t.Errorf("silent = %v", err)
	}
}

// TestMSALInteractive: AcquireTokenInteractive, MSAL's own PKCE and loopback
// redirect server (response_mode form_post), with the "browser" opening the
// URL MSAL hands it.
func TestMSALInteractive(t *testing.T) {
	const desktopApp = "0a1b2c3d-4e5f-4a6b-8c7d-000000000d01"
	seed := tenant.DefaultSeed()
	seed.Apps = append(seed.Apps, tenant.SeedApp{ClientID: desktopApp, DisplayName: "desktop (MSAL)", Public: true, RedirectURIs: []string{"http://localhost"}})
	e := startMSAL(t, seed, tenant.Options{})
	pca := e.publicClient(t, desktopApp)
	oid := e.userID(t, adminUPN)
	// MSAL calls this on the caller's goroutine, then waits for its redirect
	// server's result (kept in a buffered channel), so the whole browser
	// round trip can run here.
	open := func(authURL string) error {
		b := newBrowser(t, e.srv)
		u, _ := url.Parse(authURL)
		q := u.Query()
		if q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" || q.Get("response_mode") != "form_post" {
			t.Errorf("MSAL's authorize URL = %s", authURL)
		}
		p := b.signIn(b.get(authURL), adminUPN, adminPass)
		form := p.doc.Find(`form[method="post"]`)
		action, _ := form.Attr("action")
		vals := url.Values{}
		form.Find("input").Each(func(_ int, in *goquery.Selection) {
			n, _ := in.Attr("name")
			v, _ := in.Attr("value")
			vals.Set(n, v)
		})
		if !strings.HasPrefix(action, "http://localhost:") || vals.Get("code") == "" || vals.Get("state") != q.Get("state") {
			t.Fatalf("form_post = %s %v (%d %s)", action, vals, p.status, p.errorText())
		}
		resp, err := http.PostForm(action, vals)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := pca.AcquireTokenInteractive(ctx, []string{graphDefault}, public.WithOpenURL(open))
	if err != nil {
		t.Fatal(err)
	}
	checkAccount(t, e, res.Account, oid, adminUPN)
	checkV1AccessToken(t, e.authority(), res.AccessToken, map[string]any{"appid": desktopApp, "oid": oid, "amr": []string{"pwd"}})
	checkV2IDToken(t, e.authority(), desktopApp, res.IDToken.RawToken)
}

// TestMSALClientCredentials: a confidential client with a secret
// (AcquireTokenByCredential): a v1.0 app-only token whose oid and sub are the
// application's service principal, verified with a standard OpenID Connect
// library against the v1.0 OpenID configuration, accepted by Graph, and then
// served from MSAL's cache.
func TestMSALClientCredentials(t *testing.T) {
	ctx := context.Background()
	e := startMSAL(t, tenant.DefaultSeed(), tenant.Options{})
	cred, err := confidential.NewCredFromSecret(tenant.SyncClientSecret)
	if err != nil {
		t.Fatal(err)
	}
	cca, err := confidential.New(e.authority(), tenant.SyncClientID, cred, confidential.WithHTTPClient(e.srv.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	res, err := cca.AcquireTokenByCredential(ctx, []string{graphDefault})
	if err != nil {
		t.Fatal(err)
	}
	c := checkV1AccessToken(t, e.authority(), res.AccessToken, map[string]any{
		"aud": tenant.GraphResource, "appid": tenant.SyncClientID, "appidacr": "1", "idtyp": "app",
		"roles": []string{"Directory.ReadWrite.All"}, "tid": e.tn.TenantID(),
		"scp": nil, "upn": nil, "unique_name": nil, "name": nil, "amr": nil, "acr": nil, "wids": nil, "ipaddr": nil,
	})
	// oid is the service principal's object id, not the app id; sub is the same.
	st, sps := e.graph(t, res.AccessToken, "servicePrincipals?$filter=appId%20eq%20'"+tenant.SyncClientID+"'")
	vals, _ := sps["value"].([]any)
	if st != 200 || len(vals) != 1 {
		t.Fatalf("the sync app's service principal = %d %v", st, sps)
	}
	spID := vals[0].(map[string]any)["id"]
	if c["oid"] != spID || c["sub"] != spID || c["oid"] == tenant.SyncClientID {
		t.Errorf("oid %v sub %v, want the service principal %v", c["oid"], c["sub"], spID)
	}
	if st, org := e.graph(t, res.AccessToken, "organization"); st != 200 {
		t.Errorf("GET /organization = %d %v", st, org)
	}
	if st, me := e.graph(t, res.AccessToken, "me"); st != 400 {
		t.Errorf("GET /me with an app token = %d %v", st, me)
	}

	// A resource validating it: the v1.0 OpenID configuration's issuer and keys.
	octx := oidc.ClientContext(ctx, e.srv.Client())
	provider, err := oidc.NewProvider(octx, e.authority()+"/")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.Verifier(&oidc.Config{ClientID: tenant.GraphResource}).Verify(octx, res.AccessToken); err != nil {
		t.Errorf("verify against the v1.0 configuration: %v", err)
	}

	again, err := cca.AcquireTokenByCredential(ctx, []string{graphDefault})
	if err != nil || again.AccessToken != res.AccessToken || again.Metadata.TokenSource != confidential.TokenSourceCache {
		t.Errorf("second call = %v from %v", err, again.Metadata.TokenSource)
	}

	bad, _ := confidential.NewCredFromSecret("wrong")
	bcca, _ := confidential.New(e.authority(), tenant.SyncClientID, bad, confidential.WithHTTPClient(e.srv.Client()), confidential.WithInstanceDiscovery(false))
	if _, err := bcca.AcquireTokenByCredential(ctx, []string{graphDefault}); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("wrong secret = %v", err)
	}
}

// TestMSALInstanceDiscovery keeps MSAL's authority validation on. MSAL asks
// login.microsoftonline.com about an authority on a host it does not know;
// here every connection, whatever the host, is dialled to the emulator on
// loopback, which answers for its own host and refuses others as the real
// service does.
func TestMSALInstanceDiscovery(t *testing.T) {
	ctx := context.Background()
	e := startMSAL(t, tenant.DefaultSeed(), tenant.Options{})
	tr := e.srv.Client().Transport.(*http.Transport).Clone()
	addr := e.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig.ServerName = "example.com" // a name in httptest's certificate
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	pca, err := public.New(tenant.PasswordGrantClientID, public.WithAuthority(e.authority()), public.WithHTTPClient(client))
	if err != nil {
		t.Fatal(err)
	}
	res, err := pca.AcquireTokenByUsernamePassword(ctx, []string{graphDefault}, adminUPN, adminPass)
	if err != nil {
		t.Fatal(err)
	}
	if !e.requested("login.microsoftonline.com/common/discovery/instance") {
		t.Errorf("MSAL did not validate the authority: %v", e.seen)
	}
	checkAccount(t, e, res.Account, e.userID(t, adminUPN), adminUPN)

	// The emulator's answer, as MSAL parses it.
	resp, err := e.srv.Client().Get(e.srv.URL + "/common/discovery/instance?api-version=1.1&authorization_endpoint=" + url.QueryEscape(e.authority()+"/oauth2/v2.0/authorize"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		TenantDiscoveryEndpoint string `json:"tenant_discovery_endpoint"`
		Metadata                []struct {
			PreferredNetwork string   `json:"preferred_network"`
			Aliases          []string `json:"aliases"`
		} `json:"metadata"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&d)
	resp.Body.Close()
	if d.TenantDiscoveryEndpoint != e.authority()+"/v2.0/.well-known/openid-configuration" || len(d.Metadata) != 1 ||
		d.Metadata[0].PreferredNetwork != e.host() || !slices.Contains(d.Metadata[0].Aliases, e.host()) {
		t.Errorf("instance discovery = %+v", d)
	}

	// An authority on another host is not an instance of the emulator.
	other, err := public.New(tenant.PasswordGrantClientID, public.WithAuthority("https://login.example.test/"+e.tn.TenantID()), public.WithHTTPClient(client))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.AcquireTokenByUsernamePassword(ctx, []string{graphDefault}, adminUPN, adminPass); err == nil || !strings.Contains(err.Error(), "invalid_instance") {
		t.Errorf("unknown instance = %v", err)
	}
}

// TestSigningKeyAndTokenShapes: the JWKS publishes the key with its
// certificate (x5c) and thumbprint (x5t = kid), the tokens' headers name it,
// and Graph takes only v1.0 tokens with the tenant's v1.0 issuer.
func TestSigningKeyAndTokenShapes(t *testing.T) {
	e := startMSAL(t, tenant.DefaultSeed(), tenant.Options{})
	getJSON := func(path string) map[string]any {
		t.Helper()
		return e.getJSON(t, path)
	}
	var thumb string
	for path, issuer := range map[string]any{
		"/" + e.tn.TenantID() + "/discovery/v2.0/keys": e.authority() + "/v2.0",
		"/common/discovery/v2.0/keys":                  e.srv.URL + "/{tenantid}/v2.0",
		"/" + e.tn.TenantID() + "/discovery/keys":      nil,
	} {
		keys, _ := getJSON(path)["keys"].([]any)
		if len(keys) != 1 {
			t.Fatalf("%s = %v", path, keys)
		}
		k := keys[0].(map[string]any)
		x5c, _ := k["x5c"].([]any)
		if k["kty"] != "RSA" || k["use"] != "sig" || k["issuer"] != issuer || len(x5c) != 1 || k["kid"] != k["x5t"] {
			t.Fatalf("%s key = %v", path, k)
		}
		der, err := base64.StdEncoding.DecodeString(x5c[0].(string))
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha1.Sum(der)
		if k["x5t"] != base64.RawURLEncoding.EncodeToString(sum[:]) {
			t.Errorf("x5t %v is not the certificate's thumbprint", k["x5t"])
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		n, _ := base64.RawURLEncoding.DecodeString(k["n"].(string))
		if !ok || pub.N.Cmp(new(big.Int).SetBytes(n)) != 0 {
			t.Errorf("the certificate does not hold the key n")
		}
		// Self-signed, as Microsoft's are.
		if cert.Subject.CommonName != "accounts.accesscontrol.windows.net" || cert.Issuer.CommonName != cert.Subject.CommonName ||
			cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) != nil {
			t.Errorf("certificate %v issued by %v", cert.Subject, cert.Issuer)
		}
		thumb = k["x5t"].(string)
	}
	v1 := getJSON("/" + e.tn.TenantID() + "/.well-known/openid-configuration")
	if v1["issuer"] != e.authority()+"/" || v1["jwks_uri"] != e.authority()+"/discovery/keys" {
		t.Errorf("v1.0 configuration = %v", v1)
	}
	if v := getJSON("/organizations/.well-known/openid-configuration"); v["issuer"] != e.srv.URL+"/{tenantid}/" {
		t.Errorf("multi-tenant v1.0 configuration = %v", v)
	}

	mint := func(s tenant.TokenSpec) string {
		t.Helper()
		s.BaseURL = e.srv.URL
		tok, err := e.tn.MintToken(s)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	// MintToken: app-only with the seeded app's service principal, or delegated.
	app := mint(tenant.TokenSpec{AppID: tenant.SyncClientID})
	if h := headerOf(t, app); h["kid"] != thumb || h["x5t"] != thumb {
		t.Errorf("minted header = %v", h)
	}
	c := checkV1AccessToken(t, e.authority(), app, map[string]any{"appid": tenant.SyncClientID, "idtyp": "app", "roles": []string{"Directory.ReadWrite.All"}})
	st, sps := e.graph(t, app, "servicePrincipals?$filter=appId%20eq%20'"+tenant.SyncClientID+"'")
	if vals, _ := sps["value"].([]any); st != 200 || len(vals) != 1 || vals[0].(map[string]any)["id"] != c["oid"] {
		t.Errorf("minted oid %v, service principals %d %v", c["oid"], st, sps)
	}
	user := mint(tenant.TokenSpec{User: adminUPN, AppID: tenant.ConnectClientID})
	oid := e.userID(t, adminUPN)
	checkV1AccessToken(t, e.authority(), user, map[string]any{"oid": oid, "upn": adminUPN, "idtyp": "user", "appid": tenant.ConnectClientID, "wids": nil})
	if st, me := e.graph(t, user, "me"); st != 200 || me["id"] != oid {
		t.Errorf("GET /me = %d %v", st, me)
	}

	// What Graph refuses.
	refused := []struct {
		name, tok, msg string
	}{
		{"v2.0 app token", mint(tenant.TokenSpec{Version: "2.0"}), "Invalid x5t claim."},
		{"v2.0 user token", mint(tenant.TokenSpec{Version: "2.0", User: adminUPN}), "Invalid x5t claim."},
		{"v2.0 issuer on a v1.0 token", mint(tenant.TokenSpec{Issuer: e.authority() + "/v2.0"}), "Access token validation failure. Invalid issuer."},
		{"another tenant", mint(tenant.TokenSpec{Issuer: e.srv.URL + "/00000000-0000-0000-0000-000000000001/"}), "Access token validation failure. Invalid issuer."},
		{"another audience", mint(tenant.TokenSpec{Audience: "api://someone-else"}), "Access token validation failure. Invalid audience."},
	}
	for _, r := range refused {
		st, b := e.graph(t, r.tok, "organization")
		errBody, _ := b["error"].(map[string]any)
		if st != 401 || errBody["code"] != "InvalidAuthenticationToken" || errBody["message"] != r.msg {
			t.Errorf("%s = %d %v, want 401 %q", r.name, st, b, r.msg)
		}
	}
	// An ID token is no access token for Graph.
	pca := e.publicClient(t, tenant.PasswordGrantClientID)
	res, err := pca.AcquireTokenByUsernamePassword(context.Background(), []string{graphDefault}, adminUPN, adminPass)
	if err != nil {
		t.Fatal(err)
	}
	if st, b := e.graph(t, res.IDToken.RawToken, "organization"); st != 401 {
		t.Errorf("ID token on Graph = %d %v", st, b)
	}
}
