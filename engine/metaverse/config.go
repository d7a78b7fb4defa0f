package metaverse

import (
	"errors"
	"strings"

	"github.com/hybridsync/hybridsync/engine/entra"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// Config is what the sync rules need from the wizard's answers and the
// tenant: built once per cycle by NewConfig, read-only afterwards.
type Config struct {
	// Forests are the connectors in precedence order (the order of Connect
	// your directories): when objects of several forests join, the first
	// forest's values win.
	Forests []string
	// Matching is one of the setup.Match* ids; MatchingAttribute the LDAP
	// name chosen with setup.MatchAttribute.
	Matching          string
	MatchingAttribute string
	// AnchorAttribute is the sourceAnchor attribute (LDAP display name):
	// setup.AttrConsistencyGuid applies the ms-DS-ConsistencyGuid logic
	// (its value when populated, else objectGUID, to be written back);
	// setup.AttrObjectGUID uses objectGUID; anything else is the chosen
	// attribute, used as it is ("" means the ms-DS-ConsistencyGuid logic).
	AnchorAttribute string
	// SignInAttribute is userPrincipalName or the alternate ID.
	SignInAttribute string
	// VerifiedDomains are the tenant's verified domains (lower case);
	// InitialDomain its initial onmicrosoft.com domain. Both empty: no
	// tenant is known and no suffix is replaced.
	VerifiedDomains map[string]bool
	InitialDomain   string
	// Extensions are the directory extension attributes; ExtensionAppID the
	// appId of the tenant's schema extension app, without dashes.
	Extensions     []setup.ExtensionAttr
	ExtensionAppID string
	// Unsynced are Graph properties attribute filtering keeps out of the
	// tenant: those of the attributes cleared on the Microsoft Entra
	// attributes page or used by no selected app (attrfilter.go).
	Unsynced map[string]bool
}

// NewConfig builds the rules' configuration from the wizard's answers and
// the tenant as last read (nil: not connected), whose Tenant Schema
// Extension App (SchemaExtensionAppID) is needed only when directory
// extensions are chosen. With Microsoft Entra app and attribute filtering,
// Unsynced holds the Graph properties of the attributes the admin cleared
// or no selected app uses (attrfilter.go); without it, it is empty.
func NewConfig(a setup.Answers, t *entra.Tenant) (Config, error) {
	c := Config{
		Matching:          a.Identifying.MatchingMode(),
		MatchingAttribute: a.Identifying.MatchingAttribute,
		SignInAttribute:   a.SignInConfig.SignInAttribute(),
		VerifiedDomains:   map[string]bool{},
		Unsynced:          unsyncedProperties(&a),
	}
	for _, fc := range a.Directories.Forests {
		c.Forests = append(c.Forests, fc.Forest)
	}
	id := a.Identifying
	switch {
	case id.Resolved != "":
		c.AnchorAttribute = id.Resolved
	case id.AnchorMode() == setup.AnchorAttribute:
		c.AnchorAttribute = id.SourceAnchorAttribute
	default:
		c.AnchorAttribute = setup.AttrConsistencyGuid
	}
	if c.Matching == setup.MatchAttribute && c.MatchingAttribute == "" {
		return Config{}, errors.New("metaverse: matching on an attribute, but no attribute is chosen")
	}
	if t != nil {
		c.InitialDomain = strings.ToLower(t.InitialDomain)
		for _, d := range t.Domains {
			if d.Verified {
				c.VerifiedDomains[strings.ToLower(d.Name)] = true
			}
		}
	}
	if a.Features.DirectoryExtensions && len(a.Extensions.Selected) > 0 {
		var extensionAppID string
		if t != nil {
			extensionAppID = t.SchemaExtensionAppID
		}
		if extensionAppID == "" {
			return Config{}, errors.New("directory extensions are chosen, but the Tenant Schema Extension App that holds them is not recorded: select Configure in the wizard again")
		}
		c.Extensions = a.Extensions.Selected
		c.ExtensionAppID = strings.ReplaceAll(strings.ToLower(extensionAppID), "-", "")
	}
	return c, nil
}

// ExtensionProperty is the Graph name of a directory extension attribute:
// extension_<appId without dashes>_<attribute>, the attribute spelt as in
// the forest's schema (Graph extension names are case-insensitive).
func ExtensionProperty(appID, attr string) string {
	return "extension_" + strings.ReplaceAll(appID, "-", "") + "_" + attr
}

// anchorMode is how the sourceAnchor is chosen.
func (c Config) anchorMode() string {
	switch {
	case c.AnchorAttribute == "" || strings.EqualFold(c.AnchorAttribute, setup.AttrConsistencyGuid):
		return setup.AttrConsistencyGuid
	case strings.EqualFold(c.AnchorAttribute, setup.AttrObjectGUID):
		return setup.AttrObjectGUID
	}
	return setup.AnchorAttribute
}

// tenantKnown: verified domains are known, so suffixes are checked.
func (c Config) tenantKnown() bool { return c.InitialDomain != "" }

func (c Config) rank(connector string) int {
	for i, f := range c.Forests {
		if strings.EqualFold(f, connector) {
			return i
		}
	}
	return len(c.Forests)
}
