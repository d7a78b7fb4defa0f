package metaverse

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

const (
	corp = "corp.example.test"
	fab  = "fabrikam.example.test"
)

// guid is a deterministic objectGUID string.
func guid(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n) }

// obj builds an in-scope connector object; attrs are "name=value" pairs
// (repeat a name for more values).
func obj(forest, class string, n int, dn string, attrs ...string) connector.Object {
	o := connector.Object{Connector: forest, Anchor: guid(n), DN: dn, Class: class, Attrs: map[string][]string{}, InScope: true, Reason: "In scope: OU selected."}
	for _, a := range attrs {
		k, v, _ := strings.Cut(a, "=")
		o.Attrs[k] = append(o.Attrs[k], v)
	}
	return o
}

func user(forest string, n int, cn string, attrs ...string) connector.Object {
	dc := "DC=" + strings.Join(strings.Split(forest, "."), ",DC=")
	o := obj(forest, connector.ClassUser, n, "CN="+cn+",OU=Users,"+dc, attrs...)
	for k, v := range map[string]string{"samaccountname": cn, "useraccountcontrol": "512"} {
		if _, ok := o.Attrs[k]; !ok {
			o.Attrs[k] = []string{v}
		}
	}
	return o
}

func baseConfig() Config {
	return Config{Forests: []string{corp, fab}, Matching: setup.MatchOnce, AnchorAttribute: setup.AttrObjectGUID,
		SignInAttribute: setup.AttributeUPN, VerifiedDomains: map[string]bool{"example.test": true}, InitialDomain: "contoso.onmicrosoft.com"}
}

func sync(t *testing.T, cfg Config, objs ...connector.Object) *Engine {
	t.Helper()
	e := NewEngine(cfg)
	e.Full(objs)
	return e
}

func why(t *testing.T, e *Engine, o connector.Object) Trace {
	t.Helper()
	tr, ok := e.Why(SourceID{o.Connector, o.Anchor})
	if !ok {
		t.Fatalf("no trace for %s", o.DN)
	}
	return tr
}

