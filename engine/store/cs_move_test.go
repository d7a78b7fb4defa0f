package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestMoveCSSubtrees: the objects below a renamed or moved container take its
// new DN (whatever the case of the stored DN), get their scope decided again,
// are marked changed, and the membership rows naming them follow; a sibling
// whose name starts the same, a deleted row and another partition stay.
func TestMoveCSSubtrees(t *testing.T) {
	const (
		conn = "corp.example.test"
		dom  = "DC=corp,DC=test"
	)
	type row struct{ anchor, dn string }
	seed := []row{
		{"u1", "CN=Ann,OU=Staff," + dom},
		{"u2", "cn=Bob,ou=STAFF," + strings.ToUpper(dom)}, // the DC's case varies
		{"u3", "CN=Cid,OU=Inner,OU=Staff," + dom},
		{"u4", "CN=Dee,OU=Staff2," + dom},          // a sibling with a similar name
		{"u5", `CN=Eve\,OU=Staff,` + dom},          // an escaped comma: not below OU=Staff
		{"u6", "CN=Fay,OU=Staff," + dom},           // deleted: stays
		{"u7", "CN=Gil,OU=Staff,DC=other,DC=test"}, // another partition
		{"g1", "CN=Group,OU=Groups," + dom},
		{"g2", "CN=Other Group,OU=Groups," + dom},
	}
	excluded := "OU=Excluded," + dom
	// decide is given the object: g2 is out of scope by an attribute
	// (as a written-back group is), wherever it moves.
	decide := func(o *CSObject) (bool, string) {
		if strings.HasSuffix(strings.ToLower(o.DN), ","+strings.ToLower(excluded)) {
			return false, "excluded"
		}
		if d := o.Attrs["admindescription"]; len(d) > 0 && strings.HasPrefix(d[0], "Group_") {
			return false, "written back"
		}
		return true, "in scope"
	}
	tests := []struct {
		name   string
		moves  []CSMove
		want   map[string]string // anchor → DN after
		groups []string          // groups that changed
	}{
		{"rename", []CSMove{{"OU=Staff," + dom, "OU=People," + dom}}, map[string]string{
			"u1": "CN=Ann,OU=People," + dom,
			"u2": "cn=Bob,OU=People," + dom,
			"u3": "CN=Cid,OU=Inner,OU=People," + dom,
		}, []string{"g1"}},
		{"case-insensitive old DN", []CSMove{{strings.ToUpper("OU=Staff," + dom), "OU=Staff," + dom}}, map[string]string{
			"u2": "cn=Bob,OU=Staff," + dom,
		}, []string{"g1"}}, // the member's DN, as the group names it, changed case
		{"move under an excluded OU", []CSMove{{"OU=Staff," + dom, "OU=Staff," + excluded}}, map[string]string{
			"u1": "CN=Ann,OU=Staff," + excluded,
			"u2": "cn=Bob,OU=Staff," + excluded,
			"u3": "CN=Cid,OU=Inner,OU=Staff," + excluded,
		}, []string{"g1"}},
		{"nested: the OU and its parent renamed", []CSMove{
			{"OU=Staff," + dom, "OU=People," + dom},
			{"OU=Inner,OU=Staff," + dom, "OU=Core,OU=People," + dom},
		}, map[string]string{
			"u1": "CN=Ann,OU=People," + dom,
			"u2": "cn=Bob,OU=People," + dom,
			"u3": "CN=Cid,OU=Core,OU=People," + dom,
		}, []string{"g1"}},
		{"the child moved out before its parent was renamed", []CSMove{
			{"OU=Staff," + dom, "OU=People," + dom},
			{"OU=Inner,OU=Staff," + dom, "OU=Inner,OU=Groups," + dom},
		}, map[string]string{
			"u1": "CN=Ann,OU=People," + dom,
			"u2": "cn=Bob,OU=People," + dom,
			"u3": "CN=Cid,OU=Inner,OU=Groups," + dom,
		}, []string{"g1"}},
		{"a container that kept its DN below a moved one", []CSMove{
			{"OU=Staff," + dom, "OU=People," + dom},
			{"OU=Inner,OU=Staff," + dom, "OU=Inner,OU=Staff," + dom},
		}, map[string]string{
			"u1": "CN=Ann,OU=People," + dom,
			"u2": "cn=Bob,OU=People," + dom,
		}, []string{"g1"}},
		{"nothing below", []CSMove{{"OU=Empty," + dom, "OU=Still Empty," + dom}}, nil, nil},
		{"the groups' OU renamed: decided by the object, g2 stays out", []CSMove{{"OU=Groups," + dom, "OU=Teams," + dom}}, map[string]string{
			"g1": "CN=Group,OU=Teams," + dom,
			"g2": "CN=Other Group,OU=Teams," + dom,
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openTestStore(t)
			clock := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
			s.SetClock(func() time.Time { return clock })
			var objs []CSObject
			for _, r := range seed {
				part := dom
				if strings.HasSuffix(r.dn, "DC=other,DC=test") {
					part = "DC=other,DC=test"
				}
				class := "user"
				if strings.HasPrefix(r.anchor, "g") {
					class = "group"
				}
				attrs := map[string][]string{"samaccountname": {r.anchor}}
				if r.anchor == "g2" {
					attrs["admindescription"] = []string{"Group_0a1b"}
				}
				objs = append(objs, CSObject{Connector: conn, Anchor: r.anchor, Partition: part, DN: r.dn, Class: class,
					Attrs: attrs, InScope: true, Reason: "in scope"})
			}
			members := map[string][]string{"g1": {seed[0].dn, seed[1].dn, seed[2].dn, seed[3].dn}, "g2": {seed[3].dn, seed[4].dn}}
			if _, err := s.ApplyCS(ctx, conn, CSBatch{Objects: objs, Members: members}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.MarkCSDeleted(ctx, conn, []string{"u6"}, "deleted"); err != nil {
				t.Fatal(err)
			}
			clock = clock.Add(time.Minute)
			n, err := s.MoveCSSubtrees(ctx, conn, dom, tt.moves, decide)
			if err != nil {
				t.Fatal(err)
			}
			if n != len(tt.want) {
				t.Errorf("moved %d, want %d", n, len(tt.want))
			}
			after, err := s.CSObjectsOf(ctx, conn)
			if err != nil {
				t.Fatal(err)
			}
			var changed []string
			byAnchor := map[string]CSObject{}
			for _, o := range after {
				byAnchor[o.Anchor] = o
				if o.ChangedAt.After(clock.Add(-time.Second)) {
					changed = append(changed, o.Anchor)
				}
			}
			for _, r := range seed {
				want, ok := tt.want[r.anchor]
				if !ok {
					want = r.dn
				}
				o := byAnchor[r.anchor]
				if o.DN != want {
					t.Errorf("%s: DN %q, want %q", r.anchor, o.DN, want)
				}
				if ok {
					if in, why := decide(&CSObject{DN: want, Attrs: o.Attrs}); o.InScope != in || o.Reason != why {
						t.Errorf("%s: in scope %v (%q), want %v (%q)", r.anchor, o.InScope, o.Reason, in, why)
					}
				}
				// The helpdesk's lookup by DN finds it at its new DN only.
				if r.anchor == "u6" {
					continue
				}
				found, err := s.CSObjectsByDN(ctx, conn, []string{strings.ToUpper(want)})
				if err != nil || len(found) != 1 || found[0].Anchor != r.anchor {
					t.Errorf("%s: lookup by its DN %q: %v %v", r.anchor, want, found, err)
				}
				if want != r.dn && !strings.EqualFold(want, r.dn) {
					if found, _ := s.CSObjectsByDN(ctx, conn, []string{r.dn}); len(found) != 0 {
						t.Errorf("%s: still found at its old DN", r.anchor)
					}
				}
			}
			wantChanged := slices.Sorted(maps.Keys(tt.want))
			wantChanged = append(wantChanged, tt.groups...)
			slices.Sort(changed)
			slices.Sort(wantChanged)
			if !slices.Equal(changed, wantChanged) {
				t.Errorf("changed %v, want %v", changed, wantChanged)
			}
			// The memberships name the new DNs, and resolve to the objects.
			for g, dns := range members {
				got, err := s.CSMembers(ctx, conn, g)
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, dn := range dns {
					for _, r := range seed {
						if r.dn == dn {
							if to, ok := tt.want[r.anchor]; ok {
								dn = to
							}
						}
					}
					want = append(want, dn)
				}
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Errorf("members of %s: %q, want %q", g, got, want)
				}
			}
			for a, dn := range tt.want {
				if strings.HasPrefix(a, "g") { // the groups are members of none
					continue
				}
				groups, err := s.CSMemberOf(ctx, conn, dn)
				if err != nil {
					t.Fatal(err)
				}
				if len(groups) != 1 || groups[0] != "g1" {
					t.Errorf("%s is a member of %v by its new DN, want [g1]", a, groups)
				}
			}
		})
	}
}

