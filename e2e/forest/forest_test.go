package forest_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
)

// TestForests brings both standard forests up (from the cache when it can),
// checks them against the live DCs, and stops them. Without samba (and no way
// to install it) it skips, unless HYBRIDSYNC_FORESTS_REQUIRED=1, where it
// fails. HYBRIDSYNC_FORESTS_REBUILD=1 provisions and seeds afresh.
func TestForests(t *testing.T) {
	begin := time.Now()
	required := os.Getenv("HYBRIDSYNC_FORESTS_REQUIRED") == "1"
	unavailable := func(format string, args ...any) {
		t.Helper()
		if required {
			t.Fatalf(format, args...)
		}
		t.Skipf(format+" (set HYBRIDSYNC_FORESTS_REQUIRED=1 to fail instead)", args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()

	installStart := time.Now()
	installed, err := forest.Install(ctx)
	if err != nil {
		unavailable("samba unavailable: %v", err)
	}
	if installed {
		t.Logf("installed samba in %s", time.Since(installStart).Round(100*time.Millisecond))
	}
	release, err := forest.Lock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release)
	upStart := time.Now()
	forests, err := forest.UpAll(ctx, forest.Standard(), t.TempDir(), forest.Options{
		Rebuild: os.Getenv("HYBRIDSYNC_FORESTS_REBUILD") == "1",
		Logf:    t.Logf,
	})
	if err != nil {
		unavailable("forests did not come up: %v", err)
	}
	var pids []int
	for _, f := range forests {
		pids = append(pids, f.Processes()...)
	}
	t.Cleanup(func() {
		stopStart := time.Now()
		if err := forest.StopAll(forests); err != nil {
			t.Errorf("stop: %v", err)
		}
		for _, pid := range pids {
			if err := syscall.Kill(pid, 0); err == nil {
				if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); !strings.Contains(string(st), ") Z ") {
					t.Errorf("samba process %d still running after Stop", pid)
				}
			}
		}
		t.Logf("stopped in %s; test ran %s", time.Since(stopStart).Round(10*time.Millisecond), time.Since(begin).Round(100*time.Millisecond))
	})
	t.Logf("both forests up in %s", time.Since(upStart).Round(100*time.Millisecond))

	for _, f := range forests {
		t.Run(f.Name, func(t *testing.T) { checkForest(ctx, t, f, forests) })
	}
	t.Run("colliding addresses", func(t *testing.T) {
		for _, c := range []struct{ attr, value string }{
			{"mail", fmt.Sprintf(forest.CollidingMailFmt, 1)},
			{"mail", fmt.Sprintf(forest.CollidingMailFmt, forest.CollidingMailUsers)},
			{"proxyAddresses", "smtp:" + fmt.Sprintf(forest.CollidingAliasFmt, forest.CollidingMailUsers+1)},
			{"mail", forest.AllStaffDLMail},
			{"mail", fmt.Sprintf(forest.ContactMailFmt, 7)},
		} {
			for _, f := range forests {
				conn := dial(ctx, t, f)
				n := len(search(t, conn, f.BaseDN, ldap.ScopeWholeSubtree,
					fmt.Sprintf("(%s=%s)", c.attr, ldap.EscapeFilter(c.value)), "dn"))
				conn.Close()
				if n != 1 {
					t.Errorf("%s: (%s=%s) matches %d objects, want 1 in each forest", f.Name, c.attr, c.value, n)
				}
			}
		}
	})
}

