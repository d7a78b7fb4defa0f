package directory

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// Fuzz targets for what this package builds from typed text (LDAP filters,
// bind names, DNs) and parses from the DC (SIDs, GUIDs, security descriptors,
// ranged attribute names). They need no forest: `make fuzz` runs them with
// -short, which keeps TestMain from starting one.

// sameShape compiles got and ref and walks both: the filter built from typed
// text must have the very structure of the one built from harmless
// placeholders (same operators, attributes and number of assertions), and
// every assertion value that holds a placeholder in ref must hold exactly
// what want maps it to. So typed text is only ever one literal value: it can
// never add a term, close a parenthesis or turn an equality into a wildcard.
func sameShape(t *testing.T, got, ref string, want map[string]string) {
	t.Helper()
	gp, err := ldap.CompileFilter(got)
	if err != nil {
		t.Fatalf("filter %q does not compile: %v", got, err)
	}
	rp, err := ldap.CompileFilter(ref)
	if err != nil {
		t.Fatalf("reference filter %q does not compile: %v", ref, err)
	}
	var walk func(g, r *ber.Packet, path string)
	walk = func(g, r *ber.Packet, path string) {
		if g.ClassType != r.ClassType || g.TagType != r.TagType || g.Tag != r.Tag || len(g.Children) != len(r.Children) {
			t.Fatalf("filter %q differs from %q at %s: tag %d/%d, %d/%d children", got, ref, path, g.Tag, r.Tag, len(g.Children), len(r.Children))
		}
		if len(r.Children) == 0 {
			rv, gv := r.Data.String(), g.Data.String()
			if w, ok := want[rv]; ok {
				if gv != w {
					t.Fatalf("filter %q holds %q at %s, want the typed %q", got, gv, path, w)
				}
			} else if gv != rv {
				t.Fatalf("filter %q holds %q at %s where %q has %q", got, gv, path, ref, rv)
			}
			return
		}
		for i := range r.Children {
			walk(g.Children[i], r.Children[i], fmt.Sprintf("%s/%d", path, i))
		}
	}
	walk(gp, rp, "")
}

