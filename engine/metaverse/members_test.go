package metaverse

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hybridsync/hybridsync/engine/connector"
)

// TestGroupChangedInPlace: a group whose member list changes keeps the
// references its old and new lists share (setRefs) and resolves only what
// changed; each step of edits must leave the engine as a fresh engine's full
// sync of the directory as it then is — the same references, members and
// trace.
func TestGroupChangedInPlace(t *testing.T) {
	objs := bigGroup(8)
	users, group := objs[:8], objs[8]
	dn := func(i int) string { return users[i].DN }
	tests := []struct {
		name string
		edit func(g connector.Object) connector.Object
	}{
		{"one member added at the end", func(g connector.Object) connector.Object {
			g.Members = []string{dn(0), dn(1), dn(2), dn(3), dn(4), dn(5), dn(6), dn(7)}
			return g
		}},
		{"one member removed in the middle", func(g connector.Object) connector.Object {
			g.Members = []string{dn(0), dn(1), dn(2), dn(4), dn(5), dn(6), dn(7)}
			return g
		}},
		{"reordered", func(g connector.Object) connector.Object {
			g.Members = []string{dn(7), dn(6), dn(5), dn(4), dn(2), dn(1), dn(0)}
			return g
		}},
		{"listed twice, one in upper case", func(g connector.Object) connector.Object {
			g.Members = []string{dn(7), dn(6), strings.ToUpper(dn(6)), dn(5), dn(4), dn(2), dn(1), dn(0)}
			return g
		}},
		{"one of the two listings removed", func(g connector.Object) connector.Object {
			g.Members = []string{dn(7), dn(6), dn(5), dn(4), dn(2), dn(1), dn(0)}
			return g
		}},
		{"a DN in upper case and one not in the forest", func(g connector.Object) connector.Object {
			g.Members = []string{dn(7), strings.ToUpper(dn(6)), dn(5), "CN=Nobody,OU=Users,DC=corp,DC=example,DC=test", dn(2), dn(1), dn(0)}
			return g
		}},
		{"a non-ASCII DN", func(g connector.Object) connector.Object {
			g.Members = append(slices.Clone(g.Members), "CN=ÉMILE,OU=Users,DC=corp,DC=example,DC=test", "CN=Émile,OU=Users,DC=corp,DC=example,DC=test")
			return g
		}},
		{"the group out of scope", func(g connector.Object) connector.Object {
			g.InScope, g.Reason = false, "OU=Groups is not selected."
			return g
		}},
		{"back in scope with other members", func(g connector.Object) connector.Object {
			g.InScope, g.Reason = true, "In scope: OU selected."
			g.Members = []string{dn(3), dn(2)}
			return g
		}},
		{"emptied", func(g connector.Object) connector.Object {
			g.Members = nil
			return g
		}},
		{"filled again", func(g connector.Object) connector.Object {
			g.Members = []string{dn(0), dn(1), dn(2), dn(3), dn(4), dn(5), dn(6)}
			return g
		}},
		{"deleted", func(g connector.Object) connector.Object {
			g.Deleted = true
			return g
		}},
	}
	group.Members = group.Members[:7]
	e := NewEngine(baseConfig())
	e.Full(append(slices.Clone(users), group))
	g := group
	for _, tt := range tests {
		g = tt.edit(g)
		e.Delta([]connector.Object{g})
		now := slices.Clone(users)
		if !g.Deleted {
			now = append(now, g)
		}
		fresh := NewEngine(baseConfig())
		fresh.Full(now)
		if got, want := refsOf(e), refsOf(fresh); !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s: references\n got %v\nwant %v", tt.name, got, want)
		}
		id := SourceID{g.Connector, g.Anchor}
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
