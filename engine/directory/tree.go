package directory

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/go-ldap/ldap/v3"
)

// Node is one entry of the domain and OU tree.
type Node struct {
	DN          string // as the DC returns it (RFC 4514 escaping)
	Name        string // the RDN value, unescaped
	Class       string // organizationalUnit, container, builtinDomain or domainDNS
	HasChildren bool   // has at least one child of those classes
	Essential   bool   // Essential(node): sync needs it selected
}

// treeFilter selects the objects the OU tree shows.
const treeFilter = "(|(objectClass=organizationalUnit)(objectClass=container)(objectClass=builtinDomain)(objectClass=domainDNS))"

// Children lists the tree nodes directly under dn (one-level; see searchAll
// for paging), sorted by name. HasChildren comes from hasChildren.
func (c *Conn) Children(ctx context.Context, dn string) ([]Node, error) {
	var entries, below []*ldap.Entry
	var err, belowErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // issued together: the DC answers both in one round of waiting
		defer wg.Done()
		below, belowErr = c.descendantDNs(ctx, dn)
	}()
	entries, err = c.searchAll(ctx, ldap.NewSearchRequest(dn, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		treeFilter, []string{"objectClass", approxSubordinates}, nil))
	wg.Wait()
	if err != nil {
		return nil, opError(err, "list the containers under %s", dn)
	}
	nodes := make([]Node, 0, len(entries))
	for _, e := range entries {
		n := Node{DN: e.DN, Name: rdnValue(e.DN), Class: treeClass(e.GetAttributeValues("objectClass"))}
		n.Essential = Essential(n)
		nodes = append(nodes, n)
	}
	if err := c.hasChildren(ctx, nodes, entries, below, belowErr); err != nil {
		return nil, err
	}
	sort.SliceStable(nodes, func(i, j int) bool {
		a, b := strings.ToLower(nodes[i].Name), strings.ToLower(nodes[j].Name)
		if a != b {
			return a < b
		}
		return nodes[i].Name < nodes[j].Name
	})
	return nodes, nil
}

// approxSubordinates is Windows AD's constructed count of an object's
// immediate children (all classes). Samba does not provide it.
const approxSubordinates = "msDS-Approx-Immed-Subordinates"

// hasChildren sets Node.HasChildren, from the cheapest source the DC offers:
//
//  1. msDS-Approx-Immed-Subordinates on the entries themselves (Windows AD):
//     no further request; it counts children of every class, so a node whose
//     children are only users still shows as expandable and opens empty;
//  2. else one subtree search under the parent for the tree's classes
//     returning names only (attribute list "1.1": no attribute of any
//     grandchild is read), issued beside the one-level search: a node has
//     children when a returned DN lies below it. On Samba this costs about
//     60 ms for 2,000 OUs, where one probe per node cost 600 ms. It is sent
//     before the answer to (1) is known; on Windows AD its cost is bounded by
//     MaxPageSize (1,000 names, then a size-limit stop) and its result unused;
//  3. if that search is refused (a size or admin limit), one one-level probe
//     per node (size limit 1, no attributes), a few in flight at a time.
func (c *Conn) hasChildren(ctx context.Context, nodes []Node, entries, below []*ldap.Entry, belowErr error) error {
	if len(nodes) == 0 {
		return nil
	}
	approx := false
	for i, e := range entries {
		if v := e.GetAttributeValue(approxSubordinates); v != "" {
			approx = true
			n, _ := strconv.Atoi(v)
			nodes[i].HasChildren = n > 0
		}
	}
	if approx {
		return nil
	}
	if c.probeOnly {
		return c.probeChildren(ctx, nodes)
	}
	if belowErr == nil {
		index := make(map[string]int, len(nodes))
		for i, n := range nodes {
			index[strings.ToLower(n.DN)] = i
		}
		for _, e := range below {
			// Every container between a node and a deeper descendant is in
			// below too, so looking at each DN's direct parent is enough.
			if i, ok := index[strings.ToLower(parentDN(e.DN))]; ok {
				nodes[i].HasChildren = true
			}
		}
		return nil
	}
	if !ldap.IsErrorAnyOf(belowErr, ldap.LDAPResultSizeLimitExceeded, ldap.LDAPResultAdminLimitExceeded) {
		return opError(belowErr, "list the containers below %s", nodes[0].DN)
	}
	return c.probeChildren(ctx, nodes)
}

