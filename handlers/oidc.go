package handlers

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/hybridsync/hybridsync/engine/audit"
	"github.com/hybridsync/hybridsync/engine/auth"
	"github.com/hybridsync/hybridsync/engine/secret"
	"github.com/hybridsync/hybridsync/engine/store"
	authview "github.com/hybridsync/hybridsync/views/auth"
)

// Sign-in with an OpenID Connect provider: the authorization code flow with
// PKCE (S256), a nonce and a state. /auth/oidc/start keeps state, nonce, PKCE
// verifier and redirect URI in the session cookie (signed and encrypted, so
// the page can neither read nor change them) and sends the browser to the
// provider; /auth/oidc/callback checks the state against the cookie, redeems
// the code with the client secret and the verifier, verifies the ID token
// (signature, issuer, client id audience, expiry, nonce), maps its groups
// claim to roles and signs the account in as POST /signin does.
//
// The callback is a GET that changes state (the account, its roles, the
// session), as the protocol has it: the provider sends the browser back with
// a plain redirect. It is not forgeable across sites: it does nothing without
// the state that only this browser's cookie holds, and the code is good once.
const (
	oidcCallbackPath = "/auth/oidc/callback"

	keyOIDCState    = "oidc_state"
	keyOIDCNonce    = "oidc_nonce"
	keyOIDCVerifier = "oidc_verifier"
	keyOIDCRedirect = "oidc_redirect"
	keyOIDCNext     = "oidc_next"
	keyOIDCStarted  = "oidc_started"

	// oidcFlowTimeout bounds the time between leaving for the provider and
	// coming back: enough to type a password and answer MFA.
	oidcFlowTimeout = 15 * time.Minute
	// oidcTimeout bounds each request to the provider (discovery, keys, token).
	oidcTimeout = 10 * time.Second
	// oidcProviderTTL is how long a discovered provider is reused.
	oidcProviderTTL = time.Hour
)

// oidcClient reaches the identity provider and keeps its discovered
// configuration for a while.
type oidcClient struct {
	http *http.Client

	mu     sync.Mutex
	issuer string
	cached *oidc.Provider
	at     time.Time
}

// newOIDCClient trusts roots (nil: the system's roots).
func newOIDCClient(roots *x509.CertPool) *oidcClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	return &oidcClient{http: &http.Client{Transport: tr, Timeout: oidcTimeout}}
}

// ctx carries the client to go-oidc and oauth2.
func (c *oidcClient) ctx(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, c.http)
}

// discover fetches the provider's discovery document now. go-oidc checks that
// the document's issuer is exactly the one asked for.
func (c *oidcClient) discover(ctx context.Context, issuer string) (*oidc.Provider, error) {
	ctx, cancel := context.WithTimeout(ctx, oidcTimeout)
	defer cancel()
	p, err := oidc.NewProvider(c.ctx(ctx), issuer)
	if err != nil {
		return nil, err
	}
	if ep := p.Endpoint(); ep.AuthURL == "" || ep.TokenURL == "" {
		return nil, errNoEndpoints
	}
	return p, nil
}

var errNoEndpoints = errors.New("the discovery document has no authorization_endpoint or token_endpoint")

// provider returns the issuer's provider, discovering it when not known yet
// or known for too long.
func (c *oidcClient) provider(ctx context.Context, issuer string) (*oidc.Provider, error) {
	c.mu.Lock()
	if c.cached != nil && c.issuer == issuer && time.Since(c.at) < oidcProviderTTL {
		p := c.cached
		c.mu.Unlock()
		return p, nil
	}
	c.mu.Unlock()
	p, err := c.discover(ctx, issuer)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.issuer, c.cached, c.at = issuer, p, time.Now()
	c.mu.Unlock()
	return p, nil
}

// forget drops the discovered provider (the settings changed).
func (c *oidcClient) forget() {
	c.mu.Lock()
	c.cached = nil
	c.mu.Unlock()
}

// oidcSettings are the provider's settings with the secret opened.
type oidcSettings struct {
	store.OIDCProvider
	secret string
}

// enabledOIDC returns the provider's settings when sign-in with it is on.
func (h *Handler) enabledOIDC(ctx context.Context) (oidcSettings, bool, error) {
	p, err := h.st.OIDCProvider(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return oidcSettings{}, false, nil
	}
	if err != nil {
		return oidcSettings{}, false, err
	}
	if !p.Enabled {
		return oidcSettings{}, false, nil
	}
	clientSecret, err := h.box.OpenFor(secret.PurposeOIDCClientSecret, p.ClientSecret)
	if err != nil {
		return oidcSettings{}, false, fmt.Errorf("unable to open the client secret: %w", err)
	}
	return oidcSettings{OIDCProvider: p, secret: clientSecret}, true, nil
}

