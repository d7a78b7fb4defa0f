// Package entra signs an administrator in to Microsoft Entra ID — with a
// password (the resource-owner password grant, as the Entra Connect wizard
// does) or interactively through the browser (authorization code + PKCE,
// verified with go-oidc: the /InteractiveAuth path, and the way through
// multi-factor authentication) — reads the tenant that account belongs to,
// and creates and uses the sync service account. It speaks to the identity
// platform and Graph only through their URLs (Config), so the tenant emulator
// and a real tenant differ in configuration alone.
package entra

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hybridsync/hybridsync/engine/cloud"
)

// Real cloud endpoints: the multi-tenant authority (the tenant is the one the
// account signing in belongs to) and Graph v1.0.
const (
	DefaultAuthority = "https://login.microsoftonline.com/organizations"
	DefaultGraphURL  = "https://graph.microsoft.com/v1.0"
)

// Directory role template ids (learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
const (
	RoleGlobalAdministrator         = "62e90394-69f5-4237-9190-012177145e10"
	RoleHybridIdentityAdministrator = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"
	RoleDirectorySynchronization    = "d29b2b05-8046-44ba-8758-1e26182fcf32"
	RoleDomainNameAdministrator     = "8329153b-31d0-4727-b945-745eb3bc5f31"
)

// Role names as sessions record them.
const (
	RoleNameGlobalAdministrator         = "Global Administrator"
	RoleNameHybridIdentityAdministrator = "Hybrid Identity Administrator"
	RoleNameDomainNameAdministrator     = "Domain Name Administrator"
)

// Config says where the cloud is and which application hybridsync signs in as.
type Config struct {
	// Authority is the identity platform's authority, e.g.
	// https://login.microsoftonline.com/organizations.
	Authority string
	// GraphURL is Graph's versioned root, e.g. https://graph.microsoft.com/v1.0.
	GraphURL string
	// ClientID is the application (client) id registered in the tenant; a
	// public client for the password grant and the interactive flow.
	ClientID string
	// ClientSecret is set only when the application is a confidential (web) one.
	ClientSecret string
	// Interactive is the /InteractiveAuth switch: the wizard signs in through
	// the browser instead of asking for a password.
	Interactive bool
	// HTTPClient defaults to cloud.DefaultHTTPClient (TLS 1.2 at least).
	HTTPClient *http.Client
	// Timeout bounds one sign-in (default 30 s).
	Timeout time.Duration
}

func (c Config) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return cloud.DefaultHTTPClient()
}

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 30 * time.Second
}

// Check says what is missing from the configuration, or nil.
func (c Config) Check() error {
	switch {
	case c.Authority == "" || c.GraphURL == "":
		return &Error{Msg: "hybridsync has no Microsoft Entra sign-in or Graph address configured. Start it with --entra-authority and --graph-url (or leave them at their defaults for the Microsoft cloud)."}
	case c.ClientID == "":
		return &Error{Msg: MsgNoClientID}
	}
	return nil
}

// Graph returns a Graph client that authenticates with ts.
func (c Config) Graph(ts cloud.TokenSource) (*cloud.Client, error) {
	return cloud.New(cloud.Config{GraphURL: c.GraphURL, HTTPClient: c.httpClient()}, ts)
}

// Tenant is what hybridsync knows of the tenant it is connected to.
type Tenant struct {
	ID            string   `json:"id"`
	DisplayName   string   `json:"displayName"`
	InitialDomain string   `json:"initialDomain"`
	Domains       []Domain `json:"domains"`
	// SyncEnabled is organization.onPremisesSyncEnabled as read.
	SyncEnabled bool `json:"syncEnabled"`
	// ReadAt is when the domains were read (RFC 3339, UTC).
	ReadAt string `json:"readAt"`
	// SchemaExtensionAppID is the appId of the Tenant Schema Extension App
	// that holds the directory extensions (extension_<appId without
	// dashes>_<attribute>); "" until one is found or registered.
	SchemaExtensionAppID string `json:"schemaExtensionAppId,omitempty"`
	// Sync are the directory synchronization features as Configure last
	// read them; nil when it never did.
	Sync *SyncFeatures `json:"sync,omitempty"`
}

