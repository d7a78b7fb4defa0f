package entra_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/e2e/tenant"
	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/entra"
)

const (
	adminUPN = "hybrid.admin@contoso.onmicrosoft.com"
	adminPW  = "Passw0rd!hybrid"
	mfaUPN   = "mfa.admin@contoso.onmicrosoft.com"
	mfaPW    = "Passw0rd!mfa"
	// globalUPN is the seed's Global Administrator.
	globalUPN = "global.admin@contoso.onmicrosoft.com"
	globalPW  = "Passw0rd!global"
)

// emulator serves the tenant emulator on loopback and returns a config that
// points hybridsync at it, as a real tenant's authority and Graph would be.
func emulator(t *testing.T) (entra.Config, *tenant.Tenant, *httptest.Server) {
	t.Helper()
	tn, err := tenant.New(tenant.DefaultSeed(), tenant.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(tn)
	t.Cleanup(srv.Close)
	return entra.Config{Authority: srv.URL + "/organizations", GraphURL: srv.URL + "/v1.0", ClientID: tenant.ConnectClientID, HTTPClient: srv.Client()}, tn, srv
}

func TestPasswordSignIn(t *testing.T) {
	cfg, _, _ := emulator(t)
	closed := closedAddr(t)
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(tlsSrv.Close)

	tests := []struct {
		name     string
		cfg      func(entra.Config) entra.Config
		user, pw string
		want     string // substring of the message; "" = success
		mfa      bool
	}{
		{"hybrid identity administrator", nil, adminUPN, adminPW, "", false},
		{"user name in another case", nil, strings.ToUpper(adminUPN), adminPW, "", false},
		{"wrong password", nil, adminUPN, "wrong", entra.MsgBadPassword, false},
		{"no such account", nil, "nobody@contoso.onmicrosoft.com", "x", "has no account nobody@", false},
		{"MFA required", nil, mfaUPN, mfaPW, "multi-factor authentication", true},
		{"locked", nil, "locked.admin@contoso.onmicrosoft.com", "Passw0rd!locked", "is locked", false},
		{"no admin role", nil, "helpdesk.user@contoso.onmicrosoft.com", "Passw0rd!helpdesk", "is not a Hybrid Identity Administrator or Global Administrator", false},
		{"unreachable authority", func(c entra.Config) entra.Config { c.Authority = "http://" + closed + "/organizations"; return c }, adminUPN, adminPW, "can't reach the Microsoft Entra sign-in service at " + closed, false},
		{"untrusted certificate", func(c entra.Config) entra.Config {
			c.Authority = tlsSrv.URL + "/organizations"
			c.HTTPClient = nil
			return c
		}, adminUPN, adminPW, "isn't trusted", false},
		{"no client id", func(c entra.Config) entra.Config { c.ClientID = ""; return c }, adminUPN, adminPW, entra.MsgNoClientID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := cfg
			if tt.cfg != nil {
				c = tt.cfg(cfg)
			}
			s, err := c.PasswordSignIn(context.Background(), tt.user, tt.pw)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("sign-in failed: %v", err)
				}
				if !strings.EqualFold(s.User, adminUPN) || s.Tenant.InitialDomain != "contoso.onmicrosoft.com" || len(s.Roles) == 0 {
					t.Fatalf("session %+v", s)
				}
				if d, _ := s.Tenant.Domain("fabrikam.example.test"); !strings.HasPrefix(d.VerifyTXT, "MS=ms") {
					t.Errorf("no verification record for fabrikam.example.test: %+v", d)
				}
				if s.Tenant.DomainState("contoso.example.test") != entra.StateVerified || s.Tenant.DomainState("fabrikam.example.test") != entra.StateNotVerified || s.Tenant.DomainState("nowhere.example") != entra.StateNotAdded {
					t.Errorf("domains %+v", s.Tenant.Domains)
				}
				return
			}
			if err == nil {
				t.Fatalf("signed in; want %q", tt.want)
			}
			if msg := entra.Message(err); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q, want it to contain %q", msg, tt.want)
			}
			if entra.IsMFARequired(err) != tt.mfa {
				t.Errorf("IsMFARequired = %v", !tt.mfa)
			}
			if strings.Contains(entra.Message(err), tt.pw) && tt.pw != "" {
				t.Errorf("the message shows the password")
			}
		})
	}
}

