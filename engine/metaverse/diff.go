package metaverse

import (
	"cmp"
	"maps"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/engine/store"
)

// Exported is what the tenant last confirmed for one object: the export
// records it (store.RecordExported) and the next sync diffs against it.
type Exported struct {
	Key     string
	Kind    string
	CloudID string
	Source  string
	Attrs   map[string][]string
	Members []string // sorted
	// stored is Attrs as the store keeps them, when they are not read yet
	// (exportedChunks: a delta reads each into one map as it diffs).
	stored string
}

// Diff is the pending exports that turn the exported state into the
// desired one: nothing when they agree; an add when nothing was exported; a
// delete when nothing is desired any more; an update with each changed
// attribute (old → new) and each membership added or removed otherwise. A
// key that changed kind is deleted, then added again.
func Diff(desired *Object, exported *Exported) []Change {
	switch {
	case desired == nil && exported == nil:
		return nil
	case desired == nil:
		return []Change{{Key: exported.Key, Kind: exported.Kind, Op: OpDelete, CloudID: exported.CloudID, Source: exported.Source}}
	case exported == nil:
		ch := Change{Key: desired.Key, Kind: desired.Kind, Op: OpAdd, Source: desired.Source,
			Attrs: attrChanges(nil, desired.Attrs), AddMembers: slices.Clone(desired.Members)}
		return []Change{ch}
	case exported.Kind != desired.Kind:
		return append(Diff(nil, exported), Diff(desired, nil)...)
	}
	ch := Change{Key: desired.Key, Kind: desired.Kind, Op: OpUpdate, CloudID: exported.CloudID, Source: desired.Source,
		Attrs: attrChanges(exported.Attrs, desired.Attrs)}
	// The old values (and the names only they have) are copied: they are
	// parts of the exported object's stored row (store.ParseAttrs), in a map
	// a delta fills again for its next object, and a change a delta holds
	// would hold the whole row (60,000 rows of about 1 KB at a million).
	for i := range ch.Attrs {
		a := &ch.Attrs[i]
		if a.Old = cloneValues(a.Old); a.New == nil {
			a.Name = strings.Clone(a.Name)
		}
	}
	ch.AddMembers, ch.RemoveMembers = memberChanges(exported.Members, desired.Members)
	if len(ch.Attrs) == 0 && len(ch.AddMembers) == 0 && len(ch.RemoveMembers) == 0 {
		return nil
	}
	return []Change{ch}
}

// attrChanges lists the properties whose values differ, by name.
func attrChanges(old, new map[string][]string) []AttrChange {
	return appendAttrChanges(nil, old, new)
}

// appendAttrChanges appends attrChanges(old, new) to out.
func appendAttrChanges(out []AttrChange, old, new map[string][]string) []AttrChange {
	start := len(out)
	if len(old) == 0 {
		// An add: every non-empty value, in one allocation of the right size.
		n := 0
		for _, nv := range new {
			if len(nv) > 0 {
				n++
			}
		}
		if n > cap(out)-len(out) {
			out = slices.Grow(out, n)
		}
	}
	for name, nv := range new {
		if ov := old[name]; !slices.Equal(ov, nv) {
			out = append(out, AttrChange{Name: name, Old: ov, New: nv})
		}
	}
	for name, ov := range old {
		if _, ok := new[name]; !ok && len(ov) > 0 {
			out = append(out, AttrChange{Name: name, Old: ov})
		}
	}
	slices.SortFunc(out[start:], func(a, b AttrChange) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// cloneValues copies vs and its strings into one allocation.
func cloneValues(vs []string) []string {
	if len(vs) == 0 {
		return vs
	}
	n := 0
	for _, v := range vs {
		n += len(v)
	}
	b := make([]byte, 0, n)
	for _, v := range vs {
		b = append(b, v...)
	}
	all := string(b)
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i], all = all[:len(v)], all[len(v):]
	}
	return out
}

// memberChanges merges two sorted member lists: what to add, what to remove.
func memberChanges(old, new []string) (add, remove []string) {
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case j == len(new) || (i < len(old) && old[i] < new[j]):
			remove = append(remove, old[i])
			i++
		case i == len(old) || new[j] < old[i]:
			add = append(add, new[j])
			j++
		default:
			i++
			j++
		}
	}
	return add, remove
}

// Order puts pending exports in the order the tenant needs them: objects
// before the groups that list them, updates next, groups deleted before
// their members; then by key.
func Order(chs []Change) {
	slices.SortStableFunc(chs, func(a, b Change) int {
		return cmp.Or(cmp.Compare(orderOf(a), orderOf(b)), strings.Compare(a.Key, b.Key))
	})
}

// orderOf is a change's place in Order.
func orderOf(c Change) int {
	group := c.Kind == KindGroup
	switch {
	case c.Op == OpAdd && !group:
		return 0
	case c.Op == OpAdd:
		return 1
	case c.Op == OpUpdate && !group:
		return 2
	case c.Op == OpUpdate:
		return 3
	case c.Op == OpDelete && group:
		return 4
	}
	return 5
}