// Domain is one domain of the tenant.
type Domain struct {
	Name               string `json:"name"`
	Verified           bool   `json:"verified"`
	Initial            bool   `json:"initial,omitempty"`
	Default            bool   `json:"default,omitempty"`
	AuthenticationType string `json:"authenticationType,omitempty"`
	// VerifyTXT is the DNS TXT record (MS=ms…) that verifies a domain that
	// is added but not verified yet.
	VerifyTXT string `json:"verifyTxt,omitempty"`
}

// Domain returns the tenant's domain of that name, if it has one.
func (t *Tenant) Domain(name string) (Domain, bool) {
	name = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
	for _, d := range t.Domains {
		if strings.EqualFold(d.Name, name) {
			return d, true
		}
	}
	return Domain{}, false
}

// DomainState is a name's state against the tenant: "Verified", "Not
// Verified" (added but not verified) or "Not Added".
func (t *Tenant) DomainState(name string) string {
	d, ok := t.Domain(name)
	switch {
	case !ok:
		return StateNotAdded
	case d.Verified:
		return StateVerified
	}
	return StateNotVerified
}

// VerifiedCustomDomains are the verified domains other than the initial
// onmicrosoft.com one.
func (t *Tenant) VerifiedCustomDomains() []string {
	var out []string
	for _, d := range t.Domains {
		if d.Verified && !d.Initial && !strings.HasSuffix(strings.ToLower(d.Name), ".onmicrosoft.com") {
			out = append(out, d.Name)
		}
	}
	return out
}

// States of a domain against the tenant, as the sign-in configuration page shows them.
const (
	StateVerified    = "Verified"
	StateNotVerified = "Not Verified"
	StateNotAdded    = "Not Added"
)

