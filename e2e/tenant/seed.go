// Package tenant is hybridsync's cloud-directory emulator: an http.Handler that
// speaks the part of the Microsoft identity platform (OIDC discovery, JWKS, the
// v2.0 token endpoint) and of Microsoft Graph v1.0 (organization, domains,
// users, $batch) that hybridsync uses, with the cloud's uniqueness rules, its
// error bodies and a write budget that answers 429 with Retry-After.
//
// State lives in memory and is seeded from a small JSON document (see Seed).
// Every URL it hands out (issuer, token endpoint, @odata.nextLink) is built
// from the request's own scheme and host, so the same handler works behind
// httptest.NewServer, httptest.NewTLSServer or cmd/tenant-emulator.
//
// Shapes follow Microsoft's documentation and observed responses:
//   - Graph error body {"error":{"code","message","innerError":{"date","request-id","client-request-id"},"details":[...]}}
//     (learn.microsoft.com/graph/errors);
//   - duplicate userPrincipalName/proxyAddresses: 400 Request_BadRequest with a
//     details entry {"code":"ObjectConflict","target":<property>}
//     (microsoft-graph-docs issues #1508 and microsoft-graph-docs-contrib #8421);
//   - UPN outside the verified domains: 400 Request_BadRequest "The domain
//     portion of the userPrincipalName property is invalid. ..." with an
//     InvalidValue detail targeting userPrincipalName;
//   - throttling: 429 TooManyRequests with Retry-After (learn.microsoft.com/graph/throttling);
//   - $batch: {"requests":[{id,method,url,headers,body,dependsOn}]} answered by
//     {"responses":[{id,status,headers,body}]}, at most 20 requests, 424 for a
//     failed dependency (learn.microsoft.com/graph/json-batching);
//   - groups, members ($ref), contacts, devices, role assignments, /me,
//     domain verification and the directory-sync settings: see the comments
//     in groups.go, contacts.go, devices.go, roles.go, directory.go and
//     dirsync.go, which say what was checked and what was invented;
//   - tokens as the identity platform shapes them: access tokens for Graph
//     in the v1.0 format (iss {base}/{tid}/ standing for
//     https://sts.windows.net/{tid}/, appid, appidacr, idtyp, oid the user or
//     the app's service principal, scp or roles), ID tokens in the v2.0
//     format (iss {base}/{tid}/v2.0), signed by a key published with its
//     certificate (x5c, x5t = kid); Graph accepts only v1.0 tokens with the
//     tenant's issuer (auth.go, certificate.go);
//   - what MSAL asks before a token: user realm discovery and instance
//     discovery (userrealm.go), and client_info in token responses;
//   - token errors: {"error","error_description","error_codes","timestamp",
//     "trace_id","correlation_id","error_uri"[,"suberror"]} with AADSTS50126 for
//     a wrong password and AADSTS50076 (suberror basic_action) when MFA is
//     required (Azure/azure-cli #18647, microsoft/vscode #240536).
package tenant

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Role template ids (learn.microsoft.com/entra/identity/role-based-access-control/permissions-reference).
const (
	RoleGlobalAdministrator          = "62e90394-69f5-4237-9190-012177145e10"
	RoleHybridIdentityAdministrator  = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"
	RoleUserAdministrator            = "fe930be7-5e62-47db-91af-98c3a49a38b1"
	RoleDirectorySynchronizationAcct = "d29b2b05-8046-44ba-8758-1e26182fcf32"
)

// GraphAppID is Microsoft Graph's well-known application id; tokens for Graph
// carry it (or https://graph.microsoft.com) as their audience.
const GraphAppID = "00000003-0000-0000-c000-000000000000"

// GraphResource is Graph's resource URI, the audience of tokens requested with
// the scope https://graph.microsoft.com/.default.
const GraphResource = "https://graph.microsoft.com"

// Seed is the emulator's initial state, usually read from a JSON file.
type Seed struct {
	TenantID      string        `json:"tenantId"`
	DisplayName   string        `json:"displayName"`
	InitialDomain string        `json:"initialDomain"` // xxx.onmicrosoft.com, always verified
	Domains       []SeedDomain  `json:"domains"`
	Admins        []SeedAccount `json:"admins"`
	// Users are accounts like Admins whose empty roles mean no role.
	Users    []SeedAccount `json:"users,omitempty"`
	Groups   []SeedGroup   `json:"groups,omitempty"`   // state.go
	Contacts []SeedContact `json:"contacts,omitempty"` // state.go
	Devices  []SeedDevice  `json:"devices,omitempty"`  // state.go
	// VerifiableDomains are domain names not in the tenant yet whose
	// verification records are "published": after POST /domains, verify
	// succeeds.
	VerifiableDomains []string  `json:"verifiableDomains,omitempty"`
	Apps              []SeedApp `json:"apps"`
	// WriteBudget and WriteWindowSeconds override the default write budget
	// (3,000 writes per 150 s per app) when set.
	WriteBudget        int     `json:"writeBudget,omitempty"`
	WriteWindowSeconds float64 `json:"writeWindowSeconds,omitempty"`
}

