package directory

import (
	"bytes"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

func TestParseUser(t *testing.T) {
	cases := []struct {
		in, forest  string
		bind, nb    string
		errContains string
	}{
		{in: `FABRIKAM\syncuser`, forest: "fabrikam.com", bind: "syncuser@fabrikam.com", nb: "FABRIKAM"},
		{in: `fabrikam\syncuser`, forest: "Fabrikam.COM.", bind: "syncuser@fabrikam.com", nb: "FABRIKAM"},
		{in: `fabrikam.com\syncuser`, forest: "other.com", bind: "syncuser@fabrikam.com"},
		{in: `child.fabrikam.com\admin`, forest: "fabrikam.com", bind: "admin@child.fabrikam.com"},
		{in: "syncuser@fabrikam.com", forest: "fabrikam.com", bind: "syncuser@fabrikam.com"},
		{in: "  jane.doe@contoso.local  ", forest: "fabrikam.com", bind: "jane.doe@contoso.local"},
		{in: "Zoë@corp.example.test", forest: "", bind: "Zoë@corp.example.test"},
		{in: "", forest: "fabrikam.com", errContains: "Enter a user name"},
		{in: "syncuser", forest: "fabrikam.com", errContains: `FABRIKAM\syncuser`},
		{in: `\syncuser`, forest: "fabrikam.com", errContains: `DOMAIN\user`},
		{in: `FABRIKAM\`, forest: "fabrikam.com", errContains: `DOMAIN\user`},
		{in: `FABRIKAM\a\b`, forest: "fabrikam.com", errContains: `DOMAIN\user`},
		{in: `FABRIKAM\syncuser`, forest: "", errContains: "forest name"},
		{in: `FABRIKAM\syncuser`, forest: "fab\rrikam.com", errContains: "not a valid forest name"},
		{in: `FABRIKAM\syncuser`, forest: "a@fabrikam.com", errContains: "not a valid forest name"},
		{in: `AVERYLONGNETBIOSNAME\u`, forest: "f.com", errContains: "not a valid NetBIOS"},
		{in: `bad..name\u`, forest: "f.com", errContains: "not a valid domain name"},
		{in: "user@", forest: "f.com", errContains: `user@domain.com`},
		{in: "@f.com", forest: "f.com", errContains: `user@domain.com`},
		{in: "a@b@c.com", forest: "f.com", errContains: `user@domain.com`},
		{in: "a@bad domain.com", forest: "f.com", errContains: `user@domain.com`},
		{in: "a\nb@f.com", forest: "f.com", errContains: "not allowed"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			bind, nb, err := parseUser(c.in, c.forest)
			if c.errContains != "" {
				var de *Error
				if !errors.As(err, &de) || !errors.Is(err, ErrInvalidInput) || !strings.Contains(de.Msg, c.errContains) {
					t.Fatalf("parseUser(%q) = %q, %v; want error containing %q", c.in, bind, err, c.errContains)
				}
				return
			}
			if err != nil || bind != c.bind || nb != c.nb {
				t.Fatalf("parseUser(%q, %q) = %q %q %v; want %q %q", c.in, c.forest, bind, nb, err, c.bind, c.nb)
			}
			if b2, err := ParseUser(c.in, c.forest); err != nil || b2 != bind {
				t.Errorf("ParseUser = %q, %v", b2, err)
			}
		})
	}
}

func TestGUIDByteOrder(t *testing.T) {
	cases := []struct{ text, adBytes string }{
		// user class: schemaIDGUID bf967aba-0de6-11d0-a285-00aa003049e2
		{"bf967aba-0de6-11d0-a285-00aa003049e2", "ba7a96bfe60dd011a28500aa003049e2"},
		{"1131f6aa-9c07-11d1-f79f-00c04fc2dcd2", "aaf63111079cd111f79f00c04fc2dcd2"},
		{"00299570-246d-11d0-a768-00aa006e0529", "709529006d24d011a76800aa006e0529"},
		{"00000000-0000-0000-0000-000000000000", "00000000000000000000000000000000"},
	}
	for _, c := range cases {
		g, err := ParseGUID(c.text)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(g[:]); got != c.adBytes {
			t.Errorf("ParseGUID(%s) bytes %s, want %s", c.text, got, c.adBytes)
		}
		if g.String() != c.text {
			t.Errorf("String = %s, want %s", g, c.text)
		}
		if g2, err := ParseGUID("{" + strings.ToUpper(c.text) + "}"); err != nil || g2 != g {
			t.Errorf("braced upper-case: %v %v", g2, err)
		}
	}
	for _, bad := range []string{"", "bf967aba0de611d0a28500aa003049e2", "bf967aba-0de6-11d0-a285-00aa003049eZ", "bf967aba-0de6-11d0-a285-00aa003049e2-00"} {
		if _, err := ParseGUID(bad); err == nil {
			t.Errorf("ParseGUID(%q) accepted", bad)
		}
	}
}

func TestSID(t *testing.T) {
	cases := []struct{ text, hexBytes string }{
		{"S-1-5-18", "010100000000000512000000"},
		{"S-1-5-32-544", "01020000000000052000000020020000"},
		{"S-1-1-0", "010100000000000100000000"},
		{"S-1-5-21-3623811015-3361044348-30300820-1013",
			"010500000000000515000000c7f7fed77c7755c8945ace01f5030000"},
	}
	for _, c := range cases {
		s, err := ParseSID(c.text)
		if err != nil {
			t.Fatal(err)
		}
		if hex.EncodeToString(s) != c.hexBytes {
			t.Errorf("ParseSID(%s) = %x, want %s", c.text, []byte(s), c.hexBytes)
		}
		raw, _ := hex.DecodeString(c.hexBytes)
		back, err := SIDFromBytes(raw)
		if err != nil || back.String() != c.text {
			t.Errorf("SIDFromBytes(%s) = %s, %v", c.hexBytes, back, err)
		}
	}
	for _, bad := range []string{"", "S-1", "X-1-5", "S-1-5-x", "S-1-5-4294967296", "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16"} {
		if _, err := ParseSID(bad); err == nil {
			t.Errorf("ParseSID(%q) accepted", bad)
		}
	}
	if _, err := SIDFromBytes([]byte{1, 2, 0, 0, 0, 0, 0, 5, 1, 0, 0, 0}); err == nil {
		t.Error("truncated SID accepted")
	}
	if _, err := SIDFromBytes(append(mustSID("S-1-5-18"), 0)); err == nil {
		t.Error("SID with trailing byte accepted")
	}
}

func mustSID(s string) SID {
	v, err := ParseSID(s)
	if err != nil {
		panic(err)
	}
	return v
}

// handcraftedSD builds, byte by byte, a self-relative descriptor: owner,
// group, no SACL, and a DACL of one denied ACE, one allowed ACE, one allowed
// object ACE with both GUIDs, and one inherited allowed ACE.
func handcraftedSD() []byte {
	le16 := func(v int) []byte { return []byte{byte(v), byte(v >> 8)} }
	le32 := func(v int) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	world := []byte{1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}                      // S-1-1-0, 12 bytes
	admins := []byte{1, 2, 0, 0, 0, 0, 0, 5, 0x20, 0, 0, 0, 0x20, 2, 0, 0}   // S-1-5-32-544, 16 bytes
	system := []byte{1, 1, 0, 0, 0, 0, 0, 5, 0x12, 0, 0, 0}                  // S-1-5-18, 12 bytes
	repl, _ := hex.DecodeString("aaf63111079cd111f79f00c04fc2dcd2")          // 1131f6aa-…
	user, _ := hex.DecodeString("ba7a96bfe60dd011a28500aa003049e2")          // bf967aba-…
	deny := cat([]byte{0x01, 0x00}, le16(4+4+12), le32(0x00010000), world)   // deny DELETE to Everyone
	allow := cat([]byte{0x00, 0x02}, le16(4+4+16), le32(0x000f01ff), admins) // allow full, CI
	obj := cat([]byte{0x05, 0x0a}, le16(4+4+4+32+12), le32(0x100), le32(3), repl, user, system)
	inh := cat([]byte{0x00, 0x12}, le16(4+4+12), le32(0x00020094), system) // inherited, CI
	aces := cat(deny, allow, obj, inh)
	dacl := cat([]byte{4, 0}, le16(8+len(aces)), le16(4), []byte{0, 0}, aces)
	header := cat([]byte{1, 0}, le16(0x8004|0x1000), le32(20+len(dacl)), le32(20+len(dacl)+16), le32(0), le32(20))
	return cat(header, dacl, admins, world)
}

func TestSecurityDescriptorHandcrafted(t *testing.T) {
	raw := handcraftedSD()
	sd, err := ParseSecurityDescriptor(raw)
	if err != nil {
		t.Fatal(err)
	}
	if sd.Owner.String() != "S-1-5-32-544" || sd.Group.String() != "S-1-1-0" || sd.SACL != nil || sd.Control != 0x9004 {
		t.Errorf("header: owner %s group %s control %#x", sd.Owner, sd.Group, sd.Control)
	}
	if len(sd.DACL.ACEs) != 4 || sd.DACL.Revision != 4 {
		t.Fatalf("dacl: %+v", sd.DACL)
	}
	obj := sd.DACL.ACEs[2]
	if !obj.IsObject() || obj.Mask != 0x100 || obj.Flags != 0x0a || obj.ObjectType == nil || *obj.ObjectType != GUIDReplicatingChanges ||
		obj.InheritedObjectType == nil || *obj.InheritedObjectType != GUIDUserClass || obj.SID.String() != "S-1-5-18" {
		t.Errorf("object ace: %+v", obj)
	}
	if sd.DACL.ACEs[0].Type != AceTypeAccessDenied || !sd.DACL.ACEs[3].Inherited() {
		t.Errorf("ace kinds: %+v", sd.DACL.ACEs)
	}
	out, err := sd.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, raw) {
		t.Errorf("round trip:\n got %x\nwant %x", out, raw)
	}
}

func TestACLAdd(t *testing.T) {
	sd, err := ParseSecurityDescriptor(handcraftedSD())
	if err != nil {
		t.Fatal(err)
	}
	acct := mustSID("S-1-5-21-1-2-3-1105")
	rights := Rights{PasswordHashSync: true, ConsistencyGuid: true, PasswordWriteback: true}
	var aces []ACE
	for _, g := range grantsFor(rights) {
		aces = append(aces, g.ace(acct))
	}
	if n := sd.DACL.Add(aces...); n != 7 {
		t.Fatalf("added %d, want 7", n)
	}
	if n := sd.DACL.Add(aces...); n != 0 {
		t.Errorf("added %d duplicates", n)
	}
	got := sd.DACL.ACEs
	if len(got) != 11 {
		t.Fatalf("%d ACEs", len(got))
	}
	// deny, allow (as found), the 7 new, then the inherited one last.
	if got[0].Type != AceTypeAccessDenied || got[1].SID.String() != "S-1-5-32-544" || !got[10].Inherited() {
		t.Errorf("order: %v", got)
	}
	for i, a := range aces {
		if !got[3+i].Equal(a) {
			t.Errorf("ACE %d is %+v, want %+v", 3+i, got[3+i], a)
		}
	}
	b, err := sd.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	again, err := ParseSecurityDescriptor(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.DACL.ACEs) != 11 {
		t.Fatalf("reparsed %d ACEs", len(again.DACL.ACEs))
	}
	for i := range got {
		if !got[i].Equal(again.DACL.ACEs[i]) {
			t.Errorf("ACE %d changed in the round trip", i)
		}
	}
	// Sizes: the ACL header's size is the sum of the ACEs.
	daclOff := int(b[16]) | int(b[17])<<8
	aclSize := int(b[daclOff+2]) | int(b[daclOff+3])<<8
	if want := sd.DACL.size(); aclSize != want || int(b[daclOff+4]) != 11 {
		t.Errorf("acl size %d count %d, want %d 11", aclSize, b[daclOff+4], want)
	}
	// Each granted right is recognized by CheckRights' matcher, and only by
	// the matching grant.
	for _, g := range grantsFor(rights) {
		n := 0
		for _, a := range again.DACL.ACEs {
			if a.SID.Equal(acct) && g.satisfiedBy(a) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s satisfied by %d ACEs", g.Name, n)
		}
	}
}

func TestGrantMatching(t *testing.T) {
	sid := mustSID("S-1-5-21-1-2-3-1105")
	repl := grantsFor(Rights{})[0]
	cg := grantsFor(Rights{ConsistencyGuid: true})[1]
	guidOther := MustGUID("00000000-0000-0000-0000-000000000001")
	user := GUIDUserClass
	cases := []struct {
		name string
		g    grant
		a    ACE
		ok   bool
	}{
		{"exact", repl, repl.ace(sid), true},
		{"generic all, no object", repl, ACE{Type: AceTypeAccessAllowed, Mask: RightGenericAll, SID: sid}, true},
		{"control access on all rights", repl, ACE{Type: AceTypeAccessAllowed, Mask: RightDSControlAccess, SID: sid}, true},
		{"other right", repl, ACE{Type: AceTypeAccessAllowedObject, Mask: RightDSControlAccess, ObjectType: &guidOther, SID: sid}, false},
		{"inherit only does not apply to root", repl, ACE{Type: AceTypeAccessAllowedObject, Flags: AceFlagContainerInherit | AceFlagInheritOnly, Mask: RightDSControlAccess, ObjectType: &repl.Object, SID: sid}, false},
		{"deny never grants", repl, ACE{Type: AceTypeAccessDeniedObject, Mask: RightDSControlAccess, ObjectType: &repl.Object, SID: sid}, false},
		{"users exact", cg, cg.ace(sid), true},
		{"users: CI without object type", cg, ACE{Type: AceTypeAccessAllowedObject, Flags: AceFlagContainerInherit, Mask: RightDSReadProperty | RightDSWriteProperty, ObjectType: &cg.Object, SID: sid}, true},
		{"users: not inheritable", cg, ACE{Type: AceTypeAccessAllowedObject, Mask: RightDSReadProperty | RightDSWriteProperty, ObjectType: &cg.Object, InheritedObjectType: &user, SID: sid}, false},
		{"users: read only", cg, ACE{Type: AceTypeAccessAllowedObject, Flags: AceFlagContainerInherit, Mask: RightDSReadProperty, ObjectType: &cg.Object, SID: sid}, false},
		{"users: for groups", cg, ACE{Type: AceTypeAccessAllowedObject, Flags: AceFlagContainerInherit, Mask: RightDSWriteProperty | RightDSReadProperty, ObjectType: &cg.Object, InheritedObjectType: &guidOther, SID: sid}, false},
	}
	for _, c := range cases {
		if got := c.g.satisfiedBy(c.a); got != c.ok {
			t.Errorf("%s: %v, want %v", c.name, got, c.ok)
		}
	}
}

func TestSecurityDescriptorMalformed(t *testing.T) {
	good := handcraftedSD()
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := map[string][]byte{
		"empty":            nil,
		"short":            good[:19],
		"revision":         mut(func(b []byte) []byte { b[0] = 2; return b }),
		"absolute":         mut(func(b []byte) []byte { b[3] &^= 0x80; return b }),
		"dacl offset":      mut(func(b []byte) []byte { b[16] = 0xff; b[17] = 0xff; return b }),
		"ace size too big": mut(func(b []byte) []byte { b[20+8+2] = 0xff; return b }),
		"ace count":        mut(func(b []byte) []byte { b[20+4] = 9; return b }),
		"truncated":        good[:60],
	}
	for name, b := range cases {
		if _, err := ParseSecurityDescriptor(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Unknown ACE types are kept byte for byte.
	raw := []byte{0x11, 0, 12, 0, 1, 0, 0, 0, 0xaa, 0xbb, 0xcc, 0xdd} // mandatory label type, opaque
	a, n, err := parseACE(raw)
	if err != nil || n != 12 || !bytes.Equal(a.Raw, raw) {
		t.Fatalf("unknown ACE: %+v %d %v", a, n, err)
	}
	b, _ := a.appendTo(nil)
	if !bytes.Equal(b, raw) {
		t.Errorf("unknown ACE re-encoded as %x", b)
	}
}

func TestParseRangeAttr(t *testing.T) {
	cases := []struct {
		in          string
		attr        string
		first, last int
		final, ok   bool
	}{
		{"member;range=0-1499", "member", 0, 1499, false, true},
		{"member;range=1500-*", "member", 1500, -1, true, true},
		{"Member;Range=0-*", "Member", 0, -1, true, true},
		{"member;binary;range=3000-4499", "member", 3000, 4499, false, true},
		{"member", "member", 0, 0, false, false},
		{"member;range=", "member", 0, 0, false, false},
		{"member;range=5-2", "member", 0, 0, false, false},
		{"member;range=a-b", "member", 0, 0, false, false},
		{"member;binary", "member", 0, 0, false, false},
	}
	for _, c := range cases {
		attr, first, last, final, ok := parseRangeAttr(c.in)
		if attr != c.attr || first != c.first || last != c.last || final != c.final || ok != c.ok {
			t.Errorf("parseRangeAttr(%q) = %q %d %d %v %v", c.in, attr, first, last, final, ok)
		}
	}
}

func TestCountRangedWindow(t *testing.T) {
	vals := func(n int) []string { return make([]string, n) }
	attr := func(name string, n int) *ldap.EntryAttribute { return ldap.NewEntryAttribute(name, vals(n)) }
	cases := []struct {
		name    string
		attrs   []*ldap.EntryAttribute
		start   int
		n, next int
		done    bool
	}{
		{"first full window", []*ldap.EntryAttribute{attr("member;range=0-1499", 1500)}, 0, 1500, 1500, false},
		{"last window", []*ldap.EntryAttribute{attr("member;range=1500-*", 50)}, 1500, 50, 0, true},
		{"all in one", []*ldap.EntryAttribute{attr("member;range=0-*", 7)}, 0, 7, 0, true},
		{"server ignored range", []*ldap.EntryAttribute{attr("member", 3000)}, 0, 3000, 0, true},
		{"no members", nil, 0, 0, 0, true},
		{"other attribute first", []*ldap.EntryAttribute{attr("objectClass", 2), attr("member;range=0-999", 1000)}, 0, 1000, 1000, false},
		{"empty window", []*ldap.EntryAttribute{attr("member;range=0-1499", 0)}, 0, 0, 0, true},
	}
	for _, c := range cases {
		n, next, done := countRangedWindow(c.attrs, c.start)
		if n != c.n || next != c.next || done != c.done {
			t.Errorf("%s: %d %d %v, want %d %d %v", c.name, n, next, done, c.n, c.next, c.done)
		}
	}
}

func TestBindErrors(t *testing.T) {
	mk := func(code uint16, text string) error { return ldap.NewError(code, errors.New(text)) }
	ad := func(data string) error {
		return mk(ldap.LDAPResultInvalidCredentials, "80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error, data "+data+", v3839")
	}
	cases := []struct {
		err  error
		kind error
		msg  string
	}{
		{ad("52e"), ErrBadCredentials, "The user name or password is incorrect."},
		{ad("525"), ErrBadCredentials, "The user name or password is incorrect."},
		{ad("530"), ErrAccountRestricted, "not allowed to sign in at this time"},
		{ad("531"), ErrAccountRestricted, "not allowed to sign in from this computer"},
		{ad("532"), ErrAccountRestricted, "password of u@x.com has expired"},
		{ad("533"), ErrAccountRestricted, "is disabled"},
		{ad("701"), ErrAccountRestricted, "has expired"},
		{ad("773"), ErrAccountRestricted, "must be changed"},
		{ad("775"), ErrAccountRestricted, "is locked out"},
		{mk(ldap.LDAPResultInvalidCredentials, "no data code"), ErrBadCredentials, "incorrect"},
		{mk(ldap.LDAPResultStrongAuthRequired, "BindSimple: Transport encryption required."), ErrStrongAuthRequired, "requires strong authentication"},
		{mk(ldap.LDAPResultConfidentialityRequired, "x"), ErrStrongAuthRequired, "encrypted connection"},
	}
	for _, c := range cases {
		e := bindError(c.err, "u@x.com")
		if !errors.Is(e, c.kind) || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%v: %q (%v), want %v %q", c.err, e.Msg, e.Err, c.kind, c.msg)
		}
		var le *ldap.Error
		if !errors.As(e, &le) {
			t.Errorf("%v: cause not kept", c.err)
		}
		if strings.Contains(e.Msg, "LdapErr") || strings.Contains(e.Msg, "Result Code") {
			t.Errorf("raw LDAP text in message %q", e.Msg)
		}
	}
}

func TestTLSErrors(t *testing.T) {
	cases := []struct {
		err error
		msg string
	}{
		{x509.UnknownAuthorityError{}, "is not trusted"},
		{fmt.Errorf("tls: %w", x509.HostnameError{Certificate: &x509.Certificate{}, Host: "dc"}), "does not match the name"},
		{x509.CertificateInvalidError{Reason: x509.Expired}, "is not valid"},
		{errors.New("EOF"), "secure connection to dc:636 failed"},
	}
	for _, c := range cases {
		e := tlsError(c.err, "dc:636")
		if !errors.Is(e, ErrTLS) || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%v: %q", c.err, e.Msg)
		}
	}
}

func TestExchangeRule(t *testing.T) {
	cases := []struct {
		found []string
		want  bool
	}{
		{nil, false},
		{[]string{"mailNickname"}, false},
		{[]string{"msExchMailboxGuid"}, false},
		{[]string{"mailNickname", "msExchMailboxGuid"}, true},
		{[]string{"MAILNICKNAME", "msExchRecipientTypeDetails"}, true},
		{[]string{"msExchMailboxGuid", "msExchRecipientTypeDetails"}, false},
	}
	for _, c := range cases {
		if got := exchangeSchemaPresent(c.found); got != c.want {
			t.Errorf("%v: %v", c.found, got)
		}
	}
}

func TestAdminGroup(t *testing.T) {
	fi := ForestInfo{RootDomainNC: "DC=corp,DC=test", Domains: []Domain{
		{DNS: "corp.test", NetBIOS: "CORP", DN: "DC=corp,DC=test", SID: "S-1-5-21-1-2-3"},
		{DNS: "child.corp.test", NetBIOS: "CHILD", DN: "DC=child,DC=corp,DC=test", SID: "S-1-5-21-4-5-6"},
	}}
	cases := []struct {
		token []string
		admin bool
		group string
	}{
		{[]string{"S-1-5-21-1-2-3-513", "S-1-5-32-545"}, false, ""},
		{[]string{"S-1-5-21-1-2-3-512"}, true, "Domain Admins (CORP)"},
		{[]string{"S-1-5-21-4-5-6-512"}, true, "Domain Admins (CHILD)"},
		{[]string{"S-1-5-21-1-2-3-519", "S-1-5-21-1-2-3-512"}, true, "Enterprise Admins"},
		{[]string{"S-1-5-21-4-5-6-519"}, false, ""}, // 519 only counts in the root domain
		{[]string{"S-1-5-32-544"}, false, ""},       // BUILTIN\Administrators is not asked about
	}
	for _, c := range cases {
		var sids []SID
		for _, s := range c.token {
			sids = append(sids, mustSID(s))
		}
		admin, group, err := adminGroup(fi, sids)
		if err != nil || admin != c.admin || group != c.group {
			t.Errorf("%v: %v %q %v", c.token, admin, group, err)
		}
	}
}

func TestEssential(t *testing.T) {
	cases := []struct {
		n    Node
		want bool
	}{
		{Node{Name: "corp", Class: "domainDNS"}, true},
		{Node{Name: "ForeignSecurityPrincipals", Class: "container"}, true},
		{Node{Name: "RegisteredDevices", Class: "organizationalUnit"}, true},
		{Node{Name: "Microsoft Exchange System Objects", Class: "container"}, true},
		{Node{Name: "Users", Class: "container"}, false},
		{Node{Name: "Computers", Class: "container"}, false},
		{Node{Name: "Staff", Class: "organizationalUnit"}, false},
	}
	for _, c := range cases {
		if got := Essential(c.n); got != c.want {
			t.Errorf("Essential(%+v) = %v", c.n, got)
		}
	}
}

// TestDNEscaping: the seeded special names survive EscapeDN → DN → rdnValue,
// the path Children uses when a DC returns no name attribute.
func TestDNEscaping(t *testing.T) {
	for _, name := range []string{"Sales, EMEA", "R+D", `"Quoted"`, "Zürich Ünïcode", `back\slash`, " lead", "trail ", "#hash", "semi;colon", "a=b", "<angle>"} {
		dn := "OU=" + ldap.EscapeDN(name) + ",OU=Staff,DC=corp,DC=example,DC=test"
		if got := rdnValue(dn); got != name {
			t.Errorf("%q → %q → %q", name, dn, got)
		}
	}
	for dn, want := range map[string]string{
		`OU=Sales\, EMEA,OU=Staff,DC=corp`: "OU=Staff,DC=corp",
		`OU=a\\,OU=b`:                      "OU=b", // escaped backslash, then a real comma
		`OU=R\2B\2CD,DC=x`:                 "DC=x",
		`OU=\"Quoted\",OU=R\+D,DC=x`:       `OU=R\+D,DC=x`,
		"DC=test":                          "",
	} {
		if got := parentDN(dn); got != want {
			t.Errorf("parentDN(%q) = %q, want %q", dn, got, want)
		}
	}
	if rdnValue("not a dn") != "" {
		t.Error("rdnValue of garbage")
	}
}

func TestSyntaxName(t *testing.T) {
	cases := map[[2]string]string{
		{"2.5.5.12", "64"}: "String (Unicode)",
		{"2.5.5.10", "4"}:  "Binary",
		{"2.5.5.9", "2"}:   "Integer",
		{"2.5.5.9", "10"}:  "Enumeration",
		{"2.5.5.16", "65"}: "Large integer",
		{"2.5.5.1", "127"}: "DN",
		{"2.5.5.8", "1"}:   "Boolean",
		{"2.5.5.11", "24"}: "Generalized time",
		{"2.5.5.99", "1"}:  "Unknown (2.5.5.99)",
	}
	for in, want := range cases {
		var om int
		fmt.Sscan(in[1], &om)
		if got := SyntaxName(in[0], om); got != want {
			t.Errorf("SyntaxName(%s, %d) = %q, want %q", in[0], om, got, want)
		}
	}
}

func TestRandomPasswordAndUnicodePwd(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		pw, err := RandomPassword(64)
		if err != nil || len(pw) != 64 || seen[pw] {
			t.Fatalf("RandomPassword: %q %v", pw, err)
		}
		seen[pw] = true
	}
	if got := hex.EncodeToString([]byte(UnicodePwd("aZ1"))); got != "220061005a0031002200" {
		t.Errorf("UnicodePwd = %s", got)
	}
	if got := []byte(UnicodePwd("ü")); !bytes.Equal(got, []byte{'"', 0, 0xfc, 0, '"', 0}) {
		t.Errorf("UnicodePwd(ü) = %x", got)
	}
}

func TestTargetCandidates(t *testing.T) {
	cases := []struct {
		t    Target
		want string
	}{
		{Target{Host: "dc1.fabrikam.com"}, "dc1.fabrikam.com:636"},
		{Target{Host: "dc1.fabrikam.com", Security: StartTLS}, "dc1.fabrikam.com:389"},
		{Target{Host: "10.0.0.5:3269"}, "10.0.0.5:3269"},
		{Target{Host: "::1", Security: Insecure}, "[::1]:389"},
		{Target{Host: "[::1]"}, "[::1]:636"},
	}
	for _, c := range cases {
		got, err := c.t.candidates(t.Context())
		if err != nil || len(got) != 1 || got[0] != c.want {
			t.Errorf("%+v: %v %v, want %s", c.t, got, err, c.want)
		}
	}
	cfg, err := Target{}.tlsConfig("10.0.0.5:636")
	if err != nil || cfg.ServerName != "10.0.0.5" || cfg.MinVersion != 0x0303 {
		t.Errorf("tlsConfig: %+v %v", cfg, err)
	}
	if _, err := (Target{CAPEM: []byte("not pem")}).tlsConfig("x:636"); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("bad CA PEM: %v", err)
	}
	if _, err := Discover(t.Context(), Target{}); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("Discover without forest: %v", err)
	}
	if SRVName("fabrikam.com.") != "_ldap._tcp.dc._msdcs.fabrikam.com" {
		t.Error(SRVName("fabrikam.com."))
	}
}
