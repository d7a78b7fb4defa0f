package directory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/directory"
)

func target(t testing.TB, f *forest.Forest, sec directory.Security) directory.Target {
	return directory.Target{Forest: f.Name, Security: sec, CAPEM: caPEM(t, f), Resolver: resolverFor(f)}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t testing.TB, f *forest.Forest, user, password string) *directory.Conn {
	t.Helper()
	c, err := directory.Dial(testCtx(t), target(t, f, directory.LDAPS), user, password)
	if err != nil {
		t.Fatalf("dial %s as %s: %v (%v)", f.Name, user, err, errors.Unwrap(err))
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func dialAdmin(t testing.TB, f *forest.Forest) *directory.Conn {
	return dial(t, f, f.AdminUPN, f.AdminPassword)
}

func asError(t *testing.T, err error) *directory.Error {
	t.Helper()
	var de *directory.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *directory.Error", err, err)
	}
	return de
}

func TestLiveDiscover(t *testing.T) {
	corp, fab := forests(t)
	ctx := testCtx(t)
	for _, f := range []*forest.Forest{corp, fab} {
		for _, sec := range []directory.Security{directory.LDAPS, directory.StartTLS} {
			got, err := directory.Discover(ctx, target(t, f, sec))
			if err != nil {
				t.Fatalf("%s %s: %v", f.Name, sec, err)
			}
			want := net.JoinHostPort(f.DCHostName, sec.Port())
			if len(got) != 1 || !strings.EqualFold(got[0], want) {
				t.Errorf("%s %s: Discover = %v, want [%s]", f.Name, sec, got, want)
			}
		}
	}
	tg := target(t, corp, directory.LDAPS)
	tg.Forest = "nowhere.example.test"
	_, err := directory.Discover(ctx, tg)
	de := asError(t, err)
	if !errors.Is(err, directory.ErrNoDC) || !strings.Contains(de.Msg, "_ldap._tcp.dc._msdcs.nowhere.example.test") {
		t.Errorf("unknown forest: %q (%v)", de.Msg, de.Err)
	}
}

func TestLiveDial(t *testing.T) {
	corp, fab := forests(t)
	lc := forest.LayoutOf(corp)
	fabCA := caPEM(t, fab)
	type tc struct {
		name     string
		f        *forest.Forest
		tgt      func(directory.Target) directory.Target
		user, pw string
		kind     error  // nil: success
		msg      string // substring of Msg on failure
	}
	same := func(t directory.Target) directory.Target { return t }
	withHost := func(h string) func(directory.Target) directory.Target {
		return func(t directory.Target) directory.Target { t.Host = h; return t }
	}
	withSec := func(s directory.Security) func(directory.Target) directory.Target {
		return func(t directory.Target) directory.Target { t.Security = s; return t }
	}
	noCA := func(t directory.Target) directory.Target { t.CAPEM = nil; return t }
	cases := []tc{
		{name: "corp ldaps discovered", f: corp, tgt: same, user: corp.AdminUPN, pw: corp.AdminPassword},
		{name: "fabrikam ldaps discovered", f: fab, tgt: same, user: fab.AdminUPN, pw: fab.AdminPassword},
		{name: "corp starttls discovered", f: corp, tgt: withSec(directory.StartTLS), user: corp.AdminUPN, pw: corp.AdminPassword},
		{name: "fabrikam starttls by IP", f: fab, tgt: func(t directory.Target) directory.Target {
			t.Security, t.Host = directory.StartTLS, fab.IP
			return t
		}, user: fab.AdminUPN, pw: fab.AdminPassword},
		{name: "corp ldaps by IP:port", f: corp, tgt: withHost(corp.IP + ":636"), user: corp.AdminUPN, pw: corp.AdminPassword},
		{name: "netbios user", f: corp, tgt: same, user: `CORP\svc-sync`, pw: forest.SvcSyncPassword},
		{name: "dns-domain user", f: corp, tgt: same, user: `corp.example.test\svc-sync`, pw: forest.SvcSyncPassword},
		{name: "upn user", f: corp, tgt: same, user: lc.SvcSyncUPN, pw: forest.SvcSyncPassword},
		{name: "netbios of another forest", f: corp, tgt: same, user: `FABRIKAM\svc-sync`, pw: forest.SvcSyncPassword,
			kind: directory.ErrWrongDomain, msg: "FABRIKAM is not a domain of the forest corp.example.test"},
		{name: "wrong password", f: corp, tgt: same, user: lc.SvcSyncUPN, pw: "not-the-password",
			kind: directory.ErrBadCredentials, msg: "The user name or password is incorrect."},
		{name: "unknown user", f: fab, tgt: same, user: "nobody@fabrikam.example.test", pw: "x",
			kind: directory.ErrBadCredentials, msg: "The user name or password is incorrect."},
		{name: "ca not given", f: corp, tgt: noCA, user: corp.AdminUPN, pw: corp.AdminPassword,
			kind: directory.ErrTLS, msg: "is not trusted"},
		{name: "ca of the other forest", f: corp, tgt: func(t directory.Target) directory.Target {
			t.CAPEM = fabCA
			return t
		}, user: corp.AdminUPN, pw: corp.AdminPassword, kind: directory.ErrTLS, msg: "Provide your CA certificate"},
		{name: "starttls ca not given", f: fab, tgt: func(t directory.Target) directory.Target {
			t.CAPEM, t.Security = nil, directory.StartTLS
			return t
		}, user: fab.AdminUPN, pw: fab.AdminPassword, kind: directory.ErrTLS, msg: "is not trusted"},
		{name: "unreachable port", f: corp, tgt: withHost(corp.IP + ":1"), user: corp.AdminUPN, pw: corp.AdminPassword,
			kind: directory.ErrUnreachable, msg: "Could not reach " + corp.IP + ":1"},
		{name: "no dc", f: corp, tgt: func(t directory.Target) directory.Target { t.Forest = "nowhere.example.test"; return t },
			user: "a@nowhere.example.test", pw: "x", kind: directory.ErrNoDC, msg: "_ldap._tcp.dc._msdcs.nowhere.example.test"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := directory.Dial(testCtx(t), c.tgt(target(t, c.f, directory.LDAPS)), c.user, c.pw)
			if c.kind == nil {
				if err != nil {
					t.Fatalf("Dial: %v (%v)", err, errors.Unwrap(err))
				}
				defer conn.Close()
				if conn.DC() == "" {
					t.Error("DC() is empty")
				}
				u, err := conn.BoundUser(testCtx(t))
				if err != nil {
					t.Fatalf("BoundUser: %v", err)
				}
				sam := strings.ToLower(strings.TrimPrefix(strings.SplitN(c.user, "@", 2)[0], `CORP\`))
				sam = strings.TrimPrefix(sam, `corp.example.test\`)
				if !strings.EqualFold(u.SAMAccountName, sam) || !strings.HasPrefix(u.SID, "S-1-5-21-") || u.DN == "" {
					t.Errorf("BoundUser = %+v, want sAMAccountName %s", u, sam)
				}
				return
			}
			if err == nil {
				conn.Close()
				t.Fatalf("Dial succeeded, want %v", c.kind)
			}
			de := asError(t, err)
			if !errors.Is(err, c.kind) || !strings.Contains(de.Msg, c.msg) {
				t.Errorf("Dial error %q (kind %v, cause %v), want kind %v containing %q", de.Msg, de.Err, de.Detail(), c.kind, c.msg)
			}
			if strings.Contains(de.Msg, "LDAP Result Code") || strings.Contains(de.Msg, "x509:") {
				t.Errorf("message shows raw library text: %q", de.Msg)
			}
		})
	}
}

// TestLiveInsecure: plain LDAP works when the DC allows it (the forest helper
// sets "ldap server require strong auth = no"); otherwise the error must say
// strong authentication is required.
func TestLiveInsecure(t *testing.T) {
	corp, _ := forests(t)
	tg := target(t, corp, directory.Insecure)
	conn, err := directory.Dial(testCtx(t), tg, corp.AdminUPN, corp.AdminPassword)
	if err != nil {
		de := asError(t, err)
		if !errors.Is(err, directory.ErrStrongAuthRequired) || !strings.Contains(de.Msg, "strong authentication") {
			t.Fatalf("insecure bind refused without the strong-auth message: %q (%v)", de.Msg, de.Err)
		}
		return
	}
	defer conn.Close()
	if !strings.HasSuffix(conn.DC(), ":389") {
		t.Errorf("insecure DC %s, want port 389", conn.DC())
	}
	// Passwords are never sent over plain LDAP.
	fi, err := conn.Forest(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.CreateConnectorAccount(testCtx(t), fi.Domains[0], directory.Rights{})
	if !errors.Is(err, directory.ErrNotSecure) {
		t.Errorf("CreateConnectorAccount over plain LDAP: %v, want ErrNotSecure", err)
	}
	if err := conn.CreateSSOAccount(testCtx(t), fi.Domains[0]); !errors.Is(err, directory.ErrNotSecure) {
		t.Errorf("CreateSSOAccount over plain LDAP: %v, want ErrNotSecure", err)
	}
}

func TestLiveForestInfo(t *testing.T) {
	corp, fab := forests(t)
	for _, f := range []*forest.Forest{corp, fab} {
		c := dialAdmin(t, f)
		fi, err := c.Forest(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Name != f.Name || fi.RootDomainNC != f.BaseDN || fi.ConfigurationNC != "CN=Configuration,"+f.BaseDN ||
			fi.SchemaNC != "CN=Schema,CN=Configuration,"+f.BaseDN {
			t.Errorf("%s: %+v", f.Name, fi)
		}
		if len(fi.Domains) != 1 || fi.Domains[0].DNS != f.Name || fi.Domains[0].NetBIOS != f.NetBIOS ||
			fi.Domains[0].DN != f.BaseDN || !strings.HasPrefix(fi.Domains[0].SID, "S-1-5-21-") {
			t.Errorf("%s: domains %+v", f.Name, fi.Domains)
		}
		want := []string{f.Spec.RoutableSuffix, f.Spec.NonRoutableSuffix}
		if strings.Join(fi.UPNSuffixes, ",") != strings.Join(sorted(want), ",") {
			t.Errorf("%s: UPN suffixes %v, want %v", f.Name, fi.UPNSuffixes, want)
		}
		// fabrikam's seed has Exchange's mailNickname and
		// msExchRecipientTypeDetails but not msExchMailboxGuid (so the OR in
		// the rule is met by a real schema); corp's has none. The rule
		// itself, mailNickname alone included, is TestExchangeRule's.
		if want := f == fab; fi.HasExchangeSchema != want {
			t.Errorf("%s: HasExchangeSchema %v, want %v", f.Name, fi.HasExchangeSchema, want)
		}
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestLiveIsAdmin(t *testing.T) {
	corp, fab := forests(t)
	for _, f := range []*forest.Forest{corp, fab} {
		l := forest.LayoutOf(f)
		c := dialAdmin(t, f)
		admin, err := c.BoundUser(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			dn    string
			admin bool
			group string
		}{
			{l.NestedAdminDN, true, "Domain Admins (" + f.NetBIOS + ")"},
			{l.DirectAdminDN, true, "Domain Admins (" + f.NetBIOS + ")"},
			{admin.DN, true, "Enterprise Admins"},
			{l.SvcSyncDN, false, ""},
			{l.UserDN(7), false, ""},
		}
		for _, tc := range cases {
			got, group, err := c.IsAdmin(testCtx(t), tc.dn)
			if err != nil {
				t.Fatalf("%s: %v", tc.dn, err)
			}
			if got != tc.admin || group != tc.group {
				t.Errorf("%s: IsAdmin(%s) = %v %q, want %v %q", f.Name, tc.dn, got, group, tc.admin, tc.group)
			}
		}
	}
	// The existing-account check as the page does it: bound as the account.
	nested := dial(t, corp, forest.LayoutOf(corp).NestedAdminUPN, forest.NestedAdminPassword)
	u, err := nested.BoundUser(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if isAdmin, group, err := nested.IsAdmin(testCtx(t), u.DN); err != nil || !isAdmin || !strings.Contains(group, "Domain Admins") {
		t.Errorf("nested admin bound as itself: %v %q %v", isAdmin, group, err)
	}
}

func TestLiveConnectorAccount(t *testing.T) {
	corp, fab := forests(t)
	c := dialAdmin(t, corp)
	ctx := testCtx(t)
	fi, err := c.Forest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dom := fi.Domains[0]
	asked := directory.Rights{PasswordHashSync: true, ConsistencyGuid: true}
	acct, err := c.CreateConnectorAccount(ctx, dom, asked)
	if err != nil {
		t.Fatalf("CreateConnectorAccount: %v (%v)", err, errors.Unwrap(err))
	}
	if !strings.HasPrefix(acct.SAM, "hybridsync-") || len(acct.SAM) > 20 || len(acct.Password) < 32 ||
		!strings.HasPrefix(acct.SID, dom.SID+"-") || acct.UPN != acct.SAM+"@"+corp.Name {
		t.Errorf("account %+v", directory.Account{DN: acct.DN, SAM: acct.SAM, UPN: acct.UPN, SID: acct.SID})
	}
	// The new account signs in over LDAPS and is not an admin.
	ac := dial(t, corp, acct.UPN, acct.Password)
	u, err := ac.BoundUser(ctx)
	if err != nil || !strings.EqualFold(u.DN, acct.DN) {
		t.Fatalf("BoundUser as the new account: %+v %v", u, err)
	}
	if isAdmin, _, err := ac.IsAdmin(ctx, u.DN); err != nil || isAdmin {
		t.Errorf("new account IsAdmin = %v, %v", isAdmin, err)
	}
	missing, err := c.CheckRights(ctx, dom, acct.SID, asked)
	if err != nil || len(missing) != 0 {
		t.Errorf("CheckRights(asked) = %v, %v; want nothing missing", missing, err)
	}
	all := directory.Rights{PasswordHashSync: true, ConsistencyGuid: true, PasswordWriteback: true}
	missing, err = c.CheckRights(ctx, dom, acct.SID, all)
	want := []string{"Reset Password on users", "Change Password on users", "Write lockoutTime on users", "Write pwdLastSet on users"}
	if err != nil || strings.Join(missing, "|") != strings.Join(want, "|") {
		t.Errorf("CheckRights(all) = %v, %v; want %v", missing, err, want)
	}
	// The seeded ordinary account has none of them.
	svc, err := c.BoundUser(ctx) // administrator
	_ = svc
	if err != nil {
		t.Fatal(err)
	}
	svcConn := dial(t, corp, forest.LayoutOf(corp).SvcSyncUPN, forest.SvcSyncPassword)
	svcUser, err := svcConn.BoundUser(ctx)
	if err != nil {
		t.Fatal(err)
	}
	missing, err = c.CheckRights(ctx, dom, svcUser.SID, directory.Rights{PasswordHashSync: true})
	if err != nil || strings.Join(missing, "|") != "Replicating Directory Changes|Replicating Directory Changes All" {
		t.Errorf("CheckRights(svc-sync) = %v, %v", missing, err)
	}
	// Granting again adds nothing; granting write-back then completes the set.
	if n, err := c.Grant(ctx, dom, acct.SID, asked); err != nil || n != 0 {
		t.Errorf("Grant again = %d, %v; want 0 added", n, err)
	}
	if n, err := c.Grant(ctx, dom, acct.SID, all); err != nil || n != 4 {
		t.Errorf("Grant write-back = %d, %v; want 4 added", n, err)
	}
	if missing, err := c.CheckRights(ctx, dom, acct.SID, all); err != nil || len(missing) != 0 {
		t.Errorf("after write-back grant: missing %v, %v", missing, err)
	}
	// The DC's own DACL survived: what we wrote parses and still holds the
	// explicit ACEs before the inherited ones.
	sd, err := c.ReadDACL(ctx, dom.DN)
	if err != nil {
		t.Fatal(err)
	}
	seenInherited := false
	for _, a := range sd.DACL.ACEs {
		if a.Inherited() {
			seenInherited = true
		} else if seenInherited {
			t.Errorf("explicit ACE after an inherited one: %+v", a)
		}
	}

	// A disabled account gets its own message (AD data code 533).
	dis := ldap.NewModifyRequest(acct.DN, nil)
	dis.Replace("userAccountControl", []string{"66050"})
	raw, err := corp.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.Modify(dis); err != nil {
		t.Fatal(err)
	}
	_, err = directory.Dial(ctx, target(t, corp, directory.LDAPS), acct.UPN, acct.Password)
	de := asError(t, err)
	if !errors.Is(err, directory.ErrAccountRestricted) || !strings.Contains(de.Msg, "disabled") {
		t.Errorf("disabled account: %q (%v)", de.Msg, de.Detail())
	}

	// A domain that is not in the forest.
	_, err = c.CreateConnectorAccount(ctx, directory.Domain{DNS: fab.Name}, asked)
	if !errors.Is(err, directory.ErrWrongDomain) {
		t.Errorf("foreign domain: %v", err)
	}
}

// TestLiveSecurityDescriptorRoundTrip: the domain root's real DACL survives
// parse → serialize → parse unchanged and keeps its size.
func TestLiveSecurityDescriptorRoundTrip(t *testing.T) {
	corp, fab := forests(t)
	for _, f := range []*forest.Forest{corp, fab} {
		raw, err := f.Dial(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		for _, dn := range []string{f.BaseDN, "CN=Users," + f.BaseDN, forest.LayoutOf(f).SalesOU} {
			res, err := raw.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
				"(objectClass=*)", []string{"nTSecurityDescriptor"}, nil))
			if err != nil {
				t.Fatal(err)
			}
			b := res.Entries[0].GetRawAttributeValue("nTSecurityDescriptor")
			sd, err := directory.ParseSecurityDescriptor(b)
			if err != nil {
				t.Fatalf("%s: %v", dn, err)
			}
			if sd.Owner == nil || sd.Group == nil || sd.DACL == nil || len(sd.DACL.ACEs) == 0 {
				t.Fatalf("%s: incomplete descriptor %+v", dn, sd)
			}
			out, err := sd.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(b) {
				t.Errorf("%s: %d bytes re-serialized, read %d", dn, len(out), len(b))
			}
			if !bytes.Equal(out, b) {
				t.Logf("%s: same size, different layout (the DC orders the parts differently)", dn)
			}
			again, err := directory.ParseSecurityDescriptor(out)
			if err != nil {
				t.Fatal(err)
			}
			if again.Control != sd.Control || !again.Owner.Equal(sd.Owner) || !again.Group.Equal(sd.Group) ||
				!bytes.Equal(again.SACL, sd.SACL) || len(again.DACL.ACEs) != len(sd.DACL.ACEs) {
				t.Errorf("%s: round trip changed the descriptor", dn)
			}
			for i := range sd.DACL.ACEs {
				if !sd.DACL.ACEs[i].Equal(again.DACL.ACEs[i]) {
					t.Errorf("%s: ACE %d changed", dn, i)
				}
			}
		}
	}
}

// TestLiveSchemaGUIDs: the GUID constants match the DC's schema and extended
// rights (so the byte order is right too).
func TestLiveSchemaGUIDs(t *testing.T) {
	corp, _ := forests(t)
	raw, err := corp.Dial(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	schema := "CN=Schema,CN=Configuration," + corp.BaseDN
	for name, want := range map[string]directory.GUID{
		"ms-DS-ConsistencyGuid": directory.GUIDConsistencyGuid,
		"lockoutTime":           directory.GUIDLockoutTime,
		"pwdLastSet":            directory.GUIDPwdLastSet,
	} {
		res, err := raw.Search(ldap.NewSearchRequest(schema, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
			"(lDAPDisplayName="+name+")", []string{"schemaIDGUID"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("%s: %v", name, err)
		}
		var got directory.GUID
		copy(got[:], res.Entries[0].GetRawAttributeValue("schemaIDGUID"))
		if got != want {
			t.Errorf("%s: schemaIDGUID %s, constant %s", name, got, want)
		}
	}
	res, err := raw.Search(ldap.NewSearchRequest(schema, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(lDAPDisplayName=user)", []string{"schemaIDGUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatal(err)
	}
	var user directory.GUID
	copy(user[:], res.Entries[0].GetRawAttributeValue("schemaIDGUID"))
	if user != directory.GUIDUserClass {
		t.Errorf("user class GUID %s", user)
	}
	rights := "CN=Extended-Rights,CN=Configuration," + corp.BaseDN
	for cn, want := range map[string]directory.GUID{
		"DS-Replication-Get-Changes":     directory.GUIDReplicatingChanges,
		"DS-Replication-Get-Changes-All": directory.GUIDReplicatingChangesAll,
		"User-Force-Change-Password":     directory.GUIDResetPassword,
		"User-Change-Password":           directory.GUIDChangePassword,
	} {
		res, err := raw.Search(ldap.NewSearchRequest("CN="+cn+","+rights, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"rightsGuid"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("%s: %v", cn, err)
		}
		if got := res.Entries[0].GetAttributeValue("rightsGuid"); !strings.EqualFold(got, want.String()) {
			t.Errorf("%s: rightsGuid %s, constant %s", cn, got, want)
		}
	}
}

func TestLiveChildren(t *testing.T) {
	corp, fab := forests(t)
	for _, f := range []*forest.Forest{corp, fab} {
		l := forest.LayoutOf(f)
		c := dialAdmin(t, f)
		ctx := testCtx(t)
		root, err := c.Children(ctx, f.BaseDN)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string]directory.Node{}
		for _, n := range root {
			byName[n.Name] = n
		}
		for name, want := range map[string]struct {
			class              string
			essential, hasKids bool
		}{
			"Staff":                     {"organizationalUnit", false, true},
			"Bulk":                      {"organizationalUnit", false, false},
			"Users":                     {"container", false, false},
			"Computers":                 {"container", false, false},
			"ForeignSecurityPrincipals": {"container", true, false},
			"Builtin":                   {"builtinDomain", false, false},
		} {
			n, ok := byName[name]
			if !ok {
				t.Errorf("%s: root children lack %s: %v", f.Name, name, root)
				continue
			}
			if n.Class != want.class || n.Essential != want.essential || n.HasChildren != want.hasKids {
				t.Errorf("%s: %s = %+v, want class %s essential %v hasChildren %v", f.Name, name, n, want.class, want.essential, want.hasKids)
			}
		}
		for i := 1; i < len(root); i++ {
			if strings.ToLower(root[i-1].Name) > strings.ToLower(root[i].Name) {
				t.Errorf("not sorted: %s before %s", root[i-1].Name, root[i].Name)
			}
		}
		// The special-character OUs: names unescaped, DNs escaped, and every DN
		// works as a search base.
		checks := []struct {
			parent string
			names  []string
		}{
			{l.StaffOU, []string{"Level 1", forest.OURandD, forest.OUSalesEMEA}},
			{l.SalesOU, []string{forest.OUZurich}},
			{l.RandDOU, []string{forest.OUQuoted}},
		}
		for _, ch := range checks {
			kids, err := c.Children(ctx, ch.parent)
			if err != nil {
				t.Fatalf("Children(%s): %v", ch.parent, err)
			}
			var names []string
			for _, k := range kids {
				names = append(names, k.Name)
				dn, err := ldap.ParseDN(k.DN)
				if err != nil {
					t.Errorf("%s: DN %q does not parse: %v", k.Name, k.DN, err)
					continue
				}
				if v := dn.RDNs[0].Attributes[0].Value; v != k.Name {
					t.Errorf("DN %q names %q, Name is %q", k.DN, v, k.Name)
				}
				if k.Name == forest.OUQuoted || k.Name == forest.OUZurich {
					if k.HasChildren {
						t.Errorf("%s has no child OUs but HasChildren", k.Name)
					}
				}
				again, err := c.Children(ctx, k.DN) // a base that must resolve
				if err != nil {
					t.Errorf("Children(%q): %v", k.DN, err)
				}
				if k.HasChildren != (len(again) > 0) {
					t.Errorf("%s: HasChildren %v but %d children", k.Name, k.HasChildren, len(again))
				}
			}
			if strings.Join(names, "|") != strings.Join(ch.names, "|") {
				t.Errorf("Children(%s) = %q, want %q", ch.parent, names, ch.names)
			}
		}
		if _, err := c.Children(ctx, "OU=Missing,"+f.BaseDN); err == nil {
			t.Error("Children of a missing OU succeeded")
		} else if de := asError(t, err); !strings.Contains(de.Msg, "not found") {
			t.Errorf("missing OU: %q", de.Msg)
		}
	}
}

func TestLiveGroups(t *testing.T) {
	corp, fab := forests(t)
	for _, f := range []*forest.Forest{corp, fab} {
		l := forest.LayoutOf(f)
		c := dialAdmin(t, f)
		ctx := testCtx(t)
		counts := map[string]int{
			l.BigGroupDN:        forest.BigGroupMembers,
			l.NestedParentDN:    6,
			l.NestedChildDN:     10,
			l.Tier0AdminsDN:     1,
			l.SalesTeamDN:       forest.StaffUsers / 6,
			l.ProjectGroupDN(3): forest.ProjectGroupSize,
		}
		for dn, want := range counts {
			got, err := c.DirectMemberCount(ctx, dn)
			if err != nil || got != want {
				t.Errorf("%s: DirectMemberCount(%s) = %d, %v; want %d", f.Name, dn, got, err, want)
			}
		}
		for _, tc := range []struct {
			prefix string
			want   []string
		}{
			{"Big", []string{forest.BigGroupName}},
			{"big-gr", []string{forest.BigGroupName}}, // sAMAccountName
			{"R&D", []string{forest.RandDTeamName}},
			{"Sales, E", []string{forest.SalesTeamName}},
			{"Nested", []string{forest.NestedChildName, forest.NestedParentName}},
			{"*", nil},   // escaped: no wildcard
			{"B)(", nil}, // escaped: no filter injection
		} {
			gs, err := c.FindGroups(ctx, f.BaseDN, tc.prefix, 10)
			if err != nil {
				t.Fatalf("FindGroups(%q): %v", tc.prefix, err)
			}
			var names []string
			for _, g := range gs {
				names = append(names, g.Name)
			}
			if strings.Join(names, "|") != strings.Join(tc.want, "|") {
				t.Errorf("FindGroups(%q) = %q, want %q", tc.prefix, names, tc.want)
			}
		}
		gs, err := c.FindGroups(ctx, l.GroupsOU, "Project", 5)
		if err != nil || len(gs) != 5 {
			t.Errorf("FindGroups max 5 = %d groups, %v", len(gs), err)
		}
		gs, _ = c.FindGroups(ctx, f.BaseDN, forest.AllStaffDLName, 5)
		if len(gs) != 1 || gs[0].Security || gs[0].Scope != "universal" || gs[0].Mail != forest.AllStaffDLMail {
			t.Errorf("All Staff DL: %+v", gs)
		}
	}
}

func TestLiveSchemaAndSamples(t *testing.T) {
	corp, _ := forests(t)
	c := dialAdmin(t, corp)
	ctx := testCtx(t)
	attrs, err := c.SchemaAttributes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(attrs) < 1000 {
		t.Errorf("only %d schema attributes", len(attrs))
	}
	by := map[string]directory.Attribute{}
	for _, a := range attrs {
		by[a.Name] = a
	}
	for name, want := range map[string]struct {
		typ    string
		single bool
	}{
		"userPrincipalName": {"String (Unicode)", true},
		"mail":              {"String (Unicode)", true},
		"proxyAddresses":    {"String (Unicode)", false},
		"objectGUID":        {"Binary", true},
		"objectSid":         {"SID", true},
		"member":            {"DN", false},
		"pwdLastSet":        {"Large integer", true},
		"employeeID":        {"String (Unicode)", true},
	} {
		a, ok := by[name]
		if !ok || a.Type != want.typ || a.SingleValued != want.single {
			t.Errorf("%s: %+v, want %s single %v", name, a, want.typ, want.single)
		}
	}
	if !by["objectGUID"].SystemOnly {
		t.Error("objectGUID is not systemOnly")
	}
	l := forest.LayoutOf(corp)
	vals, err := c.SampleValues(ctx, l.StaffOU, "mail", 5)
	if err != nil || len(vals) != 5 {
		t.Fatalf("SampleValues(mail) = %v, %v", vals, err)
	}
	for _, v := range vals {
		if !strings.Contains(v, "@") {
			t.Errorf("mail sample %q", v)
		}
	}
	if vals, err := c.SampleValues(ctx, l.StaffOU, "objectGUID", 2); err != nil || len(vals) != 2 || len(vals[0]) != 24 {
		t.Errorf("SampleValues(objectGUID) = %q, %v (want Base64 of 16 bytes)", vals, err)
	}
	if _, err := c.SampleValues(ctx, l.StaffOU, "mail)(x=*", 2); !errors.Is(err, directory.ErrInvalidInput) {
		t.Errorf("attribute with filter syntax accepted: %v", err)
	}
}

func TestLiveConsistencyGuid(t *testing.T) {
	corp, fab := forests(t)
	ctx := testCtx(t)
	// fabrikam: no test writes the attribute there.
	fc := dialAdmin(t, fab)
	fi, err := fc.Forest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if inUse, err := fc.ConsistencyGuidInUse(ctx, fi.Domains[0]); err != nil || inUse {
		t.Errorf("fabrikam: ConsistencyGuidInUse = %v, %v; want false", inUse, err)
	}
	cc := dialAdmin(t, corp)
	ci, err := cc.Forest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := corp.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	m := ldap.NewModifyRequest(forest.LayoutOf(corp).UserDN(100), nil)
	m.Replace("mS-DS-ConsistencyGuid", []string{string(make([]byte, 16))})
	if err := raw.Modify(m); err != nil {
		t.Fatal(err)
	}
	if inUse, err := cc.ConsistencyGuidInUse(ctx, ci.Domains[0]); err != nil || !inUse {
		t.Errorf("corp after setting one: ConsistencyGuidInUse = %v, %v; want true", inUse, err)
	}

	// The sync engine's write-back: objectGUID into an empty
	// ms-DS-ConsistencyGuid, never over a value.
	dn := forest.LayoutOf(corp).UserDN(101)
	e, err := cc.ReadObject(ctx, dn, []string{"objectGUID"})
	if err != nil {
		t.Fatal(err)
	}
	guid := e.GetRawAttributeValue("objectGUID")
	if err := cc.WriteConsistencyGuid(ctx, dn, guid); err != nil {
		t.Fatalf("write-back: %v", err)
	}
	e, err = cc.ReadObject(ctx, dn, []string{"mS-DS-ConsistencyGuid"})
	if err != nil || string(e.GetRawAttributeValue("mS-DS-ConsistencyGuid")) != string(guid) {
		t.Fatalf("ms-DS-ConsistencyGuid after the write-back: %x, %v; want %x", e.GetRawAttributeValue("mS-DS-ConsistencyGuid"), err, guid)
	}
	if err := cc.WriteConsistencyGuid(ctx, dn, make([]byte, 16)); !errors.Is(err, directory.ErrAlreadySet) {
		t.Errorf("a second write-back: %v, want ErrAlreadySet", err)
	}
}

func TestLiveSSOAccount(t *testing.T) {
	_, fab := forests(t)
	c := dialAdmin(t, fab)
	ctx := testCtx(t)
	fi, err := c.Forest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := c.EnsureSSOAccount(ctx, fi.Domains[0])
	if err != nil {
		t.Fatalf("EnsureSSOAccount: %v (%v)", err, errors.Unwrap(err))
	}
	if first.Updated || first.DN != "CN=AZUREADSSOACC,CN=Computers,"+fab.BaseDN {
		t.Errorf("first: %+v", first)
	}
	second, err := c.EnsureSSOAccount(ctx, fi.Domains[0])
	if err != nil || !second.Updated || !strings.EqualFold(second.DN, first.DN) {
		t.Errorf("second: %+v, %v; want Updated", second, err)
	}
	if err := c.CreateSSOAccount(ctx, fi.Domains[0]); err != nil {
		t.Errorf("CreateSSOAccount on an existing account: %v", err)
	}
	raw, err := fab.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	res, err := raw.Search(ldap.NewSearchRequest(fab.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(servicePrincipalName="+directory.SSOAccountSPN+")", []string{"sAMAccountName", "userAccountControl", "objectClass"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("SPN search: %v, %d entries", err, len(res.Entries))
	}
	e := res.Entries[0]
	if e.GetAttributeValue("sAMAccountName") != directory.SSOAccountSAM || e.GetAttributeValue("userAccountControl") != "4096" {
		t.Errorf("SSO account %s: sAMAccountName %s, userAccountControl %s", e.DN,
			e.GetAttributeValue("sAMAccountName"), e.GetAttributeValue("userAccountControl"))
	}
}

func mustForest(t *testing.T, c *directory.Conn) directory.ForestInfo {
	t.Helper()
	fi, err := c.Forest(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return fi
}

// TestLiveChildrenSpeed lists the 2,000-OU level once and reports the time
// (the benchmark measures it properly; the target is 200 ms).
func TestLiveChildrenSpeed(t *testing.T) {
	corp, _ := forests(t)
	c := dialAdmin(t, corp)
	start := time.Now()
	nodes, err := c.Children(testCtx(t), benchOUDN(corp))
	took := time.Since(start)
	if err != nil || len(nodes) != BenchOUChildren {
		t.Fatalf("Children = %d nodes, %v", len(nodes), err)
	}
	if nodes[0].Name != "Bench OU 0001" || nodes[len(nodes)-1].Name != "Bench OU 2000" || nodes[0].HasChildren {
		t.Errorf("first %+v last %+v", nodes[0], nodes[len(nodes)-1])
	}
	t.Logf("Children of %d OUs: %s", len(nodes), took)
	if took > 2*time.Second {
		t.Errorf("Children of %d OUs took %s", len(nodes), took)
	}
}

func BenchmarkChildren2000OUs(b *testing.B) {
	corp, _ := forests(b)
	c := dialAdmin(b, corp)
	ctx := context.Background()
	dn := benchOUDN(corp)
	for b.Loop() {
		nodes, err := c.Children(ctx, dn)
		if err != nil || len(nodes) != BenchOUChildren {
			b.Fatalf("Children = %d nodes, %v", len(nodes), err)
		}
	}
}

// TestLiveChildrenProbeFallback: the per-node probes give the same tree as
// the default subtree-names search.
func TestLiveChildrenProbeFallback(t *testing.T) {
	corp, _ := forests(t)
	l := forest.LayoutOf(corp)
	fast, slow := dialAdmin(t, corp), dialAdmin(t, corp)
	directory.ProbeOnly(slow)
	for _, dn := range []string{corp.BaseDN, l.StaffOU, l.SalesOU, l.Level3OU} {
		a, err := fast.Children(testCtx(t), dn)
		if err != nil {
			t.Fatal(err)
		}
		b, err := slow.Children(testCtx(t), dn)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Errorf("%s:\nsubtree %v\nprobes  %v", dn, a, b)
		}
	}
}