func TestMatchingAcrossForests(t *testing.T) {
	// SIDs: S-1-5-21-1-2-3-1105 as Base64.
	sid := "AQUAAAAAAAUVAAAAAQAAAAIAAAADAAAAUQQAAA=="
	tests := []struct {
		name      string
		matching  string
		attr      string
		objs      []connector.Object
		wantMV    int
		wantJoin  bool   // the first two objects share one metaverse object
		dropped   int    // index of an object that must not be synced, or -1
		dropWords string // words of its reason
	}{
		{"once: no join", setup.MatchOnce, "", []connector.Object{
			user(corp, 1, "ann", "mail=ann@example.test"), user(fab, 2, "ann", "mail=ann@example.test")}, 2, false, -1, ""},
		{"mail: joined", setup.MatchMail, "", []connector.Object{
			user(corp, 1, "ann", "mail=Ann@example.test"), user(fab, 2, "ann2", "mail=ann@example.test")}, 1, true, -1, ""},
		{"mail: unpopulated is not synced", setup.MatchMail, "", []connector.Object{
			user(corp, 1, "ann", "mail=ann@example.test"), user(fab, 2, "bob")}, 1, false, 1, "mail is unpopulated"},
		{"mail: a GALSync contact joins the user", setup.MatchMail, "", []connector.Object{
			user(corp, 1, "ann", "mail=ann@example.test"), obj(fab, connector.ClassContact, 2, "CN=Ann,OU=GAL,DC=fabrikam,DC=example,DC=test", "mail=ann@example.test")}, 1, true, -1, ""},
		{"objectSID ↔ msExchMasterAccountSid: linked mailbox", setup.MatchSIDs, "", []connector.Object{
			user(corp, 1, "ann", "objectsid="+sid),
			user(fab, 2, "ann-mbx", "useraccountcontrol=514", "msexchmasteraccountsid="+sid, "mail=ann@example.test")}, 1, true, -1, ""},
		{"objectSID ↔ msRTCSIP-OriginatorSID", setup.MatchSIDs, "", []connector.Object{
			user(corp, 1, "ann", "objectsid="+sid),
			user(fab, 2, "ann-lync", "useraccountcontrol=514", "msrtcsip-originatorsid="+sid)}, 1, true, -1, ""},
		{"objectSID: SELF is no link", setup.MatchSIDs, "", []connector.Object{
			user(corp, 1, "ann", "objectsid="+sid),
			user(fab, 2, "room", "useraccountcontrol=514", "msexchmasteraccountsid="+selfSID)}, 2, false, -1, ""},
		{"sAMAccountName + mailNickname", setup.MatchSAMMailNickname, "", []connector.Object{
			user(corp, 1, "ann", "mailnickname=ann"), user(fab, 2, "ANN", "mailnickname=Ann")}, 1, true, -1, ""},
		{"sAMAccountName + mailNickname: another nickname", setup.MatchSAMMailNickname, "", []connector.Object{
			user(corp, 1, "ann", "mailnickname=ann"), user(fab, 2, "ann", "mailnickname=ann.b")}, 2, false, -1, ""},
		{"chosen attribute", setup.MatchAttribute, "employeeID", []connector.Object{
			user(corp, 1, "ann", "employeeid=E1"), user(fab, 2, "a.n", "employeeid=E1")}, 1, true, -1, ""},
		{"chosen attribute unpopulated", setup.MatchAttribute, "employeeID", []connector.Object{
			user(corp, 1, "ann", "employeeid=E1"), user(fab, 2, "bob")}, 1, false, 1, "employeeID is unpopulated"},
		{"two objects of one forest can't join one", setup.MatchMail, "", []connector.Object{
			user(corp, 1, "ann", "mail=ann@example.test"), user(corp, 2, "ann2", "mail=ann@example.test")}, 1, false, 1, "at most one object of each forest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.Matching, cfg.MatchingAttribute = tt.matching, tt.attr
			e := sync(t, cfg, tt.objs...)
			if e.Len() != tt.wantMV {
				t.Fatalf("metaverse has %d objects, want %d", e.Len(), tt.wantMV)
			}
			a, b := why(t, e, tt.objs[0]), why(t, e, tt.objs[1])
			if joined := a.Synced && b.Synced && a.Key == b.Key; joined != tt.wantJoin {
				t.Errorf("joined = %v, want %v (%+v / %+v)", joined, tt.wantJoin, a, b)
			}
			if tt.dropped >= 0 {
				d := why(t, e, tt.objs[tt.dropped])
				if d.Synced || !strings.Contains(d.Reason, tt.dropWords) {
					t.Errorf("dropped object: synced %v, reason %q; want not synced for %q", d.Synced, d.Reason, tt.dropWords)
				}
			}
		})
	}
}

func TestLinkedMailboxPrecedence(t *testing.T) {
	sid := "AQUAAAAAAAUVAAAAAQAAAAIAAAADAAAAUQQAAA=="
	cfg := baseConfig()
	cfg.Matching = setup.MatchSIDs
	// The resource forest comes first in precedence, yet the enabled
	// account-forest user is the primary; the mailbox attributes come from
	// the resource forest.
	cfg.Forests = []string{fab, corp}
	acct := user(corp, 1, "ann", "objectsid="+sid, "userprincipalname=ann@example.test", "title=Engineer")
	mbx := user(fab, 2, "ann-mbx", "useraccountcontrol=514", "msexchmasteraccountsid="+sid, "mail=ann@fabrikam.example.test",
		"proxyaddresses=SMTP:ann@fabrikam.example.test", "title=Mailbox")
	e := sync(t, cfg, mbx, acct)
	tr := why(t, e, acct)
	if !tr.Primary {
		t.Fatalf("the account-forest user is not the primary: %+v", tr)
	}
	o, _ := e.Object(tr.Key)
	for prop, want := range map[string]string{"accountEnabled": "true", "userPrincipalName": "ann@example.test",
		"mail": "ann@fabrikam.example.test", "jobTitle": "Engineer", "onPremisesImmutableId": tr.Key} {
		if got := o.Attr(prop); got != want {
			t.Errorf("%s = %q, want %q", prop, got, want)
		}
	}
}