// SeedDomain is a custom domain added to the tenant.
type SeedDomain struct {
	Name     string `json:"name"`
	Verified bool   `json:"verified"`
	// AuthenticationType is "Managed" (default) or "Federated".
	AuthenticationType string `json:"authenticationType,omitempty"`
	Default            bool   `json:"default,omitempty"`
	// Verifiable: an unverified domain whose verification record is
	// "published", so POST /domains/{id}/verify succeeds; otherwise verify
	// fails as it does when the record is missing.
	Verifiable bool `json:"verifiable,omitempty"`
	// Federation, on a verified custom domain, federates it (federation.go):
	// the domain is Federated whatever AuthenticationType says.
	Federation *Federation `json:"federation,omitempty"`
}

// SeedAccount is a cloud account that can sign in with the password grant.
type SeedAccount struct {
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
	Password          string `json:"password"`
	MFA               bool   `json:"mfa"`
	// MFACode is the one-time code an MFA account accepts (default 123456).
	MFACode string `json:"mfaCode,omitempty"`
	// Locked accounts are refused at sign-in (AADSTS50053).
	Locked bool `json:"locked,omitempty"`
	// Disabled accounts have accountEnabled false.
	Disabled bool `json:"disabled,omitempty"`
	// Roles are directory role template ids; empty means Hybrid Identity
	// Administrator in Seed.Admins and no role in Seed.Users.
	Roles []string `json:"roles,omitempty"`
}

// SeedApp is an application registration. A confidential client (the
// default) authenticates with its ClientSecret: client_credentials, and the
// password, authorization_code and refresh_token grants. A public client
// (Public) has no secret, must not send one (AADSTS700025) and must use PKCE
// in the authorization code flow.
type SeedApp struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret,omitempty"`
	DisplayName  string `json:"displayName,omitempty"`
	// Roles are application permissions, e.g. "Directory.ReadWrite.All".
	Roles []string `json:"roles,omitempty"`
	// RedirectURIs are the registered reply URLs. Matching is exact (paths
	// are case-sensitive) except that the port of an http(s)://localhost or
	// http(s)://127.0.0.1 URI is ignored, as Entra documents
	// (learn.microsoft.com/entra/identity-platform/reply-url, "Localhost exceptions").
	RedirectURIs []string `json:"redirectUris,omitempty"`
	// Public marks a public client (desktop/mobile: "Allow public client flows").
	Public bool `json:"public,omitempty"`
	// GroupMembershipClaims is the app manifest's setting: "SecurityGroup" or
	// "All" put the user's group ids in the ID token's groups claim;
	// "DirectoryRole" or "All" put the directory role template ids in wids.
	GroupMembershipClaims string `json:"groupMembershipClaims,omitempty"`
}

// The applications DefaultSeed registers, for code that signs in against the
// emulator.
const (
	// SyncClientID and SyncClientSecret: a confidential daemon app with the
	// Directory.ReadWrite.All application permission (client_credentials).
	SyncClientID     = "7d8e9f00-1111-4a2b-8c3d-000000000001"
	SyncClientSecret = "emulator-secret"
	// PasswordGrantClientID is a public client with public client flows
	// allowed, for the resource-owner password grant (engine/cloud's tests).
	PasswordGrantClientID = "11111111-2222-3333-4444-555555555555"
	// ConnectClientID is hybridsync-connect, the public client the setup
	// wizard signs an administrator in with (authorization code + PKCE) on a
	// loopback redirect URI: http://localhost[:port]/setup/connect-entra/callback
	// or the same on 127.0.0.1.
	ConnectClientID     = "5c0e1d2a-7b3f-4c8e-9d10-2a3b4c5d6e01"
	ConnectCallbackPath = "/setup/connect-entra/callback"
	// FederatedLoginCallbackPath is where the console's Verify federated
	// login check comes back (the same application, another redirect URI).
	FederatedLoginCallbackPath = "/federation/login/callback"
	// ConsoleClientID and ConsoleClientSecret are hybridsync-console, the
	// confidential web app the console signs users in with (OpenID Connect,
	// code flow), groupMembershipClaims SecurityGroup, redirect URI
	// http://localhost[:port]/auth/oidc/callback or the same on 127.0.0.1.
	ConsoleClientID     = "5c0e1d2a-7b3f-4c8e-9d10-2a3b4c5d6e02"
	ConsoleClientSecret = "Cns8Q~emulator.console-secret_0000000000"
	ConsoleCallbackPath = "/auth/oidc/callback"
)

