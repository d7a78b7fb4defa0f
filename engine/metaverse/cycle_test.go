package metaverse

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/store"
)

func openStore(tb testing.TB) *store.Store {
	tb.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{Dialect: store.SQLite, DSN: filepath.Join(tb.TempDir(), store.FileName)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return st
}

// confirmAll stands for an export that confirmed every change, giving each
// add a cloud id.
func confirmAll(t *testing.T, st *store.Store, chs []Change) {
	t.Helper()
	done := slices.Clone(chs)
	for i := range done {
		if done[i].Op == OpAdd {
			done[i].CloudID = "cloud-" + done[i].Key
		}
	}
	if err := RecordExported(st)(context.Background(), done); err != nil {
		t.Fatal(err)
	}
}

func TestSyncWithStore(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	objs := bigGroup(200)
	e := NewEngine(baseConfig())
	if _, err := e.Sync(ctx, st, false, nil); err != ErrNeedsFull {
		t.Fatalf("delta first: %v", err)
	}
	res, err := e.Sync(ctx, st, true, objs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Adds != 201 || res.Memberships != 200 || res.Changes[len(res.Changes)-1].Kind != KindGroup {
		t.Fatalf("full: adds %d memberships %d", res.Adds, res.Memberships)
	}
	if n, _ := st.PendingCounts(ctx); n[OpAdd] != 201 {
		t.Fatalf("pending %v", n)
	}
	// The export creates the group and confirms 150 of its members first.
	part := slices.Clone(res.Changes)
	g := &part[len(part)-1]
	rest := g.AddMembers[150:]
	g.AddMembers = g.AddMembers[:150]
	confirmAll(t, st, part)
	p, err := st.PendingExports(ctx, store.PendingFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 1 || p[0].Op != OpUpdate || p[0].MemberCount != len(rest) {
		t.Fatalf("after a partial confirmation: %+v", p)
	}
	var left Change
	if err := json.Unmarshal(p[0].Change, &left); err != nil || left.CloudID == "" || !slices.Equal(left.AddMembers, rest) {
		t.Fatalf("left pending: %+v %v", left, err)
	}
	confirmAll(t, st, []Change{left})

	// A restarted engine keeps the keys and computes nothing new.
	e = NewEngine(baseConfig())
	if res, err = e.Sync(ctx, st, true, objs); err != nil || len(res.Changes) != 0 {
		t.Fatalf("full again: %v %v", summary(res.Changes), err)
	}
	// One member leaves the group; one user's title changes.
	grp := objs[200]
	grp.Members = grp.Members[1:]
	u := user(corp, 5, "u00004", "title=Boss", "userprincipalname=u4@example.test", "mail=U4@Example.test")
	if res, err = e.Sync(ctx, st, false, []connector.Object{grp, u}); err != nil {
		t.Fatal(err)
	}
	if res.Updates != 2 || res.Memberships != 1 || len(res.Changes) != 2 {
		t.Fatalf("delta: %v", summary(res.Changes))
	}
	// The helpdesk finds the user by UPN and mail, and its path.
	for _, term := range []string{"U4@example.test", "u4@example.test"} {
		found, err := st.FindMetaverse(ctx, term)
		if err != nil || len(found) != 1 || found[0].Attrs["jobTitle"][0] != "Boss" {
			t.Fatalf("find %s: %+v %v", term, found, err)
		}
	}
	j, err := st.MetaverseJoin(ctx, corp, u.Anchor)
	if err != nil || !j.Synced || j.Key == "" {
		t.Fatalf("join %+v %v", j, err)
	}
	var tr Trace
	if err := json.Unmarshal(j.Trace, &tr); err != nil || len(tr.Steps) < 3 {
		t.Fatalf("trace %+v %v", tr, err)
	}
	if js, err := st.MetaverseJoinsByDN(ctx, u.DN); err != nil || len(js) != 1 {
		t.Fatalf("by DN: %v %v", js, err)
	}
	// Out of scope: a pending delete.
	u.InScope = false
	if res, err = e.Sync(ctx, st, false, []connector.Object{u}); err != nil || res.Deletes != 1 {
		t.Fatalf("out of scope: %v %v", summary(res.Changes), err)
	}
	if p, _ := st.PendingExports(ctx, store.PendingFilter{Op: OpDelete}); len(p) != 1 || p[0].Key != j.Key {
		t.Fatalf("pending delete %+v", p)
	}
}

// TestUnrecordedExportsStayAdds: objects the export began to create (a
// create in flight) or created without the metaverse being told (the server
// killed in between) share mv_exported with the exported state, but are not
// part of it: the next sync still computes their adds, never updates; once
// recorded, nothing is left.
func TestUnrecordedExportsStayAdds(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	objs := bigGroup(3)
	res, err := NewEngine(baseConfig()).Sync(ctx, st, true, objs)
	if err != nil || res.Adds != 4 {
		t.Fatalf("first sync: %v, %v", res, err)
	}
	var flight []store.ExportObject
	for _, c := range res.Changes {
		flight = append(flight, store.ExportObject{Key: c.Key, Kind: c.Kind, Lookup: map[string]string{"onPremisesImmutableId": c.Key}})
	}
	if err := st.BeginExportCreates(ctx, flight); err != nil {
		t.Fatal(err)
	}
	// Graph confirmed half of them; the metaverse was never told.
	var created []store.ExportObject
	for _, o := range flight[:2] {
		created = append(created, store.ExportObject{Key: o.Key, Kind: o.Kind, CloudID: "cloud-" + o.Key, Attrs: map[string][]string{"accountEnabled": {"true"}}})
	}
	if err := st.SaveExportObjects(ctx, created); err != nil {
		t.Fatal(err)
	}
	for _, full := range []bool{true, false} {
		e := NewEngine(baseConfig())
		if _, err := e.Sync(ctx, st, true, objs); err != nil {
			t.Fatal(err)
		}
		if !full {
			// A delta of every object diffs them by key.
			res, err = e.Sync(ctx, st, false, objs)
		} else {
			res, err = e.Sync(ctx, st, true, objs)
		}
		if err != nil || res.Adds != 4 || res.Updates != 0 || len(res.Changes) != 4 {
			t.Fatalf("sync (full %v) after unrecorded exports: %v, %v", full, summary(res.Changes), err)
		}
	}
	confirmAll(t, st, res.Changes)
	if res, err = NewEngine(baseConfig()).Sync(ctx, st, true, objs); err != nil || len(res.Changes) != 0 {
		t.Fatalf("sync after the exports were recorded: %v, %v", summary(res.Changes), err)
	}
}

// An object the export created but the metaverse was not told of (a stop
// between the two) whose source is gone by the next sync: a delete of its
// cloud id, so that it is not left in the tenant — by a full sync and by a
// delta that sees the source leave. A create with no answer (no cloud id)
// names nothing to delete.
func TestUnrecordedExportOfAGoneObjectIsDeleted(t *testing.T) {
	ctx := context.Background()
	for _, full := range []bool{true, false} {
		st := openStore(t)
		objs := bigGroup(2) // two users and their group
		e := NewEngine(baseConfig())
		res, err := e.Sync(ctx, st, true, objs)
		if err != nil || res.Adds != 3 {
			t.Fatalf("first sync: %v, %v", summary(res.Changes), err)
		}
		var flight, created []store.ExportObject
		for _, c := range res.Changes {
			flight = append(flight, store.ExportObject{Key: c.Key, Kind: c.Kind, Lookup: map[string]string{"onPremisesImmutableId": c.Key}})
			if c.Kind == KindUser {
				created = append(created, store.ExportObject{Key: c.Key, Kind: c.Kind, CloudID: "cloud-" + c.Key})
			}
		}
		if err := st.BeginExportCreates(ctx, flight); err != nil {
			t.Fatal(err)
		}
		// Graph created the first user only; the stop came before anything
		// was recorded. Then both users leave.
		if err := st.SaveExportObjects(ctx, created[:1]); err != nil {
			t.Fatal(err)
		}
		gone := slices.Clone(objs)
		gone[0].Deleted, gone[1].Deleted = true, true
		gone[2].Members = nil
		if full {
			res, err = NewEngine(baseConfig()).Sync(ctx, st, true, gone[2:])
		} else {
			res, err = e.Sync(ctx, st, false, gone)
		}
		if err != nil {
			t.Fatal(err)
		}
		var deletes []string
		for _, c := range res.Changes {
			if c.Op == OpDelete {
				deletes = append(deletes, c.Key+" "+c.CloudID)
			}
		}
		if want := []string{created[0].Key + " cloud-" + created[0].Key}; !slices.Equal(deletes, want) {
			t.Errorf("full %v: deletes %q, want %q (all: %v)", full, deletes, want, summary(res.Changes))
		}
	}
}

// A sequence that fails half-way ends the cycle with its error, writes
// nothing, and leaves the engine needing a full sync.
func TestSyncEachFails(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	objs := bigGroup(10)
	e := NewEngine(baseConfig())
	if _, err := e.Sync(ctx, st, true, objs); err != nil {
		t.Fatal(err)
	}
	broken := errors.New("the store went away")
	for _, full := range []bool{false, true} {
		half := func(yield func(*connector.Object, error) bool) {
			if yield(&objs[0], nil) {
				yield(nil, broken)
			}
		}
		if _, err := e.SyncEach(ctx, st, full, half); !errors.Is(err, broken) {
			t.Fatalf("full %v: %v, want the sequence's error", full, err)
		}
		if _, err := e.Sync(ctx, st, false, nil); err != ErrNeedsFull {
			t.Fatalf("full %v: a delta after a failed cycle: %v, want ErrNeedsFull", full, err)
		}
		if n, _ := st.PendingCounts(ctx); n[OpAdd] != 11 {
			t.Fatalf("full %v: pending %v, want the first sync's 11 adds", full, n)
		}
		if _, err := e.Sync(ctx, st, true, objs); err != nil {
			t.Fatal(err)
		}
	}
}

// The engine holds no trace between cycles: a delta that re-evaluates an
// object — or only a group's members, after one moved — computes its trace
// again, and writes what a fresh engine's full sync gives for the same
// objects.
func TestTracesComputedAgain(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name   string
		change func(objs []connector.Object) []connector.Object
	}{
		// The group still lists the old DN: its members are resolved again,
		// its own object is not.
		{"a member renamed", func(objs []connector.Object) []connector.Object {
			u := objs[1]
			u.DN = "CN=renamed,OU=Users,DC=corp,DC=example,DC=test"
			return []connector.Object{u}
		}},
		{"a member deleted", func(objs []connector.Object) []connector.Object {
			u := objs[2]
			u.Deleted = true
			return []connector.Object{u}
		}},
		{"a title changed", func(objs []connector.Object) []connector.Object {
			return []connector.Object{user(corp, 4, "u00003", "title=Boss")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := openStore(t)
			objs := bigGroup(5)
			e := NewEngine(baseConfig())
			if _, err := e.Sync(ctx, st, true, objs); err != nil {
				t.Fatal(err)
			}
			changed := tt.change(objs)
			if _, err := e.Sync(ctx, st, false, changed); err != nil {
				t.Fatal(err)
			}
			// The directory as it is now, synced by a fresh engine.
			var now []connector.Object
			for _, o := range objs {
				for _, c := range changed {
					if c.Anchor == o.Anchor {
						o = c
					}
				}
				if !o.Deleted {
					now = append(now, o)
				}
			}
			fresh := NewEngine(baseConfig())
			fresh.Full(now)
			for _, o := range now {
				j, err := st.MetaverseJoin(ctx, o.Connector, o.Anchor)
				if err != nil {
					t.Fatalf("%s: %v", o.DN, err)
				}
				want, _ := fresh.Why(SourceID{o.Connector, o.Anchor})
				want.Cloud = nil
				b, _ := json.Marshal(want)
				if string(j.Trace) != string(b) {
					t.Errorf("trace of %s:\n got %s\nwant %s", o.DN, j.Trace, b)
				}
			}
		})
	}
}
