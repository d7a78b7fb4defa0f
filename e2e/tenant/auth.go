package tenant

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The {tenant} path segments that name no tenant in particular. The real
// authority resolves them from the account that signs in; the emulator has a
// single tenant, so both resolve to it.
const (
	segCommon        = "common"
	segOrganizations = "organizations"
)

func isMultiTenantSegment(seg string) bool {
	seg = strings.ToLower(seg)
	return seg == segCommon || seg == segOrganizations
}

// tenantMatches reports whether a {tenant} path segment names this tenant:
// its id, one of its verified domains, "organizations" or "common", as the
// real authority accepts.
func (t *Tenant) tenantMatches(seg string) bool {
	seg = strings.ToLower(seg)
	if seg == t.tenantID || isMultiTenantSegment(seg) {
		return true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range t.domains {
		if d.Verified && d.Name == seg {
			return true
		}
	}
	return false
}

// Issuers. The identity platform signs two token formats
// (access-token-claims-reference, id-token-claims-reference):
//
//   - v2.0: iss https://login.microsoftonline.com/{tid}/v2.0, the issuer of
//     its v2.0 OpenID configuration. The emulator's ID tokens are v2.0 (they
//     come from the v2.0 endpoint), with iss {base}/{tid}/v2.0.
//   - v1.0: iss https://sts.windows.net/{tid}/, the issuer of its v1.0
//     OpenID configuration (/{tid}/.well-known/openid-configuration, which
//     access-tokens.md says to validate v1.0 tokens against). Access tokens
//     for Microsoft Graph are always v1.0: the format is the resource's
//     choice (accessTokenAcceptedVersion; null, Graph's, means v1.0),
//     whatever endpoint issued them. sts.windows.net is another host than the
//     sign-in service's; the emulator serves both from one, so its v1.0
//     issuer is {base}/{tid}/, standing for https://sts.windows.net/{tid}/ as
//     {base} stands for https://login.microsoftonline.com. Its v1.0 OpenID
//     configuration names that issuer, and Graph (verify) accepts it.
//
// Tokens carry the tenant's own issuer whatever {tenant} segment they were
// requested on.
func (t *Tenant) issuerV2(r *http.Request) string { return issuerV2For(baseURL(r), t.tenantID) }

func (t *Tenant) issuerV1(r *http.Request) string { return issuerV1For(baseURL(r), t.tenantID) }

func issuerV2For(base, tid string) string { return strings.TrimSuffix(base, "/") + "/" + tid + "/v2.0" }

func issuerV1For(base, tid string) string { return strings.TrimSuffix(base, "/") + "/" + tid + "/" }

func tenantNotFound(seg string) string {
	return fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", seg)
}

// handleDiscovery is the OpenID Connect discovery document. For a tenant id
// or domain it names the tenant's own endpoints and issuer; for "common" and
// "organizations" it names the multi-tenant endpoints and the templated
// issuer https://login.microsoftonline.com/{tenantid}/v2.0, as the real one
// does (the client substitutes the token's tid to validate iss).
func (t *Tenant) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	seg := r.PathValue("tenant")
	if !t.tenantMatches(seg) {
		t.writeTokenError(w, r, &tokenError{http.StatusBadRequest, "invalid_tenant", 90002, tenantNotFound(seg), ""})
		return
	}
	base := baseURL(r) + "/" + t.tenantID
	issuer := t.issuerV2(r)
	var region any = "EU"
	if isMultiTenantSegment(seg) {
		base = baseURL(r) + "/" + strings.ToLower(seg)
		issuer = baseURL(r) + "/{tenantid}/v2.0"
		region = nil
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                issuer,
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     baseURL(r) + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"http_logout_supported":                 true,
		"frontchannel_logout_supported":         true,
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"},
		"kerberos_endpoint":                     base + "/kerberos",
		"tenant_region_scope":                   region,
		"cloud_instance_name":                   "microsoftonline.com",
		"cloud_graph_host_name":                 "graph.windows.net",
		"msgraph_host":                          "graph.microsoft.com",
		"rbac_url":                              "https://pas.windows.net",
	})
}