// DefaultSeed is a small tenant: contoso.onmicrosoft.com, a verified
// contoso.example.test, an unverified fabrikam.example.test (verify fails), an
// unverified northwind.example.test (verify succeeds) and tailspin.example.test
// (not added; after POST /domains verify succeeds), the apps named by the
// *ClientID constants, and these accounts (all @contoso.onmicrosoft.com):
//
//	hybrid.admin   Passw0rd!hybrid    Hybrid Identity Administrator
//	mfa.admin      Passw0rd!mfa       Hybrid Identity Administrator, MFA (code 123456)
//	global.admin   Passw0rd!global    Global Administrator
//	locked.admin   Passw0rd!locked    Hybrid Identity Administrator, locked
//	fed.admin      Passw0rd!fed       Hybrid Identity Administrator + Domain Name Administrator
//	                                  (what Entra Connect asks of whoever federates a domain)
//	helpdesk.user  Passw0rd!helpdesk  no role, in group "HybridSync Browse"
//	ops.user       Passw0rd!ops       no role, in group "HybridSync Admins"
//
// and one contact, Adele Partner <adele@partner.example.test>.
func DefaultSeed() Seed {
	return Seed{
		TenantID:      "4f0c8f5e-6a51-4d7e-9a3c-2b1d8e7f6a01",
		DisplayName:   "Contoso (emulated)",
		InitialDomain: "contoso.onmicrosoft.com",
		Domains: []SeedDomain{
			{Name: "contoso.example.test", Verified: true},
			{Name: "fabrikam.example.test", Verified: false},
			{Name: "northwind.example.test", Verified: false, Verifiable: true},
		},
		Admins: []SeedAccount{
			{UserPrincipalName: "hybrid.admin@contoso.onmicrosoft.com", DisplayName: "Hybrid Admin", Password: "Passw0rd!hybrid"},
			{UserPrincipalName: "mfa.admin@contoso.onmicrosoft.com", DisplayName: "MFA Admin", Password: "Passw0rd!mfa", MFA: true},
			{UserPrincipalName: "global.admin@contoso.onmicrosoft.com", DisplayName: "Global Admin", Password: "Passw0rd!global", Roles: []string{RoleGlobalAdministrator}},
			{UserPrincipalName: "locked.admin@contoso.onmicrosoft.com", DisplayName: "Locked Admin", Password: "Passw0rd!locked", Locked: true},
			{UserPrincipalName: "fed.admin@contoso.onmicrosoft.com", DisplayName: "Federation Admin", Password: "Passw0rd!fed",
				Roles: []string{RoleHybridIdentityAdministrator, RoleDomainNameAdministrator}},
		},
		Users: []SeedAccount{
			{UserPrincipalName: "helpdesk.user@contoso.onmicrosoft.com", DisplayName: "Helpdesk User", Password: "Passw0rd!helpdesk"},
			{UserPrincipalName: "ops.user@contoso.onmicrosoft.com", DisplayName: "Ops User", Password: "Passw0rd!ops"},
		},
		Groups: []SeedGroup{
			{DisplayName: "HybridSync Browse", Description: "May browse the hybridsync console", Members: []string{"helpdesk.user@contoso.onmicrosoft.com"}},
			{DisplayName: "HybridSync Admins", Description: "Administer the hybridsync console", Members: []string{"ops.user@contoso.onmicrosoft.com"}},
		},
		Contacts: []SeedContact{
			{DisplayName: "Adele Partner", GivenName: "Adele", Surname: "Partner", Mail: "adele@partner.example.test", MailNickname: "adele.partner", CompanyName: "Partner"},
		},
		VerifiableDomains: []string{"tailspin.example.test"},
		Apps: []SeedApp{
			{ClientID: SyncClientID, ClientSecret: SyncClientSecret, DisplayName: "hybridsync", Roles: []string{"Directory.ReadWrite.All"}},
			{ClientID: PasswordGrantClientID, DisplayName: "hybridsync (password grant)", Public: true},
			{ClientID: ConnectClientID, DisplayName: "hybridsync-connect", Public: true, RedirectURIs: []string{
				"http://localhost" + ConnectCallbackPath, "http://127.0.0.1" + ConnectCallbackPath,
				"http://localhost" + FederatedLoginCallbackPath, "http://127.0.0.1" + FederatedLoginCallbackPath}},
			{ClientID: ConsoleClientID, ClientSecret: ConsoleClientSecret, DisplayName: "hybridsync-console", GroupMembershipClaims: "SecurityGroup", RedirectURIs: []string{
				"http://localhost" + ConsoleCallbackPath, "http://127.0.0.1" + ConsoleCallbackPath}},
		},
	}
}