// oidcButton is the provider's name for the sign-in page's button, or "" when
// sign-in with a provider is off (or can't be read: the page still works).
func (h *Handler) oidcButton(r *http.Request) string {
	p, err := h.st.OIDCProvider(r.Context())
	if err != nil || !p.Enabled {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			h.log.Error("unable to read the OIDC provider", "err", err)
		}
		return ""
	}
	return p.DisplayName
}

// signInMessage shows the sign-in page with a message, the provider's button
// included; next passes safeNext again, as it may come from a session.
func (h *Handler) signInMessage(w http.ResponseWriter, r *http.Request, status int, msg, next string) {
	h.render(w, r, status, authview.SignIn(h.signInProps(r, "", msg, safeNextOrEmpty(next))))
}

func (p oidcSettings) oauth2Config(provider *oidc.Provider, redirectURI string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     p.ClientID,
		ClientSecret: p.secret,
		Endpoint:     provider.Endpoint(),
		RedirectURL:  redirectURI,
		Scopes:       []string{oidc.ScopeOpenID, "profile", "email"},
	}
}

// GET /auth/oidc/start sends the browser to the provider.
func (h *Handler) oidcStart(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if accountFrom(r) != nil {
		redirect(w, r, next)
		return
	}
	first, err := h.needsFirstRun(r)
	if err != nil {
		h.fail(w, r, "Unable to read accounts", err)
		return
	}
	if first {
		redirect(w, r, "/first-run")
		return
	}
	p, ok, err := h.enabledOIDC(r.Context())
	if err != nil {
		h.fail(w, r, "Unable to read the sign-in provider's settings", err)
		return
	}
	if !ok {
		h.signInMessage(w, r, http.StatusNotFound, "Sign-in with an identity provider isn't set up here. Sign in with your hybridsync account.", next)
		return
	}
	provider, err := h.oidc.provider(r.Context(), p.Issuer)
	if err != nil {
		h.log.Error("OIDC discovery failed", "issuer", p.Issuer, "err", err)
		h.signInMessage(w, r, http.StatusBadGateway, p.DisplayName+" can't be reached right now, so hybridsync can't send you there to sign in. Try again in a minute, or sign in with your hybridsync account. The details are in the server log.", next)
		return
	}
	state, nonce, verifier := auth.Token(32), auth.Token(32), oauth2.GenerateVerifier()
	redirectURI := h.callbackURL(r, oidcCallbackPath)
	s := sessionFrom(r)
	s.s.Values[keyOIDCState] = state
	s.s.Values[keyOIDCNonce] = nonce
	s.s.Values[keyOIDCVerifier] = verifier
	s.s.Values[keyOIDCRedirect] = redirectURI
	s.s.Values[keyOIDCNext] = next
	s.s.Values[keyOIDCStarted] = time.Now().Unix()
	if err := s.s.Save(r, w); err != nil {
		h.fail(w, r, "Unable to save the session", err)
		return
	}
	to := p.oauth2Config(provider, redirectURI).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	http.Redirect(w, r, to, http.StatusFound)
}

// oidcFlow is what /auth/oidc/start kept in the session.
type oidcFlow struct {
	state, nonce, verifier, redirectURI, next string
	started                                   time.Time
}

// takeOIDCFlow reads the flow from the session and removes it: a state is
// good once.
func takeOIDCFlow(s *session) (oidcFlow, bool) {
	str := func(k string) string { v, _ := s.s.Values[k].(string); return v }
	f := oidcFlow{state: str(keyOIDCState), nonce: str(keyOIDCNonce), verifier: str(keyOIDCVerifier),
		redirectURI: str(keyOIDCRedirect), next: str(keyOIDCNext)}
	started, _ := s.s.Values[keyOIDCStarted].(int64)
	f.started = time.Unix(started, 0)
	for _, k := range []string{keyOIDCState, keyOIDCNonce, keyOIDCVerifier, keyOIDCRedirect, keyOIDCNext, keyOIDCStarted} {
		delete(s.s.Values, k)
	}
	return f, f.state != ""
}

// idClaims are the ID token's claims hybridsync reads besides the groups.
type idClaims struct {
	PreferredUsername string `json:"preferred_username"`
	Email             string `json:"email"`
	UPN               string `json:"upn"`
	Name              string `json:"name"`
	// ClaimNames is where Entra ID says the groups did not fit in the token
	// ("groups overage": more than 200 groups).
	ClaimNames map[string]string `json:"_claim_names"`
}

