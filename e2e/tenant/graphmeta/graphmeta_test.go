package graphmeta

import (
	"regexp"
	"sort"
	"strings"
	"testing"
)

func TestProperties(t *testing.T) {
	type want struct {
		typ, prop, ptype      string
		coll, ro, nav, exists bool
	}
	cases := []want{
		// user: writable
		{"user", "userPrincipalName", "Edm.String", false, false, false, true},
		{"user", "USERPRINCIPALNAME", "Edm.String", false, false, false, true}, // case-insensitive
		{"user", "mail", "Edm.String", false, false, false, true},
		{"user", "onPremisesImmutableId", "Edm.String", false, false, false, true},
		{"user", "onPremisesExtensionAttributes", "microsoft.graph.onPremisesExtensionAttributes", false, false, false, true},
		{"user", "passwordProfile", "microsoft.graph.passwordProfile", false, false, false, true},
		{"user", "accountEnabled", "Edm.Boolean", false, false, false, true},
		{"user", "businessPhones", "Edm.String", true, false, false, true}, // "Read-only for users synced ..." is conditional
		{"user", "otherMails", "Edm.String", true, false, false, true},
		{"user", "onPremisesProvisioningErrors", "microsoft.graph.onPremisesProvisioningError", true, false, false, true},
		// user: read-only
		{"user", "id", "Edm.String", false, true, false, true}, // entity's key, inherited
		{"user", "proxyAddresses", "Edm.String", true, true, false, true},
		{"user", "createdDateTime", "Edm.DateTimeOffset", false, true, false, true},
		{"user", "imAddresses", "Edm.String", true, true, false, true},
		{"user", "onPremisesSyncEnabled", "Edm.Boolean", false, true, false, true},
		{"user", "onPremisesDistinguishedName", "Edm.String", false, true, false, true},
		{"user", "onPremisesSecurityIdentifier", "Edm.String", false, true, false, true},
		{"user", "onPremisesUserPrincipalName", "Edm.String", false, true, false, true},
		{"user", "onPremisesLastSyncDateTime", "Edm.DateTimeOffset", false, true, false, true},
		{"user", "securityIdentifier", "Edm.String", false, true, false, true},
		{"user", "assignedPlans", "microsoft.graph.assignedPlan", true, true, false, true},
		// user: navigation, and what v1.0 does not have
		{"user", "memberOf", "microsoft.graph.directoryObject", true, true, true, true},
		{"user", "manager", "microsoft.graph.directoryObject", false, true, true, true},
		{"user", "onPremisesSipInfo", "", false, false, false, false}, // beta only
		// group
		{"group", "members", "microsoft.graph.directoryObject", true, false, true, true},
		{"group", "owners", "microsoft.graph.directoryObject", true, false, true, true},
		{"group", "mail", "Edm.String", false, true, false, true},
		{"group", "proxyAddresses", "Edm.String", true, true, false, true},
		{"group", "securityIdentifier", "Edm.String", false, true, false, true},
		{"group", "onPremisesSyncEnabled", "Edm.Boolean", false, true, false, true},
		{"group", "displayName", "Edm.String", false, false, false, true},
		{"group", "mailEnabled", "Edm.Boolean", false, false, false, true},
		{"group", "groupTypes", "Edm.String", true, false, false, true},
		// device: v1.0 has no createdDateTime
		{"device", "createdDateTime", "", false, false, false, false},
		{"device", "registrationDateTime", "Edm.DateTimeOffset", false, true, false, true},
		{"device", "deviceId", "Edm.String", false, false, false, true},
		{"device", "alternativeSecurityIds", "microsoft.graph.alternativeSecurityId", true, false, false, true},
		{"device", "deletedDateTime", "Edm.DateTimeOffset", false, false, false, true}, // from directoryObject
		// the rest
		{"organization", "verifiedDomains", "microsoft.graph.verifiedDomain", true, false, false, true},
		{"organization", "onPremisesLastSyncDateTime", "Edm.DateTimeOffset", false, true, false, true},
		{"onPremisesDirectorySynchronization", "features", "microsoft.graph.onPremisesDirectorySynchronizationFeature", false, false, false, true},
		{"onPremisesDirectorySynchronization", "configuration", "microsoft.graph.onPremisesDirectorySynchronizationConfiguration", false, false, false, true},
		{"onPremisesDirectorySynchronizationFeature", "passwordWritebackEnabled", "Edm.Boolean", false, false, false, true},
		{"onPremisesDirectorySynchronizationFeature", "groupWriteBackEnabled", "Edm.Boolean", false, false, false, true},
		{"domain", "id", "Edm.String", false, true, false, true},
		{"domain", "isVerified", "Edm.Boolean", false, false, false, true},
		{"domain", "verificationDnsRecords", "microsoft.graph.domainDnsRecord", true, true, true, true},
		{"domainDnsTxtRecord", "text", "Edm.String", false, false, false, true},
		{"domainDnsTxtRecord", "label", "Edm.String", false, false, false, true}, // from domainDnsRecord
		{"domainDnsMxRecord", "mailExchange", "Edm.String", false, false, false, true},
		{"internalDomainFederation", "issuerUri", "Edm.String", false, false, false, true},   // from samlOrWsFedProvider
		{"internalDomainFederation", "displayName", "Edm.String", false, false, false, true}, // from identityProviderBase
		{"application", "appId", "Edm.String", false, true, false, true},
		{"application", "extensionProperties", "microsoft.graph.extensionProperty", true, true, true, true}, // "Read-only. Nullable.", though POST adds to it
		{"extensionProperty", "targetObjects", "Edm.String", true, false, false, true},
		{"servicePrincipal", "appId", "Edm.String", false, false, false, true},
		{"passwordCredential", "secretText", "Edm.String", false, true, false, true},
		{"unifiedRoleAssignment", "principalId", "Edm.String", false, false, false, true},
		{"directoryRole", "roleTemplateId", "Edm.String", false, false, false, true},
	}
	for _, c := range cases {
		ty := Lookup(c.typ)
		if ty == nil {
			t.Fatalf("Lookup(%q) = nil", c.typ)
		}
		p, ok := ty.Property(c.prop)
		if ok != c.exists {
			t.Errorf("%s.Property(%q): ok = %v, want %v", c.typ, c.prop, ok, c.exists)
			continue
		}
		if !ok {
			continue
		}
		if !strings.EqualFold(p.Name, c.prop) || p.Type != c.ptype || p.Collection != c.coll || p.ReadOnly != c.ro || p.Navigation != c.nav {
			t.Errorf("%s.%s = %+v, want type %s collection %v read-only %v navigation %v", c.typ, c.prop, p, c.ptype, c.coll, c.ro, c.nav)
		}
	}
}

