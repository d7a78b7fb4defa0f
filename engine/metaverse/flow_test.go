package metaverse

import (
	"slices"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
)

// TestReadOnlyInGraph: the metaverse computes proxyAddresses and the
// on-premises properties (the object lookup shows them), and says which ones
// Graph v1.0 refuses to write, so that the export leaves them out.
func TestReadOnlyInGraph(t *testing.T) {
	cfg := baseConfig()
	u := user(corp, 1, "ann", "mail=ann@example.test", "proxyaddresses=SMTP:ann@example.test", "proxyaddresses=smtp:a@example.test")
	g := obj(corp, connector.ClassGroup, 2, "CN=Staff,OU=Groups,DC=corp,DC=example,DC=test", "grouptype=-2147483646",
		"samaccountname=Staff", "mail=staff@example.test", "proxyaddresses=SMTP:staff@example.test")
	e := sync(t, cfg, u, g)
	cloud := why(t, e, u).Cloud
	if !slices.Equal(cloud["proxyAddresses"], []string{"SMTP:ann@example.test", "smtp:a@example.test"}) || cloud["onPremisesSamAccountName"] == nil {
		t.Fatalf("computed user attributes %v: proxyAddresses and onPremisesSamAccountName should stay visible", cloud)
	}
	if gc := why(t, e, g).Cloud; !slices.Equal(gc["proxyAddresses"], []string{"SMTP:staff@example.test"}) {
		t.Fatalf("computed group attributes %v", gc)
	}
	tests := []struct {
		kind, prop string
		writable   bool
	}{
		{KindUser, "proxyAddresses", false},
		{KindUser, "onPremisesSamAccountName", false},
		{KindUser, "onPremisesUserPrincipalName", false},
		{KindUser, "onPremisesDistinguishedName", false},
		{KindUser, "onPremisesDomainName", false},
		{KindUser, "onPremisesSecurityIdentifier", false},
		{KindUser, "onPremisesImmutableId", true},
		{KindUser, "mail", true},
		{KindUser, "userPrincipalName", true},
		{KindUser, "extension_0123_division", true},
		{KindGroup, "proxyAddresses", false},
		{KindGroup, "mail", false},
		{KindGroup, "description", true},
		{KindContact, "displayName", false},
		{KindDevice, "displayName", true},
		{KindDevice, "trustType", false},
	}
	for _, tt := range tests {
		if got := GraphWritable(tt.kind, tt.prop); got != tt.writable {
			t.Errorf("GraphWritable(%s, %s) = %v, want %v", tt.kind, tt.prop, got, tt.writable)
		}
	}
}
