package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"
)

// A group whose memberships change is a changed object, so a delta sync
// (CSObjectsChangedSince) re-evaluates it; CSMembersOf reads every
// membership of a connector at once.
func TestConnectorSpaceChangesAndMembers(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	clock := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return clock })
	const conn = "corp.example.test"
	group := CSObject{Connector: conn, Anchor: "g1", DN: "CN=G,DC=corp", Class: "group", Attrs: map[string][]string{}, InScope: true}
	alice := CSObject{Connector: conn, Anchor: "u1", DN: "CN=Alice,DC=corp", Class: "user", Attrs: map[string][]string{}, InScope: true}
	bob := CSObject{Connector: conn, Anchor: "u2", DN: "CN=Bob,DC=corp", Class: "user", Attrs: map[string][]string{}, InScope: true}
	if _, err := s.ApplyCS(ctx, conn, CSBatch{Objects: []CSObject{group, alice, bob}, Members: map[string][]string{"g1": {alice.DN}}}); err != nil {
		t.Fatal(err)
	}
	changed := func(since time.Time) []string {
		t.Helper()
		objs, err := s.CSObjectsChangedSince(ctx, conn, since)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range objs {
			out = append(out, o.Anchor)
		}
		return out
	}
	start := clock
	if got := changed(start.Add(-time.Second)); !slices.Equal(got, []string{"g1", "u1", "u2"}) {
		t.Fatalf("after the first import: %v", got)
	}
	tests := []struct {
		name  string
		batch CSBatch
		want  []string
	}{
		{"nothing changed", CSBatch{Objects: []CSObject{group, alice, bob}, Members: map[string][]string{"g1": {alice.DN}}}, nil},
		{"a member added", CSBatch{MemberAdds: []CSMember{{"g1", bob.DN}}}, []string{"g1"}},
		{"the same member again", CSBatch{MemberAdds: []CSMember{{"g1", bob.DN}}}, nil},
		{"a member removed", CSBatch{MemberRemoves: []CSMember{{"g1", bob.DN}}}, []string{"g1"}},
		{"a member renamed", CSBatch{Renames: []CSRename{{Old: alice.DN, New: "CN=Alice Smith,DC=corp"}}}, []string{"g1"}},
		{"the members replaced", CSBatch{Members: map[string][]string{"g1": {bob.DN}}}, []string{"g1"}},
		{"a member unlinked", CSBatch{Unlink: []string{bob.DN}}, []string{"g1"}},
	}
	for _, tt := range tests {
		clock = clock.Add(time.Minute)
		since := clock.Add(-time.Second)
		if _, err := s.ApplyCS(ctx, conn, tt.batch); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := changed(since); !slices.Equal(got, tt.want) {
			t.Errorf("%s: changed %v, want %v", tt.name, got, tt.want)
		}
	}

	// A deleted member changes its groups too.
	if _, err := s.ApplyCS(ctx, conn, CSBatch{MemberAdds: []CSMember{{"g1", bob.DN}}}); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Minute)
	since := clock.Add(-time.Second)
	if _, err := s.MarkCSDeleted(ctx, conn, []string{"u2"}, "deleted"); err != nil {
		t.Fatal(err)
	}
	if got := changed(since); !slices.Equal(got, []string{"g1", "u2"}) {
		t.Errorf("after deleting a member: changed %v, want [g1 u2]", got)
	}

	if _, err := s.ApplyCS(ctx, conn, CSBatch{Members: map[string][]string{"g1": {alice.DN, bob.DN}}}); err != nil {
		t.Fatal(err)
	}
	all, err := s.CSMembersOf(ctx, conn)
	if err != nil || len(all) != 1 || !slices.Equal(all["g1"], []string{alice.DN, bob.DN}) {
		t.Errorf("CSMembersOf = %v, %v", all, err)
	}
}