// GET /auth/oidc/callback: the provider sends the browser back here.
func (h *Handler) oidcCallback(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	flow, ok := takeOIDCFlow(s)
	if ok {
		// The flow is used up whatever happens next.
		if err := s.s.Save(r, w); err != nil {
			h.fail(w, r, "Unable to save the session", err)
			return
		}
	}
	q := r.URL.Query()
	if !ok && accountFrom(r) != nil {
		redirect(w, r, "/")
		return
	}
	p, enabled, err := h.enabledOIDC(r.Context())
	if err != nil {
		h.fail(w, r, "Unable to read the sign-in provider's settings", err)
		return
	}
	name := "the identity provider"
	if p.DisplayName != "" {
		name = p.DisplayName
	}
	again := "Start again with “Sign in with " + name + "”."
	switch {
	case !enabled:
		h.signInMessage(w, r, http.StatusNotFound, "Sign-in with an identity provider isn't set up here. Sign in with your hybridsync account.", "")
		return
	case !ok || q.Get("state") == "" || subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(flow.state)) != 1:
		h.log.Warn("OIDC callback without a matching state", "ip", clientIP(r), "had_flow", ok)
		h.auditAs(r, "", audit.SignInOIDC, "", audit.Refused, "the sign-in did not start in this browser, or was already used")
		h.signInMessage(w, r, http.StatusBadRequest, "This sign-in didn't start in this browser, or was already used. "+again, "")
		return
	case time.Since(flow.started) > oidcFlowTimeout:
		h.signInMessage(w, r, http.StatusBadRequest, "This sign-in took too long. "+again, flow.next)
		return
	case q.Get("error") != "":
		h.log.Warn("OIDC sign-in refused by the provider", "ip", clientIP(r), "error", q.Get("error"), "description", q.Get("error_description"))
		h.auditAs(r, "", audit.SignInOIDC, "", audit.Failed, "refused by "+name+": "+q.Get("error"))
		h.signInMessage(w, r, http.StatusUnauthorized, providerErrorMessage(name, q.Get("error"), q.Get("error_description")), flow.next)
		return
	case q.Get("code") == "":
		h.signInMessage(w, r, http.StatusBadRequest, name+" sent you back without signing you in. "+again, flow.next)
		return
	}

	failed := func(what string, err error) {
		h.log.Error("OIDC sign-in failed: "+what, "issuer", p.Issuer, "ip", clientIP(r), "err", err)
		h.auditAs(r, "", audit.SignInOIDC, "", audit.Failed, name+": "+what)
		h.signInMessage(w, r, http.StatusBadGateway, "hybridsync couldn't complete your sign-in with "+name+": "+what+". Try again; if it keeps failing, an administrator can find the details in the server log.", flow.next)
	}
	provider, err := h.oidc.provider(r.Context(), p.Issuer)
	if err != nil {
		failed("it can't be reached", err)
		return
	}
	ctx, cancel := context.WithTimeout(h.oidc.ctx(r.Context()), 2*oidcTimeout)
	defer cancel()
	tok, err := p.oauth2Config(provider, flow.redirectURI).Exchange(ctx, q.Get("code"), oauth2.VerifierOption(flow.verifier))
	if err != nil {
		failed("it did not accept hybridsync's request for your token", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		failed("its answer held no ID token", errors.New("no id_token in the token response"))
		return
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: p.ClientID}).Verify(ctx, raw)
	if err != nil {
		failed("its ID token did not verify", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(flow.nonce)) != 1 {
		failed("its ID token was not made for this sign-in", errors.New("nonce mismatch"))
		return
	}
	var c idClaims
	var all map[string]json.RawMessage
	if err := idt.Claims(&c); err != nil {
		failed("its ID token could not be read", err)
		return
	}
	if err := idt.Claims(&all); err != nil {
		failed("its ID token could not be read", err)
		return
	}
	user := firstOf(c.PreferredUsername, c.Email, c.UPN, idt.Subject)
	groups := auth.GroupsClaim(all[p.GroupsClaim])
	roles := auth.RolesFor(groups, roleMap(p.RoleGroups))
	if _, ok := all[p.GroupsClaim]; !ok {
		h.log.Warn("the ID token has no groups claim", "claim", p.GroupsClaim, "user", user, "overage", c.ClaimNames[p.GroupsClaim] != "")
	}
	acct, err := h.st.OIDCSignIn(r.Context(), store.OIDCLogin{
		Issuer: idt.Issuer, Subject: idt.Subject, Username: user, DisplayName: firstOf(c.Name, user),
		Roles: roles, By: "sign-in with " + name,
	})
	if errors.Is(err, store.ErrNoRoles) {
		h.log.Warn("OIDC sign-in refused: no mapped group", "user", user, "sub", idt.Subject, "groups", len(groups), "ip", clientIP(r))
		h.auditAs(r, "", audit.SignInOIDC, user, audit.Refused, "in no group mapped to a role ("+name+")")
		msg := "Your account " + user + " at " + name + " isn't in a group that hybridsync maps to a role. Ask an administrator to add you to one of the groups set under Accounts → Sign-in with an identity provider."
		if c.ClaimNames[p.GroupsClaim] != "" {
			msg = "Your account " + user + " is in too many groups for " + name + " to list them in the sign-in token, so hybridsync can't tell which of its roles you have. Ask an administrator: the app registration can send only the groups assigned to it."
		}
		h.signInMessage(w, r, http.StatusForbidden, msg, flow.next)
		return
	}
	if err != nil {
		h.fail(w, r, "Unable to record the sign-in", err)
		return
	}
	if err := h.sessions.signIn(w, r, s, acct.ID); errors.Is(err, store.ErrDisabled) {
		h.log.Warn("sign-in refused", "user", acct.Username, "ip", clientIP(r), "method", "oidc", "reason", "account disabled")
		h.auditAs(r, "", audit.SignInOIDC, acct.Username, audit.Failed, "account disabled")
		h.signInMessage(w, r, http.StatusForbidden, "The hybridsync account "+acct.Username+" is disabled. Ask an administrator to enable it.", flow.next)
		return
	} else if err != nil {
		h.fail(w, r, "Unable to start the session", err)
		return
	}
	h.log.Info("signed in", "user", acct.Username, "ip", clientIP(r), "method", "oidc", "groups", acct.Roles)
	detail := "with " + name + "; groups: " + h.roleNames(r, acct.Roles)
	if slices.Contains(acct.Roles, string(auth.Admins)) && !slices.Contains(roles, string(auth.Admins)) {
		// The store kept the only enabled administrator one (OIDCSignIn).
		h.log.Warn("the identity provider no longer makes this account an administrator, but it is the only enabled one: kept", "user", acct.Username)
		detail += "; kept in " + h.groupNames(r.Context())[string(auth.Admins)] + " although " + name +
			"'s groups no longer grant it: it is the only enabled administrator. Make another administrator; its next sign-in then follows " + name + "."
	}
	h.auditAs(r, acct.Username, audit.SignInOIDC, acct.Username, audit.Succeeded, detail)
	redirect(w, r, safeNext(flow.next))
}