func TestLookup(t *testing.T) {
	if Lookup("nonesuch") != nil || Lookup("microsoft.graph.nonesuch") != nil || Lookup("") != nil {
		t.Error("Lookup of a type not in the table is not nil")
	}
	u := Lookup("user")
	if u == nil || Lookup("microsoft.graph.user") != u || Lookup("#microsoft.graph.user") != u {
		t.Fatal("user is not found by short, full and @odata.type name alike")
	}
	if u.Name != "microsoft.graph.user" || u.ShortName() != "user" || u.Base != "microsoft.graph.directoryObject" || u.Complex || u.Enum || !u.Open {
		t.Errorf("user = %+v", u)
	}
	if p := Lookup("passwordProfile"); p == nil || !p.Complex || p.Base != "" {
		t.Errorf("passwordProfile = %+v", p)
	}
	if e := Lookup("entity"); e == nil || !e.Abstract || e.Base != "" {
		t.Errorf("entity = %+v", e)
	}
	e := Lookup("authenticationProtocol")
	if e == nil || !e.Enum || len(e.Properties()) != 0 || !contains(e.Members, "saml") || !contains(e.Members, "wsFed") {
		t.Errorf("authenticationProtocol = %+v", e)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestIs(t *testing.T) {
	cases := []struct {
		typ, name string
		want      bool
	}{
		{"user", "user", true},
		{"user", "directoryObject", true},
		{"user", "microsoft.graph.entity", true},
		{"user", "group", false},
		{"group", "directoryObject", true},
		{"domainDnsTxtRecord", "domainDnsRecord", true},
		{"domainDnsRecord", "domainDnsTxtRecord", false},
		{"internalDomainFederation", "samlOrWsFedProvider", true},
		{"internalDomainFederation", "identityProviderBase", true},
		{"internalDomainFederation", "directoryObject", false},
		{"unifiedRoleAssignment", "entity", true},
		{"passwordProfile", "entity", false},
	}
	for _, c := range cases {
		if got := Lookup(c.typ).Is(c.name); got != c.want {
			t.Errorf("%s.Is(%q) = %v, want %v", c.typ, c.name, got, c.want)
		}
	}
}

func TestPropertiesOrder(t *testing.T) {
	ps := Lookup("user").Properties()
	if len(ps) == 0 || ps[0].Name != "id" {
		t.Fatalf("user's properties do not start with entity's id: %v", ps[:1])
	}
	if ps[1].Name != "deletedDateTime" {
		t.Errorf("user's second property is %s, want directoryObject's deletedDateTime", ps[1].Name)
	}
	seen := map[string]bool{}
	for _, p := range ps {
		k := strings.ToLower(p.Name)
		if seen[k] {
			t.Errorf("user has %s twice", p.Name)
		}
		seen[k] = true
		if q, ok := Lookup("user").Property(p.Name); !ok || q != p {
			t.Errorf("Property(%q) = %+v, %v; Properties has %+v", p.Name, q, ok, p)
		}
	}
	// the fixed part of Properties is not shared with the table
	ps[0].Name = "changed"
	if Lookup("user").Properties()[0].Name != "id" {
		t.Error("Properties returns the table's own slice")
	}
}

func TestSource(t *testing.T) {
	hex40 := regexp.MustCompile(`^[0-9a-f]{40}$`)
	if !hex40.MatchString(Source.Commit) {
		t.Errorf("Source.Commit = %q, want 40 hex digits", Source.Commit)
	}
	if Source.Repository != "https://github.com/microsoftgraph/msgraph-metadata" || !strings.HasPrefix(Source.Path, "clean_v10_metadata/") {
		t.Errorf("Source = %+v", Source)
	}
	if Descriptions.Repository != "" && !hex40.MatchString(Descriptions.Commit) {
		t.Errorf("Descriptions = %+v", Descriptions)
	}
}

// The types the emulator serves are all there, with their bases and the
// closure of their structural properties' complex and enum types.
func TestCoverage(t *testing.T) {
	served := []string{
		"organization", "domain", "domainDnsRecord", "domainDnsTxtRecord", "domainDnsMxRecord",
		"user", "group", "orgContact", "device", "directoryObject", "directoryRole",
		"unifiedRoleAssignment", "unifiedRoleDefinition", "application", "extensionProperty",
		"servicePrincipal", "onPremisesDirectorySynchronization", "internalDomainFederation",
		"samlOrWsFedProvider", "identityProviderBase", "entity",
		"passwordProfile", "onPremisesDirectorySynchronizationFeature", "onPremisesDirectorySynchronizationConfiguration",
		"verifiedDomain", "assignedPlan", "onPremisesExtensionAttributes", "alternativeSecurityId",
	}
	for _, n := range served {
		if Lookup(n) == nil {
			t.Errorf("%s is not in the table", n)
		}
	}
	types := Types()
	if !sort.SliceIsSorted(types, func(i, j int) bool { return types[i].Name < types[j].Name }) {
		t.Error("Types are not sorted by name")
	}
	for _, ty := range types {
		if ty.Base != "" && Lookup(ty.Base) == nil {
			t.Errorf("%s: base %s is not in the table", ty.Name, ty.Base)
		}
		for _, p := range ty.Properties() {
			if p.Navigation || strings.HasPrefix(p.Type, "Edm.") {
				continue
			}
			if Lookup(p.Type) == nil {
				t.Errorf("%s.%s: type %s is not in the table", ty.Name, p.Name, p.Type)
			} else if pt := Lookup(p.Type); !pt.Enum && !pt.Complex {
				t.Errorf("%s.%s: structural property of entity type %s", ty.Name, p.Name, p.Type)
			}
		}
	}
}
