package entra

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/hybridsync/hybridsync/engine/cloud"
)

// Scopes asked for interactively: an ID token (openid profile), a refresh
// token (offline_access) and Graph with the application's permissions.
var Scopes = []string{oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess, cloud.DefaultScope}

// Pending is an interactive sign-in on its way through the browser: what the
// callback needs to finish it. It is kept in memory, never in the page.
type Pending struct {
	State       string
	Nonce       string
	Verifier    string // PKCE code_verifier
	RedirectURI string
	LoginHint   string
	Started     time.Time
}

// PendingTTL is how long an interactive sign-in may take.
const PendingTTL = 10 * time.Minute

// provider discovers the authority's OpenID configuration. The multi-tenant
// authorities (organizations, common) publish a templated issuer
// (…/{tenantid}/v2.0); the ID token's own issuer is checked against it in
// verifyIssuer, so discovery accepts the template here.
func (c Config) provider(ctx context.Context) (*oidc.Provider, string, error) {
	ctx = oidc.ClientContext(ctx, c.httpClient())
	base := strings.TrimSuffix(c.Authority, "/") + "/v2.0"
	p, err := oidc.NewProvider(oidc.InsecureIssuerURLContext(ctx, base), base)
	if err != nil {
		return nil, "", reachError(err, c.Authority, "the Microsoft Entra sign-in service")
	}
	var meta struct {
		Issuer string `json:"issuer"`
	}
	if err := p.Claims(&meta); err != nil || meta.Issuer == "" {
		return nil, "", &Error{Msg: "The Microsoft Entra sign-in service at " + c.Authority + " published no issuer in its OpenID configuration.", Err: err}
	}
	return p, meta.Issuer, nil
}

func (c Config) oauth(p *oidc.Provider, redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: p.Endpoint(), RedirectURL: redirectURI, Scopes: Scopes}
}

// StartInteractive returns the address to send the browser to, and what the
// callback needs to finish the sign-in.
func (c Config) StartInteractive(ctx context.Context, redirectURI, loginHint string) (string, Pending, error) {
	return c.start(ctx, c.oauth, redirectURI, loginHint)
}

// start begins an authorization code sign-in with PKCE and a nonce; extra
// are further parameters of the authorization request.
func (c Config) start(ctx context.Context, conf func(*oidc.Provider, string) *oauth2.Config, redirectURI, loginHint string, extra ...oauth2.AuthCodeOption) (string, Pending, error) {
	if err := c.Check(); err != nil {
		return "", Pending{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	p, _, err := c.provider(ctx)
	if err != nil {
		return "", Pending{}, err
	}
	pend := Pending{State: randomHex(16), Nonce: randomHex(16), Verifier: oauth2.GenerateVerifier(), RedirectURI: redirectURI, LoginHint: loginHint, Started: time.Now()}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(pend.Verifier), oidc.Nonce(pend.Nonce), oauth2.SetAuthURLParam("response_mode", "query")}
	if loginHint != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", loginHint))
	}
	return conf(p, redirectURI).AuthCodeURL(pend.State, append(opts, extra...)...), pend, nil
}

// CallbackError is what the identity platform sent back instead of a code.
type CallbackError struct {
	Code, Description string
}

// FinishInteractive redeems the authorization code (with the PKCE verifier),
// verifies the ID token (signature, audience, nonce, the tenant's issuer),
// checks the account's role and reads the tenant. The session refreshes its
// own tokens.
func (c Config) FinishInteractive(ctx context.Context, pend Pending, code string, cbErr *CallbackError) (*Session, error) {
	if cbErr != nil {
		return nil, callbackError(cbErr)
	}
	if time.Since(pend.Started) > PendingTTL {
		return nil, &Error{Msg: "The sign-in took too long. Select Sign in interactively again."}
	}
	if code == "" {
		return nil, &Error{Msg: "The sign-in window came back without an authorization code. Select Sign in interactively again."}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	p, issuerTemplate, err := c.provider(ctx)
	if err != nil {
		return nil, err
	}
	conf := c.oauth(p, pend.RedirectURI)
	tok, err := conf.Exchange(oidc.ClientContext(ctx, c.httpClient()), code, oauth2.VerifierOption(pend.Verifier))
	if err != nil {
		return nil, exchangeError(err, c.Authority)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, &Error{Msg: "Microsoft Entra ID answered without an ID token, so hybridsync can't tell who signed in."}
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: c.ClientID, SkipIssuerCheck: true}).Verify(ctx, raw)
	if err != nil {
		return nil, &Error{Msg: "The ID token from Microsoft Entra ID did not verify, so hybridsync did not accept the sign-in.", Err: err}
	}
	var claims struct {
		TID               string `json:"tid"`
		PreferredUsername string `json:"preferred_username"`
		Name              string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, fmt.Errorf("entra: unable to read the ID token: %w", err)
	}
	if idt.Nonce != pend.Nonce {
		return nil, &Error{Msg: "The sign-in answer does not belong to the sign-in hybridsync started (nonce mismatch). Select Sign in interactively again."}
	}
	if err := verifyIssuer(issuerTemplate, idt.Issuer, claims.TID); err != nil {
		return nil, err
	}
	// The refreshing token source outlives this request: it gets its own
	// context, carrying only the HTTP client.
	ts := conf.TokenSource(oidc.ClientContext(context.Background(), c.httpClient()), tok)
	return c.finish(ctx, claims.PreferredUsername, HowInteractive, oauthSource{ts})
}

// verifyIssuer checks the ID token's issuer: the discovered one, or for a
// multi-tenant authority the template with the token's own tenant id.
func verifyIssuer(template, issuer, tid string) error {
	want := template
	if strings.Contains(template, "{tenantid}") {
		if tid == "" {
			return &Error{Msg: "The ID token names no tenant, so hybridsync did not accept the sign-in."}
		}
		want = strings.ReplaceAll(template, "{tenantid}", tid)
	}
	if issuer != want {
		return &Error{Msg: fmt.Sprintf("The ID token was issued by %s, not by %s, so hybridsync did not accept the sign-in.", issuer, want)}
	}
	return nil
}

// oauthSource adapts an oauth2.TokenSource (which refreshes) to cloud's.
type oauthSource struct{ ts oauth2.TokenSource }

func (o oauthSource) Token(context.Context) (string, error) {
	t, err := o.ts.Token()
	if err != nil {
		return "", err
	}
	return t.AccessToken, nil
}

// callbackError words an error the authorize endpoint sent back.
func callbackError(e *CallbackError) error {
	desc := firstSentence(e.Description)
	switch e.Code {
	case "access_denied":
		if desc == "" {
			desc = "the sign-in was cancelled or refused"
		}
		return &Error{Msg: "The sign-in did not complete: " + desc}
	case "consent_required", "interaction_required":
		return &Error{Msg: "Microsoft Entra ID needs more from the account before hybridsync may use it (" + e.Code + "): " + desc}
	}
	return &Error{Msg: "Microsoft Entra ID refused the sign-in (" + e.Code + "): " + desc}
}

// exchangeError words a failed code redemption.
func exchangeError(err error, authority string) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		desc := firstSentence(re.ErrorDescription)
		if desc == "" {
			desc = re.ErrorCode
		}
		return &Error{Msg: "Microsoft Entra ID refused to complete the sign-in: " + desc + " Select Sign in interactively again.", Err: err}
	}
	return reachError(err, authority, "the Microsoft Entra sign-in service")
}
