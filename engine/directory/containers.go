package directory

import (
	"context"

	"github.com/go-ldap/ldap/v3"
)

// containerFilter is the OU tree's classes (treeFilter) and lostAndFound,
// which also holds objects (orphans whose parent was deleted on another DC).
const containerFilter = "(|(objectClass=organizationalUnit)(objectClass=container)(objectClass=builtinDomain)(objectClass=domainDNS)(objectClass=lostAndFound))"

// ContainerDNs lists the DNs of every OU and container under base, base
// included, in paged searches returning names only (a domain with thousands
// of OUs is read PageSize at a time). Configure records them when Sync all
// new OUs is off, so that the import can tell an OU created later.
func (c *Conn) ContainerDNs(ctx context.Context, base string) ([]string, error) {
	var dns []string
	err := c.ReadPages(ctx, base, containerFilter, []string{"1.1"}, func(page []*ldap.Entry) error {
		for _, e := range page {
			dns = append(dns, e.DN)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dns, nil
}
