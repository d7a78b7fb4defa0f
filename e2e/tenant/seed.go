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
	Apps          []SeedApp     `json:"apps"`
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
}

// SeedAccount is a cloud account that can sign in with the password grant.
type SeedAccount struct {
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
	Password          string `json:"password"`
	MFA               bool   `json:"mfa"`
	// Roles are directory role template ids; empty means Hybrid Identity
	// Administrator.
	Roles []string `json:"roles,omitempty"`
}

// SeedApp is an application registration that can use client_credentials.
type SeedApp struct {
	ClientID     string `json:"clientId"`
	ClientSecret string `json:"clientSecret"`
	DisplayName  string `json:"displayName,omitempty"`
	// Roles are application permissions, e.g. "Directory.ReadWrite.All".
	Roles []string `json:"roles,omitempty"`
}

// DefaultSeed is a small tenant: contoso.onmicrosoft.com, a verified
// contoso.example.test, an unverified fabrikam.example.test, a Hybrid Identity
// Administrator without MFA and one with MFA, and one app.
func DefaultSeed() Seed {
	return Seed{
		TenantID:      "4f0c8f5e-6a51-4d7e-9a3c-2b1d8e7f6a01",
		DisplayName:   "Contoso (emulated)",
		InitialDomain: "contoso.onmicrosoft.com",
		Domains: []SeedDomain{
			{Name: "contoso.example.test", Verified: true},
			{Name: "fabrikam.example.test", Verified: false},
		},
		Admins: []SeedAccount{
			{UserPrincipalName: "hybrid.admin@contoso.onmicrosoft.com", DisplayName: "Hybrid Admin", Password: "Passw0rd!hybrid"},
			{UserPrincipalName: "mfa.admin@contoso.onmicrosoft.com", DisplayName: "MFA Admin", Password: "Passw0rd!mfa", MFA: true},
		},
		Apps: []SeedApp{
			{ClientID: "7d8e9f00-1111-4a2b-8c3d-000000000001", ClientSecret: "emulator-secret", DisplayName: "hybridsync", Roles: []string{"Directory.ReadWrite.All"}},
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
	for _, a := range s.Admins {
		if !strings.Contains(a.UserPrincipalName, "@") || a.Password == "" {
			return fmt.Errorf("tenant: admin %q needs a userPrincipalName and a password", a.UserPrincipalName)
		}
	}
	for _, a := range s.Apps {
		if a.ClientID == "" || a.ClientSecret == "" {
			return errors.New("tenant: app needs a clientId and a clientSecret")
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
}