func TestSourceAnchor(t *testing.T) {
	guidB64 := func(n int) string {
		b, _ := guidBytes(guid(n))
		return base64.StdEncoding.EncodeToString(b)
	}
	tests := []struct {
		name      string
		anchor    string
		attrs     []string
		want      string
		writeback bool
		dropped   bool
	}{
		{"ms-DS-ConsistencyGuid populated", setup.AttrConsistencyGuid, []string{"ms-ds-consistencyguid=q83vEjRWeJCrze8SNFZ4kA=="}, "q83vEjRWeJCrze8SNFZ4kA==", false, false},
		{"ms-DS-ConsistencyGuid empty: objectGUID, written back", setup.AttrConsistencyGuid, nil, guidB64(7), true, false},
		{"managed without a resolved attribute is the same logic", "", nil, guidB64(7), true, false},
		{"objectGUID", setup.AttrObjectGUID, []string{"ms-ds-consistencyguid=q83vEjRWeJCrze8SNFZ4kA=="}, guidB64(7), false, false},
		{"objectGUID imported as Base64 wins over the anchor's text", setup.AttrObjectGUID, []string{"objectguid=AAECAwQFBgcICQoLDA0ODw=="}, "AAECAwQFBgcICQoLDA0ODw==", false, false},
		{"chosen text attribute, as it is", "employeeID", []string{"employeeid=E-42"}, "E-42", false, false},
		{"chosen binary attribute, Base64", "objectSid", []string{"objectsid=AQUAAAAAAAUVAAAA"}, "AQUAAAAAAAUVAAAA", false, false},
		{"chosen attribute unpopulated", "employeeID", nil, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.AnchorAttribute = tt.anchor
			u := user(corp, 7, "ann", tt.attrs...)
			e := sync(t, cfg, u)
			tr := why(t, e, u)
			if tt.dropped {
				if tr.Synced || !strings.Contains(tr.Reason, "unpopulated") {
					t.Fatalf("want not synced, unpopulated; got %+v", tr)
				}
				return
			}
			if tr.Key != tt.want {
				t.Errorf("key %q, want %q", tr.Key, tt.want)
			}
			wb := e.Writebacks()
			if got := len(wb) == 1 && wb[0].Value == tt.want && wb[0].DN == u.DN; got != tt.writeback {
				t.Errorf("writebacks %+v, want writeback %v", wb, tt.writeback)
			}
		})
	}
}

func TestGUIDBytes(t *testing.T) {
	b, ok := guidBytes("01020304-0506-0708-090a-0b0c0d0e0f10")
	want := []byte{4, 3, 2, 1, 6, 5, 8, 7, 9, 10, 11, 12, 13, 14, 15, 16}
	if !ok || !slices.Equal(b, want) {
		t.Fatalf("guidBytes = %v, %v; want %v", b, ok, want)
	}
}

func TestAnchorIsImmutable(t *testing.T) {
	cfg := baseConfig()
	cfg.AnchorAttribute = setup.AttrConsistencyGuid
	u := user(corp, 3, "ann")
	e := sync(t, cfg, u)
	key := why(t, e, u).Key
	// Someone writes another value into ms-DS-ConsistencyGuid: the key stays.
	u2 := user(corp, 3, "ann", "ms-ds-consistencyguid=q83vEjRWeJCrze8SNFZ4kA==")
	e.Delta([]connector.Object{u2})
	if got := why(t, e, u2).Key; got != key {
		t.Fatalf("key changed from %s to %s", key, got)
	}
}

