package directory

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Domain is one domain of a forest.
type Domain struct {
	DNS     string // e.g. fabrikam.com
	NetBIOS string // e.g. FABRIKAM
	DN      string // e.g. DC=fabrikam,DC=com
	SID     string // S-1-5-21-…; "" when this DC could not read it (another domain's NC)
}

// ForestInfo describes a forest as its DC sees it.
type ForestInfo struct {
	Name              string // forest (root domain) DNS name
	RootDomainNC      string
	ConfigurationNC   string
	SchemaNC          string
	Domains           []Domain // sorted by DNS name, the root domain first
	UPNSuffixes       []string // uPNSuffixes of CN=Partitions (the extra suffixes, not the domain names)
	HasExchangeSchema bool     // see ExchangeSchemaAttributes
}

// RootDomain is the forest root domain.
func (f ForestInfo) RootDomain() (Domain, bool) {
	for _, d := range f.Domains {
		if strings.EqualFold(d.DN, f.RootDomainNC) {
			return d, true
		}
	}
	return Domain{}, false
}

// DomainByName finds a domain by DNS or NetBIOS name (case-insensitive).
func (f ForestInfo) DomainByName(name string) (Domain, bool) {
	for _, d := range f.Domains {
		if strings.EqualFold(d.DNS, name) || strings.EqualFold(d.NetBIOS, name) {
			return d, true
		}
	}
	return Domain{}, false
}

// Forest reads the forest's naming contexts, domains (crossRefs with a NetBIOS
// name, each with its SID), UPN suffixes and whether the schema has Exchange.
// The result is cached on the Conn.
func (c *Conn) Forest(ctx context.Context) (ForestInfo, error) {
	c.mu.Lock()
	cached := c.forest
	c.mu.Unlock()
	if cached != nil {
		return *cached, nil
	}
	r, err := c.rootDSE(ctx)
	if err != nil {
		return ForestInfo{}, err
	}
	fi := ForestInfo{RootDomainNC: r.RootDomainNC, ConfigurationNC: r.ConfigurationNC, SchemaNC: r.SchemaNC}
	partitions := "CN=Partitions," + r.ConfigurationNC
	e, err := c.readEntry(ctx, partitions, []string{"uPNSuffixes"})
	if err != nil {
		return ForestInfo{}, opError(err, "read the forest's partitions (%s)", partitions)
	}
	fi.UPNSuffixes = e.GetAttributeValues("uPNSuffixes")
	sort.Strings(fi.UPNSuffixes)

	req := ldap.NewSearchRequest(partitions, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=crossRef)(nETBIOSName=*))", []string{"dnsRoot", "nETBIOSName", "nCName"}, nil)
	refs, err := c.search(ctx, req, false)
	if err != nil {
		return ForestInfo{}, opError(err, "list the forest's domains")
	}
	for _, ref := range refs {
		d := Domain{
			DNS:     strings.ToLower(ref.GetAttributeValue("dnsRoot")),
			NetBIOS: ref.GetAttributeValue("nETBIOSName"),
			DN:      ref.GetAttributeValue("nCName"),
		}
		if d.DN == "" {
			continue
		}
		// The domain object holds objectSid; a DC only holds its own
		// domain's NC, so other domains' SIDs may be unreadable here.
		if de, err := c.readEntry(ctx, d.DN, []string{"objectSid"}); err == nil {
			if sid, err := SIDFromBytes(de.GetRawAttributeValue("objectSid")); err == nil {
				d.SID = sid.String()
			}
		}
		if strings.EqualFold(d.DN, r.RootDomainNC) {
			fi.Name = d.DNS
		}
		fi.Domains = append(fi.Domains, d)
	}
	if fi.Name == "" {
		return ForestInfo{}, newError(nil, nil, "The forest's root domain (%s) has no entry in CN=Partitions; this does not look like an Active Directory forest.", r.RootDomainNC)
	}
	sort.Slice(fi.Domains, func(i, j int) bool {
		ri, rj := strings.EqualFold(fi.Domains[i].DN, fi.RootDomainNC), strings.EqualFold(fi.Domains[j].DN, fi.RootDomainNC)
		if ri != rj {
			return ri
		}
		return fi.Domains[i].DNS < fi.Domains[j].DNS
	})
	if fi.HasExchangeSchema, err = c.hasExchangeSchema(ctx, r.SchemaNC); err != nil {
		return ForestInfo{}, err
	}
	c.mu.Lock()
	c.forest = &fi
	c.mu.Unlock()
	return fi, nil
}

// ExchangeSchemaAttributes are the attributeSchema lDAPDisplayNames
// hasExchangeSchema looks for. The schema counts as Exchange-extended when it
// has mailNickname AND at least one of msExchMailboxGuid,
// msExchRecipientTypeDetails (attributes only Exchange's /PrepareSchema adds;
// mailNickname alone also comes with other products).
var ExchangeSchemaAttributes = []string{"mailNickname", "msExchMailboxGuid", "msExchRecipientTypeDetails"}

// exchangeSchemaPresent applies the rule above to the names found.
func exchangeSchemaPresent(found []string) bool {
	has := map[string]bool{}
	for _, n := range found {
		has[strings.ToLower(n)] = true
	}
	return has["mailnickname"] && (has["msexchmailboxguid"] || has["msexchrecipienttypedetails"])
}

func (c *Conn) hasExchangeSchema(ctx context.Context, schemaNC string) (bool, error) {
	var or strings.Builder
	for _, n := range ExchangeSchemaAttributes {
		fmt.Fprintf(&or, "(lDAPDisplayName=%s)", ldap.EscapeFilter(n))
	}
	req := ldap.NewSearchRequest(schemaNC, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=attributeSchema)(|"+or.String()+"))", []string{"lDAPDisplayName"}, nil)
	entries, err := c.search(ctx, req, false)
	if err != nil {
		return false, opError(err, "read the forest's schema")
	}
	var found []string
	for _, e := range entries {
		found = append(found, e.GetAttributeValue("lDAPDisplayName"))
	}
	return exchangeSchemaPresent(found), nil
}
