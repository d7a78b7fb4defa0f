package tenant

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/e2e/tenant/graphmeta"
)

// A domain's federation configuration: Graph v1.0 internalDomainFederation
// at /domains/{id}/federationConfiguration (internaldomainfederation.md and
// the create, update and delete pages). What is documented:
//
//   - create answers 201 with the object, update 200 with the whole object,
//     delete 204;
//   - creating it turns the domain's authenticationType Federated and
//     deleting it turns it back Managed (microsoft-graph-docs PR #21881);
//   - only verified custom domains are federated (the resource page: "tenant
//     domains that are federated and verified"; the initial onmicrosoft.com
//     domain cannot be, how-to-connect-fed-saml-idp.md; nor the default one,
//     "You also can't set a federated domain as the default domain");
//   - issuerUri is unique across the tenant's domains
//     (how-to-connect-install-multiple-domains.md);
//   - signingCertificate and nextSigningCertificate are base64 DER X.509
//     ("must be compatible with the X509Certificate2 class");
//   - a create without signingCertificate answers 500 in Entra and leaves
//     the domain federated and unmanageable (microsoft-graph-docs-contrib
//     #1389): the emulator answers 400 and changes nothing;
//   - PATCH /domains/{id} setting authenticationType Federated answers
//     "Changing authenticationType from Managed to Federated is currently
//     not supported." (microsoft-graph-docs #5401); setting it Managed is
//     the documented way to convert a federated domain back.
//
// The error texts and codes Entra gives for the other refusals are not
// published; each is marked where it is chosen.

// Federation is a domain's federation configuration (internalDomainFederation):
// in a seed (SeedDomain.Federation) and in the state file. Empty strings are
// Graph's nulls.
type Federation struct {
	ID                                    string `json:"id,omitempty"` // default: a new GUID
	DisplayName                           string `json:"displayName,omitempty"`
	IssuerURI                             string `json:"issuerUri"`
	MetadataExchangeURI                   string `json:"metadataExchangeUri,omitempty"`
	PassiveSignInURI                      string `json:"passiveSignInUri"`
	SignOutURI                            string `json:"signOutUri,omitempty"`
	ActiveSignInURI                       string `json:"activeSignInUri,omitempty"`
	PasswordResetURI                      string `json:"passwordResetUri,omitempty"`
	SigningCertificate                    string `json:"signingCertificate"`
	NextSigningCertificate                string `json:"nextSigningCertificate,omitempty"`
	PreferredAuthenticationProtocol       string `json:"preferredAuthenticationProtocol,omitempty"` // wsFed or saml
	FederatedIdpMfaBehavior               string `json:"federatedIdpMfaBehavior,omitempty"`
	PromptLoginBehavior                   string `json:"promptLoginBehavior,omitempty"`
	IsSignedAuthenticationRequestRequired bool   `json:"isSignedAuthenticationRequestRequired,omitempty"`
}

// The values of preferredAuthenticationProtocol the emulator signs in with.
const (
	ProtocolWSFed = "wsFed"
	ProtocolSAML  = "saml"
)

// More role template ids the federation calls name
// (rbac-domainfederation-apis-write.md; permissions-reference).
const (
	RoleExternalIdentityProviderAdministrator = "be2f45a1-457d-42af-a067-6ec1fa63bc45"
	RoleSecurityAdministrator                 = "194ae4cb-b126-40b2-bd5b-6091b380977d"
)

var (
	// Writes: the application permissions Domain-InternalFederation.ReadWrite.All
	// (least privileged, Graph changelog October 2025) and Domain.ReadWrite.All;
	// Directory.ReadWrite.All is not enough (microsoft-graph-docs #19697).
	// Roles: the RBAC include lists Domain Name Administrator, External
	// Identity Provider Administrator, Hybrid Identity Administrator and
	// Security Administrator; Entra Connect's prerequisites say a Hybrid
	// Identity Administrator lacks the federation permissions that a Domain
	// Name Administrator has, so the emulator follows Entra Connect.
	// Guess: a Hybrid Identity Administrator alone may not write federation configurations.
	permFederationWrite = permission{
		app:   []string{"Domain-InternalFederation.ReadWrite.All", "Domain.ReadWrite.All"},
		roles: []string{RoleGlobalAdministrator, RoleDomainNameAdministrator, RoleExternalIdentityProviderAdministrator, RoleSecurityAdministrator},
	}
	// Reads: the same, the read permissions, and the reader roles.
	// Guess: Directory.Read(Write).All and a Hybrid Identity Administrator may read federation configurations.
	permFederationRead = permission{
		app: []string{"Domain-InternalFederation.ReadWrite.All", "Domain.ReadWrite.All", "Domain-InternalFederation.Read.All",
			"Domain.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		roles: []string{RoleGlobalAdministrator, RoleDomainNameAdministrator, RoleExternalIdentityProviderAdministrator,
			RoleSecurityAdministrator, RoleGlobalReader, RoleHybridIdentityAdministrator},
	}
)

