package store

import (
	"context"
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