// handleDiscoveryV1 is the v1.0 OpenID configuration, the one to validate
// v1.0 tokens (Graph's access tokens) against (access-tokens.md, "v1.0 and
// v2.0 tokens"): its issuer is the v1.0 issuer and its keys are the same
// keys, at /{tenant}/discovery/keys. It lists only the fields the emulator
// can answer for: the v1.0 authorize and token endpoints
// (/{tenant}/oauth2/authorize, /oauth2/token) are not emulated, so they are
// not named.
func (t *Tenant) handleDiscoveryV1(w http.ResponseWriter, r *http.Request) {
	seg := r.PathValue("tenant")
	if !t.tenantMatches(seg) {
		t.writeTokenError(w, r, &tokenError{http.StatusBadRequest, "invalid_tenant", 90002, tenantNotFound(seg), ""})
		return
	}
	base := baseURL(r) + "/" + t.tenantID
	issuer := t.issuerV1(r)
	if isMultiTenantSegment(seg) {
		base = baseURL(r) + "/" + strings.ToLower(seg)
		issuer = baseURL(r) + "/{tenantid}/"
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              base + "/discovery/keys",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"cloud_instance_name":                   "microsoftonline.com",
		"msgraph_host":                          "graph.microsoft.com",
	})
}

// handleJWKS is the v2.0 keys endpoint: each key names the issuer it signs
// for (the template https://login.microsoftonline.com/{tenantid}/v2.0 on the
// multi-tenant endpoints, access-tokens.md "Validate the issuer").
func (t *Tenant) handleJWKS(w http.ResponseWriter, r *http.Request) {
	issuer := t.issuerV2(r)
	if isMultiTenantSegment(r.PathValue("tenant")) {
		issuer = baseURL(r) + "/{tenantid}/v2.0"
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{t.jwk(issuer)}})
}

// handleJWKSV1 is the v1.0 keys endpoint (/{tenant}/discovery/keys): the same
// keys without the v2.0 issuer field.
func (t *Tenant) handleJWKSV1(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{t.jwk("")}})
}

// tokenError is an identity-platform error: the OAuth error string, the
// AADSTS number and its message (without the "AADSTSnnnnn: " prefix).
type tokenError struct {
	status   int
	code     string
	aadsts   int
	msg      string
	suberror string
}

// Token-endpoint errors shared by several grants. Texts are the real ones as
// seen in public error reports unless the comment says otherwise.
func errMissing(param string) *tokenError {
	return &tokenError{http.StatusBadRequest, "invalid_request", 900144,
		fmt.Sprintf("The request body must contain the following parameter: '%s'.", param), ""}
}

func (t *Tenant) errUnknownClient(clientID string) *tokenError {
	return &tokenError{http.StatusBadRequest, "unauthorized_client", 700016,
		fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, t.displayName), ""}
}

// errFacts is the error for an account that may not get tokens, or nil.
// Order as the real service: unknown, locked (smart lockout answers before
// the password is checked), wrong password, disabled (only after a right
// password: knavesec/CredMaster #64).
func (t *Tenant) errFacts(f signInFacts, checkPassword bool) *tokenError {
	switch {
	case !f.Exists:
		return &tokenError{http.StatusBadRequest, "invalid_grant", 50034,
			fmt.Sprintf("The user account {EUII Hidden} does not exist in the %s directory. To sign into this application, the account must be added to the directory.", t.tenantID), ""}
	case f.Locked:
		// AzureAD/microsoft-authentication-library-for-python #211.
		return &tokenError{http.StatusBadRequest, "invalid_grant", 50053,
			"The account is locked, you've tried to sign in too many times with an incorrect user ID or password.", ""}
	case checkPassword && !f.PasswordOK:
		return &tokenError{http.StatusBadRequest, "invalid_grant", 50126,
			"Error validating credentials due to invalid username or password.", ""}
	case !f.Enabled:
		// Azure/azure-cli #18945, canonical/authd #814.
		return &tokenError{http.StatusBadRequest, "invalid_grant", 50057, "The user account is disabled.", ""}
	}
	return nil
}

