package entra

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// The federated login check (Verify federated login): a user of the
// federated domain signs in through the tenant in the browser; the tenant
// sends them to the federation server and back. hybridsync asks only for an
// ID token (openid profile) and shows what came back, or which step failed.

// LoginCheck is the outcome of a federated login check.
type LoginCheck struct {
	User string
	At   time.Time
	OK   bool
	// Step names where a failure happened; Error says what went wrong.
	Step  string
	Error string
	// Claims are the ID token's claims, as names and values.
	Claims [][2]string
}

// Steps of the check, as the page names them.
const (
	StepStart    = "Starting the sign-in at Microsoft Entra ID"
	StepSignIn   = "Signing in at Microsoft Entra ID and the federation server"
	StepRedeem   = "Redeeming the authorization code at Microsoft Entra ID"
	StepIDToken  = "Checking the ID token"
	StepTheUser  = "Checking who signed in"
	loginScopes  = "openid profile"
	loginTimeout = PendingTTL
)

// StartLoginCheck returns the address to send the browser to for a sign-in
// of user, which must answer at redirectURI.
func (c Config) StartLoginCheck(ctx context.Context, redirectURI, user string) (string, Pending, error) {
	return c.start(ctx, c.loginOAuth, redirectURI, user, oauth2.SetAuthURLParam("prompt", "login"))
}

func (c Config) loginOAuth(p *oidc.Provider, redirectURI string) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: p.Endpoint(), RedirectURL: redirectURI, Scopes: strings.Fields(loginScopes)}
}

// FinishLoginCheck redeems the code and verifies the ID token; it never
// fails: the outcome says which step went wrong.
func (c Config) FinishLoginCheck(ctx context.Context, pend Pending, code string, cbErr *CallbackError) LoginCheck {
	out := LoginCheck{User: pend.LoginHint, At: time.Now()}
	fail := func(step, msg string) LoginCheck {
		out.Step, out.Error = step, msg
		return out
	}
	if cbErr != nil {
		msg := cbErr.Description
		if msg == "" {
			msg = cbErr.Code
		}
		return fail(StepSignIn, msg)
	}
	if time.Since(pend.Started) > loginTimeout {
		return fail(StepSignIn, "The sign-in took too long. Start it again.")
	}
	if code == "" {
		return fail(StepSignIn, "Microsoft Entra ID came back without an authorization code.")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	p, issuerTemplate, err := c.provider(ctx)
	if err != nil {
		return fail(StepRedeem, Message(err))
	}
	tok, err := c.loginOAuth(p, pend.RedirectURI).Exchange(oidc.ClientContext(ctx, c.httpClient()), code, oauth2.VerifierOption(pend.Verifier))
	if err != nil {
		return fail(StepRedeem, Message(exchangeError(err, c.Authority)))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return fail(StepIDToken, "Microsoft Entra ID answered without an ID token.")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: c.ClientID, SkipIssuerCheck: true}).Verify(ctx, raw)
	if err != nil {
		return fail(StepIDToken, "The ID token did not verify: "+err.Error())
	}
	if idt.Nonce != pend.Nonce {
		return fail(StepIDToken, "The ID token does not belong to this sign-in (nonce mismatch).")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return fail(StepIDToken, "The ID token's claims can't be read: "+err.Error())
	}
	tid, _ := claims["tid"].(string)
	if err := verifyIssuer(issuerTemplate, idt.Issuer, tid); err != nil {
		return fail(StepIDToken, Message(err))
	}
	out.Claims = claimList(claims)
	who, _ := claims["preferred_username"].(string)
	if who == "" {
		who, _ = claims["upn"].(string)
	}
	if !strings.EqualFold(who, pend.LoginHint) {
		return fail(StepTheUser, fmt.Sprintf("The sign-in succeeded, but as %s, not %s.", who, pend.LoginHint))
	}
	out.OK = true
	return out
}

// claimList orders the claims by name, values as JSON text for non-strings.
func claimList(m map[string]any) [][2]string {
	var out [][2]string
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		out = append(out, [2]string{k, s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
	return out
}