// Pending computes the pending exports of the given keys against the
// exported state. With all set, keys of exported that are not in keys are
// diffed too (a full sync: whatever is no longer desired is deleted).
func (e *Engine) Pending(keys []string, exported map[string]*Exported, all bool) []Change {
	seen := make(map[string]bool, len(keys))
	var out []Change
	for _, k := range keys {
		seen[k] = true
		out = append(out, Diff(e.desired(k), exported[k])...)
	}
	if all {
		for _, k := range slices.Sorted(maps.Keys(exported)) {
			if !seen[k] {
				out = append(out, Diff(e.desired(k), exported[k])...)
			}
		}
	}
	Order(out)
	return out
}

// planned is one pending export, computed again (Diff) when it is written:
// its key, its place in Order, and which of the key's Diff results it is.
// A delta of more than MaxResultChanges keys writes its pending exports
// without holding them all at once (a full sync writes each with its
// object: fullRows).
type planned struct {
	key      string
	ord, sub int
}

// plan lists the pending exports Pending would compute, in its order.
func (e *Engine) plan(keys []string, exported map[string]*Exported, all bool) []planned {
	var p planner
	one := func(k string) {
		var d *Object
		x := exported[k]
		if p := e.mv[k]; p != nil && x != nil && x.Kind == p.kindName() {
			d = e.desired(k) // differs compares the attributes
		} else if p != nil {
			d = &Object{Key: k, Kind: p.kindName()}
		}
		p.one(k, d, x)
	}
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		seen[k] = true
		one(k)
	}
	if all {
		for _, k := range slices.Sorted(maps.Keys(exported)) {
			if !seen[k] {
				one(k)
			}
		}
	}
	return p.sorted()
}

// planner collects planned pending exports.
type planner struct{ out []planned }

// one plans the pending exports of key k: d is its desired object (nil for
// none; with its attributes when x is of its kind), x its exported state.
func (p *planner) one(k string, d *Object, x *Exported) {
	switch {
	case d == nil && x == nil:
	case d == nil:
		p.out = append(p.out, planned{k, orderOf(Change{Kind: x.Kind, Op: OpDelete}), 0})
	case x == nil:
		p.out = append(p.out, planned{k, orderOf(Change{Kind: d.Kind, Op: OpAdd}), 0})
	case x.Kind != d.Kind:
		p.out = append(p.out, planned{k, orderOf(Change{Kind: x.Kind, Op: OpDelete}), 0}, planned{k, orderOf(Change{Kind: d.Kind, Op: OpAdd}), 1})
	case differs(x, d):
		p.out = append(p.out, planned{k, orderOf(Change{Kind: d.Kind, Op: OpUpdate}), 0})
	}
}

// sorted is the plan in Order's order: (order, key) is unique, so this is
// the same order as Order's stable sort.
func (p *planner) sorted() []planned {
	slices.SortFunc(p.out, func(a, b planned) int { return cmp.Or(cmp.Compare(a.ord, b.ord), strings.Compare(a.key, b.key)) })
	return p.out
}

// differs: Diff makes an update (attrChanges or memberChanges is not empty).
func differs(x *Exported, d *Object) bool {
	for name, nv := range d.Attrs {
		if !slices.Equal(x.Attrs[name], nv) {
			return true
		}
	}
	for name, ov := range x.Attrs {
		if _, ok := d.Attrs[name]; !ok && len(ov) > 0 {
			return true
		}
	}
	return !slices.Equal(x.Members, d.Members)
}

// appendJSON appends c as json.Marshal encodes it, without reflection: a
// full sync encodes 100,000 of them.
func (c *Change) appendJSON(b []byte) []byte {
	b = append(b, `{"key":`...)
	b = store.AppendJSONString(b, c.Key)
	b = append(b, `,"kind":`...)
	b = store.AppendJSONString(b, c.Kind)
	b = append(b, `,"op":`...)
	b = store.AppendJSONString(b, c.Op)
	if c.CloudID != "" {
		b = append(b, `,"cloudId":`...)
		b = store.AppendJSONString(b, c.CloudID)
	}
	if len(c.Attrs) > 0 {
		b = append(b, `,"attrs":[`...)
		for i, a := range c.Attrs {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = store.AppendJSONString(b, a.Name)
			if len(a.Old) > 0 {
				b = append(b, `,"old":`...)
				b = appendJSONStrings(b, a.Old)
			}
			if len(a.New) > 0 {
				b = append(b, `,"new":`...)
				b = appendJSONStrings(b, a.New)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(c.AddMembers) > 0 {
		b = append(b, `,"addMembers":`...)
		b = appendJSONStrings(b, c.AddMembers)
	}
	if len(c.RemoveMembers) > 0 {
		b = append(b, `,"removeMembers":`...)
		b = appendJSONStrings(b, c.RemoveMembers)
	}
	b = append(b, `,"source":`...)
	b = store.AppendJSONString(b, c.Source)
	return append(b, '}')
}

// appendJSONStrings appends a []string as json.Marshal does, nil as [].
func appendJSONStrings(b []byte, v []string) []byte {
	if v == nil {
		return append(b, "[]"...)
	}
	return store.AppendJSONStrings(b, v)
}