func TestSignInName(t *testing.T) {
	tests := []struct {
		name     string
		attr     string
		tenant   bool
		attrs    []string
		want     string
		traceHas string
	}{
		{"verified suffix", setup.AttributeUPN, true, []string{"userprincipalname=ann@example.test"}, "ann@example.test", "is a verified domain"},
		{"unverified suffix replaced", setup.AttributeUPN, true, []string{"userprincipalname=ann@corp.local"}, "ann@contoso.onmicrosoft.com", "corp.local, which is not a verified domain"},
		{"no UPN: sAMAccountName@domain, replaced", setup.AttributeUPN, true, nil, "ann@contoso.onmicrosoft.com", "sAMAccountName@domain"},
		{"tenant not known: kept", setup.AttributeUPN, false, []string{"userprincipalname=ann@corp.local"}, "ann@corp.local", "not checked"},
		{"alternate ID mail", "mail", true, []string{"userprincipalname=ann@corp.local", "mail=ann.b@example.test"}, "ann.b@example.test", "from mail"},
		{"alternate ID not an address", "employeeID", true, []string{"employeeid=E1"}, "ann@contoso.onmicrosoft.com", "not an address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := baseConfig()
			cfg.SignInAttribute = tt.attr
			if !tt.tenant {
				cfg.VerifiedDomains, cfg.InitialDomain = nil, ""
			}
			u := user(corp, 1, "ann", tt.attrs...)
			e := sync(t, cfg, u)
			tr := why(t, e, u)
			if got := tr.Cloud["userPrincipalName"]; len(got) != 1 || got[0] != tt.want {
				t.Errorf("userPrincipalName %v, want %s", got, tt.want)
			}
			var steps []string
			for _, s := range tr.Steps {
				if s.Rule == RuleSignIn {
					steps = append(steps, s.Detail)
				}
			}
			if !strings.Contains(strings.Join(steps, " "), tt.traceHas) {
				t.Errorf("sign-in steps %q lack %q", steps, tt.traceHas)
			}
			if tt.attr == "mail" {
				if got := tr.Cloud["onPremisesUserPrincipalName"]; len(got) != 1 || got[0] != "ann@corp.local" {
					t.Errorf("onPremisesUserPrincipalName %v", got)
				}
			}
		})
	}
}

func TestExtensions(t *testing.T) {
	cfg := baseConfig()
	cfg.ExtensionAppID = "0123456789abcdef0123456789abcdef"
	cfg.Extensions = []setup.ExtensionAttr{{Name: "division", Type: setup.ExtString}, {Name: "msDS-Flag", Type: setup.ExtBoolean},
		{Name: "carLicense", Type: setup.ExtString, MultiValued: true}, {Name: "notes", Type: setup.ExtString}}
	u := user(corp, 1, "ann", "division=Sales", "msds-flag=TRUE", "carlicense=B", "carlicense=A", "notes="+strings.Repeat("x", 251))
	e := sync(t, cfg, u)
	got := why(t, e, u).Cloud
	p := func(a string) string { return "extension_0123456789abcdef0123456789abcdef_" + a }
	if !slices.Equal(got[p("division")], []string{"Sales"}) || !slices.Equal(got[p("msDS-Flag")], []string{"true"}) ||
		!slices.Equal(got[p("carLicense")], []string{"A", "B"}) {
		t.Errorf("extensions: %v", got)
	}
	if _, ok := got[p("notes")]; ok {
		t.Error("a value over 250 characters was synced")
	}
	if cfg.PropertyType(p("msDS-Flag")) != "bool" || cfg.PropertyType(p("carLicense")) != "strings" {
		t.Error("PropertyType of extensions")
	}
}

