package setup

import "sort"

// Change is one choice that differs between two configurations, in the
// summary's words: the audit trail keeps them with each Configure, as the
// configuration's change history.
type Change struct {
	Group string `json:"group"`
	Label string `json:"label"`
	Old   string `json:"old,omitempty"` // "" when the row is new
	New   string `json:"new,omitempty"` // "" when the row is gone
}

// Changes lists what differs from the summary old to the summary new (Summary
// of the configuration in force, and of the one about to be applied), group
// by group in the summary's order. A label met twice in a group is told
// apart by its place among its namesakes. The summary holds no secret, so
// neither do the changes.
func Changes(old, new []SummaryGroup) []Change {
	type key struct {
		group, label string
		nth          int
	}
	index := func(gs []SummaryGroup) (map[key]string, []key) {
		m := map[key]string{}
		var order []key
		for _, g := range gs {
			seen := map[string]int{}
			for _, r := range g.Rows {
				k := key{g.Title, r.Label, seen[r.Label]}
				seen[r.Label]++
				m[k] = r.Value
				order = append(order, k)
			}
		}
		return m, order
	}
	was, wasOrder := index(old)
	is, isOrder := index(new)
	var out []Change
	for _, k := range isOrder {
		if v, ok := was[k]; !ok || v != is[k] {
			out = append(out, Change{Group: k.group, Label: k.label, Old: v, New: is[k]})
		}
	}
	for _, k := range wasOrder {
		if _, ok := is[k]; !ok {
			out = append(out, Change{Group: k.group, Label: k.label, Old: was[k]})
		}
	}
	// Group by group, in the new summary's order (then the old one's for a
	// group that is gone); within a group, rows as they came.
	rank := map[string]int{}
	for _, gs := range [][]SummaryGroup{new, old} {
		for _, g := range gs {
			if _, ok := rank[g.Title]; !ok {
				rank[g.Title] = len(rank)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Group] < rank[out[j].Group] })
	return out
}
