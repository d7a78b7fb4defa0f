package directory

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// User is a user account.
type User struct {
	DN             string
	SAMAccountName string
	UPN            string
	SID            string
}

// BoundUser is the account the connection is bound as: the "Who am I?"
// extended operation when the DC answers it, else a search for the bind name
// (userPrincipalName, or sAMAccountName for the implicit user@dnsdomain form)
// in the DC's default naming context.
func (c *Conn) BoundUser(ctx context.Context) (User, error) {
	r, err := c.rootDSE(ctx)
	if err != nil {
		return User{}, err
	}
	var filter string
	var who *ldap.WhoAmIResult
	c.guard(ctx, func() { who, err = c.l.WhoAmI(nil) })
	if err == nil && who != nil {
		authz := who.AuthzID
		switch {
		case strings.HasPrefix(authz, "dn:"):
			return c.readUser(ctx, strings.TrimPrefix(authz, "dn:"))
		case strings.HasPrefix(authz, "u:"):
			id := strings.TrimPrefix(authz, "u:")
			if _, sam, ok := strings.Cut(id, `\`); ok {
				filter = "(&(objectCategory=person)(objectClass=user)(sAMAccountName=" + ldap.EscapeFilter(sam) + "))"
			}
		}
	}
	if filter == "" {
		filter = bindNameFilter(c.bindName)
	}
	req := ldap.NewSearchRequest(r.DefaultNC, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
		filter, userAttrs, nil)
	entries, err := c.search(ctx, req, false)
	if err != nil {
		return User{}, opError(err, "look up the signed-in account %s", c.bindName)
	}
	// Prefer the exact UPN match when both forms matched different accounts.
	for _, e := range entries {
		if strings.EqualFold(e.GetAttributeValue("userPrincipalName"), c.bindName) {
			return userOf(e), nil
		}
	}
	if len(entries) != 1 {
		return User{}, newError(nil, nil, "Could not find the signed-in account %s in %s.", c.bindName, r.DefaultNC)
	}
	return userOf(entries[0]), nil
}

var userAttrs = []string{"sAMAccountName", "userPrincipalName", "objectSid"}

func (c *Conn) readUser(ctx context.Context, dn string) (User, error) {
	e, err := c.readEntry(ctx, dn, userAttrs)
	if err != nil {
		return User{}, opError(err, "read the account %s", dn)
	}
	return userOf(e), nil
}

func userOf(e *ldap.Entry) User {
	u := User{DN: e.DN, SAMAccountName: e.GetAttributeValue("sAMAccountName"), UPN: e.GetAttributeValue("userPrincipalName")}
	if sid, err := SIDFromBytes(e.GetRawAttributeValue("objectSid")); err == nil {
		u.SID = sid.String()
	}
	return u
}

// tokenGroups reads the transitive security-group SIDs of dn.
func (c *Conn) tokenGroups(ctx context.Context, dn string) ([]SID, error) {
	e, err := c.readEntry(ctx, dn, []string{"tokenGroups"})
	if err != nil {
		return nil, opError(err, "read the group memberships of %s", dn)
	}
	var out []SID
	for _, raw := range e.GetRawAttributeValues("tokenGroups") {
		sid, err := SIDFromBytes(raw)
		if err != nil {
			return nil, fmt.Errorf("directory: tokenGroups of %s: %w", dn, err)
		}
		out = append(out, sid)
	}
	return out, nil
}

// IsAdmin reports whether userDN is an Enterprise Admin (<root domain
// SID>-519) or a Domain Admin (<domain SID>-512 of any domain of the forest),
// directly or through nested groups: tokenGroups is transitive. The string
// names the group ("Enterprise Admins" or "Domain Admins (CORP)"). The wizard
// refuses such an account with MsgAdminNotAllowed.
func (c *Conn) IsAdmin(ctx context.Context, userDN string) (bool, string, error) {
	fi, err := c.Forest(ctx)
	if err != nil {
		return false, "", err
	}
	groups, err := c.tokenGroups(ctx, userDN)
	if err != nil {
		return false, "", err
	}
	return adminGroup(fi, groups)
}

// adminGroup applies IsAdmin's rule to a token.
func adminGroup(fi ForestInfo, groups []SID) (bool, string, error) {
	has := map[string]bool{}
	for _, g := range groups {
		has[g.String()] = true
	}
	if root, ok := fi.RootDomain(); ok && root.SID != "" && has[root.SID+"-519"] {
		return true, "Enterprise Admins", nil
	}
	for _, d := range fi.Domains {
		if d.SID != "" && has[d.SID+"-512"] {
			return true, "Domain Admins (" + d.NetBIOS + ")", nil
		}
	}
	return false, "", nil
}

// bindNameFilter finds the person a bind name (user@domain, typed on the
// Directories page) names: by userPrincipalName, or by sAMAccountName for the
// implicit user@dnsdomain form. Both are escaped so that they are only ever one
// literal value each.
func bindNameFilter(bindName string) string {
	sam, _, _ := strings.Cut(bindName, "@")
	return "(&(objectCategory=person)(objectClass=user)(|(userPrincipalName=" + ldap.EscapeFilter(bindName) +
		")(sAMAccountName=" + ldap.EscapeFilter(sam) + ")))"
}