func TestObjectKinds(t *testing.T) {
	cfg := baseConfig()
	dc := ",DC=corp,DC=example,DC=test"
	ann := user(corp, 1, "ann")
	bob := user(corp, 2, "bob")
	bob.InScope, bob.Reason = false, "OU=Users is not selected on Domain and OU filtering."
	staff := obj(corp, connector.ClassGroup, 3, "CN=Staff,OU=Groups"+dc, "grouptype=-2147483646", "samaccountname=Staff")
	staff.Members = []string{strings.ToUpper(ann.DN), bob.DN, "CN=Nested,OU=Groups" + dc, "CN=Gone,OU=Users" + dc}
	nested := obj(corp, connector.ClassGroup, 4, "CN=Nested,OU=Groups"+dc, "grouptype=-2147483646")
	dist := obj(corp, connector.ClassGroup, 5, "CN=Dist,OU=Groups"+dc, "grouptype=2")
	contact := obj(corp, connector.ClassContact, 6, "CN=Partner,OU=Contacts"+dc, "mail=p@partner.test", "displayname=Partner")
	pc := obj(corp, connector.ClassComputer, 7, "CN=PC1,OU=Computers"+dc, "usercertificate="+deviceCert(t, guid(70)), "operatingsystem=Windows 11")
	pcOld := obj(corp, connector.ClassComputer, 8, "CN=PC2,OU=Computers"+dc)
	pcBad := obj(corp, connector.ClassComputer, 10, "CN=PC3,OU=Computers"+dc, "usercertificate=MIIB")
	krb := user(corp, 9, "krbtgt", "iscriticalsystemobject=TRUE")
	e := sync(t, cfg, ann, bob, staff, nested, dist, contact, pc, pcOld, pcBad, krb)

	g := why(t, e, staff)
	o, _ := e.Object(g.Key)
	want := []string{why(t, e, ann).Key, why(t, e, nested).Key}
	slices.Sort(want)
	if !slices.Equal(o.Members, want) {
		t.Errorf("members %v, want %v (by reference, out-of-scope and unknown DNs left out)", o.Members, want)
	}
	if o.Attr("securityEnabled") != "true" || o.Attr("mailEnabled") != "false" {
		t.Errorf("group flags: %v", o.Attrs)
	}
	for _, tc := range []struct {
		o      connector.Object
		synced bool
		kind   string
		words  string
	}{
		{bob, false, "", "not selected"},
		{dist, false, "", "not mail-enabled"},
		{contact, true, KindContact, ""},
		{pc, true, KindDevice, ""},
		{pcOld, false, "", "userCertificate"},
		{pcBad, false, "", "no certificate that can be read"},
		{krb, false, "", "critical system object"},
	} {
		tr := why(t, e, tc.o)
		if tr.Synced != tc.synced || tr.Kind != tc.kind || !strings.Contains(tr.Reason, tc.words) {
			t.Errorf("%s: synced %v kind %q reason %q; want %v %q %q", tc.o.DN, tr.Synced, tr.Kind, tr.Reason, tc.synced, tc.kind, tc.words)
		}
	}
	if d, _ := e.Object(why(t, e, pc).Key); d.Attr("deviceId") != guid(70) || d.Attr("operatingSystem") != "Windows" || len(d.Attrs["alternativeSecurityIds"]) != 1 {
		t.Errorf("device attrs %v", d.Attrs)
	}
}

// exportAll stands for an export that confirmed every desired object.
func exportAll(e *Engine) map[string]*Exported {
	out := map[string]*Exported{}
	for k := range e.mv {
		o := e.desired(k)
		out[k] = &Exported{Key: k, Kind: o.Kind, CloudID: "id-" + k, Attrs: o.Attrs, Members: slices.Clone(o.Members)}
	}
	return out
}