func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestInteractiveSignInWithMFA(t *testing.T) {
	cfg, _, _ := emulator(t)
	const redirect = "http://127.0.0.1:9/setup/connect-entra/callback"
	ctx := context.Background()
	to, pend, err := cfg.StartInteractive(ctx, redirect, mfaUPN)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(to)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") != pend.Nonce || q.Get("state") != pend.State || q.Get("login_hint") != mfaUPN {
		t.Fatalf("authorization request %s", to)
	}
	// A wrong verification code stays on the challenge; the right one comes back.
	var onPage *tenant.ErrorOnPage
	if _, err := tenant.SignInAs(nil, to, mfaUPN, mfaPW, "000000"); !errors.As(err, &onPage) {
		t.Fatalf("a wrong code: %v", err)
	}
	to, pend, _ = cfg.StartInteractive(ctx, redirect, mfaUPN)
	cb, err := tenant.SignInAs(nil, to, mfaUPN, mfaPW, "123456")
	if err != nil {
		t.Fatal(err)
	}
	back, err := url.Parse(cb)
	if err != nil || !strings.HasPrefix(cb, redirect) {
		t.Fatalf("callback %q", cb)
	}
	if back.Query().Get("state") != pend.State {
		t.Fatalf("state %q", back.Query().Get("state"))
	}
	// A forged verifier is refused; the real one signs in.
	forged := pend
	forged.Verifier = strings.Repeat("x", 43)
	if _, err := cfg.FinishInteractive(ctx, forged, back.Query().Get("code"), nil); err == nil {
		t.Fatal("a wrong PKCE verifier was accepted")
	}
	// Sign in afresh for the real redemption, so the test does not depend on
	// whether a refused redemption spends the code.
	to, pend, _ = cfg.StartInteractive(ctx, redirect, mfaUPN)
	cb, _ = tenant.SignInAs(nil, to, mfaUPN, mfaPW, "123456")
	back, _ = url.Parse(cb)
	s, err := cfg.FinishInteractive(ctx, pend, back.Query().Get("code"), nil)
	if err != nil {
		t.Fatalf("finish: %v", err)
	}
	if !strings.EqualFold(s.User, mfaUPN) || s.How != entra.HowInteractive || s.Tenant.ID == "" {
		t.Fatalf("session %+v", s)
	}
	// The session's tokens reach Graph.
	g, _ := cfg.Graph(s.TokenSource())
	if _, err := g.Organization(ctx); err != nil {
		t.Fatalf("Graph with the interactive session: %v", err)
	}
	// A code can't be redeemed twice.
	if _, err := cfg.FinishInteractive(ctx, pend, back.Query().Get("code"), nil); err == nil {
		t.Error("the code was redeemed twice")
	}
	// The identity platform's error comes back worded.
	_, err = cfg.FinishInteractive(ctx, pend, "", &entra.CallbackError{Code: "access_denied", Description: "AADSTS65004: User declined to consent to access the app. Trace ID: x"})
	if err == nil || !strings.Contains(entra.Message(err), "User declined") || strings.Contains(entra.Message(err), "Trace ID") {
		t.Errorf("callback error: %v", err)
	}
}

func TestSyncAccountAndFeatures(t *testing.T) {
	cfg, _, _ := emulator(t)
	ctx := context.Background()
	s, err := cfg.PasswordSignIn(ctx, adminUPN, adminPW)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cfg.Graph(s.TokenSource())
	acct, err := entra.CreateSyncAccount(ctx, g, s.Tenant, "sync-host.corp.example")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(acct.UPN, "Sync_sync-hostcorpexample_") || !strings.HasSuffix(acct.UPN, "@contoso.onmicrosoft.com") || len(acct.Password) < 32 {
		t.Fatalf("account %+v", acct)
	}
	if err := cfg.CheckSyncAccount(ctx, acct.UPN, acct.Password); err != nil {
		t.Fatalf("the new account can't sign in: %v", err)
	}
	if err := cfg.CheckSyncAccount(ctx, acct.UPN, "wrong"); err == nil {
		t.Fatal("a wrong password was accepted")
	}
	// The sync account may not create another sync account (no role rights).
	sg, _ := cfg.Graph(cfg.SyncTokens(acct.UPN, acct.Password))
	if _, err := entra.CreateSyncAccount(ctx, sg, s.Tenant, "other"); err == nil {
		t.Error("the sync account assigned a directory role")
	} else if users, err := g.FindUsers(ctx, "startswith(userPrincipalName,'Sync_other_')"); err != nil || len(users) != 0 {
		t.Errorf("the refused account was left behind: %+v, %v", users, err)
	}

	// A Hybrid Identity Administrator switches directory synchronization on,
	// but Graph lets only a Global Administrator set the features.
	done, err := entra.ApplyFeatures(ctx, g, entra.Features{PasswordHashSync: true, DeviceWriteback: true, DeletionThreshold: 500})
	var refused *entra.FeaturesRefused
	if !errors.As(err, &refused) || len(done) != 1 {
		t.Fatalf("apply features as a Hybrid Identity Administrator: %q %v", done, err)
	}
	gaSession, err := cfg.PasswordSignIn(ctx, globalUPN, globalPW)
	if err != nil {
		t.Fatal(err)
	}
	ga, _ := cfg.Graph(gaSession.TokenSource())
	done, err = entra.ApplyFeatures(ctx, ga, entra.Features{PasswordHashSync: true, DeviceWriteback: true, DeletionThreshold: 500})
	if err != nil {
		t.Fatalf("apply features as a Global Administrator: %v", err)
	}
	if len(done) < 3 {
		t.Errorf("log %q", done)
	}
	org, _ := g.Organization(ctx)
	if org.OnPremisesSyncEnabled == nil || !*org.OnPremisesSyncEnabled {
		t.Error("directory synchronization is not on")
	}
	// Reading them is Global Administrator only too.
	if _, err := g.OnPremisesSync(ctx); !cloud.IsForbidden(err) {
		t.Errorf("a Hybrid Identity Administrator read the features: %v", err)
	}
	sync, err := ga.OnPremisesSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := sync.Features
	if !f.PasswordSyncEnabled || !f.DeviceWritebackEnabled || f.PasswordWritebackEnabled {
		t.Errorf("features %+v", f)
	}
	if p := sync.Configuration.AccidentalDeletionPrevention; p.SynchronizationPreventionType != "enabledForCount" || p.AlertThreshold != 500 {
		t.Errorf("accidental deletion prevention %+v", p)
	}
	// Applying again changes nothing and says so.
	done, err = entra.ApplyFeatures(ctx, ga, entra.Features{PasswordHashSync: true, DeviceWriteback: true, DeletionThreshold: 500})
	if err != nil || !strings.Contains(done[0], "already on") {
		t.Errorf("second apply: %q %v", done, err)
	}
}