// federationJSON is a create or update body; nil means "not sent".
type federationJSON struct {
	DisplayName                           *string `json:"displayName"`
	IssuerURI                             *string `json:"issuerUri"`
	MetadataExchangeURI                   *string `json:"metadataExchangeUri"`
	PassiveSignInURI                      *string `json:"passiveSignInUri"`
	SignOutURI                            *string `json:"signOutUri"`
	ActiveSignInURI                       *string `json:"activeSignInUri"`
	PasswordResetURI                      *string `json:"passwordResetUri"`
	SigningCertificate                    *string `json:"signingCertificate"`
	NextSigningCertificate                *string `json:"nextSigningCertificate"`
	PreferredAuthenticationProtocol       *string `json:"preferredAuthenticationProtocol"`
	FederatedIdpMfaBehavior               *string `json:"federatedIdpMfaBehavior"`
	PromptLoginBehavior                   *string `json:"promptLoginBehavior"`
	IsSignedAuthenticationRequestRequired *bool   `json:"isSignedAuthenticationRequestRequired"`
}

// federationReadOnly: signingCertificateUpdateStatus is "read-only" by the
// resource page (the metadata does not say so).
var federationReadOnly = map[string]bool{"signingcertificateupdatestatus": true, "id": true}

func (f *Federation) json() map[string]any {
	return map[string]any{
		"id":                                    f.ID,
		"displayName":                           nullable(f.DisplayName),
		"issuerUri":                             nullable(f.IssuerURI),
		"metadataExchangeUri":                   nullable(f.MetadataExchangeURI),
		"passiveSignInUri":                      nullable(f.PassiveSignInURI),
		"signOutUri":                            nullable(f.SignOutURI),
		"activeSignInUri":                       nullable(f.ActiveSignInURI),
		"passwordResetUri":                      nullable(f.PasswordResetURI),
		"signingCertificate":                    nullable(f.SigningCertificate),
		"nextSigningCertificate":                nullable(f.NextSigningCertificate),
		"preferredAuthenticationProtocol":       nullable(f.PreferredAuthenticationProtocol),
		"federatedIdpMfaBehavior":               nullable(f.FederatedIdpMfaBehavior),
		"promptLoginBehavior":                   nullable(f.PromptLoginBehavior),
		"isSignedAuthenticationRequestRequired": f.IsSignedAuthenticationRequestRequired,
		// The emulator never reads the IdP's metadata, so no certificate
		// update has run.
		// Guess: signingCertificateUpdateStatus is null until Entra's daily certificate check has run.
		"signingCertificateUpdateStatus": nil,
	}
}

// federationProperties are returned when no $select is given: all of them.
var federationProperties = []string{"displayName", "issuerUri", "metadataExchangeUri", "passiveSignInUri", "signOutUri",
	"activeSignInUri", "passwordResetUri", "signingCertificate", "nextSigningCertificate", "preferredAuthenticationProtocol",
	"federatedIdpMfaBehavior", "promptLoginBehavior", "isSignedAuthenticationRequestRequired", "signingCertificateUpdateStatus"}

func (f *Federation) render(r *http.Request) map[string]any {
	m := project(f.json(), selectOf(r), federationProperties)
	m["@odata.type"] = "#microsoft.graph.internalDomainFederation"
	return m
}

func federationContext(r *http.Request, domainName string) string {
	return baseURL(r) + "/v1.0/$metadata#domains('" + domainName + "')/federationConfiguration"
}

// parseCertificate reads a signingCertificate: base64 DER (whitespace
// allowed, as X509Certificate2 allows it).
func parseCertificate(s string) (*x509.Certificate, error) {
	s = strings.Join(strings.Fields(s), "")
	if s == "" {
		return nil, errors.New("empty")
	}
	der, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	return x509.ParseCertificate(der)
}

