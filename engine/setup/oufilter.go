package setup

import (
	"context"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"

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
	// Known are the DNs (lower case) of every OU and container of the
	// selected domains when Configure last applied this filter with Sync all
	// new OUs off (engine/configure records them; empty when the option is
	// on). An object below a container that is not among them sits in an OU
	// created later, which is not synchronized (engine/connector Scope).
	//
	// Microsoft documents only that, with the option off, OUs created later
	// are not synchronized until selected (the seed; "Azure AD Connect sync:
	// Configure filtering"). What we guessed: "created later" means absent
	// when Configure last ran, so an OU renamed or moved since has a new DN
	// and counts as new; every container between an object and its domain
	// root must be known, so an OU created inside a new OU is new too; and a
	// new OU is taken in by leaving it selected on the page and running
	// Configure again, which records it (also one below a node the admin
	// never expanded: the page can't ask about what it doesn't show).
	Known []string `json:"known,omitempty"`
}

// TreeNode is a node of the OU tree as the page shows it.
type TreeNode struct {
	directory.Node
	Selected bool
	// New: the OU was created after Configure last recorded the containers
	// with Sync all new OUs off, so it is not synchronized yet.
	New bool
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
	MsgNewOUsOff   = "OUs created later will not be synchronized until you select them here and run Configure again."
	MsgNewOU       = "new since the last Configure: not synchronized"
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

// Mark sets Selected on nodes, and New on those a recorded Known set does not
// hold (a selected OU created since the last Configure).
func (ff ForestFilter) Mark(nodes []directory.Node) []TreeNode {
	known := ff.KnownSet()
	out := make([]TreeNode, len(nodes))
	for i, n := range nodes {
		out[i] = TreeNode{Node: n, Selected: ff.Selected(n.DN)}
		out[i].New = out[i].Selected && known != nil && !known.Has(n.DN)
	}
	return out
}

// KnownSet is ForestFilter.Known keyed by DNKey, or nil when nothing was
// recorded (Sync all new OUs on, or a configuration applied before the
// containers were recorded: then no OU counts as new).
type KnownSet map[string]bool

// KnownSet indexes Known.
func (ff ForestFilter) KnownSet() KnownSet {
	if len(ff.Known) == 0 {
		return nil
	}
	k := make(KnownSet, len(ff.Known))
	for _, dn := range ff.Known {
		k[DNKey(dn)] = true
	}
	return k
}

// Has reports whether the container dn was recorded.
func (k KnownSet) Has(dn string) bool { return k[DNKey(dn)] }

// NewAbove is the topmost container between dn and its domain (both left
// out) that was not recorded, in dn's own spelling, or "" when every one was
// (or k is nil). An object directly in the domain root is never below a new
// OU. A DN that is not below domainDN gives "": nothing can be said of it, so
// it is treated as before the option existed.
func (k KnownSet) NewAbove(dn, domainDN string) string {
	if k == nil {
		return ""
	}
	if plainDN(dn) && plainDN(domainDN) && len(dn) > len(domainDN) {
		// Most DNs: every key is a suffix of the lower-cased DN, so no RDN is
		// parsed and only that one string is made.
		top := len(dn) - len(domainDN) - 1 // the comma before the domain
		if dn[top] == ',' && strings.EqualFold(dn[top+1:], domainDN) {
			l := strings.ToLower(dn[:top])
			first := strings.IndexByte(l, ',') // the parent starts after it
			lowDomain := ""
			for c := top; c > first && first >= 0; {
				c = strings.LastIndexByte(l[:c], ',')
				if lowDomain == "" {
					lowDomain = strings.ToLower(dn[top:])
				}
				if !k[l[c+1:]+lowDomain] {
					return dn[c+1:]
				}
			}
			return ""
		}
	}
	parts := splitRDNs(dn)
	top := len(parts) - len(splitRDNs(domainDN)) // index of the domain's first RDN
	if top < 1 {
		return ""
	}
	keys := make([]string, len(parts)) // keys[i]: the DNKey of parts[i:]
	keys[len(parts)-1] = rdnKey(parts[len(parts)-1])
	for i := len(parts) - 2; i >= 1; i-- {
		keys[i] = rdnKey(parts[i]) + "," + keys[i+1]
	}
	if !strings.EqualFold(strings.Join(parts[top:], ","), domainDN) && keys[top] != DNKey(domainDN) {
		return ""
	}
	for i := top - 1; i >= 1; i-- { // from just below the domain down to the parent
		if !k[keys[i]] {
			return strings.Join(parts[i:], ",")
		}
	}
	return ""
}

// DNKey is dn normalised for comparison: attribute types and values lower
// case, escaped as go-ldap writes them, so that "OU=Zürich" and
// "ou=z\c3\bcrich" are one key.
func DNKey(dn string) string {
	parts := splitRDNs(dn)
	for i, p := range parts {
		parts[i] = rdnKey(p)
	}
	return strings.Join(parts, ",")
}

// rdnKey is one RDN normalised as DNKey says. The DC writes most RDNs plainly
// ("OU=Staff"): those are only lower-cased, which is what go-ldap's form
// gives too, at a fraction of the cost of parsing (Decide runs for every
// imported object). An RDN that does not parse is only lower-cased.
func rdnKey(rdn string) string {
	if !plainDN(rdn) {
		if p, err := ldap.ParseDN(rdn); err == nil && len(p.RDNs) == 1 {
			for _, a := range p.RDNs[0].Attributes {
				a.Value = strings.ToLower(a.Value) // before String hex-escapes "Ü"
			}
			return strings.ToLower(p.RDNs[0].String())
		}
	}
	return strings.ToLower(rdn)
}

// plainDN reports whether dn is written so that lower-casing it gives its
// DNKey: printable ASCII, nothing escaped or quoted, no multi-valued RDN, no
// space around a separator.
func plainDN(dn string) bool {
	if len(dn) == 0 || dn[0] == ' ' || dn[len(dn)-1] == ' ' {
		return false
	}
	for i := 0; i < len(dn); i++ {
		switch c := dn[i]; {
		case c < ' ' || c > '~', c == '\\', c == '"', c == '+', c == ';', c == '<', c == '>', c == '#':
			return false
		case c == '=' || c == ',':
			if i == 0 || i == len(dn)-1 || dn[i-1] == ' ' || dn[i+1] == ' ' {
				return false
			}
		}
	}
	return true
}

// splitRDNs cuts dn at every comma that is not escaped, keeping each RDN as
// written ("OU=Sales\, EMEA,DC=x" → "OU=Sales\, EMEA", "DC=x").
func splitRDNs(dn string) []string {
	var out []string
	start := 0
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++ // the escaped character (or the first hex digit)
		case ',':
			out = append(out, dn[start:i])
			start = i + 1
		}
	}
	if start < len(dn) {
		out = append(out, dn[start:])
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
		n := []Notice{{Level: "info", Text: MsgGroupFilter, PageOnly: true}}
		for _, fc := range a.Directories.Forests {
			ff := a.OUFiltering.Forests[fc.Forest]
			for _, dn := range ff.Unreachable {
				// The forest's tree says it where the domain would be.
				n = append(n, Notice{Level: "warn", Text: dn + ": " + MsgUnreachable, ReadyOnly: true})
			}
		}
		if !a.OUFiltering.SyncNewOUs {
			n = append(n, Notice{Level: "info", Text: MsgNewOUsOff, About: "sync_new_ous"})
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