var filterSeeds = []string{"", "Sales", "  HR  ", "*", "a*b", ")(cn=*", "*)(|(objectClass=*", `\2a`, `\`, "\x00", "Zürich", "\xff\xfe",
	"adfs-svc$", "gmsa_adfs$", "svc@contoso.com", "HOST/sts.contoso.com", "a)(b", "(", ")"}

// FuzzFilters: what is typed into the group search box of Group filtering
// (FindGroups), as the AD FS service account (FindAccount) and as the
// federation service name (SPNOwners).
func FuzzFilters(f *testing.F) {
	for i, s := range filterSeeds {
		f.Add(s, filterSeeds[(i+3)%len(filterSeeds)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if p := strings.TrimSpace(a); p == "" {
			// An empty prefix is "any group" (the page never sends one).
			sameShape(t, groupsFilter(a), "(&(objectCategory=group)(|(cn=*)(name=*)(sAMAccountName=*)))", nil)
		} else {
			sameShape(t, groupsFilter(a), groupsFilter("x"), map[string]string{"x": p})
		}

		user, upn := a, b
		want := map[string]string{"u1": user, "u1$": strings.TrimSuffix(user, "$") + "$"}
		ref := accountFilter("u1", "")
		if upn != "" {
			want["u2@d"] = upn
			ref = accountFilter("u1", "u2@d")
		}
		if user == "" {
			// The person term then holds an empty value (FindAccount refuses
			// an empty name before; the filter still has the same shape).
			delete(want, "u1")
			ref = strings.Replace(ref, "(sAMAccountName=u1)", "(sAMAccountName=)", 1)
		}
		sameShape(t, accountFilter(user, upn), ref, want)

		if strings.TrimSpace(a) == "" || strings.TrimSpace(b) == "" {
			return // SPNOwners refuses an empty SPN before building the filter
		}
		sameShape(t, spnsFilter([]string{a, b}), spnsFilter([]string{"s1", "s2"}),
			map[string]string{"s1": strings.TrimSpace(a), "s2": strings.TrimSpace(b)})
	})
}

// FuzzParseUser: the user name typed on the Directories page, and the filter
// that later finds that account from its bind name (BoundUser).
func FuzzParseUser(f *testing.F) {
	for _, s := range []struct{ in, forest string }{
		{`FABRIKAM\syncuser`, "fabrikam.com"}, {"syncuser@fabrikam.com", "fabrikam.com"}, {`child.fabrikam.com\admin`, "fabrikam.com"},
		{"  jane.doe@contoso.local  ", ""}, {"Zoë@corp.example.test", ""}, {`FABRIKAM\a\b`, "f.com"}, {"a@b@c.com", "f.com"},
		{`x)(cn=*\y`, "f.com"}, {"*@f.com", "f.com"}, {"a\nb@f.com", "f.com"}, {`DOM\u`, "a@b"},
	} {
		f.Add(s.in, s.forest)
	}
	f.Fuzz(func(t *testing.T, in, forest string) {
		bind, nb, err := parseUser(in, forest)
		if err != nil {
			var de *Error
			if !errors.Is(err, ErrInvalidInput) || !errors.As(err, &de) || de.Msg == "" {
				t.Fatalf("parseUser(%q, %q): %v, want a worded ErrInvalidInput", in, forest, err)
			}
			return
		}
		if bind == "" || strings.ContainsAny(bind, "\x00\r\n") || !strings.Contains(bind, "@") {
			t.Fatalf("parseUser(%q, %q) = %q", in, forest, bind)
		}
		if dom, _, _ := strings.Cut(strings.TrimSpace(in), `\`); nb != "" && !strings.EqualFold(nb, strings.TrimSpace(dom)) {
			t.Fatalf("parseUser(%q, %q): NetBIOS name %q", in, forest, nb)
		}
		sam, _, _ := strings.Cut(bind, "@")
		sameShape(t, bindNameFilter(bind), bindNameFilter("b1@d"), map[string]string{"b1@d": bind, "b1": sam})
	})
}

// FuzzDN: a name made into an RDN with ldap.EscapeDN under a parent DN reads
// back as that one name under that parent, with parentDN and rdnValue (the
// OU tree) and with ldap.ParseDN.
func FuzzDN(f *testing.F) {
	for _, name := range []string{"Sales, EMEA", "R+D", `"Quoted"`, "Zürich Ünïcode", `back\slash`, " lead", "trail ", "#hash",
		"semi;colon", "a=b", "<angle>", "\x00", "x\xff"} {
		f.Add(name, "OU=Staff,DC=corp,DC=example,DC=test")
	}
	f.Add("Users", `OU=Sales\, EMEA,DC=x`)
	f.Fuzz(func(t *testing.T, name, parent string) {
		pp, err := ldap.ParseDN(parent)
		if err != nil || len(pp.RDNs) == 0 || strings.ContainsAny(parent, `";`) || name == "" || !utf8Valid(name) {
			// Only parents as a DC writes them (parsed, unquoted, commas
			// only), and names an OU can have (not empty, UTF-8).
			return
		}
		dn := "OU=" + ldap.EscapeDN(name) + "," + parent
		p, err := ldap.ParseDN(dn)
		if err != nil {
			t.Fatalf("%q → %q does not parse: %v", name, dn, err)
		}
		if len(p.RDNs) != len(pp.RDNs)+1 {
			t.Fatalf("%q → %q: %d RDNs, want %d", name, dn, len(p.RDNs), len(pp.RDNs)+1)
		}
		if got := rdnValue(dn); got != name {
			t.Fatalf("rdnValue(%q) = %q, want %q", dn, got, name)
		}
		if got := parentDN(dn); got != parent {
			t.Fatalf("parentDN(%q) = %q, want %q", dn, got, parent)
		}
	})
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// FuzzIDs: SIDs (text and binary) and GUIDs read back as what they were.
func FuzzIDs(f *testing.F) {
	for _, s := range []string{"S-1-5-18", "S-1-5-32-544", "S-1-1-0", "S-1-5-21-3623811015-3361044348-30300820-1013", "", "S-1",
		"s-1-5-007", "S-1-5-4294967296", "S-255-281474976710655-1", "bf967aba-0de6-11d0-a285-00aa003049e2",
		"{1131F6AA-9C07-11D1-F79F-00C04FC2DCD2}", "bf967aba-0de6-11d0-a285-00aa003049eZ", "+f967aba-0de6-11d0-a285-00aa003049e2"} {
		f.Add(s, []byte(nil))
	}
	f.Add("", []byte{1, 1, 0, 0, 0, 0, 0, 5, 0x12, 0, 0, 0})
	f.Add("", []byte{1, 2, 0, 0, 0, 0, 0, 5, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, text string, raw []byte) {
		if s, err := ParseSID(text); err == nil {
			back, err := ParseSID(s.String())
			if err != nil || !back.Equal(s) {
				t.Fatalf("ParseSID(%q) = %x, String %q, read back %x, %v", text, []byte(s), s.String(), []byte(back), err)
			}
			if b, err := SIDFromBytes(s); err != nil || !b.Equal(s) {
				t.Fatalf("ParseSID(%q) = %x, which SIDFromBytes refuses: %v", text, []byte(s), err)
			}
		}
		if s, err := SIDFromBytes(raw); err == nil {
			if !bytes.Equal(s, raw) {
				t.Fatalf("SIDFromBytes(%x) = %x", raw, []byte(s))
			}
			back, err := ParseSID(s.String())
			if err != nil || !back.Equal(s) {
				t.Fatalf("SIDFromBytes(%x): String %q reads back as %x, %v", raw, s.String(), []byte(back), err)
			}
		}
		if g, err := ParseGUID(text); err == nil {
			s := g.String()
			if len(s) != 36 || s != strings.ToLower(s) || !strings.EqualFold(strings.Trim(text, "{}"), s) {
				t.Fatalf("ParseGUID(%q).String() = %q", text, s)
			}
			if back, err := ParseGUID(s); err != nil || back != g {
				t.Fatalf("ParseGUID(%q) = %x; its text %q reads back as %x, %v", text, g, s, back, err)
			}
		}
	})
}

