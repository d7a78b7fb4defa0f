package directory

import (
	"context"
	"encoding/base64"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// Attribute is one attributeSchema of the forest's schema.
type Attribute struct {
	Name         string // lDAPDisplayName
	Syntax       string // attributeSyntax OID, e.g. 2.5.5.12
	OMSyntax     int
	Type         string // friendly type name, see SyntaxName
	SingleValued bool
	SystemOnly   bool
	SearchFlags  int
}

// SchemaAttributes lists every attributeSchema, sorted by name. The sign-in
// attribute picker keeps the single-valued ones; directory extensions filter
// further.
func (c *Conn) SchemaAttributes(ctx context.Context) ([]Attribute, error) {
	r, err := c.rootDSE(ctx)
	if err != nil {
		return nil, err
	}
	req := ldap.NewSearchRequest(r.SchemaNC, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=attributeSchema)",
		[]string{"lDAPDisplayName", "attributeSyntax", "oMSyntax", "isSingleValued", "systemOnly", "searchFlags"}, nil)
	entries, err := c.searchAll(ctx, req)
	if err != nil {
		return nil, opError(err, "read the forest's schema")
	}
	out := make([]Attribute, 0, len(entries))
	for _, e := range entries {
		a := Attribute{
			Name:         e.GetAttributeValue("lDAPDisplayName"),
			Syntax:       e.GetAttributeValue("attributeSyntax"),
			SingleValued: strings.EqualFold(e.GetAttributeValue("isSingleValued"), "TRUE"),
			SystemOnly:   strings.EqualFold(e.GetAttributeValue("systemOnly"), "TRUE"),
		}
		a.OMSyntax, _ = strconv.Atoi(e.GetAttributeValue("oMSyntax"))
		a.SearchFlags, _ = strconv.Atoi(e.GetAttributeValue("searchFlags"))
		a.Type = SyntaxName(a.Syntax, a.OMSyntax)
		if a.Name != "" {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].Name) < strings.ToLower(out[j].Name) })
	return out, nil
}

// SyntaxName maps attributeSyntax and oMSyntax to a friendly type name
// ([MS-ADTS] 3.1.1.2.2.2, "LDAP Representations").
func SyntaxName(attributeSyntax string, omSyntax int) string {
	switch attributeSyntax {
	case "2.5.5.1":
		return "DN"
	case "2.5.5.2":
		return "OID"
	case "2.5.5.3":
		return "String (case sensitive)"
	case "2.5.5.4":
		return "String (case insensitive)"
	case "2.5.5.5":
		if omSyntax == 22 {
			return "String (IA5)"
		}
		return "String (printable)"
	case "2.5.5.6":
		return "String (numeric)"
	case "2.5.5.7":
		return "DN with binary"
	case "2.5.5.8":
		return "Boolean"
	case "2.5.5.9":
		if omSyntax == 10 {
			return "Enumeration"
		}
		return "Integer"
	case "2.5.5.10":
		if omSyntax == 127 {
			return "Replica link"
		}
		return "Binary"
	case "2.5.5.11":
		if omSyntax == 23 {
			return "UTC time"
		}
		return "Generalized time"
	case "2.5.5.12":
		return "String (Unicode)"
	case "2.5.5.13":
		return "Presentation address"
	case "2.5.5.14":
		return "DN with string"
	case "2.5.5.15":
		return "Security descriptor"
	case "2.5.5.16":
		return "Large integer"
	case "2.5.5.17":
		return "SID"
	}
	return "Unknown (" + attributeSyntax + ")"
}

// SampleValues returns up to n values of attr found under baseDN (subtree),
// for previews: text as is, binary values Base64-encoded.
func (c *Conn) SampleValues(ctx context.Context, baseDN, attr string, n int) ([]string, error) {
	if n <= 0 {
		n = 10
	}
	if attr == "" || strings.ContainsAny(attr, "()=*\\ \x00") {
		return nil, newError(ErrInvalidInput, nil, "%q is not an attribute name.", attr)
	}
	req := ldap.NewSearchRequest(baseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, n, 0, false,
		"("+attr+"=*)", []string{attr}, nil)
	entries, err := c.search(ctx, req, false)
	if err != nil {
		return nil, opError(err, "read sample values of %s", attr)
	}
	var out []string
	for _, e := range entries {
		for _, a := range e.Attributes {
			for _, v := range a.ByteValues {
				if len(out) == n {
					return out, nil
				}
				out = append(out, printable(v))
			}
		}
	}
	return out, nil
}

func printable(v []byte) string {
	if utf8.Valid(v) {
		ok := true
		for _, r := range string(v) {
			if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
				ok = false
				break
			}
		}
		if ok {
			return string(v)
		}
	}
	return base64.StdEncoding.EncodeToString(v)
}

// ConsistencyGuidInUse reports whether any user in domain already has
// ms-DS-ConsistencyGuid populated (the sourceAnchor selection logic then
// keeps objectGUID).
func (c *Conn) ConsistencyGuidInUse(ctx context.Context, domain Domain) (bool, error) {
	req := ldap.NewSearchRequest(domain.DN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
		"(&(objectCategory=person)(objectClass=user)(mS-DS-ConsistencyGuid=*))", []string{"1.1"}, nil)
	entries, err := c.search(ctx, req, false)
	if err != nil {
		return false, opError(err, "check whether ms-DS-ConsistencyGuid is in use in %s", domain.DNS)
	}
	return len(entries) > 0, nil
}
