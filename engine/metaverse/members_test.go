package metaverse

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/store"
)

// TestGroupChangedInPlace: a group whose member list changes keeps the
// references its old and new lists share (setRefs) and resolves only what
// changed (resolveMembers, editMembers); each step of edits — to the group,
// its members, or both — must leave the engine as a fresh engine's full
// sync of the directory as it then is: the same references, members and
// trace.
func TestGroupChangedInPlace(t *testing.T) {
	objs := bigGroup(10)
	users, group := objs[:10], objs[10]
	dn := func(i int) string { return users[i].DN }
	renamed := func(i int) connector.Object {
		u := users[i]
		u.DN = strings.Replace(u.DN, "CN=", "CN=renamed-", 1)
		return u
	}
	deleted := func(i int) connector.Object {
		u := users[i]
		u.Deleted = true
		return u
	}
	tests := []groupEdit{
		{"one member added at the end", func(g connector.Object) []connector.Object {
			g.Members = []string{dn(0), dn(1), dn(2), dn(3), dn(4), dn(5), dn(6), dn(7)}
			return []connector.Object{g}
		}},
		{"one member removed in the middle", func(g connector.Object) []connector.Object {
			g.Members = []string{dn(0), dn(1), dn(2), dn(4), dn(5), dn(6), dn(7)}
			return []connector.Object{g}
		}},
		{"reordered", func(g connector.Object) []connector.Object {
			g.Members = []string{dn(7), dn(6), dn(5), dn(4), dn(2), dn(1), dn(0)}
			return []connector.Object{g}
		}},
		{"listed twice, one in upper case", func(g connector.Object) []connector.Object {
			g.Members = []string{dn(7), dn(6), strings.ToUpper(dn(6)), dn(5), dn(4), dn(2), dn(1), dn(0)}
			return []connector.Object{g}
		}},
		{"one of the two listings removed", func(g connector.Object) []connector.Object {
			g.Members = []string{dn(7), dn(6), dn(5), dn(4), dn(2), dn(1), dn(0)}
			return []connector.Object{g}
		}},
		{"a DN in upper case and one not in the forest", func(g connector.Object) []connector.Object {
			g.Members = []string{dn(7), strings.ToUpper(dn(6)), dn(5), "CN=Nobody,OU=Users,DC=corp,DC=example,DC=test", dn(2), dn(1), dn(0)}
			return []connector.Object{g}
		}},
		{"a non-ASCII DN", func(g connector.Object) []connector.Object {
			g.Members = append(slices.Clone(g.Members), "CN=ÉMILE,OU=Users,DC=corp,DC=example,DC=test", "CN=Émile,OU=Users,DC=corp,DC=example,DC=test")
			return []connector.Object{g}
		}},
		{"a member renamed", func(connector.Object) []connector.Object { return []connector.Object{renamed(5)} }},
		{"a member added under its new DN", func(g connector.Object) []connector.Object {
			g.Members = append(slices.Clone(g.Members), renamed(5).DN)
			return []connector.Object{g}
		}},
		{"a member deleted and one added at once", func(g connector.Object) []connector.Object {
			g.Members = append(slices.Clone(g.Members), dn(8))
			return []connector.Object{g, deleted(7)}
		}},
		{"the deleted member back", func(connector.Object) []connector.Object { return []connector.Object{users[7]} }},
		{"a member added, then the group changed again", func(g connector.Object) []connector.Object {
			g1 := g
			g1.Members = append(slices.Clone(g.Members), dn(9))
			g2 := g1
			g2.Members = slices.DeleteFunc(slices.Clone(g1.Members), func(m string) bool { return m == dn(1) })
			return []connector.Object{g1, g2}
		}},
		{"the group out of scope", func(g connector.Object) []connector.Object {
			g.InScope, g.Reason = false, "OU=Groups is not selected."
			return []connector.Object{g}
		}},
		{"back in scope with other members", func(g connector.Object) []connector.Object {
			g.InScope, g.Reason = true, "In scope: OU selected."
			g.Members = []string{dn(3), dn(2)}
			return []connector.Object{g}
		}},
		{"emptied", func(g connector.Object) []connector.Object {
			g.Members = nil
			return []connector.Object{g}
		}},
		{"filled again", func(g connector.Object) []connector.Object {
			g.Members = []string{dn(0), dn(1), dn(2), dn(3), dn(4), dn(5), dn(6)}
			return []connector.Object{g}
		}},
		{"one more", func(g connector.Object) []connector.Object {
			g.Members = append(slices.Clone(g.Members), dn(8))
			return []connector.Object{g}
		}},
		{"deleted", func(g connector.Object) []connector.Object {
			g.Deleted = true
			return []connector.Object{g}
		}},
	}
	group.Members = group.Members[:7]
	for _, kept := range []int{0, minResolvedKept} { // resolved alone, or again whole
		t.Run(fmt.Sprintf("keys kept from %d listings", kept), func(t *testing.T) {
			defer func(was int) { minResolvedKept = was }(minResolvedKept)
			minResolvedKept = kept
			groupEdits(t, users, group, tests)
		})
	}
}