// clientCredentials reads the client id and secret of a token request:
// client_id/client_secret in the body, or HTTP Basic (RFC 6749 §2.3.1, which
// Entra also accepts and golang.org/x/oauth2 tries first). An empty secret
// counts as none: x/oauth2 sends Basic with an empty password for public clients.
func clientCredentials(r *http.Request) (id, secret string) {
	id = r.PostForm.Get("client_id")
	if u, p, ok := r.BasicAuth(); ok {
		if uu, err := url.QueryUnescape(u); err == nil {
			u = uu
		}
		if pp, err := url.QueryUnescape(p); err == nil {
			p = pp
		}
		if id == "" {
			id = u
		}
		if p != "" {
			return id, p
		}
	}
	return id, r.PostForm.Get("client_secret")
}

// authenticateClient checks a client's credential: a public client must send
// none, a confidential one must send its secret.
func authenticateClient(app SeedApp, secret string) *tokenError {
	if app.Public {
		if secret != "" {
			// Text from the error code reference (reference-error-codes.md).
			return &tokenError{http.StatusUnauthorized, "invalid_client", 700025,
				"Client is public so neither 'client_assertion' nor 'client_secret' should be presented.", ""}
		}
		return nil
	}
	if secret == "" {
		return &tokenError{http.StatusUnauthorized, "invalid_client", 7000218,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", ""}
	}
	if subtle.ConstantTimeCompare([]byte(app.ClientSecret), []byte(secret)) != 1 {
		return &tokenError{http.StatusUnauthorized, "invalid_client", 7000215,
			fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID), ""}
	}
	return nil
}

func (t *Tenant) app(clientID string) (SeedApp, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.apps[clientID]
	return a, ok
}

// handleToken is the v2.0 token endpoint: the resource-owner password grant,
// client_credentials, authorization_code (with PKCE) and refresh_token.
func (t *Tenant) handleToken(w http.ResponseWriter, r *http.Request) {
	seg := r.PathValue("tenant")
	if !t.tenantMatches(seg) {
		t.writeTokenError(w, r, &tokenError{http.StatusBadRequest, "invalid_request", 90002, tenantNotFound(seg), ""})
		return
	}
	if err := r.ParseForm(); err != nil {
		t.writeTokenError(w, r, errMissing("grant_type"))
		return
	}
	clientID, secret := clientCredentials(r)
	gt := r.PostForm.Get("grant_type")
	scope := r.PostForm.Get("scope")
	var terr *tokenError
	switch {
	case gt == "password" || gt == "client_credentials":
		if scope == "" {
			terr = errMissing("scope")
		} else if clientID == "" {
			terr = errMissing("client_id")
		} else if strings.EqualFold(seg, segCommon) {
			// reference-error-codes.md: AADSTS9001023.
			// Guess: the text of AADSTS9001023 (a password or client credentials grant on /common).
			terr = &tokenError{http.StatusBadRequest, "invalid_request", 9001023,
				"The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.", ""}
		}
	case gt == "authorization_code" || gt == "refresh_token":
		if clientID == "" {
			terr = errMissing("client_id")
		}
	case gt == "":
		terr = errMissing("grant_type")
	default:
		if clientID == "" {
			terr = errMissing("client_id")
		} else {
			terr = &tokenError{http.StatusBadRequest, "unsupported_grant_type", 70003,
				fmt.Sprintf("The app requested an unsupported grant type '%s'.", gt), ""}
		}
	}
	if terr != nil {
		t.writeTokenError(w, r, terr)
		return
	}
	app, ok := t.app(clientID)
	if !ok {
		t.writeTokenError(w, r, t.errUnknownClient(clientID))
		return
	}
	if terr := authenticateClient(app, secret); terr != nil {
		t.writeTokenError(w, r, terr)
		return
	}
	var resp map[string]any
	switch gt {
	case "password":
		resp, terr = t.passwordGrant(r, app, scope)
	case "client_credentials":
		resp, terr = t.clientCredentialsGrant(r, app, scope)
	case "authorization_code":
		resp, terr = t.authorizationCodeGrant(r, app)
	case "refresh_token":
		resp, terr = t.refreshTokenGrant(r, app)
	}
	if terr != nil {
		t.writeTokenError(w, r, terr)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, resp)
}

