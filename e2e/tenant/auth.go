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
	"math/big"
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

// issuer is the tenant's v2.0 issuer. Tokens always carry it, whatever
// {tenant} segment they were requested on.
func (t *Tenant) issuer(r *http.Request) string {
	return baseURL(r) + "/" + t.tenantID + "/v2.0"
}

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
	issuer := t.issuer(r)
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

func (t *Tenant) handleJWKS(w http.ResponseWriter, r *http.Request) {
	pub := t.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty":    "RSA",
		"use":    "sig",
		"kid":    t.keyID,
		"alg":    "RS256",
		"n":      b64(pub.N.Bytes()),
		"e":      b64(big.NewInt(int64(pub.E)).Bytes()),
		"issuer": baseURL(r) + "/" + t.tenantID + "/v2.0",
	}}})
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
			// reference-error-codes.md: AADSTS9001023. The error string is a guess.
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
	f := t.signInFacts(r.PostForm.Get("username"), r.PostForm.Get("password"))
	if terr := t.errFacts(f, true); terr != nil {
		return nil, terr
	}
	if f.MFA {
		return nil, &tokenError{http.StatusBadRequest, "invalid_grant", 50076,
			fmt.Sprintf("Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.", GraphAppID), "basic_action"}
	}
	return t.userTokens(r, app, f, userGrant{Scope: scope, AuthTime: t.now()})
}

func (t *Tenant) clientCredentialsGrant(r *http.Request, app SeedApp, scope string) (map[string]any, *tokenError) {
	if app.Public {
		// A public client has no credential to present.
		return nil, authenticateClient(SeedApp{ClientID: app.ClientID}, "")
	}
	now := t.now()
	tok, err := t.sign(map[string]any{
		"aud": audienceForScope(scope), "iss": t.issuer(r), "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(t.tokenLifetime).Unix(), "tid": t.tenantID, "ver": "2.0",
		"azp": app.ClientID, "appid": app.ClientID, "oid": app.ClientID, "sub": app.ClientID,
		"idtyp": "app", "roles": app.Roles,
	})
	if err != nil {
		return nil, errSigning
	}
	secs := int(t.tokenLifetime / time.Second)
	return map[string]any{"token_type": "Bearer", "scope": scope, "expires_in": secs, "ext_expires_in": secs, "access_token": tok}, nil
}

var errSigning = &tokenError{http.StatusInternalServerError, "server_error", 50000, "There was an error issuing a token.", ""}

