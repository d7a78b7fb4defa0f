package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

// A full sync's read, one object at a time, is what reading the whole
// connector space and every membership gives: each group with its members
// (sorted), a group without members with none, membership rows of anything
// but a group (or of another connector space) nowhere, deleted objects
// included, DNs JSON escapes read as written; stopping early stops the
// read.
func TestEachCSObjectIsTheWholeSpace(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	const conn, other = "corp.example.test", "fabrikam.example.test"
	objs := map[string][]CSObject{}
	members := map[string]map[string][]string{conn: {}, other: {}}
	for _, c := range []string{conn, other} {
		for i := range 700 {
			class := "user"
			if i%7 == 0 {
				class = "group"
			}
			anchor := fmt.Sprintf("%08x-%s", i*2654435761%1000003, []string{"a", "B", "c"}[i%3]) // not in insertion order
			o := CSObject{Connector: c, Anchor: anchor, Partition: "DC=x", DN: fmt.Sprintf("CN=O%d,DC=x", i), Class: class, InScope: true,
				Attrs: map[string][]string{"samaccountname": {fmt.Sprintf("o%d", i)}}}
			objs[c] = append(objs[c], o)
			if i%14 == 0 { // every other group has members; one user has membership rows
				for m := range i % 9 {
					members[c][anchor] = append(members[c][anchor], fmt.Sprintf("CN=Member %d,DC=x", (i+m*31)%700))
				}
			}
		}
		members[c][objs[c][3].Anchor] = []string{"CN=O1,DC=x"} // a user's
		// DNs that JSON escapes or holds beyond ASCII (SQLite reads a
		// group's members as one JSON array).
		g := objs[c][14].Anchor
		members[c][g] = append(members[c][g], `CN=Lee\, Ann,DC=x`, `CN=Say "hi",DC=x`, `CN=Zoë\0A,DC=x`)
		if _, err := s.ApplyCS(ctx, c, CSBatch{Objects: objs[c], Members: members[c]}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.MarkCSDeleted(ctx, conn, []string{objs[conn][7].Anchor, objs[conn][8].Anchor}, "deleted"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{conn, other} {
		want, err := s.CSObjectsOf(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.CSMembersOf(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		var got []CSGroupRead
		for read, err := range s.EachCSObject(ctx, c) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, read)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d objects read, want %d", c, len(got), len(want))
		}
		groupsWithMembers, deleted := 0, 0
		for i, read := range got {
			w := want[i]
			if read.Object.Anchor != w.Anchor || read.Object.DN != w.DN || read.Object.Deleted != w.Deleted || !maps.EqualFunc(read.Object.Attrs, w.Attrs, slices.Equal) {
				t.Fatalf("%s: object %d is %+v, want %+v", c, i, read.Object, w)
			}
			var wantMembers []string
			if w.Class == "group" {
				wantMembers = all[w.Anchor]
			}
			if !slices.Equal(read.Members, wantMembers) {
				t.Errorf("%s: %s (%s) has members %v, want %v", c, w.Anchor, w.Class, read.Members, wantMembers)
			}
			if len(read.Members) > 0 {
				groupsWithMembers++
			}
			if read.Object.Deleted {
				deleted++
			}
		}
		if groupsWithMembers < 40 || c == conn && deleted != 2 {
			t.Errorf("%s: %d groups with members, %d deleted: the test reads too little", c, groupsWithMembers, deleted)
		}
	}
	// The delta's read: the objects changed since, groups with all their
	// members, as CSObjectsChangedSince and CSMembers read them.
	since := s.now().Add(-time.Second)
	s.SetClock(func() time.Time { return since.Add(time.Hour) })
	changedGroup, changedUser := objs[conn][14], objs[conn][15] // a group with members, a user
	changedUser.Attrs = map[string][]string{"samaccountname": {"renamed"}}
	if _, err := s.ApplyCS(ctx, conn, CSBatch{Objects: []CSObject{changedUser}, MemberAdds: []CSMember{{changedGroup.Anchor, "CN=New,DC=x"}}}); err != nil {
		t.Fatal(err)
	}
	want, err := s.CSObjectsChangedSince(ctx, conn, since.Add(time.Minute))
	if err != nil || len(want) != 2 {
		t.Fatalf("changed since: %d (%v), want the group and the user", len(want), err)
	}
	var got []CSGroupRead
	for read, err := range s.EachCSObjectChangedSince(ctx, conn, since.Add(time.Minute)) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, read)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d changed objects, want %d", len(got), len(want))
	}
	for i, w := range want {
		members, err := s.CSMembers(ctx, conn, w.Anchor)
		if err != nil {
			t.Fatal(err)
		}
		if w.Class != "group" {
			members = nil
		}
		if got[i].Object.Anchor != w.Anchor || !slices.Equal(got[i].Members, members) {
			t.Errorf("changed %d: %s with %v, want %s with %v", i, got[i].Object.Anchor, got[i].Members, w.Anchor, members)
		}
	}
	if !slices.Contains(got[0].Members, "CN=New,DC=x") && !slices.Contains(got[1].Members, "CN=New,DC=x") {
		t.Error("the member added is not read with its group")
	}

	n := 0
	for range s.EachCSObject(ctx, conn) {
		if n++; n == 5 {
			break
		}
	}
	if n != 5 {
		t.Errorf("stopped after %d", n)
	}
}