// Guess: a missing or unparsable certificate, issuerUri or passiveSignInUri, or an unknown enum value, gets Request_BadRequest "Invalid value specified for property 'x' of resource 'InternalDomainFederation'."
func badFederationValue(r *http.Request, property string) *graphError {
	return badValue(r, property, fmt.Sprintf("Invalid value specified for property '%s' of resource 'InternalDomainFederation'.", property))
}

// enumMember reports whether v is a member of a metadata enum type, other
// than unknownFutureValue (the evolvable-enum sentinel no client may send).
func enumMember(typeName, v string) bool {
	t := graphmeta.Lookup(typeName)
	return t != nil && v != "unknownFutureValue" && slices.Contains(t.Members, v)
}

// apply writes a body onto f and checks the result; f is a copy, stored by
// the caller only when this returns nil.
func (in federationJSON) apply(r *http.Request, f *Federation) *graphError {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&f.DisplayName, in.DisplayName)
	set(&f.IssuerURI, in.IssuerURI)
	set(&f.MetadataExchangeURI, in.MetadataExchangeURI)
	set(&f.PassiveSignInURI, in.PassiveSignInURI)
	set(&f.SignOutURI, in.SignOutURI)
	set(&f.ActiveSignInURI, in.ActiveSignInURI)
	set(&f.PasswordResetURI, in.PasswordResetURI)
	set(&f.SigningCertificate, in.SigningCertificate)
	set(&f.NextSigningCertificate, in.NextSigningCertificate)
	set(&f.PreferredAuthenticationProtocol, in.PreferredAuthenticationProtocol)
	set(&f.FederatedIdpMfaBehavior, in.FederatedIdpMfaBehavior)
	set(&f.PromptLoginBehavior, in.PromptLoginBehavior)
	if in.IsSignedAuthenticationRequestRequired != nil {
		f.IsSignedAuthenticationRequestRequired = *in.IsSignedAuthenticationRequestRequired
	}
	if p, err := f.check(); err != nil {
		return badFederationValue(r, p)
	}
	return nil
}

// check reports the first property of f that is missing or wrong, with why.
func (f *Federation) check() (string, error) {
	if _, err := parseCertificate(f.SigningCertificate); err != nil {
		return "signingCertificate", fmt.Errorf("signingCertificate: %w", err)
	}
	if f.NextSigningCertificate != "" {
		if _, err := parseCertificate(f.NextSigningCertificate); err != nil {
			return "nextSigningCertificate", fmt.Errorf("nextSigningCertificate: %w", err)
		}
	}
	if strings.TrimSpace(f.IssuerURI) == "" {
		return "issuerUri", errors.New("issuerUri is required")
	}
	// Web sign-in goes to passiveSignInUri, so the emulator requires it.
	if u, err := url.Parse(f.PassiveSignInURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "passiveSignInUri", errors.New("passiveSignInUri must be an absolute http(s) URL")
	}
	if p := f.PreferredAuthenticationProtocol; p != "" && p != ProtocolWSFed && p != ProtocolSAML {
		return "preferredAuthenticationProtocol", fmt.Errorf("preferredAuthenticationProtocol %q is not wsFed or saml", p)
	}
	if v := f.FederatedIdpMfaBehavior; v != "" && !enumMember("federatedIdpMfaBehavior", v) {
		return "federatedIdpMfaBehavior", fmt.Errorf("federatedIdpMfaBehavior %q is not a member of the enum", v)
	}
	if v := f.PromptLoginBehavior; v != "" && !enumMember("promptLoginBehavior", v) {
		return "promptLoginBehavior", fmt.Errorf("promptLoginBehavior %q is not a member of the enum", v)
	}
	return "", nil
}

// federableLocked refuses a domain that cannot be federated: the initial
// domain, an unverified one, the default one. Caller holds t.mu.
func federableLocked(r *http.Request, d *domain) *graphError {
	switch {
	case d.Initial:
		// Guess: federating the initial domain answers 400 Request_BadRequest "Domain '<name>' is the initial domain of the tenant and cannot be federated. …".
		return newGraphError(r, http.StatusBadRequest, "Request_BadRequest",
			fmt.Sprintf("Domain '%s' is the initial domain of the tenant and cannot be federated. Federation can only be configured on a verified custom domain.", d.Name), nil)
	case !d.Verified:
		// Guess: federating an unverified domain answers 400 Request_BadRequest "Domain '<name>' is not verified. …".
		return newGraphError(r, http.StatusBadRequest, "Request_BadRequest",
			fmt.Sprintf("Domain '%s' is not verified. Federation can only be configured on a verified custom domain.", d.Name), nil)
	case d.Default:
		// Guess: federating the default domain answers 400 Request_BadRequest "Domain '<name>' is the default domain of the tenant and cannot be federated.".
		return newGraphError(r, http.StatusBadRequest, "Request_BadRequest",
			fmt.Sprintf("Domain '%s' is the default domain of the tenant and cannot be federated.", d.Name), nil)
	}
	return nil
}

