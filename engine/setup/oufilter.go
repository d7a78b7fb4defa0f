package setup

import (
	"context"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// OUFiltering is the Domain and OU filtering page. Everything is selected by
// default; the answers keep what was cleared, per forest, so that an OU the
// admin never expanded follows its parent.
type OUFiltering struct {
	// SyncNewOUs: OUs created later are synchronized (default), or not.
	SyncNewOUs bool                    `json:"syncNewOus"`
	Forests    map[string]ForestFilter `json:"forests,omitempty"`
}

// ForestFilter is one forest's selection.
type ForestFilter struct {
	// Excluded are the DNs cleared: each with everything below it.
	Excluded []string `json:"excluded,omitempty"`
	// Unreachable are the domains that could not be reached when the page was
	// shown; they are unselected.
	Unreachable []string `json:"unreachable,omitempty"`
}

// TreeNode is a node of the OU tree as the page shows it.
type TreeNode struct {
	directory.Node
	Selected bool
}

// ForestTree is one forest's first level, for the page.
type ForestTree struct {
	Forest string
	Root   TreeNode
	Nodes  []TreeNode
	// Error says why the forest could not be read; its domain is then shown
	// unselected with the seed's warning.
	Error string
}

// Messages of the OU filtering rules.
const (
	MsgUnreachable = "This domain is unreachable and is unselected. Make sure it is indeed unreachable and that this warning is expected."
	MsgNothingSel  = "Select at least one domain or OU to synchronize."
	MsgGroupFilter = "If you plan to use group-based filtering, make sure the OU with the group is included: OU filtering is evaluated before group-based filtering."
)

// Selected reports whether a DN is synchronized under this filter: neither it
// nor any parent is excluded.
func (ff ForestFilter) Selected(dn string) bool {
	l := strings.ToLower(dn)
	for _, x := range append(slices.Clone(ff.Excluded), ff.Unreachable...) {
		x = strings.ToLower(x)
		if l == x || strings.HasSuffix(l, ","+x) {
			return false
		}
	}
	return true
}

// Mark sets Selected on nodes.
func (ff ForestFilter) Mark(nodes []directory.Node) []TreeNode {
	out := make([]TreeNode, len(nodes))
	for i, n := range nodes {
		out[i] = TreeNode{Node: n, Selected: ff.Selected(n.DN)}
	}
	return out
}

var ouFilteringPage = Page{
	ID:      PageOUFiltering,
	Title:   "Domain and OU filtering",
	Section: "Sync",
	View:    func(ctx context.Context, a *Answers, chk Checker) any { return ForestTrees(ctx, a, chk) },
	Bind: func(a *Answers, f Form) {
		o := &a.OUFiltering
		o.SyncNewOUs = f.on("sync_new_ous")
		if o.Forests == nil {
			o.Forests = map[string]ForestFilter{}
		}
		for _, fc := range a.Directories.Forests {
			seen := f.Values["seen:"+fc.Forest]
			if len(seen) == 0 {
				continue // this forest's tree was not on the page: keep its answers
			}
			sync := map[string]bool{}
			for _, dn := range f.Values["sync:"+fc.Forest] {
				sync[strings.ToLower(dn)] = true
			}
			ff := o.Forests[fc.Forest]
			shown := map[string]bool{}
			for _, dn := range seen {
				shown[strings.ToLower(dn)] = true
			}
			var excluded []string
			for _, dn := range ff.Excluded { // cleared earlier and not on the page now
				if !shown[strings.ToLower(dn)] {
					excluded = append(excluded, dn)
				}
			}
			for _, dn := range seen {
				if !sync[strings.ToLower(dn)] {
					excluded = append(excluded, dn)
				}
			}
			ff.Excluded = excluded
			o.Forests[fc.Forest] = ff
		}
	},
	Validate: func(_ context.Context, a *Answers, _ Checker) Errors {
		e := Errors{}
		any := false
		for _, fc := range a.Directories.Forests {
			if a.OUFiltering.Forests[fc.Forest].Selected(fc.RootDN) {
				any = true
			}
		}
		if len(a.Directories.Forests) > 0 && !any {
			e.Add("", MsgNothingSel)
		}
		return e
	},
	Notices: func(a *Answers) []Notice {
		n := []Notice{{"info", MsgGroupFilter}}
		for _, fc := range a.Directories.Forests {
			ff := a.OUFiltering.Forests[fc.Forest]
			for _, dn := range ff.Unreachable {
				n = append(n, Notice{"warn", dn + ": " + MsgUnreachable})
			}
		}
		if !a.OUFiltering.SyncNewOUs {
			n = append(n, Notice{"info", "OUs created later will not be synchronized until you select them here."})
		}
		return n
	},
}

// ForestTrees reads the first level of every forest's tree for the page.
// A forest that can't be read is recorded as unreachable (and so unselected).
func ForestTrees(ctx context.Context, a *Answers, chk Checker) []ForestTree {
	var out []ForestTree
	if a.OUFiltering.Forests == nil {
		a.OUFiltering.Forests = map[string]ForestFilter{}
	}
	for _, fc := range a.Directories.Forests {
		ff := a.OUFiltering.Forests[fc.Forest]
		root := directory.Node{DN: fc.RootDN, Name: fc.Forest, Class: "domainDNS", HasChildren: true, Essential: true}
		t := ForestTree{Forest: fc.Forest}
		nodes, err := chk.Children(ctx, fc, fc.RootDN)
		if err != nil {
			t.Error = CheckMessage(err)
			if !slices.Contains(ff.Unreachable, fc.RootDN) {
				ff.Unreachable = append(ff.Unreachable, fc.RootDN)
			}
		} else {
			ff.Unreachable = slices.DeleteFunc(ff.Unreachable, func(dn string) bool { return strings.EqualFold(dn, fc.RootDN) })
			t.Nodes = ff.Mark(nodes)
		}
		a.OUFiltering.Forests[fc.Forest] = ff
		t.Root = TreeNode{Node: root, Selected: ff.Selected(root.DN)}
		out = append(out, t)
	}
	return out
}
