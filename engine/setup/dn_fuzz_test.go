package setup

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// FuzzDNKey checks the DN handling of Domain and OU filtering, which takes
// DNs from the page's form (the OUs cleared) and from the DC (every imported
// object, against the containers Configure recorded):
//
//   - splitRDNs cuts a DN into as many RDNs as ldap.ParseDN finds;
//   - DNKey ignores ASCII case and is idempotent (Configure records keys,
//     KnownSet keys them again);
//   - NewAbove's fast path for plainly written DNs answers as the general
//     path, written here from its definition with DNKey;
//   - an excluded DN, and anything below it, is not selected.
func FuzzDNKey(f *testing.F) {
	known := strings.Join([]string{"dc=corp,dc=test", "ou=staff,dc=corp,dc=test", `ou=sales\, emea,ou=staff,dc=corp,dc=test`}, "\n")
	for _, s := range []struct{ dn, domain string }{
		{"CN=A,OU=Staff,DC=corp,DC=test", "DC=corp,DC=test"},
		{`CN=B,OU=Sales\2C EMEA,OU=Staff,DC=corp,DC=test`, "DC=corp,DC=test"},
		{"CN=C,DC=corp,DC=test", "DC=corp,DC=test"},
		{"CN=D,OU=New,OU=Staff,DC=corp,DC=test", "DC=corp,DC=test"},
		{"CN=E,OU=Inner,OU=New,DC=corp,DC=test", "dc=corp,dc=test"},
		{"CN=F,OU=New,DC=other,DC=test", "DC=corp,DC=test"},
		{"DC=corp,DC=test", "DC=corp,DC=test"},
		{`OU=Zürich,OU=Sales\, EMEA,DC=corp,DC=test`, "DC=corp,DC=test"},
		{`CN=\"Quoted\",OU=Staff,DC=corp,DC=test`, "DC=corp,DC=test"},
		{`CN=x,OU=Z\C3\BCRICH,DC=corp,DC=test`, "DC=CORP,DC=test"},
		{"CN=a+SN=b,OU=Staff,DC=corp,DC=test", "DC=corp,DC=test"},
		{"CN=y, OU=Staff ,DC=corp,DC=test", "DC=corp,DC=test"},
	} {
		f.Add(s.dn, s.domain, known)
	}
	f.Fuzz(func(t *testing.T, dn, domainDN, knownText string) {
		// For DNs as a DC writes them (parsed by go-ldap, unquoted, commas
		// only): splitRDNs against go-ldap, and DNKey's own properties.
		if p, err := ldap.ParseDN(dn); err == nil && !strings.ContainsAny(dn, `";`) && strings.TrimSpace(dn) == dn {
			if got := splitRDNs(dn); len(got) != len(p.RDNs) {
				t.Fatalf("splitRDNs(%q) = %q: %d RDNs, ldap.ParseDN finds %d", dn, got, len(got), len(p.RDNs))
			}
			key := DNKey(dn)
			if again := DNKey(key); again != key {
				t.Fatalf("DNKey is not idempotent: %q → %q → %q", dn, key, again)
			}
			if utf8.ValidString(dn) {
				if up := DNKey(asciiUpper(dn)); up != key {
					t.Fatalf("DNKey depends on ASCII case: %q → %q, upper-cased → %q", dn, key, up)
				}
			}
		}

		k := ForestFilter{Known: strings.Split(knownText, "\n")}.KnownSet()
		if got, want := k.NewAbove(dn, domainDN), newAboveByDefinition(k, dn, domainDN); got != want {
			t.Fatalf("NewAbove(%q, %q) = %q, by definition %q (known %q)", dn, domainDN, got, want, knownText)
		}

		if dn != "" {
			ff := ForestFilter{Excluded: []string{dn}}
			if ff.Selected(dn) || ff.Selected("OU=Child,"+dn) || ff.Selected(asciiUpper(dn)) {
				t.Fatalf("excluded %q, yet it or a child is selected", dn)
			}
		}
	})
}

// newAboveByDefinition is NewAbove without the fast path: the topmost
// container strictly between dn and domainDN that k does not hold.
func newAboveByDefinition(k KnownSet, dn, domainDN string) string {
	if k == nil {
		return ""
	}
	parts := splitRDNs(dn)
	top := len(parts) - len(splitRDNs(domainDN))
	if top < 1 || DNKey(strings.Join(parts[top:], ",")) != DNKey(domainDN) {
		return ""
	}
	for i := top - 1; i >= 1; i-- {
		if c := strings.Join(parts[i:], ","); !k.Has(c) {
			return c
		}
	}
	return ""
}

func asciiUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