func checkForest(ctx context.Context, t *testing.T, f *forest.Forest, all []*forest.Forest) {
	l := forest.LayoutOf(f)
	cfg, err := f.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	var other *forest.Forest
	for _, o := range all {
		if o != f {
			other = o
		}
	}

	t.Run("LDAPS verifies against the test CA", func(t *testing.T) {
		for _, name := range []string{f.IP, f.DCHostName} {
			c := cfg.Clone()
			c.ServerName = name
			conn, err := ldap.DialURL(f.LDAPSURL(), ldap.DialWithTLSConfig(c))
			if err != nil {
				t.Fatalf("ServerName %s: %v", name, err)
			}
			if err := conn.Bind(f.AdminUPN, f.AdminPassword); err != nil {
				t.Errorf("ServerName %s: bind: %v", name, err)
			}
			conn.Close()
		}
		// A CA the DC's certificate does not chain to must fail.
		if other != nil {
			wrong, err := other.TLSConfig()
			if err != nil {
				t.Fatal(err)
			}
			wrong.ServerName = f.IP
			if conn, err := ldap.DialURL(f.LDAPSURL(), ldap.DialWithTLSConfig(wrong)); err == nil {
				err = conn.Bind(f.AdminUPN, f.AdminPassword)
				conn.Close()
				if err == nil {
					t.Errorf("LDAPS verified against %s's CA", other.Name)
				}
			}
		}
	})

	t.Run("StartTLS verifies against the test CA", func(t *testing.T) {
		conn, err := ldap.DialURL(f.LDAPURL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.StartTLS(cfg.Clone()); err != nil {
			t.Fatalf("StartTLS: %v", err)
		}
		if st, ok := conn.TLSConnectionState(); !ok || !st.HandshakeComplete || len(st.VerifiedChains) == 0 {
			t.Fatalf("StartTLS: no verified chain (%v)", ok)
		}
		if err := conn.Bind(l.SvcSyncUPN, forest.SvcSyncPassword); err != nil {
			t.Errorf("bind as svc-sync: %v", err)
		}
		bad, err := ldap.DialURL(f.LDAPURL())
		if err != nil {
			t.Fatal(err)
		}
		defer bad.Close()
		if err := bad.StartTLS(&tls.Config{RootCAs: x509.NewCertPool(), ServerName: f.IP}); err == nil {
			t.Errorf("StartTLS verified with an empty CA pool")
		}
	})

	t.Run("smb.conf keeps the DC local and in its dir", func(t *testing.T) {
		b, err := os.ReadFile(f.ConfPath())
		if err != nil {
			t.Fatal(err)
		}
		conf := strings.ToLower(string(b))
		if strings.Contains(conf, "dns forwarder") {
			t.Errorf("smb.conf names a dns forwarder")
		}
		for _, want := range []string{"disable netbios = yes", "server services = -dnsupdate -nbt -wrepl",
			"interfaces = " + f.IP + "/8", "bind interfaces only = yes"} {
			if !strings.Contains(conf, want) {
				t.Errorf("smb.conf lacks %q", want)
			}
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(strings.TrimSpace(line), "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if ok && (strings.HasSuffix(k, " dir") || strings.HasSuffix(k, " directory") || k == "log file") &&
				!strings.HasPrefix(v, f.Dir+"/") && v != f.Dir {
				t.Errorf("smb.conf: %s = %s is outside %s", k, v, f.Dir)
			}
		}
	})

	conn := dial(ctx, t, f)
	defer conn.Close()

	t.Run("OUs with special characters round-trip", func(t *testing.T) {
		for name, dn := range map[string]string{
			forest.OUSalesEMEA: l.SalesOU,
			forest.OUZurich:    l.ZurichOU,
			forest.OURandD:     l.RandDOU,
			forest.OUQuoted:    l.QuotedOU,
		} {
			es := search(t, conn, dn, ldap.ScopeBaseObject, "(objectClass=organizationalUnit)", "ou")
			if len(es) != 1 {
				t.Errorf("%s: %d entries", dn, len(es))
				continue
			}
			if got := es[0].GetAttributeValue("ou"); got != name {
				t.Errorf("%s: ou = %q, want %q", dn, got, name)
			}
			want, err := ldap.ParseDN(dn)
			if err != nil {
				t.Fatalf("parse %s: %v", dn, err)
			}
			got, err := ldap.ParseDN(es[0].DN)
			if err != nil {
				t.Fatalf("parse returned DN %q: %v", es[0].DN, err)
			}
			if !got.EqualFold(want) {
				t.Errorf("DN %q came back as %q", dn, es[0].DN)
			}
			// Find it by name, then use the DN the server returned as a base.
			found := search(t, conn, f.BaseDN, ldap.ScopeWholeSubtree, "(ou="+ldap.EscapeFilter(name)+")", "ou")
			if len(found) != 1 {
				t.Fatalf("(ou=%s): %d entries", name, len(found))
			}
			if again := search(t, conn, found[0].DN, ldap.ScopeBaseObject, "(objectClass=*)", "ou"); len(again) != 1 {
				t.Errorf("returned DN %q does not work as a base", found[0].DN)
			}
		}
	})

	t.Run("seed counts", func(t *testing.T) {
		for _, c := range []struct {
			base   string
			scope  int
			filter string
			want   int
		}{
			{l.StaffOU, ldap.ScopeWholeSubtree, "(&(objectCategory=person)(objectClass=user))", forest.StaffUsers},
			{l.StaffOU, ldap.ScopeWholeSubtree, "(&(objectCategory=person)(objectClass=user)(userAccountControl:1.2.840.113556.1.4.803:=2))", forest.DisabledUsers},
			{l.ContactsOU, ldap.ScopeSingleLevel, "(objectClass=contact)", forest.Contacts},
			{l.BulkOU, ldap.ScopeSingleLevel, "(objectClass=contact)", forest.BulkContacts},
			{l.WorkstationsOU, ldap.ScopeSingleLevel, "(objectClass=computer)", forest.Workstations},
			{"CN=Computers," + f.BaseDN, ldap.ScopeSingleLevel, "(objectClass=computer)", forest.Servers},
			{l.GroupsOU, ldap.ScopeSingleLevel, "(objectClass=group)", forest.Groups},
			{l.StaffOU, ldap.ScopeWholeSubtree, "(objectClass=organizationalUnit)", 8},
			{f.BaseDN, ldap.ScopeWholeSubtree, "(userPrincipalName=*@" + f.Spec.NonRoutableSuffix + ")", forest.StaffUsers / 10},
		} {
			if got := len(search(t, conn, c.base, c.scope, c.filter, "dn")); got != c.want {
				t.Errorf("%s %s: %d, want %d", c.base, c.filter, got, c.want)
			}
		}
		for _, u := range []struct{ upn, pw string }{
			{l.SvcSyncUPN, forest.SvcSyncPassword},
			{l.NestedAdminUPN, forest.NestedAdminPassword},
			{l.DirectAdminUPN, forest.DirectAdminPassword},
		} {
			c, err := f.DialAs(ctx, u.upn, u.pw)
			if err != nil {
				t.Errorf("bind %s: %v", u.upn, err)
				continue
			}
			c.Close()
		}
	})

	t.Run("big group read in member;range windows", func(t *testing.T) {
		whole, windows, last := rangedMembers(t, conn, l.BigGroupDN, 0)
		if len(whole) <= 1500 || len(whole) != forest.BigGroupMembers {
			t.Errorf("member;range=0-*: %d values in %d windows, want %d (> 1500)", len(whole), windows, forest.BigGroupMembers)
		}
		if !strings.HasSuffix(last, "-*") {
			t.Errorf("last window %q has no -* end marker", last)
		}
		t.Logf("member;range=0-*: %d values in %d window(s), last %q", len(whole), windows, last)
		paged, windows, last := rangedMembers(t, conn, l.BigGroupDN, 1000)
		t.Logf("windows of 1000: %d values in %d windows, last %q", len(paged), windows, last)
		if len(paged) != forest.BigGroupMembers || windows < 2 {
			t.Errorf("windows of 1000: %d values in %d windows (last %q), want %d in >= 2", len(paged), windows, last, forest.BigGroupMembers)
		}
		slices.Sort(whole)
		slices.Sort(paged)
		if !slices.Equal(whole, paged) {
			t.Errorf("windowed and whole reads differ")
		}
	})

	t.Run("nested admin is a Domain Admin through tokenGroups", func(t *testing.T) {
		root := search(t, conn, f.BaseDN, ldap.ScopeBaseObject, "(objectClass=*)", "objectSid")
		domainSID := sidString(root[0].GetRawAttributeValue("objectSid"))
		if !strings.HasPrefix(domainSID, "S-1-5-21-") {
			t.Fatalf("domain SID %q", domainSID)
		}
		tokenSIDs := func(dn string) []string {
			es := search(t, conn, dn, ldap.ScopeBaseObject, "(objectClass=*)", "tokenGroups")
			var sids []string
			for _, raw := range es[0].GetRawAttributeValues("tokenGroups") {
				sids = append(sids, sidString(raw))
			}
			return sids
		}
		da := domainSID + "-512"
		if sids := tokenSIDs(l.NestedAdminDN); !slices.Contains(sids, da) {
			t.Errorf("tokenGroups of %s lack Domain Admins %s: %v", l.NestedAdminDN, da, sids)
		}
		if sids := tokenSIDs(l.SvcSyncDN); slices.Contains(sids, da) {
			t.Errorf("svc-sync is a Domain Admin: %v", sids)
		}
		direct := search(t, conn, l.DomainAdminsDN, ldap.ScopeBaseObject, "(objectClass=*)", "member")
		if members := direct[0].GetAttributeValues("member"); slices.ContainsFunc(members, func(m string) bool {
			return strings.EqualFold(m, l.NestedAdminDN)
		}) {
			t.Errorf("nested-admin is a direct member of Domain Admins")
		}
	})

	t.Run("uPNSuffixes", func(t *testing.T) {
		es := search(t, conn, l.PartitionsDN, ldap.ScopeBaseObject, "(objectClass=*)", "uPNSuffixes")
		got := es[0].GetAttributeValues("uPNSuffixes")
		for _, want := range []string{f.Spec.RoutableSuffix, f.Spec.NonRoutableSuffix} {
			if !slices.Contains(got, want) {
				t.Errorf("uPNSuffixes %v lack %s", got, want)
			}
		}
	})

	t.Run("schema: 2012 R2, and Exchange's where the spec has it", func(t *testing.T) {
		schemaNC := "CN=Schema,CN=Configuration," + f.BaseDN
		es := search(t, conn, schemaNC, ldap.ScopeBaseObject, "(objectClass=*)", "objectVersion")
		if v, _ := strconv.Atoi(es[0].GetAttributeValue("objectVersion")); v < 69 {
			t.Errorf("schema objectVersion %d, want 69 (2012 R2) or later", v)
		}
		if n := len(search(t, conn, schemaNC, ldap.ScopeSingleLevel, "(&(objectClass=classSchema)(lDAPDisplayName=msDS-Device))", "dn")); n != 1 {
			t.Errorf("msDS-Device class: %d, want 1", n)
		}
		for _, a := range forest.ExchangeSchema {
			n := len(search(t, conn, schemaNC, ldap.ScopeSingleLevel, "(&(objectClass=attributeSchema)(lDAPDisplayName="+a.Name+"))", "dn"))
			if want := map[bool]int{true: 1, false: 0}[f.Spec.Exchange]; n != want {
				t.Errorf("attribute %s: %d, want %d", a.Name, n, want)
			}
		}
		if !f.Spec.Exchange {
			return
		}
		// A user can hold the Exchange attributes now (on this test's own copy).
		m := ldap.NewModifyRequest(l.UserDN(1), nil)
		m.Replace("mailNickname", []string{"tuser001"})
		m.Replace("msExchRecipientTypeDetails", []string{"1"})
		if err := conn.Modify(m); err != nil {
			t.Fatalf("set the Exchange attributes on a user: %v", err)
		}
		if got := search(t, conn, l.UserDN(1), ldap.ScopeBaseObject, "(objectClass=*)", "mailNickname")[0].GetAttributeValue("mailNickname"); got != "tuser001" {
			t.Errorf("mailNickname %q", got)
		}
	})

	t.Run("DNS SRV for the DC", func(t *testing.T) {
		r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, net.JoinHostPort(f.IP, "53"))
		}}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, srvs, err := r.LookupSRV(dctx, "ldap", "tcp", "dc._msdcs."+f.Name)
		if err != nil {
			t.Fatalf("_ldap._tcp.dc._msdcs.%s: %v", f.Name, err)
		}
		if len(srvs) == 0 || !strings.EqualFold(strings.TrimSuffix(srvs[0].Target, "."), f.DCHostName) || srvs[0].Port != 389 {
			t.Fatalf("SRV = %+v, want %s:389", srvs, f.DCHostName)
		}
		addrs, err := r.LookupIPAddr(dctx, srvs[0].Target)
		if err != nil || len(addrs) == 0 || addrs[0].IP.String() != f.IP {
			t.Errorf("%s resolves to %v (%v), want %s", srvs[0].Target, addrs, err, f.IP)
		}
	})

	t.Run("listens on loopback only", func(t *testing.T) {
		socks, err := f.Sockets()
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, s := range socks {
			seen[s.Proto+":"+strconv.Itoa(s.Port)] = true
			if !s.Addr.IsLoopback() {
				t.Errorf("not on loopback: %s", s)
			}
		}
		for _, want := range []string{"tcp:389", "tcp:636", "tcp:53", "udp:53"} {
			if !seen[want] {
				t.Errorf("no %s socket among %v", want, socks)
			}
		}
		t.Logf("%d sockets, all on loopback", len(socks))
	})
}

