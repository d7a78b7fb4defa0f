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
	"strings"
	"time"
)

// tenantMatches reports whether a {tenant} path segment names this tenant:
// its id or one of its verified domains, as the real authority accepts.
func (t *Tenant) tenantMatches(seg string) bool {
	seg = strings.ToLower(seg)
	if seg == t.tenantID {
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

func (t *Tenant) issuer(r *http.Request) string {
	return baseURL(r) + "/" + t.tenantID + "/v2.0"
}

func (t *Tenant) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	if !t.tenantMatches(r.PathValue("tenant")) {
		t.writeTokenError(w, r, http.StatusBadRequest, "invalid_tenant", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", r.PathValue("tenant")), "")
		return
	}
	base := baseURL(r) + "/" + t.tenantID
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"jwks_uri":                              base + "/discovery/v2.0/keys",
		"response_modes_supported":              []string{"query", "fragment", "form_post"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
		"issuer":                                t.issuer(r),
		"request_uri_parameter_supported":       false,
		"userinfo_endpoint":                     baseURL(r) + "/oidc/userinfo",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"end_session_endpoint":                  base + "/oauth2/v2.0/logout",
		"claims_supported":                      []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"},
		"tenant_region_scope":                   "EU",
		"cloud_instance_name":                   "microsoftonline.com",
	})
}

func (t *Tenant) handleJWKS(w http.ResponseWriter, r *http.Request) {
	pub := t.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]any{{
		"kty": "RSA",
		"use": "sig",
		"kid": t.keyID,
		"alg": "RS256",
		"n":   b64(pub.N.Bytes()),
		"e":   b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// handleToken is the v2.0 token endpoint: the resource-owner password grant
// and client_credentials.
func (t *Tenant) handleToken(w http.ResponseWriter, r *http.Request) {
	if !t.tenantMatches(r.PathValue("tenant")) {
		t.writeTokenError(w, r, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", r.PathValue("tenant")), "")
		return
	}
	if err := r.ParseForm(); err != nil {
		t.writeTokenError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.", "")
		return
	}
	clientID := r.PostForm.Get("client_id")
	scope := r.PostForm.Get("scope")
	if scope == "" {
		t.writeTokenError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.", "")
		return
	}
	if clientID == "" {
		t.writeTokenError(w, r, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.", "")
		return
	}
	aud := audienceForScope(scope)
	now := t.now()
	claims := map[string]any{
		"aud":   aud,
		"iss":   t.issuer(r),
		"iat":   now.Unix(),
		"nbf":   now.Unix(),
		"exp":   now.Add(t.tokenLifetime).Unix(),
		"tid":   t.tenantID,
		"ver":   "2.0",
		"azp":   clientID,
		"appid": clientID,
	}
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "password":
		upn := strings.ToLower(r.PostForm.Get("username"))
		t.mu.Lock()
		acct := t.admins[upn]
		t.mu.Unlock()
		switch {
		case acct == nil:
			t.writeTokenError(w, r, http.StatusBadRequest, "invalid_grant", 50034,
				fmt.Sprintf("The user account {EUII Hidden} does not exist in the %s directory. To sign into this application, the account must be added to the directory.", t.tenantID), "")
			return
		case subtle.ConstantTimeCompare([]byte(acct.Password), []byte(r.PostForm.Get("password"))) != 1:
			t.writeTokenError(w, r, http.StatusBadRequest, "invalid_grant", 50126,
				"Error validating credentials due to invalid username or password.", "")
			return
		case acct.MFA:
			t.writeTokenError(w, r, http.StatusBadRequest, "invalid_grant", 50076,
				fmt.Sprintf("Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.", GraphAppID), "basic_action")
			return
		}
		claims["oid"] = acct.UserID
		claims["sub"] = acct.UserID
		claims["upn"] = acct.UPN
		claims["preferred_username"] = acct.UPN
		claims["idtyp"] = "user"
		claims["wids"] = acct.Roles
		claims["scp"] = "Directory.ReadWrite.All User.ReadWrite.All"
	case "client_credentials":
		t.mu.Lock()
		app, ok := t.apps[clientID]
		t.mu.Unlock()
		if !ok {
			t.writeTokenError(w, r, http.StatusBadRequest, "unauthorized_client", 700016,
				fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, t.displayName), "")
			return
		}
		if subtle.ConstantTimeCompare([]byte(app.ClientSecret), []byte(r.PostForm.Get("client_secret"))) != 1 {
			t.writeTokenError(w, r, http.StatusUnauthorized, "invalid_client", 7000215,
				fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID), "")
			return
		}
		claims["oid"] = clientID
		claims["sub"] = clientID
		claims["idtyp"] = "app"
		claims["roles"] = app.Roles
	default:
		t.writeTokenError(w, r, http.StatusBadRequest, "unsupported_grant_type", 70003,
			fmt.Sprintf("The app requested an unsupported grant type '%s'.", gt), "")
		return
	}
	tok, err := t.sign(claims)
	if err != nil {
		http.Error(w, "signing failed", http.StatusInternalServerError)
		return
	}
	secs := int(t.tokenLifetime / time.Second)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":     "Bearer",
		"scope":          scope,
		"expires_in":     secs,
		"ext_expires_in": secs,
		"access_token":   tok,
	})
}

// audienceForScope maps a v2.0 scope list to the token audience: the resource
// of the first scope (https://graph.microsoft.com/.default → https://graph.microsoft.com).
func audienceForScope(scope string) string {
	for _, s := range strings.Fields(scope) {
		switch s {
		case "openid", "profile", "email", "offline_access":
			continue
		}
		if i := strings.LastIndex(s, "/"); i > 0 && i > strings.Index(s, "://")+2 {
			return s[:i]
		}
		return GraphResource // bare Graph scopes such as User.Read
	}
	return GraphResource
}

// writeTokenError writes the identity platform's error body.
func (t *Tenant) writeTokenError(w http.ResponseWriter, r *http.Request, status int, code string, aadsts int, msg, suberror string) {
	now := t.now().UTC()
	ts := now.Format("2006-01-02 15:04:05Z")
	trace, corr := newGUID(), newGUID()
	body := map[string]any{
		"error": code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
			aadsts, msg, trace, corr, ts),
		"error_codes":    []int{aadsts},
		"timestamp":      ts,
		"trace_id":       trace,
		"correlation_id": corr,
		"error_uri":      fmt.Sprintf("%s/error?code=%d", baseURL(r), aadsts),
	}
	if suberror != "" {
		body["suberror"] = suberror
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, body)
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

func (p principal) canWrite() bool {
	for _, r := range p.Roles {
		if r == "Directory.ReadWrite.All" || r == "User.ReadWrite.All" {
			return true
		}
	}
	for _, w := range p.WIDs {
		switch w {
		case RoleGlobalAdministrator, RoleHybridIdentityAdministrator, RoleUserAdministrator, RoleDirectorySynchronizationAcct:
			return true
		}
	}
	return false
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