// userGrant is what a delegated token is issued from: the scopes granted,
// the nonce of the authorization request, when the user signed in.
type userGrant struct {
	Scope    string
	Nonce    string
	AuthTime time.Time
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

// userTokens issues the tokens of a delegated grant: an access token (for
// Graph unless another resource is asked for), an ID token when openid is in
// scope and a refresh token when offline_access is.
func (t *Tenant) userTokens(r *http.Request, app SeedApp, f signInFacts, g userGrant) (map[string]any, *tokenError) {
	now := t.now()
	scp := delegatedScp(g.Scope)
	sub := t.pairwiseSub(app.ClientID, f.UserID)
	wids := f.Roles
	if wids == nil {
		wids = []string{}
	}
	access, err := t.sign(map[string]any{
		"aud": audienceForScope(g.Scope), "iss": t.issuer(r), "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(t.tokenLifetime).Unix(), "tid": t.tenantID, "ver": "2.0",
		"azp": app.ClientID, "appid": app.ClientID, "oid": f.UserID, "sub": sub,
		"upn": f.UPN, "preferred_username": f.UPN, "unique_name": f.UPN, "name": f.DisplayName,
		"idtyp": "user", "wids": wids, "scp": scp,
	})
	if err != nil {
		return nil, errSigning
	}
	secs := int(t.tokenLifetime / time.Second)
	resp := map[string]any{"token_type": "Bearer", "scope": g.Scope, "expires_in": secs, "ext_expires_in": secs, "access_token": access}
	if hasScope(g.Scope, "openid") {
		claims := map[string]any{
			"aud": app.ClientID, "iss": t.issuer(r), "iat": now.Unix(), "nbf": now.Unix(),
			"exp": now.Add(time.Hour).Unix(), "sub": sub, "oid": f.UserID, "tid": t.tenantID,
			"ver": "2.0", "name": f.DisplayName, "preferred_username": f.UPN, "uti": randomB64(16),
		}
		if g.Nonce != "" {
			claims["nonce"] = g.Nonce
		}
		switch app.GroupMembershipClaims {
		case "SecurityGroup", "All":
			if len(f.Groups) > 0 {
				claims["groups"] = f.Groups
			}
		}
		switch app.GroupMembershipClaims {
		case "DirectoryRole", "All":
			if len(f.Roles) > 0 {
				claims["wids"] = f.Roles
			}
		}
		id, err := t.sign(claims)
		if err != nil {
			return nil, errSigning
		}
		resp["id_token"] = id
	}
	if hasScope(g.Scope, "offline_access") {
		resp["refresh_token"] = t.idp.newRefreshToken(refreshGrant{ClientID: app.ClientID, UserID: f.UserID, Scope: g.Scope, AuthTime: g.AuthTime}, now)
	}
	return resp, nil
}

// audienceForScope maps a v2.0 scope list to the token audience: the resource
// of the first scope (https://graph.microsoft.com/.default → https://graph.microsoft.com).
func audienceForScope(scope string) string {
	for _, s := range strings.Fields(scope) {
		if slices.Contains(oidcScopes, s) {
			continue
		}
		if i := strings.LastIndex(s, "/"); i > 0 && i > strings.Index(s, "://")+2 {
			return s[:i]
		}
		return GraphResource // bare Graph scopes such as User.Read
	}
	return GraphResource
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
// one the token endpoint would not hand out: expired, another audience.
type TokenSpec struct {
	Audience string        // default https://graph.microsoft.com
	Issuer   string        // default the issuer for BaseURL
	BaseURL  string        // scheme://host the emulator is served on
	AppID    string        // default "test-app"
	Lifetime time.Duration // may be negative for an expired token; default 1 h
	Roles    []string      // app roles; default Directory.ReadWrite.All
}

// MintToken signs an access token with the tenant's key.
func (t *Tenant) MintToken(s TokenSpec) (string, error) {
	if s.Audience == "" {
		s.Audience = GraphResource
	}
	if s.Issuer == "" {
		s.Issuer = strings.TrimSuffix(s.BaseURL, "/") + "/" + t.tenantID + "/v2.0"
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
	now := t.now()
	iat := now
	if s.Lifetime < 0 {
		iat = now.Add(2 * s.Lifetime)
	}
	return t.sign(map[string]any{
		"aud": s.Audience, "iss": s.Issuer, "tid": t.tenantID, "ver": "2.0",
		"iat": iat.Unix(), "nbf": iat.Unix(), "exp": now.Add(s.Lifetime).Unix(),
		"appid": s.AppID, "azp": s.AppID, "oid": s.AppID, "sub": s.AppID, "idtyp": "app", "roles": s.Roles,
	})
}

func (t *Tenant) sign(claims map[string]any) (string, error) {
	hdr, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "RS256", "kid": t.keyID})
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := b64(hdr) + "." + b64(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(nil, t.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return signing + "." + b64(sig), nil
}

// principal is what a validated token says about its caller.
type principal struct {
	AppID string
	OID   string
	Roles []string // app roles
	WIDs  []string // directory role template ids
}

type principalKey struct{}

var errTokenExpired = errors.New("Access token has expired or is not yet valid.")

// verify checks a bearer token's signature, lifetime, audience and issuer.
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
	var hdr struct{ Alg, Kid string }
	if json.Unmarshal(hdrB, &hdr) != nil || hdr.Alg != "RS256" || hdr.Kid != t.keyID {
		return principal{}, errors.New("Access token validation failure.")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(&t.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return principal{}, errors.New("Access token validation failure.")
	}
	var c struct {
		Aud   string   `json:"aud"`
		Iss   string   `json:"iss"`
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
	if c.Iss != t.issuer(r) || c.Tid != t.tenantID {
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