// LoadSeed reads a seed from a JSON file.
func LoadSeed(path string) (Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Seed{}, fmt.Errorf("tenant: unable to read seed: %w", err)
	}
	var s Seed
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return Seed{}, fmt.Errorf("tenant: unable to parse seed %s: %w", path, err)
	}
	return s, s.Validate()
}

// Validate reports the first problem with a seed.
func (s Seed) Validate() error {
	switch {
	case s.TenantID == "":
		return errors.New("tenant: seed has no tenantId")
	case !strings.HasSuffix(strings.ToLower(s.InitialDomain), ".onmicrosoft.com"):
		return fmt.Errorf("tenant: initialDomain %q must end in .onmicrosoft.com", s.InitialDomain)
	case s.WriteBudget < 0 || s.WriteWindowSeconds < 0:
		return errors.New("tenant: write budget and window must not be negative")
	}
	issuers := map[string]string{}
	for _, d := range s.Domains {
		f, err := seedFederation(d, s.InitialDomain)
		if err != nil {
			return err
		}
		if f == nil {
			continue
		}
		if other, ok := issuers[f.IssuerURI]; ok {
			return fmt.Errorf("tenant: domains %s and %s have the same federation issuerUri %s", other, d.Name, f.IssuerURI)
		}
		issuers[f.IssuerURI] = d.Name
	}
	for _, a := range append(append([]SeedAccount{}, s.Admins...), s.Users...) {
		if !strings.Contains(a.UserPrincipalName, "@") || a.Password == "" {
			return fmt.Errorf("tenant: account %q needs a userPrincipalName and a password", a.UserPrincipalName)
		}
	}
	for _, g := range s.Groups {
		if g.DisplayName == "" {
			return errors.New("tenant: group needs a displayName")
		}
	}
	for _, c := range s.Contacts {
		if c.DisplayName == "" {
			return errors.New("tenant: contact needs a displayName")
		}
	}
	for _, d := range s.Devices {
		if d.DisplayName == "" || d.OperatingSystem == "" || d.OperatingSystemVersion == "" {
			return fmt.Errorf("tenant: device %q needs a displayName, operatingSystem and operatingSystemVersion", d.DisplayName)
		}
	}
	for _, a := range s.Apps {
		switch {
		case a.ClientID == "":
			return errors.New("tenant: app needs a clientId")
		case a.Public && a.ClientSecret != "":
			return fmt.Errorf("tenant: app %s is a public client and cannot have a clientSecret", a.ClientID)
		case !a.Public && a.ClientSecret == "":
			return fmt.Errorf("tenant: app %s needs a clientSecret (or \"public\": true)", a.ClientID)
		}
		switch a.GroupMembershipClaims {
		case "", "None", "SecurityGroup", "DirectoryRole", "All":
		default:
			return fmt.Errorf("tenant: app %s: groupMembershipClaims %q is not None, SecurityGroup, DirectoryRole or All", a.ClientID, a.GroupMembershipClaims)
		}
	}
	return nil
}

// Options tune an emulator beyond its seed.
type Options struct {
	// WriteBudget writes are allowed per WriteWindow per app (defaults: the
	// seed's values, else 3,000 per 150 s).
	WriteBudget int
	WriteWindow time.Duration
	// TokenLifetime of issued access tokens (default 1 h).
	TokenLifetime time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// DeltaPageSize is how many objects a page of a delta query holds
	// (default DefaultDeltaPageSize).
	DeltaPageSize int
	// StatePath, when set, keeps the directory in a file: loaded at start
	// when it exists (else seeded), written back after every write (see
	// Tenant.Close). Signing keys are new at every start.
	StatePath string
}