type groupEdit struct {
	name string
	edit func(g connector.Object) []connector.Object // the objects changed
}

// groupEdits applies each edit in turn, checking the engine against a
// fresh one after each.
func groupEdits(t *testing.T, users []connector.Object, group connector.Object, tests []groupEdit) {
	dir := map[string]connector.Object{}
	order := []string{}
	for _, o := range append(slices.Clone(users), group) {
		dir[o.Anchor] = o
		order = append(order, o.Anchor)
	}
	e := NewEngine(baseConfig())
	e.Full(append(slices.Clone(users), group))
	id := SourceID{group.Connector, group.Anchor}
	for _, tt := range tests {
		changed := tt.edit(dir[group.Anchor])
		e.Delta(changed)
		for _, o := range changed {
			dir[o.Anchor] = o
		}
		var now []connector.Object
		for _, a := range order {
			if o := dir[a]; !o.Deleted {
				now = append(now, o)
			}
		}
		fresh := NewEngine(baseConfig())
		fresh.Full(now)
		if got, want := refsOf(e), refsOf(fresh); !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s: references\n got %v\nwant %v", tt.name, got, want)
		}
		got, ok := e.Why(id)
		want, wantOK := fresh.Why(id)
		if ok != wantOK || !slices.Equal(got.Steps, want.Steps) || got.Key != want.Key {
			t.Errorf("%s: trace\n got %+v\nwant %+v", tt.name, got, want)
		}
		if want.Key == "" {
			continue
		}
		gm, _ := e.Object(want.Key)
		wm, _ := fresh.Object(want.Key)
		if !slices.Equal(gm.Members, wm.Members) {
			t.Errorf("%s: members %v, want %v", tt.name, gm.Members, wm.Members)
		}
	}
}

// refsOf is an engine's member references, each DN's groups sorted.
func refsOf(e *Engine) map[string][]SourceID {
	out := map[string][]SourceID{}
	for c, r := range e.refs {
		for dn, gs := range r {
			out[c+"|"+dn] = slices.SortedFunc(slices.Values(gs), compareSource)
		}
	}
	return out
}

// TestDeltaWritesWhatPendingComputes: a delta computes each object's
// attributes once, diffing them as its row is written (held); what it
// writes and returns must be what Pending computes from the same exported
// state — the same changes, in export order.
func TestDeltaWritesWhatPendingComputes(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	objs := synthetic(3_000)
	e := NewEngine(baseConfig())
	if _, err := e.Sync(ctx, st, true, objs); err != nil {
		t.Fatal(err)
	}
	for {
		page, err := st.PendingExports(ctx, store.PendingFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		done := make([]Change, len(page))
		for i, p := range page {
			if err := json.Unmarshal(p.Change, &done[i]); err != nil {
				t.Fatal(err)
			}
			done[i].CloudID = "cloud-" + done[i].Key
		}
		if err := st.RecordExported(ctx, Confirmed(done)); err != nil {
			t.Fatal(err)
		}
	}
	exported, err := e.readExported(ctx, st, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	delta := churn(len(objs), 2_850, func(i int) connector.Object { return objs[i] })
	res, err := e.Sync(ctx, st, false, delta)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range res.Changes {
		keys = append(keys, c.Key)
	}
	want := e.Pending(slices.Compact(slices.Sorted(slices.Values(keys))), exported, false)
	if res.Adds == 0 || res.Deletes == 0 || res.Updates == 0 || res.Memberships == 0 {
		t.Fatalf("the delta changed too little: %+v", res)
	}
	checkPendingWritten(t, st, res.Changes, want)
}
