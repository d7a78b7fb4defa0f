package connector_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// The tests sign in as the seed's svc-sync, an ordinary user without
// "Replicating Directory Changes": imports then use DirSync with the
// object-security flag (MethodDirSyncObjectSecurity).

func newSpace(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: store.SQLitePath(t.TempDir())})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func specOf(t testing.TB, f *forest.Forest, scope connector.Scope) connector.Spec {
	t.Helper()
	pem, err := os.ReadFile(f.CACertPEM)
	if err != nil {
		t.Fatal(err)
	}
	l := forest.LayoutOf(f)
	return connector.Spec{
		Forest: setup.ForestConn{Forest: f.Name, Host: f.IP, Security: setup.SecurityLDAPS, CAPEM: string(pem),
			ConnectorUser: l.SvcSyncUPN},
		Password: forest.SvcSyncPassword,
		Scope:    scope,
	}
}

func runImport(t testing.TB, sp *store.Store, spec connector.Spec) connector.DomainResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := connector.Import(ctx, sp, spec)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	if len(res.Domains) != 1 {
		t.Fatalf("imported %d domains, want 1", len(res.Domains))
	}
	return res.Domains[0]
}

// objects returns the connector space of f by DN (lower case).
func objects(t testing.TB, sp *store.Store, f *forest.Forest) map[string]store.CSObject {
	t.Helper()
	rows, err := sp.CSObjectsOf(context.Background(), f.Name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.CSObject{}
	for _, r := range rows {
		out[strings.ToLower(r.DN)] = r
	}
	return out
}

func TestFullImportMatchesTheSeed(t *testing.T) {
	corp, _ := forests(t)
	l := forest.LayoutOf(corp)
	sp := newSpace(t)
	d := runImport(t, sp, specOf(t, corp, connector.Scope{}))
	if d.Mode != "full" || d.Method != connector.MethodDirSyncObjectSecurity {
		t.Errorf("mode %q method %q, want full with %s", d.Mode, d.Method, connector.MethodDirSyncObjectSecurity)
	}
	if d.RangedReads < 1 {
		t.Errorf("no ranged member reads: Big Group (%d members) needs a second window", forest.BigGroupMembers)
	}
	objs := objects(t, sp, corp)
	count := func(class, under string, pred func(store.CSObject) bool) int {
		n := 0
		for dn, o := range objs {
			if o.Class == class && strings.HasSuffix(dn, ","+strings.ToLower(under)) && (pred == nil || pred(o)) {
				n++
			}
		}
		return n
	}
	disabled := func(o store.CSObject) bool {
		return len(o.Attrs["useraccountcontrol"]) == 1 && o.Attrs["useraccountcontrol"][0] == "546"
	}
	tests := []struct {
		name      string
		got, want int
	}{
		{"staff users", count(connector.ClassUser, l.StaffOU, nil), forest.StaffUsers},
		{"disabled users", count(connector.ClassUser, l.StaffOU, disabled), forest.DisabledUsers},
		{"contacts", count(connector.ClassContact, l.ContactsOU, nil), forest.Contacts},
		{"bulk contacts", count(connector.ClassContact, l.BulkOU, nil), forest.BulkContacts},
		{"groups", count(connector.ClassGroup, l.GroupsOU, nil), forest.Groups},
		{"workstations", count(connector.ClassComputer, l.WorkstationsOU, nil), forest.Workstations},
		{"servers", count(connector.ClassComputer, "CN=Computers,"+corp.BaseDN, nil), forest.Servers},
		{"users in Zürich Ünïcode", count(connector.ClassUser, l.ZurichOU, nil), forest.StaffUsers / 6},
		{"users in \"Quoted\"", count(connector.ClassUser, l.QuotedOU, nil), forest.StaffUsers / 6},
		{"out of scope", d.OutOfScope, 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	big := objs[strings.ToLower(l.BigGroupDN)]
	members, err := sp.CSMembers(context.Background(), corp.Name, big.Anchor)
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != forest.BigGroupMembers {
		t.Errorf("Big Group has %d member rows, want %d", len(members), forest.BigGroupMembers)
	}
	u := objs[strings.ToLower(l.UserDN(11))]
	if u.Attrs["userprincipalname"][0] != l.UserUPN(11) || len(u.Attrs["proxyaddresses"]) != 2 || u.Attrs["objectsid"] == nil {
		t.Errorf("tuser011's attributes: %v", u.Attrs)
	}
	if _, err := base64.StdEncoding.DecodeString(u.Attrs["objectsid"][0]); err != nil {
		t.Errorf("objectSid is not base64: %v", err)
	}

	// A second full import changes nothing.
	spec := specOf(t, corp, connector.Scope{})
	spec.Full = true
	again := runImport(t, sp, spec)
	if again.Added != 0 || again.Updated != 0 || again.Deleted != 0 || again.MembersAdded != 0 || again.MembersRemoved != 0 {
		t.Errorf("an unchanged forest's second full import wrote: %+v", again)
	}
	if again.Unchanged != len(objs) {
		t.Errorf("%d unchanged, want %d", again.Unchanged, len(objs))
	}

	// The helpdesk's lookups.
	found, err := sp.FindCSObjects(context.Background(), strings.ToUpper(l.UserMail(12)))
	if err != nil || len(found) != 1 || !strings.EqualFold(found[0].DN, l.UserDN(12)) {
		t.Errorf("lookup by mail: %v %v", found, err)
	}
}

func TestScopeOUExclusionAndPilotGroup(t *testing.T) {
	corp, _ := forests(t)
	l := forest.LayoutOf(corp)
	tests := []struct {
		name  string
		scope connector.Scope
		dn    string
		in    bool
		why   string // a substring of the reason
	}{
		// User i lives in StaffOUs[i%6]: 1 in Sales, 2 in Zürich (below Sales), 3 in R+D.
		{"in a kept OU", connector.Scope{Filter: setup.ForestFilter{Excluded: []string{l.SalesOU}}}, l.UserDN(3), true, "selects"},
		{"in the excluded OU", connector.Scope{Filter: setup.ForestFilter{Excluded: []string{l.SalesOU}}}, l.UserDN(1), false, l.SalesOU},
		{"below the excluded OU", connector.Scope{Filter: setup.ForestFilter{Excluded: []string{l.SalesOU}}}, l.UserDN(2), false, l.SalesOU},
		{"pilot member", connector.Scope{PilotGroup: l.NestedParentDN}, l.UserDN(3), true, "pilot group"},
		{"pilot: the nested group itself", connector.Scope{PilotGroup: l.NestedParentDN}, l.NestedChildDN, true, "pilot group"},
		{"pilot: a nested member", connector.Scope{PilotGroup: l.NestedParentDN}, l.UserDN(6), false, "Not a direct member"},
		{"pilot: the group itself", connector.Scope{PilotGroup: l.NestedParentDN}, l.NestedParentDN, false, "Not a direct member"},
		{"pilot member in an excluded OU", connector.Scope{PilotGroup: l.NestedParentDN,
			Filter: setup.ForestFilter{Excluded: []string{l.SalesOU}}}, l.UserDN(1), false, "leaves out"},
	}
	// One import per distinct scope.
	imported := map[string]map[string]store.CSObject{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("%q %q", tt.scope.Filter.Excluded, tt.scope.PilotGroup)
			if imported[key] == nil {
				sp := newSpace(t)
				runImport(t, sp, specOf(t, corp, tt.scope))
				imported[key] = objects(t, sp, corp)
			}
			o, ok := imported[key][strings.ToLower(tt.dn)]
			if !ok {
				t.Fatalf("%s not imported", tt.dn)
			}
			if o.InScope != tt.in || !strings.Contains(o.Reason, tt.why) {
				t.Errorf("in scope %v (%q), want %v with %q", o.InScope, o.Reason, tt.in, tt.why)
			}
		})
	}
}

func TestDeltaImport(t *testing.T) {
	_, fab := forests(t)
	ctx := context.Background()
	l := forest.LayoutOf(fab)
	admin, err := fab.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	userA := "CN=Delta A," + l.StaffOU
	userB := "CN=Delta B," + l.StaffOU
	movedA := "CN=Delta A," + l.WorkstationsOU
	t.Cleanup(func() {
		for _, dn := range []string{userA, userB, movedA} {
			_ = admin.Del(ldap.NewDelRequest(dn, nil))
		}
	})
	sp := newSpace(t)
	scope := connector.Scope{Filter: setup.ForestFilter{Excluded: []string{l.WorkstationsOU}}}
	spec := specOf(t, fab, scope)
	if d := runImport(t, sp, spec); d.Mode != "full" {
		t.Fatalf("first import: %s", d.Mode)
	}
	do := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	addUser := func(dn, sam string) {
		a := ldap.NewAddRequest(dn, nil)
		a.Attribute("objectClass", []string{"user"})
		a.Attribute("sAMAccountName", []string{sam})
		a.Attribute("userPrincipalName", []string{sam + "@" + fab.Name})
		do("add "+dn, admin.Add(a))
	}
	member := l.UserDN(7)
	steps := []struct {
		name  string
		apply func()
		check func(d connector.DomainResult, objs map[string]store.CSObject)
	}{
		{"nothing changed", func() {}, func(d connector.DomainResult, _ map[string]store.CSObject) {
			if d.Read != 0 || d.Added+d.Updated+d.Deleted+d.MembersAdded+d.MembersRemoved != 0 {
				t.Errorf("an empty delta did something: %+v", d)
			}
		}},
		{"two users added", func() { addUser(userA, "delta-a"); addUser(userB, "delta-b") }, func(d connector.DomainResult, objs map[string]store.CSObject) {
			if d.Added != 2 {
				t.Errorf("added %d, want 2 (%+v)", d.Added, d)
			}
			if o := objs[strings.ToLower(userA)]; !o.InScope || o.Attrs["samaccountname"][0] != "delta-a" {
				t.Errorf("Delta A: %+v", o)
			}
		}},
		{"one modified, one deleted, one member of Big Group removed", func() {
			m := ldap.NewModifyRequest(userA, nil)
			m.Replace("title", []string{"Delta Tester"})
			do("modify", admin.Modify(m))
			do("delete", admin.Del(ldap.NewDelRequest(userB, nil)))
			m = ldap.NewModifyRequest(l.BigGroupDN, nil)
			m.Delete("member", []string{member})
			do("remove member", admin.Modify(m))
		}, func(d connector.DomainResult, objs map[string]store.CSObject) {
			if d.Deleted != 1 || d.MembersRemoved != 1 || d.MembersAdded != 0 {
				t.Errorf("deleted %d, members -%d +%d; want 1, -1 +0 (%+v)", d.Deleted, d.MembersRemoved, d.MembersAdded, d)
			}
			if o := objs[strings.ToLower(userA)]; len(o.Attrs["title"]) != 1 || o.Attrs["title"][0] != "Delta Tester" {
				t.Errorf("Delta A's title: %v", o.Attrs["title"])
			}
			if o := objs[strings.ToLower(userB)]; !o.Deleted || o.InScope || o.Reason != connector.ReasonDeleted {
				t.Errorf("Delta B: deleted %v in scope %v %q", o.Deleted, o.InScope, o.Reason)
			}
			if n := bigMembers(t, sp, fab, objs); n != forest.BigGroupMembers-1 {
				t.Errorf("Big Group: %d member rows, want %d", n, forest.BigGroupMembers-1)
			}
		}},
		{"the member back", func() {
			m := ldap.NewModifyRequest(l.BigGroupDN, nil)
			m.Add("member", []string{member})
			do("add member", admin.Modify(m))
		}, func(d connector.DomainResult, objs map[string]store.CSObject) {
			if d.MembersAdded != 1 || d.MembersRemoved != 0 || d.Updated != 0 {
				t.Errorf("members +%d -%d, objects updated %d; want +1 -0, 0", d.MembersAdded, d.MembersRemoved, d.Updated)
			}
			if n := bigMembers(t, sp, fab, objs); n != forest.BigGroupMembers {
				t.Errorf("Big Group: %d member rows, want %d", n, forest.BigGroupMembers)
			}
		}},
		{"moved into an excluded OU", func() {
			do("move", admin.ModifyDN(ldap.NewModifyDNRequest(userA, "CN=Delta A", true, l.WorkstationsOU)))
		}, func(d connector.DomainResult, objs map[string]store.CSObject) {
			o, ok := objs[strings.ToLower(movedA)]
			if !ok || o.InScope || o.Deleted || !strings.Contains(o.Reason, l.WorkstationsOU) {
				t.Errorf("moved Delta A: found %v in scope %v deleted %v %q", ok, o.InScope, o.Deleted, o.Reason)
			}
		}},
	}
	for _, st := range steps {
		st.apply()
		d := runImport(t, sp, spec)
		if d.Mode != "delta" {
			t.Fatalf("%s: mode %s (%s), want delta", st.name, d.Mode, d.FullReason)
		}
		t.Run(st.name, func(t *testing.T) { st.check(d, objects(t, sp, fab)) })
	}
}

func bigMembers(t testing.TB, sp *store.Store, f *forest.Forest, objs map[string]store.CSObject) int {
	t.Helper()
	l := forest.LayoutOf(f)
	m, err := sp.CSMembers(context.Background(), f.Name, objs[strings.ToLower(l.BigGroupDN)].Anchor)
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

func TestFullImportWhenTheWatermarkCannotBeUsed(t *testing.T) {
	_, fab := forests(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper func(p *store.CSPartition)
		reason string
	}{
		{"refused cookie", func(p *store.CSPartition) {
			p.Cookie = base64.StdEncoding.EncodeToString([]byte("not a DirSync cookie"))
		}, "refused the DirSync cookie"},
		{"another DC", func(p *store.CSPartition) { p.DC = "dc-old." + fab.Name }, "domain controller changed"},
		{"filters changed", func(p *store.CSPartition) { p.Config = "older" }, "changed since the last import"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := newSpace(t)
			spec := specOf(t, fab, connector.Scope{})
			first := runImport(t, sp, spec)
			p, err := sp.CSPartition(ctx, fab.Name, fab.BaseDN)
			if err != nil {
				t.Fatal(err)
			}
			tt.tamper(&p)
			if err := sp.SaveCSPartition(ctx, p); err != nil {
				t.Fatal(err)
			}
			d := runImport(t, sp, spec)
			if d.Mode != "full" || !strings.Contains(d.FullReason, tt.reason) {
				t.Errorf("mode %s (%q), want full because %q", d.Mode, d.FullReason, tt.reason)
			}
			if d.Unchanged != first.Added || d.Added != 0 {
				t.Errorf("the full import rewrote: %+v", d)
			}
			if d := runImport(t, sp, spec); d.Mode != "delta" {
				t.Errorf("after it: %s (%s), want delta", d.Mode, d.FullReason)
			}
		})
	}
}

func ExampleSpecFor() {
	a := setup.Defaults()
	a.Directories.Forests = []setup.ForestConn{{Forest: "corp.example.test", ConnectorUser: "MSOL_0123@corp.example.test"}}
	a.SignInConfig.Attribute = "mail"
	a.Extensions.Selected = []setup.ExtensionAttr{{Name: "msDS-cloudExtensionAttribute1", Type: setup.ExtString}}
	spec, err := connector.SpecFor(&a, "corp.example.test", "secret")
	fmt.Println(spec.Name(), spec.Attributes, err)
	// Output: corp.example.test [mail msDS-cloudExtensionAttribute1] <nil>
}
