package directory

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Group is a group found by FindGroups.
type Group struct {
	DN             string
	Name           string
	SAMAccountName string
	Mail           string
	Security       bool   // a security group (else distribution)
	Scope          string // "global", "domain local" or "universal"
}

// FindGroups finds up to max groups under baseDN whose cn, name or
// sAMAccountName starts with namePrefix (escaped for the filter), sorted by name.
func (c *Conn) FindGroups(ctx context.Context, baseDN, namePrefix string, max int) ([]Group, error) {
	if max <= 0 {
		max = 50
	}
	req := ldap.NewSearchRequest(baseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, max, 0, false,
		groupsFilter(namePrefix), []string{"name", "sAMAccountName", "mail", "groupType"}, nil)
	entries, err := c.search(ctx, req, false)
	if err != nil {
		return nil, opError(err, "search for groups named %q", namePrefix)
	}
	out := make([]Group, 0, len(entries))
	for _, e := range entries {
		g := Group{DN: e.DN, Name: e.GetAttributeValue("name"), SAMAccountName: e.GetAttributeValue("sAMAccountName"),
			Mail: e.GetAttributeValue("mail")}
		var gt int64
		fmt.Sscan(e.GetAttributeValue("groupType"), &gt)
		g.Security = gt&0x80000000 != 0
		switch {
		case gt&0x2 != 0:
			g.Scope = "global"
		case gt&0x4 != 0:
			g.Scope = "domain local"
		case gt&0x8 != 0:
			g.Scope = "universal"
		}
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	if len(out) > max { // Samba does not apply the request's size limit
		out = out[:max]
	}
	return out, nil
}

// groupsFilter is FindGroups' filter: groups whose cn, name or sAMAccountName
// starts with the typed prefix, escaped so that it is only ever one literal
// value (an empty prefix matches every group).
func groupsFilter(namePrefix string) string {
	p := ldap.EscapeFilter(strings.TrimSpace(namePrefix))
	return fmt.Sprintf("(&(objectCategory=group)(|(cn=%[1]s*)(name=%[1]s*)(sAMAccountName=%[1]s*)))", p)
}

// MemberWindow is how many values DirectMemberCount asks for per read: AD's
// default MaxValRange.
const MemberWindow = 1500

// DirectMemberCount counts groupDN's direct members by reading member in
// ranged windows (member;range=0-1499, then 1500-2999, …) until the DC marks
// the last window with "-*". Windows AD returns at most MaxValRange values of a
// plain "member" read; Samba returns them all unless asked for a range, so the
// ranged reads are what keeps this right on both. Nested groups count as one
// member each.
func (c *Conn) DirectMemberCount(ctx context.Context, groupDN string) (int, error) {
	total, start := 0, 0
	for round := 0; ; round++ {
		if round > 100000 {
			return 0, fmt.Errorf("directory: member of %s: no end marker after %d windows", groupDN, round)
		}
		attr := fmt.Sprintf("member;range=%d-%d", start, start+MemberWindow-1)
		e, err := c.readEntry(ctx, groupDN, []string{attr})
		if err != nil {
			return 0, opError(err, "read the members of %s", groupDN)
		}
		n, next, done := countRangedWindow(e.Attributes, start)
		total += n
		if done {
			return total, nil
		}
		start = next
	}
}

// countRangedWindow looks at every attribute of one ranged read (go-ldap keeps
// the ";range=" option in the name) and returns how many member values it
// carried, where the next window starts and whether this was the last one. A
// plain "member" attribute (a server that ignored the range) and no member
// attribute at all (no members, or start is past the end) both end the loop.
func countRangedWindow(attrs []*ldap.EntryAttribute, start int) (n, next int, done bool) {
	for _, a := range attrs {
		base, _, last, final, ok := parseRangeAttr(a.Name)
		if !strings.EqualFold(base, "member") {
			continue
		}
		if !ok {
			return len(a.Values), 0, true
		}
		if final || len(a.Values) == 0 {
			return len(a.Values), 0, true
		}
		return len(a.Values), last + 1, false
	}
	return 0, 0, true
}
