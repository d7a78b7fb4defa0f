package metaverse

import (
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/engine/setup"
)

// Microsoft Entra app and attribute filtering names AD (and metaverse)
// attributes; the flow writes Graph properties. This file maps one to the
// other, so that an attribute kept unsynchronized keeps the properties it
// feeds out of the cloud attributes.
//
// Many attributes on the wizard's list have no Graph counterpart in our flow
// (extensionAttribute1–15, the msExch* and msRTCSIP-* attributes, manager,
// member, thumbnailPhoto, info, …): clearing them changes nothing that is
// exported, because the flow never writes them in the first place.

// computedProps are the properties flowAttrs sets outside the flowSpec
// tables, by the (lower-case) attribute of the wizard's list they stand for.
// The names the flow only falls back on (cn, dNSHostName) are left out: a
// cleared fallback does not keep the property it falls back for out.
var computedProps = map[string][]string{
	"displayname":       {"displayName"},
	"mailnickname":      {"mailNickname"},
	"accountenabled":    {"accountEnabled"},
	"userprincipalname": {"userPrincipalName", "onPremisesUserPrincipalName"},
	"sourceanchor":      {"onPremisesImmutableId"},
	"samaccountname":    {"onPremisesSamAccountName"},
	"objectsid":         {"onPremisesSecurityIdentifier"},
	"securityenabled":   {"securityEnabled"},
	"objectguid":        {"deviceId"},
	"devicetrusttype":   {"trustType"},
	"usagelocation":     {"usageLocation"},
}

// graphProperties are the Graph properties the flow writes from an
// attribute of the wizard's list, over every object kind.
func graphProperties(attr string) []string {
	l := strings.ToLower(attr)
	var out []string
	for _, specs := range [][]flowSpec{userFlows, groupFlows, contactFlows, deviceFlows} {
		for _, f := range specs {
			if f.ldap == l && !slices.Contains(out, f.prop) {
				out = append(out, f.prop)
			}
		}
	}
	for _, p := range computedProps[l] {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// unsyncedProperties are the Graph properties attribute filtering keeps out
// of the tenant: the ones fed only by attributes that are not synchronized
// (cleared, or used by no selected app). A property that a synchronized
// attribute also feeds stays: c (cleared) and usageLocation (mechanical,
// never cleared) both stand for usageLocation, which therefore flows. Nil
// when the feature is off.
func unsyncedProperties(a *setup.Answers) map[string]bool {
	off := setup.UnsyncedAttributes(a)
	if len(off) == 0 {
		return nil
	}
	dropped, kept := map[string]bool{}, map[string]bool{}
	for _, n := range setup.CatalogAttributes() {
		isOff := slices.Contains(off, n)
		for _, p := range graphProperties(n) {
			if isOff {
				dropped[p] = true
			} else {
				kept[p] = true
			}
		}
	}
	out := map[string]bool{}
	for p := range dropped {
		if !kept[p] {
			out[p] = true
		}
	}
	return out
}
