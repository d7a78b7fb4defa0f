package setup

import (
	"context"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// The Microsoft Entra sign-in configuration page's reads of the forests (see
// signInConfigChecker). Each connects as the connector account (or, before
// Configure created it, the enterprise admin credentials held in memory).

// SignInUPNSuffixes reads a forest's domains' DNS names and its uPNSuffixes
// afresh.
func (s *StoreChecker) SignInUPNSuffixes(ctx context.Context, fc ForestConn) (domains, suffixes []string, err error) {
	info, err := onForest(ctx, s, fc, "read the UPN suffixes of "+fc.Forest, func(ctx context.Context, c *directory.Conn) (directory.ForestInfo, error) {
		return c.Forest(ctx)
	})
	if err != nil {
		return nil, nil, err
	}
	for _, d := range info.Domains {
		domains = append(domains, d.DNS)
	}
	return domains, info.UPNSuffixes, nil
}

// UserAttributes reads which attributes a user object may have in a forest
// (see UserClassAttributes), from its classSchema objects. A read is reused
// for schemaTTL, as the attributes are.
func (s *StoreChecker) UserAttributes(ctx context.Context, fc ForestConn) (map[string]bool, error) {
	key := strings.ToLower(fc.Forest) + "|" + fc.DC
	s.schemaMu.Lock()
	c, ok := s.users[key]
	s.schemaMu.Unlock()
	if ok && time.Since(c.at) < schemaTTL {
		return c.names, nil
	}
	names, err := onForest(ctx, s, fc, "read the schema of "+fc.Forest, func(ctx context.Context, c *directory.Conn) (map[string]bool, error) {
		info, err := c.Forest(ctx)
		if err != nil {
			return nil, err
		}
		var classes []SchemaClass
		err = c.ReadPages(ctx, info.SchemaNC, "(objectClass=classSchema)", classAttributes, func(page []*ldap.Entry) error {
			for _, e := range page {
				classes = append(classes, SchemaClass{
					Name:       e.GetAttributeValue("lDAPDisplayName"),
					SubClassOf: e.GetAttributeValue("subClassOf"),
					Auxiliary:  append(e.GetAttributeValues("auxiliaryClass"), e.GetAttributeValues("systemAuxiliaryClass")...),
					Attributes: append(append(append(e.GetAttributeValues("mayContain"), e.GetAttributeValues("systemMayContain")...),
						e.GetAttributeValues("mustContain")...), e.GetAttributeValues("systemMustContain")...),
				})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return UserClassAttributes(classes), nil
	})
	if err != nil {
		return nil, err
	}
	s.schemaMu.Lock()
	if s.users == nil {
		s.users = map[string]cachedUsers{}
	}
	s.users[key] = cachedUsers{names: names, at: time.Now()}
	s.schemaMu.Unlock()
	return names, nil
}

// classAttributes are what UserAttributes reads of each classSchema.
var classAttributes = []string{"lDAPDisplayName", "subClassOf", "auxiliaryClass", "systemAuxiliaryClass",
	"mayContain", "systemMayContain", "mustContain", "systemMustContain"}
