package metaverse

import (
	"strings"
	"testing"
)

func TestDNSDomain(t *testing.T) {
	tests := []struct{ dn, want string }{
		{"CN=user000001,OU=Staff,DC=corp,DC=example,DC=test", "corp.example.test"},
		{"cn=a, dc=Fab ,DC=EXAMPLE, dc=test", "fab.example.test"},
		{"CN=a\\,b,DC=x,DC=y", "x.y"},
		{"DC=,DC=b", ".b"},
		{"DC=Zoë,DC=TEST,", "zoë.test"},
		{"CN=no domain,OU=x", ""},
		{"", ""},
		{"DC=" + strings.Repeat("long", 30) + ",DC=test", strings.Repeat("long", 30) + ".test"},
	}
	for _, tt := range tests {
		if got := dnsDomain(tt.dn); got != tt.want {
			t.Errorf("dnsDomain(%q) = %q, want %q", tt.dn, got, tt.want)
		}
	}
}