func bigGroup(n int) []connector.Object {
	objs := make([]connector.Object, 0, n+1)
	g := obj(corp, connector.ClassGroup, 1_000_000, "CN=All,OU=Groups,DC=corp,DC=example,DC=test", "grouptype=-2147483646")
	for i := range n {
		u := user(corp, i+1, fmt.Sprintf("u%05d", i))
		g.Members = append(g.Members, u.DN)
		objs = append(objs, u)
	}
	return append(objs, g)
}

func TestDelta(t *testing.T) {
	const n = 50_000
	objs := bigGroup(n)
	e := NewEngine(baseConfig())
	e.Full(objs)
	exported := exportAll(e)
	group := objs[n]
	gkey := why(t, e, group).Key

	// One member leaves the 50,000-member group.
	g2 := group
	g2.Members = slices.Clone(group.Members[1:])
	touched := e.Delta([]connector.Object{g2})
	chs := e.Pending(touched.Keys, exported, false)
	if len(chs) != 1 || chs[0].Key != gkey || len(chs[0].RemoveMembers) != 1 || len(chs[0].AddMembers) != 0 || len(chs[0].Attrs) != 0 {
		t.Fatalf("one member removed: %d changes, first %+v", len(chs), summary(chs))
	}

	// A member's title changes: one user update, the group untouched.
	u := user(corp, 2, "u00001", "title=Boss")
	touched = e.Delta([]connector.Object{u})
	chs = e.Pending(touched.Keys, exported, false)
	chs = slices.DeleteFunc(chs, func(c Change) bool { return c.Key == gkey }) // still the pending removal above
	if len(chs) != 1 || chs[0].Op != OpUpdate || len(chs[0].Attrs) != 1 || chs[0].Attrs[0].Name != "jobTitle" {
		t.Fatalf("title changed: %+v", summary(chs))
	}

	// A member moves out of scope: deleted, and one membership removed.
	out := user(corp, 3, "u00002")
	out.InScope, out.Reason = false, "OU=Users is not selected."
	touched = e.Delta([]connector.Object{out})
	chs = e.Pending(touched.Keys, exported, false)
	var del, grp *Change
	for i := range chs {
		switch {
		case chs[i].Op == OpDelete:
			del = &chs[i]
		case chs[i].Key == gkey:
			grp = &chs[i]
		}
	}
	if del == nil || del.CloudID == "" || grp == nil || len(grp.RemoveMembers) != 2 || len(chs) != 2 {
		t.Fatalf("out of scope: %+v", summary(chs))
	}
	if tr := why(t, e, out); tr.Synced || !strings.Contains(tr.Reason, "not selected") {
		t.Errorf("trace of the object moved out: %+v", tr)
	}

	// Deleted in the forest, then a new user: a delete and an add.
	gone := objs[10]
	gone.Deleted = true
	touched = e.Delta([]connector.Object{gone, user(corp, 99_999, "newbie")})
	ops := map[string]int{}
	for _, c := range e.Pending(touched.Keys, exported, false) {
		if c.Key != gkey {
			ops[c.Op]++
		}
	}
	if ops[OpDelete] != 1 || ops[OpAdd] != 1 {
		t.Errorf("delete + add: %v", ops)
	}
}

func summary(chs []Change) []string {
	var out []string
	for _, c := range chs {
		out = append(out, fmt.Sprintf("%s %s %s attrs=%d +%d -%d", c.Op, c.Kind, c.Key, len(c.Attrs), len(c.AddMembers), len(c.RemoveMembers)))
	}
	return out
}