// passwordGrant is the resource-owner password credentials grant (ROPC,
// learn.microsoft.com/entra/identity-platform/v2-oauth-ropc). It cannot do
// MFA: accounts that need it get AADSTS50076 with suberror basic_action.
func (t *Tenant) passwordGrant(r *http.Request, app SeedApp, scope string) (map[string]any, *tokenError) {
	if terr := t.errFederatedPassword(r.PostForm.Get("username")); terr != nil {
		return nil, terr
	}
	f := t.signInFacts(r.PostForm.Get("username"), r.PostForm.Get("password"))
	if terr := t.errFacts(f, true); terr != nil {
		return nil, terr
	}
	if f.MFA {
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", 50076,
			fmt.Sprintf("Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.", GraphAppID), "basic_action"}
	}
	return t.userTokens(r, app, f, userGrant{Scope: scope, AuthTime: t.now(), AMR: amrPassword, IP: clientIP(r)})
}

func (t *Tenant) clientCredentialsGrant(r *http.Request, app SeedApp, scope string) (map[string]any, *tokenError) {
	if app.Public {
		// A public client has no credential to present.
		return nil, authenticateClient(SeedApp{ClientID: app.ClientID}, "")
	}
	now := t.now()
	tok, err := t.sign(v1, t.appAccessClaims(baseURL(r), app.ClientID, appIDACR(app), app.Roles, audienceForScope(scope), now, now.Add(t.tokenLifetime)))
	if err != nil {
		return nil, errSigning
	}
	secs := int(t.tokenLifetime / time.Second)
	return map[string]any{"token_type": "Bearer", "scope": scope, "expires_in": secs, "ext_expires_in": secs, "access_token": tok}, nil
}

var errSigning = &tokenError{http.StatusInternalServerError, "server_error", 50000, "There was an error issuing a token.", ""}

// userGrant is what a delegated token is issued from: the scopes granted,
// the nonce of the authorization request, when and how the user signed in
// (amr), from where (ipaddr), and the sign-in session (sid) when there is one.
type userGrant struct {
	Scope     string
	Nonce     string
	AuthTime  time.Time
	AMR       []string
	IP        string
	SessionID string
}

// amr values (access-token-claims-reference, "amr claim").
var (
	amrPassword = []string{"pwd"}
	amrMFA      = []string{"pwd", "mfa"}
)

// clientIP is the address a request came from, without its port.
func clientIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// appIDACR is the appidacr claim: how the client authenticated, 0 for a
// public client, 1 for a client secret (2, a certificate, is not emulated).
func appIDACR(app SeedApp) string {
	if app.Public {
		return "0"
	}
	return "1"
}

// hasScope reports whether a space-separated scope list holds s.
func hasScope(scope, s string) bool { return slices.Contains(strings.Fields(scope), s) }

// oidcScopes are the OpenID Connect scopes, which name no resource.
var oidcScopes = []string{"openid", "profile", "email", "offline_access"}

