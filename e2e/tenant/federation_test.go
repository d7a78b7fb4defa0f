package tenant

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"
)

// testCertificate is a self-signed certificate, base64 DER, as a
// signingCertificate is given.
func testCertificate(t *testing.T, cn string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

// fedSeed is DefaultSeed with a second verified custom domain.
func fedSeed() Seed {
	s := DefaultSeed()
	s.Domains = append(s.Domains, SeedDomain{Name: "second.example.test", Verified: true})
	return s
}

func fedBody(t *testing.T, issuer string, extra map[string]any) map[string]any {
	m := map[string]any{
		"@odata.type":                     "#microsoft.graph.internalDomainFederation",
		"displayName":                     "Contoso",
		"issuerUri":                       issuer,
		"metadataExchangeUri":             "https://sts.contoso.example.test/adfs/services/trust/mex",
		"signingCertificate":              testCertificate(t, "ADFS Signing - sts.contoso.example.test"),
		"passiveSignInUri":                "https://sts.contoso.example.test/adfs/ls",
		"preferredAuthenticationProtocol": "wsFed",
		"activeSignInUri":                 "https://sts.contoso.example.test/adfs/services/trust/2005/usernamemixed",
		"signOutUri":                      "https://sts.contoso.example.test/adfs/ls",
		"promptLoginBehavior":             "nativeSupport",
		"federatedIdpMfaBehavior":         "rejectMfaByFederatedIdp",
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	return m
}

const (
	fedAdminUPN  = "fed.admin@contoso.onmicrosoft.com"
	contosoFedIs = "http://sts.contoso.example.test/adfs/services/trust"
)

// authType is a domain's authenticationType as Graph shows it.
func authType(t *testing.T, g *graphEnv, tok, domain string) string {
	t.Helper()
	st, _, body := g.call(t, tok, "GET", "domains/"+domain, nil)
	if st != 200 {
		t.Fatalf("GET domains/%s = %d %v", domain, st, body)
	}
	s, _ := body["authenticationType"].(string)
	return s
}

func TestFederationConfigurationLifecycle(t *testing.T) {
	g := newGraphEnv(t, fedSeed(), Options{})
	tok := g.userToken(t, fedAdminUPN)
	const base = "domains/contoso.example.test/federationConfiguration"

	if st, _, body := g.call(t, tok, "GET", base, nil); st != 404 {
		t.Fatalf("list before create = %d %v", st, body)
	}
	in := fedBody(t, contosoFedIs, nil)
	st, h, created := g.call(t, tok, "POST", base, in)
	if st != 201 {
		t.Fatalf("create = %d %v", st, created)
	}
	id, _ := created["id"].(string)
	if id == "" || h.Get("Location") != g.srv.URL+"/v1.0/"+base+"/"+id ||
		created["@odata.context"] != g.srv.URL+"/v1.0/$metadata#domains('contoso.example.test')/federationConfiguration/$entity" {
		t.Errorf("create: id %q Location %q context %v", id, h.Get("Location"), created["@odata.context"])
	}
	for k, v := range in {
		if k != "@odata.type" && created[k] != v {
			t.Errorf("created %s = %v, want %v", k, created[k], v)
		}
	}
	for _, k := range []string{"nextSigningCertificate", "passwordResetUri", "signingCertificateUpdateStatus"} {
		if v, ok := created[k]; !ok || v != nil {
			t.Errorf("created %s = %v (present %v), want null", k, v, ok)
		}
	}
	if created["isSignedAuthenticationRequestRequired"] != false {
		t.Errorf("isSignedAuthenticationRequestRequired = %v", created["isSignedAuthenticationRequestRequired"])
	}
	if at := authType(t, g, tok, "contoso.example.test"); at != "Federated" {
		t.Errorf("after create authenticationType = %s", at)
	}

	st, _, list := g.call(t, tok, "GET", base, nil)
	vals, _ := list["value"].([]any)
	if st != 200 || len(vals) != 1 || vals[0].(map[string]any)["id"] != id {
		t.Errorf("list = %d %v", st, list)
	}
	st, _, sel := g.call(t, tok, "GET", base+"/"+id+"?$select=issuerUri,preferredAuthenticationProtocol", nil)
	if st != 200 || sel["issuerUri"] != contosoFedIs || sel["preferredAuthenticationProtocol"] != "wsFed" || sel["displayName"] != nil || sel["signingCertificate"] != nil {
		t.Errorf("$select = %d %v", st, sel)
	}
	if st, _, body := g.call(t, tok, "GET", base+"/"+id+"?$select=nope", nil); st != 400 {
		t.Errorf("$select=nope = %d %v", st, body)
	}

	st, _, patched := g.call(t, tok, "PATCH", base+"/"+id, map[string]any{"displayName": "Contoso name change", "federatedIdpMfaBehavior": "acceptIfMfaDoneByFederatedIdp"})
	if st != 200 || patched["displayName"] != "Contoso name change" || patched["federatedIdpMfaBehavior"] != "acceptIfMfaDoneByFederatedIdp" || patched["issuerUri"] != contosoFedIs {
		t.Errorf("patch = %d %v", st, patched)
	}

	if st, _, body := g.call(t, tok, "DELETE", base+"/"+id, nil); st != 204 {
		t.Fatalf("delete = %d %v", st, body)
	}
	if at := authType(t, g, tok, "contoso.example.test"); at != "Managed" {
		t.Errorf("after delete authenticationType = %s", at)
	}
	st, _, body := g.call(t, tok, "GET", base, nil)
	if code, msg, _ := errorOf(body); st != 404 || code != "Request_ResourceNotFound" || !strings.HasPrefix(msg, "Resource 'federationConfiguration' does not exist") {
		t.Errorf("list after delete = %d %s %q", st, code, msg)
	}
	if st, _, _ := g.call(t, tok, "GET", base+"/"+id, nil); st != 404 {
		t.Errorf("get after delete = %d", st)
	}
}

func TestFederationConfigurationRulesRefused(t *testing.T) {
	invalid := func(p string) string {
		return "Invalid value specified for property '" + p + "' of resource 'InternalDomainFederation'."
	}
	tests := []struct {
		name   string
		domain string
		body   func(t *testing.T) map[string]any
		status int
		code   string
		msg    string
	}{
		{"initial domain", "contoso.onmicrosoft.com", func(t *testing.T) map[string]any { return fedBody(t, contosoFedIs, nil) },
			400, "Request_BadRequest", "Domain 'contoso.onmicrosoft.com' is the initial domain of the tenant and cannot be federated. Federation can only be configured on a verified custom domain."},
		{"unverified domain", "fabrikam.example.test", func(t *testing.T) map[string]any { return fedBody(t, contosoFedIs, nil) },
			400, "Request_BadRequest", "Domain 'fabrikam.example.test' is not verified. Federation can only be configured on a verified custom domain."},
		{"unknown domain", "nowhere.example.test", func(t *testing.T) map[string]any { return fedBody(t, contosoFedIs, nil) },
			404, "Request_ResourceNotFound", "Resource 'nowhere.example.test' does not exist or one of its queried reference-property objects are not present."},
		{"no signing certificate", "contoso.example.test", func(t *testing.T) map[string]any {
			return fedBody(t, contosoFedIs, map[string]any{"signingCertificate": nil})
		}, 400, "Request_BadRequest", invalid("signingCertificate")},
		{"PEM signing certificate", "contoso.example.test", func(t *testing.T) map[string]any {
			return fedBody(t, contosoFedIs, map[string]any{"signingCertificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"})
		}, 400, "Request_BadRequest", invalid("signingCertificate")},
		{"base64 that is no certificate", "contoso.example.test", func(t *testing.T) map[string]any {
			return fedBody(t, contosoFedIs, map[string]any{"signingCertificate": "MIIE3jCCAsagAwIBAgIQQcyDaZz3MI"})
		}, 400, "Request_BadRequest", invalid("signingCertificate")},
		{"bad next signing certificate", "contoso.example.test", func(t *testing.T) map[string]any {
			return fedBody(t, contosoFedIs, map[string]any{"nextSigningCertificate": "bm90IGEgY2VydA=="})
		}, 400, "Request_BadRequest", invalid("nextSigningCertificate")},
		{"no issuerUri", "contoso.example.test", func(t *testing.T) map[string]any {
			return fedBody(t, contosoFedIs, map[string]any{"issuerUri": nil})
		}, 400, "Request_BadRequest", invalid("issuerUri")},
		{"protocol neither wsFed nor saml", "contoso.example.test", func(t *testing.T) map[string]any {
			return fedBody(t, contosoFedIs, map[string]any{"preferredAuthenticationProtocol": "oidc"})
		}, 400, "Request_BadRequest", invalid("preferredAuthenticationProtocol")},
		{"unknownFutureValue protocol", "contoso.example.test", func(t *testing.T) map[string]any {
			return fedBody(t, contosoFedIs, map[string]any{"preferredAuthenticationProtocol": "unknownFutureValue"})
		}, 400, "Request_BadRequest", invalid("preferredAuthenticationProtocol")},
		{"unknown MFA behaviour", "contoso.example.test", func(t *testing.T) map[string]any {
			return fedBody(t, contosoFedIs, map[string]any{"federatedIdpMfaBehavior": "sometimes"})
		}, 400, "Request_BadRequest", invalid("federatedIdpMfaBehavior")},
		{"read-only update status", "contoso.example.test", func(t *testing.T) map[string]any {
			return fedBody(t, contosoFedIs, map[string]any{"signingCertificateUpdateStatus": map[string]any{"certificateUpdateResult": "success"}})
		}, 400, "Request_BadRequest", "Property 'signingCertificateUpdateStatus' is read-only and cannot be set."},
		{"property of no such name", "contoso.example.test", func(t *testing.T) map[string]any {
			return fedBody(t, contosoFedIs, map[string]any{"supportsMfa": true})
		}, 400, "BadRequest", "The property 'supportsMfa' does not exist on type 'microsoft.graph.internalDomainFederation'. Make sure to only use property names that are defined by the type or mark the type as open type."},
		{"issuerUri of another domain", "second.example.test", func(t *testing.T) map[string]any { return fedBody(t, contosoFedIs, nil) },
			400, "Request_BadRequest", "Another object with the same value for property issuerUri already exists."},
		{"second configuration", "contoso.example.test", func(t *testing.T) map[string]any {
			return fedBody(t, "http://other.example.test/adfs/services/trust", nil)
		}, 400, "Request_BadRequest", "A conflicting object with one or more of the specified property values is present in the directory."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraphEnv(t, fedSeed(), Options{})
			tok := g.userToken(t, fedAdminUPN)
			conflicting := tt.name == "issuerUri of another domain" || tt.name == "second configuration"
			var before map[string]any
			if conflicting {
				st, _, b := g.call(t, tok, "POST", "domains/contoso.example.test/federationConfiguration", fedBody(t, contosoFedIs, nil))
				if st != 201 {
					t.Fatalf("first configuration = %d %v", st, b)
				}
				before = b
			}
			wantType := ""
			if tt.status != 404 {
				wantType = authType(t, g, tok, tt.domain)
			}
			st, _, body := g.call(t, tok, "POST", "domains/"+tt.domain+"/federationConfiguration", tt.body(t))
			code, msg, _ := errorOf(body)
			if st != tt.status || code != tt.code || msg != tt.msg {
				t.Fatalf("= %d %s %q, want %d %s %q", st, code, msg, tt.status, tt.code, tt.msg)
			}
			if tt.status == 404 {
				return
			}
			if at := authType(t, g, tok, tt.domain); at != wantType {
				t.Errorf("authenticationType %s → %s after a refused create", wantType, at)
			}
			st, _, list := g.call(t, tok, "GET", "domains/"+tt.domain+"/federationConfiguration", nil)
			switch {
			case before != nil && tt.domain == "contoso.example.test":
				if vals, _ := list["value"].([]any); st != 200 || len(vals) != 1 || vals[0].(map[string]any)["issuerUri"] != contosoFedIs {
					t.Errorf("configurations after a refused second = %d %v", st, list)
				}
			case st != 404:
				t.Errorf("configuration after a refused create = %d %v", st, list)
			}
		})
	}
}

func TestFederationConfigurationRefusedUpdates(t *testing.T) {
	g := newGraphEnv(t, fedSeed(), Options{})
	tok := g.userToken(t, fedAdminUPN)
	_, _, a := g.call(t, tok, "POST", "domains/contoso.example.test/federationConfiguration", fedBody(t, contosoFedIs, nil))
	_, _, b := g.call(t, tok, "POST", "domains/second.example.test/federationConfiguration", fedBody(t, "http://second.example.test/adfs/services/trust", nil))
	path := "domains/second.example.test/federationConfiguration/" + b["id"].(string)
	tests := []struct {
		name string
		body map[string]any
		msg  string
	}{
		{"issuer of another domain", map[string]any{"issuerUri": contosoFedIs}, "Another object with the same value for property issuerUri already exists."},
		{"empty signing certificate", map[string]any{"signingCertificate": ""}, "Invalid value specified for property 'signingCertificate' of resource 'InternalDomainFederation'."},
		{"protocol", map[string]any{"preferredAuthenticationProtocol": "WS-Fed"}, "Invalid value specified for property 'preferredAuthenticationProtocol' of resource 'InternalDomainFederation'."},
	}
	for _, tt := range tests {
		st, _, body := g.call(t, tok, "PATCH", path, tt.body)
		if _, msg, _ := errorOf(body); st != 400 || msg != tt.msg {
			t.Errorf("%s: = %d %q", tt.name, st, msg)
		}
	}
	_, _, now := g.call(t, tok, "GET", path, nil)
	if now["issuerUri"] != b["issuerUri"] || now["signingCertificate"] != b["signingCertificate"] || now["preferredAuthenticationProtocol"] != "wsFed" {
		t.Errorf("configuration changed by refused updates: %v", now)
	}
	if st, _, _ := g.call(t, tok, "PATCH", "domains/contoso.example.test/federationConfiguration/"+b["id"].(string), map[string]any{"displayName": "x"}); st != 404 {
		t.Errorf("PATCH of another domain's configuration id = %d", st)
	}
	_ = a
}

func TestFederationConfigurationRoles(t *testing.T) {
	seed := fedSeed()
	seed.Users = append(seed.Users,
		SeedAccount{UserPrincipalName: "reader@contoso.onmicrosoft.com", Password: "Passw0rd!reader", Roles: []string{RoleGlobalReader}},
		SeedAccount{UserPrincipalName: "dna@contoso.onmicrosoft.com", Password: "Passw0rd!dna", Roles: []string{RoleDomainNameAdministrator}})
	tests := []struct {
		name        string
		token       func(g *graphEnv) string
		read, write bool
	}{
		{"Hybrid Identity Administrator alone", func(g *graphEnv) string { return g.userToken(t, "hybrid.admin@contoso.onmicrosoft.com") }, true, false},
		{"Hybrid Identity + Domain Name Administrator", func(g *graphEnv) string { return g.userToken(t, fedAdminUPN) }, true, true},
		{"Domain Name Administrator", func(g *graphEnv) string { return g.userToken(t, "dna@contoso.onmicrosoft.com") }, true, true},
		{"Global Administrator", func(g *graphEnv) string { return g.userToken(t, "global.admin@contoso.onmicrosoft.com") }, true, true},
		{"Global Reader", func(g *graphEnv) string { return g.userToken(t, "reader@contoso.onmicrosoft.com") }, true, false},
		{"no role", func(g *graphEnv) string { return g.userToken(t, "ops.user@contoso.onmicrosoft.com") }, false, false},
		{"app, Directory.ReadWrite.All", func(g *graphEnv) string { return g.appToken(t, "a", "Directory.ReadWrite.All") }, true, false},
		{"app, Domain-InternalFederation.ReadWrite.All", func(g *graphEnv) string { return g.appToken(t, "a", "Domain-InternalFederation.ReadWrite.All") }, true, true},
		{"app, Domain.ReadWrite.All", func(g *graphEnv) string { return g.appToken(t, "a", "Domain.ReadWrite.All") }, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGraphEnv(t, seed, Options{})
			tok := tt.token(g)
			st, _, body := g.call(t, tok, "POST", "domains/contoso.example.test/federationConfiguration", fedBody(t, contosoFedIs, nil))
			if tt.write != (st == 201) {
				t.Fatalf("create = %d %v", st, body)
			}
			if !tt.write {
				if code, msg, _ := errorOf(body); st != 403 || code != "Authorization_RequestDenied" || msg != "Insufficient privileges to complete the operation." {
					t.Errorf("refused create = %d %s %q", st, code, msg)
				}
				if at := authType(t, g, g.userToken(t, fedAdminUPN), "contoso.example.test"); at != "Managed" {
					t.Errorf("refused create left the domain %s", at)
				}
				// Something to read and to try to delete.
				_, _, body = g.call(t, g.userToken(t, fedAdminUPN), "POST", "domains/contoso.example.test/federationConfiguration", fedBody(t, contosoFedIs, nil))
			}
			id, _ := body["id"].(string)
			if st, _, _ := g.call(t, tok, "GET", "domains/contoso.example.test/federationConfiguration/"+id, nil); tt.read != (st == 200) {
				t.Errorf("get = %d", st)
			}
			if st, _, _ := g.call(t, tok, "DELETE", "domains/contoso.example.test/federationConfiguration/"+id, nil); tt.write != (st == 204) {
				t.Errorf("delete = %d", st)
			}
		})
	}
}