// descendantDNs lists the DNs of the tree's classes anywhere below dn.
func (c *Conn) descendantDNs(ctx context.Context, dn string) ([]*ldap.Entry, error) {
	req := ldap.NewSearchRequest(dn, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		treeFilter, []string{"1.1"}, nil)
	var res *ldap.SearchResult
	var err error
	c.guard(ctx, func() { res, err = c.l.Search(req) })
	if err != nil {
		return nil, err
	}
	return res.Entries, nil
}

// probeChildren asks, for each node, for at most one child (no attributes),
// with a few requests in flight at a time.
func (c *Conn) probeChildren(ctx context.Context, nodes []Node) error {
	const inFlight = 32
	sem := make(chan struct{}, inFlight)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range nodes {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			req := ldap.NewSearchRequest(nodes[i].DN, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 1, 0, false,
				treeFilter, []string{"1.1"}, nil)
			res, err := c.l.Search(req)
			if err != nil && ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
				err = nil
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = opError(err, "list the containers under %s", nodes[i].DN)
				}
				mu.Unlock()
				return
			}
			nodes[i].HasChildren = res != nil && len(res.Entries) > 0
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func treeClass(classes []string) string {
	has := map[string]bool{}
	for _, c := range classes {
		has[strings.ToLower(c)] = true
	}
	for _, c := range []string{"domainDNS", "builtinDomain", "organizationalUnit", "container"} {
		if has[strings.ToLower(c)] {
			return c
		}
	}
	if len(classes) > 0 {
		return classes[len(classes)-1]
	}
	return ""
}

// parentDN drops dn's first RDN: everything after the first comma that is not
// escaped ("OU=Sales\\, EMEA,OU=Staff,…" → "OU=Staff,…").
func parentDN(dn string) string {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++ // skip the escaped character (or the first hex digit)
		case ',':
			return dn[i+1:]
		}
	}
	return ""
}

// rdnValue is the unescaped value of dn's first RDN ("" if dn does not parse).
func rdnValue(dn string) string {
	p, err := ldap.ParseDN(dn)
	if err != nil || len(p.RDNs) == 0 || len(p.RDNs[0].Attributes) == 0 {
		return ""
	}
	return p.RDNs[0].Attributes[0].Value
}

// Essential reports whether sync needs node selected in domain and OU
// filtering, so the page marks it and warns when it is cleared:
//
//   - the domain itself (domainDNS): everything is below it;
//   - CN=ForeignSecurityPrincipals: members of groups that come from another
//     forest are anchored there; when it is not synchronized those users are
//     dropped from the group memberships (Microsoft Entra Connect Sync:
//     Understanding Users, Groups, and Contacts);
//   - CN=RegisteredDevices (any RDN type): device writeback writes registered
//     devices there;
//   - CN=Microsoft Exchange System Objects: mail-enabled public folders live
//     there (the "Exchange mail public folders" optional feature).
//
// CN=Users and CN=Computers are ordinary containers: they hold the default
// users and computers and are selected by default like everything else.
func Essential(n Node) bool {
	if n.Class == "domainDNS" {
		return true
	}
	switch strings.ToLower(n.Name) {
	case "foreignsecurityprincipals", "registereddevices", "microsoft exchange system objects":
		return true
	}
	return false
}

// parseRangeAttr splits an attribute name returned for a ranged read,
// "member;range=0-1499" or "member;range=1500-*", into the attribute, the
// first and last index and whether this is the final window (last == -1 when
// "*"). ok is false when name carries no range option.
func parseRangeAttr(name string) (attr string, first, last int, final, ok bool) {
	base, opts, found := strings.Cut(name, ";")
	if !found {
		return name, 0, 0, false, false
	}
	for _, opt := range strings.Split(opts, ";") {
		v, isRange := strings.CutPrefix(strings.ToLower(opt), "range=")
		if !isRange {
			continue
		}
		lo, hi, dash := strings.Cut(v, "-")
		if !dash {
			return base, 0, 0, false, false
		}
		f, err := strconv.Atoi(lo)
		if err != nil || f < 0 {
			return base, 0, 0, false, false
		}
		if hi == "*" {
			return base, f, -1, true, true
		}
		l, err := strconv.Atoi(hi)
		if err != nil || l < f {
			return base, 0, 0, false, false
		}
		return base, f, l, false, true
	}
	return base, 0, 0, false, false
}