func dial(ctx context.Context, t *testing.T, f *forest.Forest) *ldap.Conn {
	t.Helper()
	conn, err := f.Dial(ctx)
	if err != nil {
		t.Fatalf("%s: %v", f.Name, err)
	}
	return conn
}

func search(t *testing.T, conn *ldap.Conn, base string, scope int, filter string, attrs ...string) []*ldap.Entry {
	t.Helper()
	res, err := conn.SearchWithPaging(ldap.NewSearchRequest(base, scope, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil), 1000)
	if err != nil {
		t.Fatalf("search %s %s: %v", base, filter, err)
	}
	return res.Entries
}

// rangedMembers reads member in explicit windows — member;range=lo-* when size
// is 0, member;range=lo-(lo+size-1) otherwise — following the end marker the
// server puts in the returned attribute name (;range=a-b, or ;range=a-* for the
// last window), as code must on Windows AD (MaxValRange 1500).
func rangedMembers(t *testing.T, conn *ldap.Conn, dn string, size int) (values []string, windows int, last string) {
	t.Helper()
	low := 0
	for windows < 1000 {
		want := fmt.Sprintf("member;range=%d-*", low)
		if size > 0 {
			want = fmt.Sprintf("member;range=%d-%d", low, low+size-1)
		}
		res, err := conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{want}, nil))
		if err != nil {
			t.Fatalf("%s %s: %v", dn, want, err)
		}
		windows++
		var attr *ldap.EntryAttribute
		for _, a := range res.Entries[0].Attributes {
			if strings.HasPrefix(strings.ToLower(a.Name), "member;range=") {
				attr = a
			}
		}
		if attr == nil {
			return values, windows, last
		}
		values = append(values, attr.Values...)
		last = attr.Name
		_, hi, ok := strings.Cut(attr.Name[len("member;range="):], "-")
		if !ok {
			t.Fatalf("bad range attribute %q", attr.Name)
		}
		if hi == "*" {
			return values, windows, last
		}
		n, err := strconv.Atoi(hi)
		if err != nil {
			t.Fatalf("bad range attribute %q", attr.Name)
		}
		low = n + 1
	}
	t.Fatalf("%s: no end marker after %d windows", dn, windows)
	return nil, 0, ""
}

// sidString renders a binary SID as S-1-5-21-….
func sidString(b []byte) string {
	if len(b) < 8 || len(b) < 8+4*int(b[1]) {
		return ""
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	s := fmt.Sprintf("S-%d-%d", b[0], auth)
	for i := 0; i < int(b[1]); i++ {
		s += fmt.Sprintf("-%d", binary.LittleEndian.Uint32(b[8+4*i:]))
	}
	return s
}