// TestMoveCSSubtreesKeepsOneMembership: a group that already names the new DN
// (a delta added it) keeps one row of it.
func TestMoveCSSubtreesKeepsOneMembership(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	const conn, dom = "corp.example.test", "DC=corp,DC=test"
	oldDN, newDN := "CN=Ann,OU=Staff,"+dom, "CN=Ann,OU=People,"+dom
	objs := []CSObject{
		{Connector: conn, Anchor: "u1", Partition: dom, DN: oldDN, Class: "user", Attrs: map[string][]string{}},
		{Connector: conn, Anchor: "g1", Partition: dom, DN: "CN=G," + dom, Class: "group", Attrs: map[string][]string{}},
	}
	if _, err := s.ApplyCS(ctx, conn, CSBatch{Objects: objs, Members: map[string][]string{"g1": {oldDN, newDN}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MoveCSSubtrees(ctx, conn, dom, []CSMove{{"OU=Staff," + dom, "OU=People," + dom}}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.CSMembers(ctx, conn, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{newDN}) {
		t.Errorf("members %q, want [%q]", got, newDN)
	}
}

// TestCSContainers: the record is what was saved last, written by difference,
// per partition; a container moved to another domain leaves its old one; the
// USN of the listing is saved and read with the partition's watermark.
func TestCSContainers(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	const conn = "corp.example.test"
	steps := []struct {
		partition string
		save      map[string]string
		want      map[string]map[string]string // partition → record
	}{
		{"DC=a", map[string]string{"g1": "OU=One,DC=a", "g2": "OU=Two,DC=a"},
			map[string]map[string]string{"DC=a": {"g1": "OU=One,DC=a", "g2": "OU=Two,DC=a"}, "DC=b": {}}},
		{"DC=a", map[string]string{"g1": "OU=Uno,DC=a", "g3": "OU=Three,DC=a"},
			map[string]map[string]string{"DC=a": {"g1": "OU=Uno,DC=a", "g3": "OU=Three,DC=a"}, "DC=b": {}}},
		{"DC=b", map[string]string{"g3": "OU=Three,DC=b"},
			map[string]map[string]string{"DC=a": {"g1": "OU=Uno,DC=a"}, "DC=b": {"g3": "OU=Three,DC=b"}}},
	}
	// The USN of the last listing is kept with the partition's watermark.
	p := CSPartition{Connector: conn, Partition: "DC=a", DC: "dc1", Method: "dirsync", Cookie: "c", Config: "f", ContainersUSN: 4242}
	if err := s.SaveCSPartition(ctx, p); err != nil {
		t.Fatal(err)
	}
	for _, usn := range []int64{4242, 5000} {
		p.ContainersUSN = usn
		if err := s.SaveCSPartition(ctx, p); err != nil {
			t.Fatal(err)
		}
		got, err := s.CSPartition(ctx, conn, "DC=a")
		if err != nil || got.ContainersUSN != usn {
			t.Errorf("saved USN %d, read %d (%v)", usn, got.ContainersUSN, err)
		}
	}
	for i, st := range steps {
		if err := s.SaveCSContainers(ctx, conn, st.partition, st.save); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		for part, want := range st.want {
			got, err := s.CSContainers(ctx, conn, part)
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, want) {
				t.Errorf("step %d: %s holds %v, want %v", i, part, got, want)
			}
		}
	}
}

// BenchmarkMoveCSSubtrees: an OU of 5,000 users (each in a group) renamed in
// a partition of 50,000 objects.
func BenchmarkMoveCSSubtrees(b *testing.B) {
	ctx := context.Background()
	const conn, dom = "corp.example.test", "DC=corp,DC=test"
	s, err := Open(ctx, Options{Dialect: SQLite, DSN: SQLitePath(b.TempDir())})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var objs []CSObject
	var moved []string
	for i := range 50000 {
		ou := fmt.Sprintf("OU=Unit %d,%s", i%10, dom)
		o := CSObject{Connector: conn, Anchor: fmt.Sprintf("u%05d", i), Partition: dom, DN: fmt.Sprintf("CN=User %d,%s", i, ou),
			Class: "user", Attrs: map[string][]string{"samaccountname": {fmt.Sprintf("user%d", i)}}, InScope: true}
		if i%10 == 0 {
			moved = append(moved, o.DN)
		}
		objs = append(objs, o)
	}
	objs = append(objs, CSObject{Connector: conn, Anchor: "g", Partition: dom, DN: "CN=G," + dom, Class: "group", Attrs: map[string][]string{}})
	if _, err := s.ApplyCS(ctx, conn, CSBatch{Objects: objs, Members: map[string][]string{"g": moved}}); err != nil {
		b.Fatal(err)
	}
	from, to := "OU=Unit 0,"+dom, "OU=Unit Zero,"+dom
	b.ResetTimer()
	for range b.N {
		n, err := s.MoveCSSubtrees(ctx, conn, dom, []CSMove{{from, to}}, nil)
		if err != nil || n != len(moved) {
			b.Fatalf("moved %d (%v), want %d", n, err, len(moved))
		}
		from, to = to, from
	}
}