// delegatedScp is the scp claim of a delegated Graph token: the scopes asked
// for, without their resource prefix, plus the OIDC ones; ".default" stands
// for the permissions the emulated apps are consented to.
func delegatedScp(scope string) string {
	var out []string
	def := false
	for _, s := range strings.Fields(scope) {
		if s == "offline_access" {
			continue
		}
		if slices.Contains(oidcScopes, s) {
			out = append(out, s)
			continue
		}
		if i := strings.LastIndex(s, "/"); i >= 0 {
			s = s[i+1:]
		}
		if s == ".default" {
			def = true
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if def {
		out = append(out, "Directory.ReadWrite.All", "User.ReadWrite.All")
	}
	if len(out) == 0 {
		return "openid profile email"
	}
	return strings.Join(out, " ")
}

// pairwiseSub is the sub claim: unique to a user and an application, as the
// identity platform's pairwise subject identifier is (id-token-claims-reference).
func (t *Tenant) pairwiseSub(clientID, userID string) string {
	sum := sha256.Sum256([]byte(t.tenantID + "|" + clientID + "|" + userID))
	return b64(sum[:])
}

// userProfile is what tokens say of a user beyond signInFacts.
type userProfile struct{ GivenName, Surname, Mail string }

func (t *Tenant) profileOf(userID string) userProfile {
	t.mu.Lock()
	defer t.mu.Unlock()
	u := t.users[strings.ToLower(userID)]
	if u == nil {
		return userProfile{}
	}
	return userProfile{GivenName: u.GivenName, Surname: u.Surname, Mail: u.Mail}
}

// Access tokens are v1.0 tokens, the format of Graph's (see issuerV1). The
// claims are those the access token claims reference documents for v1.0
// tokens, where they apply:
//
//   - always: aud, iss, iat, nbf, exp, appid, appidacr, idtyp, oid, sub,
//     tid, uti, ver "1.0";
//   - delegated: acr "1", amr, scp, name, unique_name and upn (the UPN),
//     ipaddr (a v1.0 basic claim: where the user signed in from),
//     given_name and family_name when the user has them, wids when the
//     user holds directory roles ("claims are present only if a value
//     exists to fill it");
//   - app-only: roles (the application permissions) when there are any;
//     oid and sub are the object id of the application's service principal
//     in the tenant, not its appId.
//
// idtyp is an optional claim the resource turns on; Graph's tokens carry it
// ("app" for app-only, "user" with include_user_token, optional-claims-
// reference). Opaque claims (aio, rh) and undocumented ones (xms_tcdt,
// puid, platf, ...) are left out, and so is the header's nonce, which makes
// Graph's real tokens unverifiable by anyone but Graph.
//
// aud is the resource as the scope named it (access-token-claims-reference:
// "In v1.0 tokens, it can be the client ID or the resource URI used in the
// request"): https://graph.microsoft.com for https://graph.microsoft.com/..,
// 00000003-0000-0000-c000-000000000000 for a scope without a resource
// (User.Read, or only OpenID scopes), which the platform takes as Graph's.

func (t *Tenant) userAccessClaims(base string, app SeedApp, f signInFacts, g userGrant, now time.Time) map[string]any {
	amr := g.AMR
	if len(amr) == 0 {
		amr = amrPassword
	}
	c := map[string]any{
		"aud": audienceForScope(g.Scope), "iss": issuerV1For(base, t.tenantID),
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(t.tokenLifetime).Unix(),
		"acr": "1", "amr": amr, "appid": app.ClientID, "appidacr": appIDACR(app), "idtyp": "user",
		"name": f.DisplayName, "oid": f.UserID, "scp": delegatedScp(g.Scope), "sub": t.pairwiseSub(app.ClientID, f.UserID),
		"tid": t.tenantID, "unique_name": f.UPN, "upn": f.UPN, "uti": randomB64(16), "ver": v1,
	}
	if g.IP != "" {
		c["ipaddr"] = g.IP
	}
	p := t.profileOf(f.UserID)
	if p.GivenName != "" {
		c["given_name"] = p.GivenName
	}
	if p.Surname != "" {
		c["family_name"] = p.Surname
	}
	if len(f.Roles) > 0 {
		c["wids"] = f.Roles
	}
	return c
}

// appAccessClaims are an app-only v1.0 access token's claims.
func (t *Tenant) appAccessClaims(base, appID, appidacr string, roles []string, aud string, now, exp time.Time) map[string]any {
	sp := t.servicePrincipalID(appID)
	c := map[string]any{
		"aud": aud, "iss": issuerV1For(base, t.tenantID), "iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
		"appid": appID, "appidacr": appidacr, "idtyp": "app", "oid": sp, "sub": sp,
		"tid": t.tenantID, "uti": randomB64(16), "ver": v1,
	}
	if len(roles) > 0 {
		c["roles"] = slices.Clone(roles)
	}
	return c
}

// idTokenClaims are a v2.0 ID token's (id-token-claims-reference): aud (the
// client), iss, iat, nbf, exp, sub (pairwise), tid, uti, ver "2.0"; with the
// profile scope name, preferred_username and oid ("The profile scope is
// required to receive this claim"); with the email scope email, when the
// user has a mail address; nonce when the request sent one; sid when the
// sign-in made a session; groups and wids as the application's
// groupMembershipClaims says. Opaque claims (aio, rh) are left out.
func (t *Tenant) idTokenClaims(base string, app SeedApp, f signInFacts, g userGrant, now time.Time) map[string]any {
	c := map[string]any{
		"aud": app.ClientID, "iss": issuerV2For(base, t.tenantID), "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "sub": t.pairwiseSub(app.ClientID, f.UserID), "tid": t.tenantID,
		"uti": randomB64(16), "ver": v2,
	}
	if hasScope(g.Scope, "profile") {
		c["name"], c["preferred_username"], c["oid"] = f.DisplayName, f.UPN, f.UserID
	}
	if hasScope(g.Scope, "email") {
		if p := t.profileOf(f.UserID); p.Mail != "" {
			c["email"] = p.Mail
		}
	}
	if g.Nonce != "" {
		c["nonce"] = g.Nonce
	}
	if g.SessionID != "" {
		c["sid"] = g.SessionID
	}
	if slices.Equal(g.AMR, amrFederated) {
		// The identity provider that authenticated the user: for a
		// federated sign-in, the domain's federation service.
		// Guess: a federated user's ID token carries idp, the domain's issuerUri.
		if iss := t.federatedIssuer(f.UPN); iss != "" {
			c["idp"] = iss
		}
	}
	switch app.GroupMembershipClaims {
	case "SecurityGroup", "All":
		if len(f.Groups) > 0 {
			c["groups"] = f.Groups
		}
	}
	switch app.GroupMembershipClaims {
	case "DirectoryRole", "All":
		if len(f.Roles) > 0 {
			c["wids"] = f.Roles
		}
	}
	return c
}

// clientInfo is the token response's client_info, sent when the request asks
// for it (client_info=1, as MSAL does): base64url JSON {"uid","utid"}, the
// user's object id and tenant id, from which MSAL makes the account's home
// account id (uid.utid).
func (t *Tenant) clientInfo(userID string) string {
	b, _ := json.Marshal(map[string]string{"uid": userID, "utid": t.tenantID})
	return b64(b)
}

// userTokens issues the tokens of a delegated grant: an access token (for
// Graph unless another resource is asked for), an ID token when openid is in
// scope, a refresh token when offline_access is, and client_info when the
// client asks for it.
func (t *Tenant) userTokens(r *http.Request, app SeedApp, f signInFacts, g userGrant) (map[string]any, *tokenError) {
	now := t.now()
	base := baseURL(r)
	access, err := t.sign(v1, t.userAccessClaims(base, app, f, g, now))
	if err != nil {
		return nil, errSigning
	}
	secs := int(t.tokenLifetime / time.Second)
	resp := map[string]any{"token_type": "Bearer", "scope": g.Scope, "expires_in": secs, "ext_expires_in": secs, "access_token": access}
	if hasScope(g.Scope, "openid") {
		id, err := t.sign(v2, t.idTokenClaims(base, app, f, g, now))
		if err != nil {
			return nil, errSigning
		}
		resp["id_token"] = id
	}
	if hasScope(g.Scope, "offline_access") {
		resp["refresh_token"] = t.idp.newRefreshToken(refreshGrant{ClientID: app.ClientID, UserID: f.UserID, Scope: g.Scope,
			AuthTime: g.AuthTime, AMR: g.AMR, IP: g.IP, SessionID: g.SessionID}, now)
	}
	if r.PostForm.Get("client_info") == "1" {
		resp["client_info"] = t.clientInfo(f.UserID)
	}
	return resp, nil
}

// audienceForScope maps a v2.0 scope list to the token audience: the resource
// of the first scope that names one, as it names it
// (https://graph.microsoft.com/.default → https://graph.microsoft.com,
// 00000003-0000-0000-c000-000000000000/.default → that id); a scope without
// a resource (User.Read), or none but OpenID scopes, is Graph's, whose
// tokens then carry Graph's application id.
func audienceForScope(scope string) string {
	for _, s := range strings.Fields(scope) {
		if slices.Contains(oidcScopes, s) {
			continue
		}
		if i := strings.LastIndex(s, "/"); i > 0 && i > strings.Index(s, "://")+2 {
			return s[:i]
		}
		return GraphAppID // bare Graph scopes such as User.Read
	}
	return GraphAppID
}

// aadstsDescription is an error_description: "AADSTSn: message Trace ID: …
// Correlation ID: … Timestamp: …".
func (t *Tenant) aadstsDescription(e *tokenError) (desc, trace, corr, ts string) {
	ts = t.now().UTC().Format("2006-01-02 15:04:05Z")
	trace, corr = newGUID(), newGUID()
	desc = fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", e.aadsts, e.msg, trace, corr, ts)
	return desc, trace, corr, ts
}

// writeTokenError writes the identity platform's error body.
func (t *Tenant) writeTokenError(w http.ResponseWriter, r *http.Request, e *tokenError) {
	desc, trace, corr, ts := t.aadstsDescription(e)
	body := map[string]any{
		"error":             e.code,
		"error_description": desc,
		"error_codes":       []int{e.aadsts},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         fmt.Sprintf("%s/error?code=%d", baseURL(r), e.aadsts),
	}
	if e.suberror != "" {
		body["suberror"] = e.suberror
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, e.status, body)
}

// TokenSpec describes a token minted directly (MintToken), for tests that need
// one the token endpoint would not hand out: expired, another audience,
// another format.
type TokenSpec struct {
	Audience string        // default https://graph.microsoft.com
	Issuer   string        // default the issuer of the format for BaseURL: {BaseURL}/{tenant id}/ (v1.0), …/v2.0 (v2.0)
	BaseURL  string        // scheme://host the emulator is served on
	AppID    string        // the client; default "test-app"
	Lifetime time.Duration // may be negative for an expired token; default 1 h
	// Roles are the application permissions of an app-only token; default
	// Directory.ReadWrite.All.
	Roles []string
	// User, a userPrincipalName, makes a delegated token for that account
	// (oid its object id, upn, scp) from a public client, instead of an
	// app-only one. It carries no wids: the emulator reads the account's
	// roles from the directory.
	User string
	// Scope is a delegated token's scp; default "User.Read Directory.AccessAsUser.All".
	Scope string
	// Version is the token format: "1.0" (default), as Graph's tokens are,
	// or "2.0" (iss …/v2.0, azp and azpacr for appid and appidacr, kid
	// without x5t), which Graph refuses.
	Version string
}

// MintToken signs an access token with the tenant's key, shaped as the token
// endpoint shapes them (see userAccessClaims): an app-only token whose oid is
// the application's service principal, or with User a delegated one.
func (t *Tenant) MintToken(s TokenSpec) (string, error) {
	if s.Audience == "" {
		s.Audience = GraphResource
	}
	if s.AppID == "" {
		s.AppID = "test-app"
	}
	if s.Lifetime == 0 {
		s.Lifetime = time.Hour
	}
	if s.Roles == nil {
		s.Roles = []string{"Directory.ReadWrite.All"}
	}
	if s.Version == "" {
		s.Version = v1
	}
	if s.Version != v1 && s.Version != v2 {
		return "", fmt.Errorf("tenant: token version %q is not 1.0 or 2.0", s.Version)
	}
	now := t.now()
	iat := now
	if s.Lifetime < 0 {
		iat = now.Add(2 * s.Lifetime)
	}
	var c map[string]any
	if s.User != "" {
		f := t.signInFacts(s.User, "")
		if !f.Exists {
			return "", fmt.Errorf("tenant: no account %s", s.User)
		}
		f.Roles = nil
		if s.Scope == "" {
			s.Scope = "User.Read Directory.AccessAsUser.All"
		}
		c = t.userAccessClaims(s.BaseURL, SeedApp{ClientID: s.AppID, Public: true}, f, userGrant{Scope: s.Scope}, iat)
		c["scp"] = s.Scope
	} else {
		c = t.appAccessClaims(s.BaseURL, s.AppID, "1", s.Roles, s.Audience, iat, iat)
	}
	c["aud"] = s.Audience
	c["exp"] = now.Add(s.Lifetime).Unix()
	if s.Version == v2 {
		c["iss"] = issuerV2For(s.BaseURL, t.tenantID)
		c["ver"] = v2
		c["azp"], c["azpacr"] = c["appid"], c["appidacr"]
		for _, v1Only := range []string{"appid", "appidacr", "acr", "amr", "unique_name", "upn", "ipaddr", "given_name", "family_name"} {
			delete(c, v1Only)
		}
		if s.User != "" {
			c["preferred_username"] = s.User
		}
	}
	if s.Issuer != "" {
		c["iss"] = s.Issuer
	}
	return t.sign(s.Version, c)
}

// principal is what a validated token says about its caller.
type principal struct {
	AppID string
	OID   string   // the user, or the application's service principal
	Roles []string // app roles
	WIDs  []string // directory role template ids
}

type principalKey struct{}

var errTokenExpired = errors.New("Access token has expired or is not yet valid.")

// verify checks a bearer token as Graph does: a JWT signed by the tenant's
// key, named by x5t in its header, live, for Graph, and of the v1.0 format
// with the tenant's v1.0 issuer.
//
// Graph takes only what the identity platform issues for it, and it issues
// only v1.0 tokens for Graph (accessTokenAcceptedVersion null), so a
// v2.0-format token with Graph's audience is nothing the platform makes.
// Graph refuses v2.0 tokens (those for other APIs, sent to Graph by
// mistake) with "Invalid x5t claim." (microsoftgraph/msgraph-sdk-javascript
// #451, AzureAD/microsoft-authentication-library-for-js #3403): a v2.0
// header names its key by kid only. The emulator does the same, and refuses
// a v2.0 issuer or ver as an invalid issuer.
func (t *Tenant) verify(r *http.Request, tok string) (principal, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return principal{}, errors.New("IDX14100: JWT is not well formed, there are no dots (.).")
	}
	hdrB, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	payB, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return principal{}, errors.New("IDX14100: JWT is not well formed.")
	}
	var hdr struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		X5t string `json:"x5t"`
	}
	if json.Unmarshal(hdrB, &hdr) != nil || hdr.Alg != "RS256" {
		return principal{}, errors.New("Access token validation failure.")
	}
	cert := t.cert()
	if hdr.X5t != cert.thumbprint {
		return principal{}, errors.New("Invalid x5t claim.")
	}
	if hdr.Kid != "" && hdr.Kid != cert.thumbprint {
		return principal{}, errors.New("Access token validation failure.")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&t.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return principal{}, errors.New("Access token validation failure.")
	}
	var c struct {
		Aud   string   `json:"aud"`
		Iss   string   `json:"iss"`
		Ver   string   `json:"ver"`
		Exp   int64    `json:"exp"`
		Nbf   int64    `json:"nbf"`
		Tid   string   `json:"tid"`
		AppID string   `json:"appid"`
		OID   string   `json:"oid"`
		Roles []string `json:"roles"`
		WIDs  []string `json:"wids"`
	}
	if json.Unmarshal(payB, &c) != nil {
		return principal{}, errors.New("Access token validation failure.")
	}
	now := t.now().Unix()
	if now >= c.Exp || now < c.Nbf-300 {
		return principal{}, errTokenExpired
	}
	if c.Aud != GraphResource && c.Aud != GraphAppID && c.Aud != GraphResource+"/" {
		return principal{}, errors.New("Access token validation failure. Invalid audience.")
	}
	if c.Iss != t.issuerV1(r) || c.Ver != v1 || c.Tid != t.tenantID {
		return principal{}, errors.New("Access token validation failure. Invalid issuer.")
	}
	return principal{AppID: c.AppID, OID: c.OID, Roles: c.Roles, WIDs: c.WIDs}, nil
}

// requireToken guards Graph: 401 InvalidAuthenticationToken with a
// WWW-Authenticate challenge when the bearer token is missing or invalid.
func (t *Tenant) requireToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authz := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(authz, "Bearer ")
		var p principal
		var err error
		switch {
		case !ok || strings.TrimSpace(tok) == "":
			err = errors.New("Access token is empty.")
		default:
			p, err = t.verify(r, strings.TrimSpace(tok))
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="", authorization_uri="%s/%s/oauth2/authorize", client_id="%s"`, baseURL(r), t.tenantID, GraphAppID))
			writeGraphError(w, r, http.StatusUnauthorized, "InvalidAuthenticationToken", err.Error(), nil)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func principalFrom(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