func TestDomainAuthenticationTypeUpdate(t *testing.T) {
	g := newGraphEnv(t, fedSeed(), Options{})
	tok := g.userToken(t, fedAdminUPN)
	st, _, body := g.call(t, tok, "PATCH", "domains/second.example.test", map[string]any{"authenticationType": "Federated"})
	if code, msg, _ := errorOf(body); st != 400 || code != "Request_BadRequest" || msg != "Changing authenticationType from Managed to Federated is currently not supported." {
		t.Errorf("Managed → Federated = %d %s %q", st, code, msg)
	}
	if at := authType(t, g, tok, "second.example.test"); at != "Managed" {
		t.Errorf("after a refused PATCH: %s", at)
	}
	if st, _, body := g.call(t, tok, "PATCH", "domains/second.example.test", map[string]any{"isDefault": true}); st != 501 {
		t.Errorf("PATCH isDefault = %d %v, want 501", st, body)
	}
	if st, _, _ := g.call(t, tok, "POST", "domains/contoso.example.test/federationConfiguration", fedBody(t, contosoFedIs, nil)); st != 201 {
		t.Fatalf("create = %d", st)
	}
	if st, _, body := g.call(t, tok, "PATCH", "domains/contoso.example.test", map[string]any{"authenticationType": "Managed"}); st != 204 {
		t.Fatalf("Federated → Managed = %d %v", st, body)
	}
	if at := authType(t, g, tok, "contoso.example.test"); at != "Managed" {
		t.Errorf("after Federated → Managed: %s", at)
	}
	if st, _, _ := g.call(t, tok, "GET", "domains/contoso.example.test/federationConfiguration", nil); st != 404 {
		t.Errorf("configuration after Federated → Managed = %d", st)
	}
	if st, _, _ := g.call(t, g.userToken(t, "hybrid.admin@contoso.onmicrosoft.com"), "PATCH", "domains/contoso.example.test", map[string]any{"authenticationType": "Managed"}); st != http.StatusForbidden {
		t.Errorf("Hybrid Identity Administrator PATCH = %d", st)
	}
}