// issuerTakenLocked reports whether another domain than self is federated
// with issuer. Caller holds t.mu.
func (t *Tenant) issuerTakenLocked(self *domain, issuer string) bool {
	for _, d := range t.domains {
		if d != self && d.Federation != nil && d.Federation.IssuerURI == issuer {
			return true
		}
	}
	return false
}

// Guess: a second issuerUri equal to another domain's gets the directory's ObjectConflict answer.
func issuerConflict(r *http.Request) *graphError { return conflict(r, "issuerUri") }

// federationNotFound answers a domain that has no federation configuration,
// as reported for a domain converted back to Managed (azure-docs #107476).
// Guess: a domain without federation configuration answers 404 Request_ResourceNotFound for federationConfiguration.
func federationNotFound(r *http.Request) *graphError { return notFound(r, "federationConfiguration") }

// handleListFederation: GET /domains/{id}/federationConfiguration.
func (t *Tenant) handleListFederation(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeRead(r, permFederationRead); e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.domainLocked(r.PathValue("id"))
	switch {
	case d == nil:
		writeGErr(w, notFound(r, r.PathValue("id")))
	case d.Federation == nil:
		writeGErr(w, federationNotFound(r))
	default:
		writeJSON(w, http.StatusOK, map[string]any{"@odata.context": federationContext(r, d.Name), "value": []map[string]any{d.Federation.render(r)}})
	}
}

// federationLocked finds a domain and its configuration by the route's id
// and fid. Caller holds t.mu.
func (t *Tenant) federationLocked(r *http.Request) (*domain, *graphError) {
	d := t.domainLocked(r.PathValue("id"))
	switch {
	case d == nil:
		return nil, notFound(r, r.PathValue("id"))
	case d.Federation == nil || !strings.EqualFold(d.Federation.ID, r.PathValue("fid")):
		return nil, notFound(r, r.PathValue("fid"))
	}
	return d, nil
}

// handleGetFederation: GET /domains/{id}/federationConfiguration/{fid}.
func (t *Tenant) handleGetFederation(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeRead(r, permFederationRead); e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d, e := t.federationLocked(r)
	if e != nil {
		writeGErr(w, e)
		return
	}
	m := d.Federation.render(r)
	m["@odata.context"] = federationContext(r, d.Name) + "/$entity"
	writeJSON(w, http.StatusOK, m)
}

// handleCreateFederation: POST /domains/{id}/federationConfiguration.
func (t *Tenant) handleCreateFederation(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permFederationWrite); e != nil {
		writeGErr(w, e)
		return
	}
	var in federationJSON
	if _, e := decodeBody(r, federationReadOnly, &in); e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.domainLocked(r.PathValue("id"))
	if d == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	if e := federableLocked(r, d); e != nil {
		writeGErr(w, e)
		return
	}
	if d.Federation != nil {
		// Guess: a second federation configuration on a domain gets the directory's generic conflict (400).
		msg := "A conflicting object with one or more of the specified property values is present in the directory."
		writeGErr(w, newGraphError(r, http.StatusBadRequest, "Request_BadRequest", msg, []errorDetail{{Code: "ConflictingObjects", Message: msg}}))
		return
	}
	f := Federation{ID: newGUID()}
	if e := in.apply(r, &f); e != nil {
		writeGErr(w, e)
		return
	}
	if t.issuerTakenLocked(d, f.IssuerURI) {
		writeGErr(w, issuerConflict(r))
		return
	}
	d.Federation = &f
	d.AuthenticationType = "Federated"
	t.changedLocked()
	m := f.render(r)
	m["@odata.context"] = federationContext(r, d.Name) + "/$entity"
	w.Header().Set("Location", baseURL(r)+"/v1.0/domains/"+d.Name+"/federationConfiguration/"+f.ID)
	writeJSON(w, http.StatusCreated, m)
}