// Rows written before the store encoded attributes itself carry digests of
// json.Marshal's encoding: the encoder and the digest must reproduce them
// byte for byte, or a re-import would rewrite every unchanged row.
func TestCSDigestMatchesJSONMarshal(t *testing.T) {
	tests := []struct {
		name string
		o    CSObject
	}{
		{"plain", CSObject{Partition: "DC=corp", DN: "CN=A,DC=corp", Class: "user", USN: 12, InScope: true, Reason: "In scope.",
			Attrs: map[string][]string{"cn": {"A"}, "mail": {"a@corp.example"}, "objectclass": {"top", "user"}}}},
		{"escapes", CSObject{Partition: "DC=corp", DN: `CN=O\"Brien \<x\>,DC=corp`, Class: "contact", USN: -1, Deleted: true,
			Attrs: map[string][]string{"description": {"a & b <c> \"d\" \\ e\n\tf", "é ü 漢字", "\u2028\u2029", "bad \xff utf-8"}, "Upper": {""}}}},
		{"nil and empty values", CSObject{Class: "group", Attrs: map[string][]string{"member": nil, "info": {}}}},
		{"no attributes", CSObject{Class: "user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := json.Marshal(tt.o.Attrs)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := appendJSONAttrs(nil, tt.o.Attrs, nil)
			if string(got) != string(want) {
				t.Fatalf("attributes encode as %s, json.Marshal as %s", got, want)
			}
			h := sha256.New()
			fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00%t\x00%s\x00%t\x00", tt.o.Partition, tt.o.DN, tt.o.Class, tt.o.USN, tt.o.InScope, tt.o.Reason, tt.o.Deleted)
			h.Write(want)
			if d, ref := csDigest(tt.o, got), hex.EncodeToString(h.Sum(nil)[:16]); d != ref {
				t.Errorf("digest %s, want %s", d, ref)
			}
		})
	}
}

// A batch that adds, updates and leaves objects and memberships as they are
// stores each row as it was given, and a second identical batch changes
// nothing.
func TestApplyCSStoresWhatItWasGiven(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t)
	const conn = "corp.example.test"
	var objs []CSObject
	members := map[string][]string{}
	for i := 0; i < 1234; i++ { // more than one IN chunk and one INSERT statement
		o := CSObject{Connector: conn, Anchor: fmt.Sprintf("a%05d", i), Partition: "DC=corp", DN: fmt.Sprintf("CN=U%05d,DC=corp", i),
			Class: "user", USN: int64(i), InScope: i%3 != 0, Reason: fmt.Sprintf("reason %d", i%3),
			Attrs: map[string][]string{"samaccountname": {fmt.Sprintf("U%05d", i)}, "mail": {fmt.Sprintf("U%05d@Corp.Example", i)}}}
		objs = append(objs, o)
		g := fmt.Sprintf("a%05d", i-i%100)
		members[g] = append(members[g], o.DN)
	}
	n, err := s.ApplyCS(ctx, conn, CSBatch{Objects: objs, Members: members})
	if err != nil {
		t.Fatal(err)
	}
	if n.Added != len(objs) || n.MembersAdded != len(objs) || n.Updated+n.Unchanged+n.MembersRemoved != 0 {
		t.Fatalf("first batch: %+v", n)
	}
	// Change every tenth object and drop one member of each group.
	for i := range objs {
		if i%10 == 0 {
			objs[i].Attrs = map[string][]string{"samaccountname": {"changed"}}
			objs[i].USN += 1000
		}
	}
	for g := range members {
		members[g] = members[g][1:]
	}
	n, err = s.ApplyCS(ctx, conn, CSBatch{Objects: objs, Members: members})
	if err != nil {
		t.Fatal(err)
	}
	changedObjs := (len(objs) + 9) / 10
	if n.Updated != changedObjs || n.Unchanged != len(objs)-changedObjs || n.Added != 0 || n.MembersRemoved != len(members) || n.MembersAdded != 0 {
		t.Fatalf("second batch: %+v", n)
	}
	stored, err := s.CSObjectsOf(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(objs) {
		t.Fatalf("%d rows stored, want %d", len(stored), len(objs))
	}
	for i, got := range stored { // ordered by anchor, as objs is
		want := objs[i]
		if got.Anchor != want.Anchor || got.DN != want.DN || got.USN != want.USN || got.InScope != want.InScope ||
			got.Reason != want.Reason || got.Partition != want.Partition || !maps.EqualFunc(got.Attrs, want.Attrs, slices.Equal) {
			t.Fatalf("row %d is %+v, want %+v", i, got, want)
		}
	}
	if found, err := s.FindCSObjects(ctx, "u00001@corp.example"); err != nil || len(found) != 1 || found[0].Anchor != "a00001" {
		t.Errorf("FindCSObjects by mail = %v, %v", found, err)
	}
	all, err := s.CSMembersOf(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	for g, want := range members {
		if !slices.Equal(all[g], want) {
			t.Errorf("members of %s: %d, want %d", g, len(all[g]), len(want))
		}
	}
	n, err = s.ApplyCS(ctx, conn, CSBatch{Objects: objs, Members: members})
	if err != nil || n != (CSApplied{Unchanged: len(objs)}) {
		t.Errorf("the same batch again: %+v, %v", n, err)
	}
}
