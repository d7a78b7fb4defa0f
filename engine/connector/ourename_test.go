package connector_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/e2e/forest"
	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/setup"
	"github.com/hybridsync/hybridsync/engine/store"
)

// TestOURenameFollowedByDelta: DirSync reports a renamed or moved OU (which
// ObjectFilter drops) and not the objects below it, yet after a delta import
// their rows have their new DNs, memberships naming them follow (one added
// later by its new DN resolves to the row), an OU moved under an excluded OU
// takes its objects out of scope with the reason, and the connector space is
// what a full import of the same forest reads. Everything lives in an OU of
// its own under the domain, which the seed's counts (live_test.go) never
// look into, and is deleted at the end.
func TestOURenameFollowedByDelta(t *testing.T) {
	corp, _ := forests(t)
	ctx := context.Background()
	admin, err := corp.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}

	root := "OU=OU Rename Test," + corp.BaseDN
	excluded := "OU=Excluded Zone," + root
	movers := "OU=Movers," + root
	nested := "OU=Nested," + movers
	sibling := "OU=Movers2," + root // a similar name, never moved
	group := "CN=Rename Group," + root
	writtenBack := "CN=Ren WB," + movers
	const wbAnchor = "Group_4f9e2c1a-7b3d-4e8f-9a6b-5c4d3e2f1a0b"
	users := map[string]string{ // sAMAccountName → DN as created
		"ren-ann": "CN=Ren Ann," + movers,
		"ren-bob": "CN=Ren Bob," + movers,
		"ren-cid": "CN=Ren Cid," + nested,
		"ren-dee": "CN=Ren Dee," + sibling,
	}
	do := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	addOU := func(dn string) {
		a := ldap.NewAddRequest(dn, nil)
		a.Attribute("objectClass", []string{"organizationalUnit"})
		do("add "+dn, admin.Add(a))
	}
	t.Cleanup(func() {
		// Samba takes the tree delete control; the leaves go first anyway,
		// should it not.
		del := ldap.NewDelRequest(root, []ldap.Control{ldap.NewControlString(ldap.ControlTypeSubtreeDelete, true, "")})
		if err := admin.Del(del); err != nil {
			t.Errorf("deleting %s: %v", root, err)
		}
		admin.Close()
	})
	addOU(root)
	addOU(excluded)
	addOU(movers)
	addOU(nested)
	addOU(sibling)
	for _, sam := range slices.Sorted(maps.Keys(users)) {
		a := ldap.NewAddRequest(users[sam], nil)
		a.Attribute("objectClass", []string{"user"})
		a.Attribute("sAMAccountName", []string{sam})
		a.Attribute("userPrincipalName", []string{sam + "@" + corp.Name})
		do("add "+users[sam], admin.Add(a))
	}
	g := ldap.NewAddRequest(group, nil)
	g.Attribute("objectClass", []string{"group"})
	g.Attribute("sAMAccountName", []string{"ren-group"})
	g.Attribute("member", []string{users["ren-ann"]})
	do("add "+group, admin.Add(g))
	// A group written back from the tenant, in the OU that moves: out of
	// scope by its adminDescription wherever the OU goes.
	wb := ldap.NewAddRequest(writtenBack, nil)
	wb.Attribute("objectClass", []string{"group"})
	wb.Attribute("sAMAccountName", []string{"ren-wb"})
	wb.Attribute("groupType", []string{"8"})
	wb.Attribute("adminDescription", []string{wbAnchor})
	do("add "+writtenBack, admin.Add(wb))

	scope := connector.Scope{Filter: setup.ForestFilter{Excluded: []string{excluded}}}
	spec := specOf(t, corp, scope)
	sp := newSpace(t)
	if d := runImport(t, sp, spec); d.Mode != "full" || d.ContainersListed < 100 {
		t.Fatalf("first import: %s, %d containers listed (the seed has more than 100)", d.Mode, d.ContainersListed)
	}
	anchors := map[string]string{} // sAMAccountName → anchor
	for _, o := range objects(t, sp, corp) {
		if sam := o.Attrs["samaccountname"]; len(sam) == 1 && strings.HasPrefix(sam[0], "ren-") {
			anchors[sam[0]] = o.Anchor
		}
	}
	if len(anchors) != len(users)+2 {
		t.Fatalf("the full import read %d of the test's objects, want %d: %v", len(anchors), len(users)+2, anchors)
	}
	record, err := sp.CSContainers(ctx, corp.Name, corp.BaseDN)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(slices.Collect(maps.Values(record)), func(dn string) bool { return strings.EqualFold(dn, nested) }) {
		t.Fatalf("the full import's record of %d containers lacks %s", len(record), nested)
	}

	type want struct {
		dn     string
		in     bool
		reason string
	}
	check := func(t *testing.T, wants map[string]want) {
		t.Helper()
		rows, err := sp.CSObjects(ctx, corp.Name, slices.Collect(maps.Values(anchors)))
		if err != nil {
			t.Fatal(err)
		}
		byAnchor := map[string]store.CSObject{}
		for _, r := range rows {
			byAnchor[r.Anchor] = r
		}
		for sam, w := range wants {
			r := byAnchor[anchors[sam]]
			if !strings.EqualFold(r.DN, w.dn) || r.InScope != w.in || r.Reason != w.reason {
				t.Errorf("%s: %q in scope %v (%q), want %q %v (%q)", sam, r.DN, r.InScope, r.Reason, w.dn, w.in, w.reason)
			}
			// The helpdesk finds it by its DN now.
			if found, err := sp.FindCSObjects(ctx, w.dn); err != nil || len(found) != 1 || found[0].Anchor != r.Anchor {
				t.Errorf("%s: looked up by %s: %v %v", sam, w.dn, found, err)
			}
		}
	}
	// delta runs a delta import, which lists the containers only when some
	// changed since the last listing (uSNChanged).
	delta := func(t *testing.T, moved, containers int) time.Time {
		t.Helper()
		before := time.Now().Add(-time.Millisecond)
		d := runImport(t, sp, spec)
		if d.Mode != "delta" {
			t.Fatalf("import: %s (%s), want delta", d.Mode, d.FullReason)
		}
		if d.Moved != moved || d.MovedContainers != containers {
			t.Errorf("moved %d object(s) with %d container(s), want %d with %d", d.Moved, d.MovedContainers, moved, containers)
		}
		if listed := d.ContainersListed > 0; listed != (containers > 0) {
			t.Errorf("%d containers listed, with %d moved", d.ContainersListed, containers)
		}
		return before
	}
	changedSince := func(t *testing.T, since time.Time) []string {
		t.Helper()
		objs, err := sp.CSObjectsChangedSince(ctx, corp.Name, since)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range objs {
			if sam := o.Attrs["samaccountname"]; len(sam) == 1 && strings.HasPrefix(sam[0], "ren-") {
				out = append(out, sam[0])
			}
		}
		sort.Strings(out)
		return out
	}
	in := connector.ReasonInScope
	out := fmt.Sprintf(connector.ReasonExcludedOU, excluded)
	wbOut := fmt.Sprintf(connector.ReasonWrittenBack, wbAnchor)

	// Nested renames: the OU and the OU inside it.
	movers2 := "OU=Movers Renamed," + root
	nested2 := "OU=Nested Renamed," + movers2
	t.Run("renamed OU and the OU inside it", func(t *testing.T) {
		do("rename "+movers, admin.ModifyDN(ldap.NewModifyDNRequest(movers, "OU=Movers Renamed", true, "")))
		do("rename the nested OU", admin.ModifyDN(ldap.NewModifyDNRequest("OU=Nested,"+movers2, "OU=Nested Renamed", true, "")))
		since := delta(t, 4, 2)
		check(t, map[string]want{
			"ren-wb":  {"CN=Ren WB," + movers2, false, wbOut},
			"ren-ann": {"CN=Ren Ann," + movers2, true, in},
			"ren-bob": {"CN=Ren Bob," + movers2, true, in},
			"ren-cid": {"CN=Ren Cid," + nested2, true, in},
			"ren-dee": {users["ren-dee"], true, in},
		})
		// The moved users, and the group whose member's DN changed, are
		// what the next delta sync reads.
		if got, want := changedSince(t, since), []string{"ren-ann", "ren-bob", "ren-cid", "ren-group", "ren-wb"}; !slices.Equal(got, want) {
			t.Errorf("changed: %v, want %v", got, want)
		}
		members, err := sp.CSMembers(ctx, corp.Name, anchors["ren-group"])
		if err != nil {
			t.Fatal(err)
		}
		if len(members) != 1 || !strings.EqualFold(members[0], "CN=Ren Ann,"+movers2) {
			t.Errorf("the group's members: %q, want Ren Ann's new DN", members)
		}
	})
	t.Run("a member added by its new DN resolves", func(t *testing.T) {
		bob := "CN=Ren Bob," + movers2
		m := ldap.NewModifyRequest(group, nil)
		m.Add("member", []string{bob})
		do("add a member", admin.Modify(m))
		delta(t, 0, 0)
		members, err := sp.CSMembers(ctx, corp.Name, anchors["ren-group"])
		if err != nil {
			t.Fatal(err)
		}
		rows, err := sp.CSObjectsByDN(ctx, corp.Name, members)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rows {
			got = append(got, r.Attrs["samaccountname"][0])
		}
		sort.Strings(got)
		if !slices.Equal(got, []string{"ren-ann", "ren-bob"}) {
			t.Errorf("the group's members %q resolve to %v, want [ren-ann ren-bob]", members, got)
		}
	})
	movers3 := "OU=Movers Renamed," + excluded
	t.Run("moved under an excluded OU", func(t *testing.T) {
		do("move "+movers2, admin.ModifyDN(ldap.NewModifyDNRequest(movers2, "OU=Movers Renamed", true, excluded)))
		since := delta(t, 4, 2)
		check(t, map[string]want{
			"ren-wb":  {"CN=Ren WB," + movers3, false, wbOut}, // its adminDescription speaks first
			"ren-ann": {"CN=Ren Ann," + movers3, false, out},
			"ren-bob": {"CN=Ren Bob," + movers3, false, out},
			"ren-cid": {"CN=Ren Cid,OU=Nested Renamed," + movers3, false, out},
			"ren-dee": {users["ren-dee"], true, in},
		})
		if got, want := changedSince(t, since), []string{"ren-ann", "ren-bob", "ren-cid", "ren-group", "ren-wb"}; !slices.Equal(got, want) {
			t.Errorf("changed: %v, want %v", got, want)
		}
	})
	t.Run("moved back out", func(t *testing.T) {
		do("move "+movers3, admin.ModifyDN(ldap.NewModifyDNRequest(movers3, "OU=Movers", true, root)))
		delta(t, 4, 2)
		check(t, map[string]want{
			"ren-wb":  {"CN=Ren WB," + movers, false, wbOut},
			"ren-ann": {"CN=Ren Ann," + movers, true, in},
			"ren-cid": {"CN=Ren Cid,OU=Nested Renamed," + movers, true, in},
		})
	})
	t.Run("as a full import reads it", func(t *testing.T) {
		fresh := newSpace(t)
		runImport(t, fresh, spec)
		got, want := testRows(t, sp, corp, root), testRows(t, fresh, corp, root)
		if !slices.Equal(got, want) {
			t.Errorf("after the deltas:\n%s\nwant, as a full import reads it:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

// testRows is every live row below under (anchor, DN, scope and reason) and
// every membership naming one, sorted.
func testRows(t *testing.T, sp *store.Store, f *forest.Forest, under string) []string {
	t.Helper()
	rows, err := sp.CSObjectsOf(context.Background(), f.Name)
	if err != nil {
		t.Fatal(err)
	}
	members, err := sp.CSMembersOf(context.Background(), f.Name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rows {
		if r.Deleted || !strings.HasSuffix(strings.ToLower(r.DN), ","+strings.ToLower(under)) {
			continue
		}
		out = append(out, fmt.Sprintf("%s %s %v %s", r.Anchor, r.DN, r.InScope, r.Reason))
		for _, m := range members[r.Anchor] {
			out = append(out, fmt.Sprintf("%s member %s", r.Anchor, m))
		}
	}
	sort.Strings(out)
	return out
}

// BenchmarkDeltaContainerListing measures what following containers adds
// to a delta import, with 2,000 more OUs in corp (created for the run in an
// OU of their own, deleted after): the listing of the domain's containers
// (objectGUID only, paged) and the search for those changed since a USN,
// beside the sweep's listing of every object's objectGUID and a whole delta
// import with nothing changed (which only searches).
func BenchmarkDeltaContainerListing(b *testing.B) {
	corp, _ := forests(b)
	ctx := context.Background()
	admin, err := corp.Dial(ctx)
	if err != nil {
		b.Fatal(err)
	}
	root := "OU=Listing Bench," + corp.BaseDN
	b.Cleanup(func() {
		del := ldap.NewDelRequest(root, []ldap.Control{ldap.NewControlString(ldap.ControlTypeSubtreeDelete, true, "")})
		if err := admin.Del(del); err != nil {
			b.Errorf("deleting %s: %v", root, err)
		}
		admin.Close()
	})
	const extra = 2000
	for i := range extra + 1 {
		dn := root
		if i > 0 {
			dn = fmt.Sprintf("OU=Bench %04d,OU=Group %02d,%s", i, i%20, root)
			if i <= 20 {
				dn = fmt.Sprintf("OU=Group %02d,%s", i%20, root)
			}
		}
		a := ldap.NewAddRequest(dn, nil)
		a.Attribute("objectClass", []string{"organizationalUnit"})
		if err := admin.Add(a); err != nil {
			b.Fatalf("add %s: %v", dn, err)
		}
	}
	pem, err := os.ReadFile(corp.CACertPEM)
	if err != nil {
		b.Fatal(err)
	}
	c, err := directory.Dial(ctx, directory.Target{Forest: corp.Name, Host: corp.IP, Security: directory.LDAPS, CAPEM: pem},
		forest.LayoutOf(corp).SvcSyncUPN, forest.SvcSyncPassword)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	b.Run("containers", func(b *testing.B) {
		n := 0
		for b.Loop() {
			m, err := c.ContainerGUIDs(ctx, corp.BaseDN)
			if err != nil {
				b.Fatal(err)
			}
			n = len(m)
		}
		if n < extra {
			b.Fatalf("listed %d containers, want more than %d", n, extra)
		}
		b.ReportMetric(float64(n), "containers")
	})
	b.Run("changed containers", func(b *testing.B) {
		usn, err := c.HighestCommittedUSN(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			m, err := c.ContainerGUIDsChangedAfter(ctx, corp.BaseDN, usn)
			if err != nil {
				b.Fatal(err)
			}
			if len(m) != 0 {
				b.Fatalf("%d containers changed after %d: %v", len(m), usn, m)
			}
		}
	})
	b.Run("sweep", func(b *testing.B) {
		n := 0
		for b.Loop() {
			n = 0
			if err := c.ReadPages(ctx, corp.BaseDN, connector.ObjectFilter, []string{"objectGUID"}, func(es []*ldap.Entry) error {
				n += len(es)
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n), "objects")
	})
	b.Run("delta import", func(b *testing.B) {
		sp := newSpace(b)
		spec := specOf(b, corp, connector.Scope{})
		runImport(b, sp, spec)
		for b.Loop() {
			if d := runImport(b, sp, spec); d.Mode != "delta" || d.ContainersListed != 0 {
				b.Fatalf("%s import listed %d containers, want a delta that lists none", d.Mode, d.ContainersListed)
			}
		}
	})
}