// handleUpdateFederation: PATCH /domains/{id}/federationConfiguration/{fid},
// 200 with the whole object.
func (t *Tenant) handleUpdateFederation(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permFederationWrite); e != nil {
		writeGErr(w, e)
		return
	}
	var in federationJSON
	if _, e := decodeBody(r, federationReadOnly, &in); e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d, e := t.federationLocked(r)
	if e != nil {
		writeGErr(w, e)
		return
	}
	f := *d.Federation
	if e := in.apply(r, &f); e != nil {
		writeGErr(w, e)
		return
	}
	if t.issuerTakenLocked(d, f.IssuerURI) {
		writeGErr(w, issuerConflict(r))
		return
	}
	d.Federation = &f
	t.changedLocked()
	m := f.render(r)
	m["@odata.context"] = federationContext(r, d.Name) + "/$entity"
	writeJSON(w, http.StatusOK, m)
}

// handleDeleteFederation: DELETE /domains/{id}/federationConfiguration/{fid},
// 204; the domain is Managed again.
func (t *Tenant) handleDeleteFederation(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permFederationWrite); e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d, e := t.federationLocked(r)
	if e != nil {
		writeGErr(w, e)
		return
	}
	d.Federation = nil
	d.AuthenticationType = "Managed"
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}

// handleUpdateDomain: PATCH /domains/{id}. Only authenticationType is
// modelled (other properties answer 501 by checkWrite): Managed to
// Federated is refused as Entra refuses it (microsoft-graph-docs #5401);
// Federated to Managed drops the federation configuration, as
// Update-MgDomain -AuthenticationType Managed does when an administrator
// converts a domain back. Success is 204 (domain-update.md).
func (t *Tenant) handleUpdateDomain(w http.ResponseWriter, r *http.Request) {
	if e := t.authorizeWrite(r, permFederationWrite); e != nil {
		writeGErr(w, e)
		return
	}
	var in struct {
		AuthenticationType *string `json:"authenticationType"`
	}
	if _, e := decodeBody(r, nil, &in); e != nil {
		writeGErr(w, e)
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.domainLocked(r.PathValue("id"))
	if d == nil {
		writeGErr(w, notFound(r, r.PathValue("id")))
		return
	}
	if in.AuthenticationType != nil {
		switch v := *in.AuthenticationType; {
		case strings.EqualFold(v, d.AuthenticationType):
		case strings.EqualFold(v, "Federated"):
			// Guess: the code of "Changing authenticationType from Managed to Federated is currently not supported." is Request_BadRequest.
			writeGraphError(w, r, http.StatusBadRequest, "Request_BadRequest", "Changing authenticationType from Managed to Federated is currently not supported.", nil)
			return
		case strings.EqualFold(v, "Managed"):
			d.AuthenticationType, d.Federation = "Managed", nil
		default:
			// Guess: an authenticationType other than Managed or Federated gets Request_BadRequest "Invalid value specified for property 'authenticationType' of resource 'Domain'."
			writeGErr(w, badValue(r, "authenticationType", "Invalid value specified for property 'authenticationType' of resource 'Domain'."))
			return
		}
	}
	t.changedLocked()
	w.WriteHeader(http.StatusNoContent)
}

// seedFederation checks a seed domain's federation configuration and gives
// it an id.
func seedFederation(d SeedDomain, initialDomain string) (*Federation, error) {
	if d.Federation == nil {
		return nil, nil
	}
	f := *d.Federation
	switch {
	case !d.Verified:
		return nil, fmt.Errorf("tenant: domain %s has a federation configuration but is not verified", d.Name)
	case d.Default:
		return nil, fmt.Errorf("tenant: domain %s has a federation configuration but is the default domain", d.Name)
	case strings.EqualFold(d.Name, initialDomain):
		return nil, fmt.Errorf("tenant: the initial domain %s cannot be federated", d.Name)
	}
	if _, err := f.check(); err != nil {
		return nil, fmt.Errorf("tenant: domain %s: federation configuration: %w", d.Name, err)
	}
	if f.ID == "" {
		f.ID = newGUID()
	}
	return &f, nil
}

// federationOf is a copy of the federation configuration of a verified
// domain by name, when it has one.
func (t *Tenant) federationOf(domainName string) (Federation, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.domainLocked(domainName)
	if d == nil || !d.Verified || d.Federation == nil {
		return Federation{}, false
	}
	return *d.Federation, true
}