func TestSeedFederation(t *testing.T) {
	cert := testCertificate(t, "seed")
	fed := &Federation{IssuerURI: "http://fs.example.test/adfs/services/trust", PassiveSignInURI: "https://fs.example.test/adfs/ls",
		SigningCertificate: cert, PreferredAuthenticationProtocol: ProtocolWSFed}
	tests := []struct {
		name    string
		domains []SeedDomain
		wantErr string
	}{
		{"verified", []SeedDomain{{Name: "fs.example.test", Verified: true, Federation: fed}}, ""},
		{"unverified", []SeedDomain{{Name: "fs.example.test", Federation: fed}}, "not verified"},
		{"default", []SeedDomain{{Name: "fs.example.test", Verified: true, Default: true, Federation: fed}}, "default domain"},
		{"bad certificate", []SeedDomain{{Name: "fs.example.test", Verified: true, Federation: &Federation{IssuerURI: "x", PassiveSignInURI: "https://x/", SigningCertificate: "x"}}}, "signingCertificate"},
		{"same issuer twice", []SeedDomain{{Name: "a.example.test", Verified: true, Federation: fed}, {Name: "b.example.test", Verified: true, Federation: fed}}, "same federation issuerUri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultSeed()
			s.Domains = tt.domains
			_, err := New(s, Options{})
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("New = %v, want %q", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			g := newGraphEnv(t, s, Options{})
			tok := g.userToken(t, fedAdminUPN)
			if at := authType(t, g, tok, "fs.example.test"); at != "Federated" {
				t.Errorf("seeded federated domain is %s", at)
			}
			st, _, list := g.call(t, tok, "GET", "domains/fs.example.test/federationConfiguration", nil)
			if vals, _ := list["value"].([]any); st != 200 || len(vals) != 1 || vals[0].(map[string]any)["signingCertificate"] != cert {
				t.Errorf("seeded configuration = %d %v", st, list)
			}
		})
	}
}