// ReadTenant reads the organization and its domains.
func ReadTenant(ctx context.Context, g *cloud.Client) (Tenant, error) {
	org, err := g.Organization(ctx)
	if err != nil {
		return Tenant{}, graphError(err, "", "read the organization")
	}
	doms, err := g.Domains(ctx)
	if err != nil {
		return Tenant{}, graphError(err, "", "read the tenant's domains")
	}
	t := Tenant{ID: org.ID, DisplayName: org.DisplayName, InitialDomain: org.InitialDomain(), ReadAt: time.Now().UTC().Format(time.RFC3339)}
	if org.OnPremisesSyncEnabled != nil {
		t.SyncEnabled = *org.OnPremisesSyncEnabled
	}
	for _, d := range doms {
		dom := Domain{Name: strings.ToLower(d.ID), Verified: d.IsVerified, Initial: d.IsInitial, Default: d.IsDefault, AuthenticationType: d.AuthenticationType}
		if !d.IsVerified {
			// What to publish to verify it; the state stands without it.
			if recs, err := g.DomainVerificationRecords(ctx, d.ID); err == nil {
				for _, r := range recs {
					if strings.EqualFold(r.RecordType, "Txt") && r.Text != "" {
						dom.VerifyTXT = r.Text
						break
					}
				}
			}
		}
		t.Domains = append(t.Domains, dom)
		if d.IsInitial && t.InitialDomain == "" {
			t.InitialDomain = strings.ToLower(d.ID)
		}
	}
	// The directory extensions' application, when there is one and the
	// account may read applications (the state stands without it).
	if apps, err := g.FindApplications(ctx, "displayName eq "+cloud.Quote(SchemaExtensionAppName)); err == nil && len(apps) > 0 {
		t.SchemaExtensionAppID = apps[0].AppID
	}
	slices.SortStableFunc(t.Domains, func(a, b Domain) int {
		switch {
		case a.Initial != b.Initial:
			if a.Initial {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return t, nil
}

// Session is an administrator signed in to a tenant. It lives in memory only:
// its tokens are never stored.
type Session struct {
	User        string // userPrincipalName
	DisplayName string
	UserID      string
	How         string // HowPassword or HowInteractive
	At          time.Time
	Tenant      Tenant
	// Roles are the names of the admin roles that let the account configure sync.
	Roles []string
	ts    cloud.TokenSource
}

// How an administrator signed in.
const (
	HowPassword    = "password"
	HowInteractive = "interactive"
)

// TokenSource is the session's bearer tokens for Graph.
func (s *Session) TokenSource() cloud.TokenSource { return s.ts }

// NewSession is for tests and tools that already hold a token source.
func NewSession(user, how string, ts cloud.TokenSource) *Session {
	return &Session{User: user, How: how, At: time.Now(), ts: ts}
}

// PasswordSignIn signs in with the password grant, checks that the account
// may configure sync, and reads its tenant.
func (c Config) PasswordSignIn(ctx context.Context, user, password string) (*Session, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout())
	defer cancel()
	pg := &cloud.PasswordGrant{Authority: c.Authority, ClientID: c.ClientID, Username: user, Password: password, HTTPClient: c.httpClient()}
	if _, err := pg.Token(ctx); err != nil {
		return nil, signInError(err, c.Authority, user)
	}
	return c.finish(ctx, user, HowPassword, pg)
}

// finish reads who signed in, checks the role, and reads the tenant.
func (c Config) finish(ctx context.Context, user, how string, ts cloud.TokenSource) (*Session, error) {
	g, err := c.Graph(ts)
	if err != nil {
		return nil, err
	}
	me, err := g.Me(ctx)
	if err != nil {
		return nil, graphError(err, c.GraphURL, "read the account that signed in")
	}
	roles, err := g.MyDirectoryRoles(ctx)
	if err != nil {
		return nil, graphError(err, c.GraphURL, "read the account's directory roles")
	}
	tenant, err := ReadTenant(ctx, g)
	if err != nil {
		return nil, graphError(err, c.GraphURL, "read the tenant's domains")
	}
	s := &Session{User: me.UserPrincipalName, DisplayName: me.DisplayName, UserID: me.ID, How: how, At: time.Now(), Tenant: tenant, ts: ts}
	if s.User == "" {
		s.User = user
	}
	for _, r := range roles {
		switch strings.ToLower(r.RoleTemplateID) {
		case RoleGlobalAdministrator:
			s.Roles = append(s.Roles, RoleNameGlobalAdministrator)
		case RoleHybridIdentityAdministrator:
			s.Roles = append(s.Roles, RoleNameHybridIdentityAdministrator)
		case RoleDomainNameAdministrator:
			// Not enough on its own; with Hybrid Identity Administrator it
			// lets the account federate a domain.
			s.Roles = append(s.Roles, RoleNameDomainNameAdministrator)
		}
	}
	if !slices.Contains(s.Roles, RoleNameGlobalAdministrator) && !slices.Contains(s.Roles, RoleNameHybridIdentityAdministrator) {
		return nil, &Error{Msg: fmt.Sprintf(MsgNotAdmin, s.User, tenantName(tenant))}
	}
	return s, nil
}

func tenantName(t Tenant) string {
	if t.DisplayName != "" {
		return t.DisplayName + " (" + t.InitialDomain + ")"
	}
	return t.InitialDomain
}

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("entra: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b)
}

// Error is a failure worded for the administrator.
type Error struct {
	Msg string
	Err error
	// MFA is set when the account needs multi-factor authentication, which
	// only the interactive sign-in can do.
	MFA bool
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// IsMFARequired reports whether err says the account must sign in interactively.
func IsMFARequired(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.MFA
}

// CanFederate reports whether an account with these roles may federate a
// domain, as Entra Connect requires: a Global Administrator, or a Hybrid
// Identity Administrator who is also Domain Name Administrator
// (learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-install-prerequisites).
func CanFederate(roles []string) bool {
	return slices.Contains(roles, RoleNameGlobalAdministrator) ||
		(slices.Contains(roles, RoleNameHybridIdentityAdministrator) && slices.Contains(roles, RoleNameDomainNameAdministrator))
}