// FuzzSecurityDescriptor: a descriptor read from the DC and written back
// (the grants of the sync account) is a fixed point after one round: what
// Bytes writes, ParseSecurityDescriptor reads back to the same bytes.
func FuzzSecurityDescriptor(f *testing.F) {
	good := handcraftedSD()
	f.Add(good)
	f.Add(good[:60])
	f.Add([]byte{1, 0, 0x04, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	unknown := append([]byte(nil), good...)
	unknown[20+8] = 0x11 // first ACE of an unmodelled type: kept byte for byte
	f.Add(unknown)
	f.Fuzz(func(t *testing.T, raw []byte) {
		sd, err := ParseSecurityDescriptor(raw)
		if err != nil {
			return
		}
		b1, err := sd.Bytes()
		if err != nil {
			t.Fatalf("a parsed descriptor does not serialize: %v\n%x", err, raw)
		}
		sd2, err := ParseSecurityDescriptor(b1)
		if err != nil {
			t.Fatalf("a written descriptor does not parse back: %v\n%x\n%x", err, raw, b1)
		}
		b2, err := sd2.Bytes()
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("round trip changed the descriptor (%v):\n%x\n%x", err, b1, b2)
		}
		if (sd.DACL == nil) != (sd2.DACL == nil) || (sd.DACL != nil && len(sd.DACL.ACEs) != len(sd2.DACL.ACEs)) {
			t.Fatalf("round trip changed the DACL: %+v → %+v", sd.DACL, sd2.DACL)
		}
	})
}

// FuzzParseRangeAttr: the attribute names of ranged member reads.
func FuzzParseRangeAttr(f *testing.F) {
	for _, s := range []string{"member;range=0-1499", "member;range=1500-*", "Member;Range=0-*", "member;binary;range=3000-4499", "member",
		"member;range=", "member;range=5-2", "member;range=a-b", "member;range=-1-5", "member;range=+1-5", "member;range=0-99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		attr, first, last, final, ok := parseRangeAttr(name)
		if base, _, _ := strings.Cut(name, ";"); attr != base {
			t.Fatalf("parseRangeAttr(%q): attribute %q", name, attr)
		}
		if !ok {
			if first != 0 || last != 0 || final {
				t.Fatalf("parseRangeAttr(%q) = %d %d %v, not ok", name, first, last, final)
			}
			return
		}
		// A window always moves forward: DirectMemberCount's next start is last+1.
		if first < 0 || (final && last != -1) || (!final && last < first) {
			t.Fatalf("parseRangeAttr(%q) = %d %d %v", name, first, last, final)
		}
		hi := "*"
		if !final {
			hi = fmt.Sprint(last)
		}
		a2, f2, l2, fin2, ok2 := parseRangeAttr(fmt.Sprintf("%s;range=%d-%s", attr, first, hi))
		if a2 != attr || f2 != first || l2 != last || fin2 != final || !ok2 {
			t.Fatalf("parseRangeAttr(%q) does not read back", name)
		}
	})
}