// providerErrorMessage words the provider's error answer for the person
// signing in. The description is the provider's; templ escapes it.
func providerErrorMessage(name, code, desc string) string {
	// Entra appends trace and correlation ids on lines of their own.
	desc, _, _ = strings.Cut(strings.ReplaceAll(desc, "\r\n", "\n"), "\n")
	desc = strings.TrimSpace(desc)
	if r := []rune(desc); len(r) > 300 {
		desc = string(r[:300]) + "…"
	}
	msg := name + " didn't sign you in"
	switch code {
	case "access_denied":
		msg = "Sign-in at " + name + " was cancelled or refused"
	case "login_required", "interaction_required", "consent_required":
		msg = name + " needs you to sign in or consent there first"
	case "temporarily_unavailable", "server_error":
		msg = name + " had a problem and couldn't sign you in"
	}
	if desc != "" {
		msg += ": " + desc
	} else {
		msg += " (" + code + ")"
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg + " Try again, or sign in with your hybridsync account."
}

func roleMap(m map[string][]string) auth.GroupMap {
	out := auth.GroupMap{}
	for r, vs := range m {
		out[auth.Role(r)] = vs
	}
	return out
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// externalAccounts names, by account id, the provider each account made by
// sign-in with the identity provider signs in with, for the accounts page.
func (h *Handler) externalAccounts(ctx context.Context) map[int64]string {
	ids, err := h.st.OIDCAccounts(ctx)
	if err != nil {
		h.log.Error("unable to list the accounts that sign in with the identity provider", "err", err)
		return nil
	}
	if len(ids) == 0 {
		return nil
	}
	name := "the identity provider"
	if p, err := h.st.OIDCProvider(ctx); err == nil && p.DisplayName != "" {
		name = p.DisplayName
	}
	out := make(map[int64]string, len(ids))
	for id := range ids {
		out[id] = name
	}
	return out
}