func TestDiff(t *testing.T) {
	d := &Object{Key: "k", Kind: KindGroup, Attrs: map[string][]string{"displayName": {"B"}, "mail": {"m"}}, Members: []string{"a", "c", "d"}}
	x := &Exported{Key: "k", Kind: KindGroup, CloudID: "c1", Attrs: map[string][]string{"displayName": {"A"}, "description": {"x"}}, Members: []string{"a", "b", "d"}}
	tests := []struct {
		name string
		d    *Object
		x    *Exported
		want []string
	}{
		{"nothing", nil, nil, nil},
		{"add", d, nil, []string{"add group k attrs=2 +3 -0"}},
		{"delete", nil, x, []string{"delete group k attrs=0 +0 -0"}},
		{"update", d, x, []string{"update group k attrs=3 +1 -1"}},
		{"same", d, &Exported{Key: "k", Kind: KindGroup, Attrs: d.Attrs, Members: d.Members}, nil},
		{"kind changed", &Object{Key: "k", Kind: KindUser, Attrs: d.Attrs}, x, []string{"delete group k attrs=0 +0 -0", "add user k attrs=2 +0 -0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summary(Diff(tt.d, tt.x)); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	ch := Diff(d, x)[0]
	if ch.CloudID != "c1" || ch.Attrs[0].Name != "description" || ch.Attrs[0].New != nil || ch.Attrs[1].Name != "displayName" ||
		!slices.Equal(ch.Attrs[1].Old, []string{"A"}) || !slices.Equal(ch.Attrs[1].New, []string{"B"}) {
		t.Errorf("update attrs %+v", ch)
	}
}

// TestDiffCopiesWhatItKeeps: an update's old values, and the names of the
// attributes it removes, are not parts of the exported object's stored row
// (read by store.ParseAttrs without copying): a delta parses each object
// into one map in turn and holds its changes.
func TestDiffCopiesWhatItKeeps(t *testing.T) {
	stored := `{"description":["old note"],"displayName":["Old name"]}`
	attrs, err := store.ParseAttrs(stored, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &Object{Key: "k", Kind: KindGroup, Attrs: map[string][]string{"displayName": {"New name"}}}
	chs := Diff(d, &Exported{Key: "k", Kind: KindGroup, Attrs: attrs})
	if len(chs) != 1 || len(chs[0].Attrs) != 2 {
		t.Fatalf("changes %+v", chs)
	}
	start := uintptr(unsafe.Pointer(unsafe.StringData(stored)))
	inRow := func(s string) bool {
		p := uintptr(unsafe.Pointer(unsafe.StringData(s)))
		return len(s) > 0 && p >= start && p < start+uintptr(len(stored))
	}
	for _, a := range chs[0].Attrs {
		if inRow(a.Name) || slices.ContainsFunc(a.Old, inRow) {
			t.Errorf("%s (old %q) is part of the stored row", a.Name, a.Old)
		}
	}
	if a := chs[0].Attrs; a[0].Name != "description" || !slices.Equal(a[0].Old, []string{"old note"}) || a[0].New != nil ||
		!slices.Equal(a[1].Old, []string{"Old name"}) || !slices.Equal(a[1].New, []string{"New name"}) {
		t.Errorf("changes %+v", a)
	}
}

func TestNewConfig(t *testing.T) {
	a := setup.Defaults()
	a.Directories.Forests = []setup.ForestConn{{Forest: corp}, {Forest: fab}}
	a.Identifying = setup.Identifying{Matching: setup.MatchMail, SourceAnchor: setup.AnchorManaged, Resolved: setup.AttrObjectGUID}
	a.SignInConfig.Attribute = "mail"
	a.Features.DirectoryExtensions = true
	a.Extensions.Selected = []setup.ExtensionAttr{{Name: "division", Type: setup.ExtString}}
	if _, err := NewConfig(a, nil); err == nil {
		t.Error("extensions without the app id: no error")
	}
	c, err := NewConfig(a, &entra.Tenant{SchemaExtensionAppID: "01234567-89AB-cdef-0123-456789abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Matching != setup.MatchMail || c.AnchorAttribute != setup.AttrObjectGUID || c.SignInAttribute != "mail" ||
		c.ExtensionAppID != "0123456789abcdef0123456789abcdef" || !slices.Equal(c.Forests, []string{corp, fab}) || c.tenantKnown() {
		t.Errorf("config %+v", c)
	}
}
