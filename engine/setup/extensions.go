package setup

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// Extensions is the Directory extensions page: attributes of the forests'
// schema to sync to Microsoft Entra ID as directory extensions.
type Extensions struct {
	// Filter is the Available attributes filter box; like the seed's, it is
	// case sensitive.
	Filter string `json:"filter,omitempty"`
	// Selected are the chosen attributes, sorted by name.
	Selected []ExtensionAttr `json:"selected,omitempty"`
}

// ExtensionAttr is one attribute chosen (or offered) as a directory extension.
type ExtensionAttr struct {
	Name        string   `json:"name"`
	Type        string   `json:"type,omitempty"` // ExtString, ExtInteger, ExtBoolean or ExtBinary
	MultiValued bool     `json:"multiValued,omitempty"`
	Forests     []string `json:"forests,omitempty"` // the forests whose schema has it
}

// The types an attribute can be synced as.
const (
	ExtString  = "String"
	ExtInteger = "Integer"
	ExtBoolean = "Boolean"
	ExtBinary  = "Binary"
)

const (
	// MaxExtensions is the cloud's limit on directory extension attributes.
	MaxExtensions = 100
	// MaxExtensionValue is the cloud's limit on one value's length.
	MaxExtensionValue = 250

	ActionExtFilter      = "ext_filter"
	ActionExtClearFilter = "ext_clear_filter"
)

// Messages of the directory extension rules.
const (
	MsgExtCaseSensitive = "The Available Attributes field is case sensitive."
	MsgExtValueLimit    = "Microsoft Entra ID keeps at most 250 characters of a directory extension's value: a value longer than 250 characters is not synced."
	MsgExtTooMany       = "Select at most 100 attributes: Microsoft Entra ID accepts no more than 100 directory extension attributes."
)

// extensionExcluded are the attributes the sync rules already map to
// Microsoft Entra ID (or that must never leave the forest), so they are not
// offered as extensions even when their type would allow it. The list follows
// the attributes Microsoft Entra Connect synchronizes by default for users,
// groups, contacts and devices, plus the sourceAnchor and password attributes.
var extensionExcluded = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range []string{
		// identity and naming
		"cn", "name", "displayName", "givenName", "sn", "initials", "middleName", "sAMAccountName",
		"userPrincipalName", "objectGUID", "objectSid", "mS-DS-ConsistencyGuid", "msDS-ConsistencyGuid",
		"sIDHistory", "onPremisesSamAccountName",
		// mail and Exchange
		"mail", "mailNickname", "proxyAddresses", "targetAddress", "legacyExchangeDN", "showInAddressBook",
		"msExchHideFromAddressLists", "msExchRecipientTypeDetails",
		// organization and contact information
		"company", "department", "title", "description", "employeeID", "employeeNumber", "employeeType",
		"physicalDeliveryOfficeName", "streetAddress", "postOfficeBox", "postalCode", "l", "st", "c", "co",
		"countryCode", "telephoneNumber", "otherTelephone", "mobile", "otherMobile", "homePhone",
		"otherHomePhone", "facsimileTelephoneNumber", "otherFacsimileTelephoneNumber", "pager", "otherPager",
		"ipPhone", "otherIpPhone", "info", "wWWHomePage", "url", "preferredLanguage", "thumbnailPhoto",
		"userCertificate", "userSMIMECertificate", "msDS-cloudExtensionAttribute1",
		// account state
		"userAccountControl", "accountExpires", "pwdLastSet", "lastLogonTimestamp", "isCriticalSystemObject",
		"groupType", "objectClass", "objectCategory", "whenCreated", "whenChanged",
		// devices
		"dNSHostName", "operatingSystem", "operatingSystemVersion", "msDS-KeyCredentialLink",
		// secrets: never synced
		"unicodePwd", "userPassword", "dBCSPwd", "ntPwdHistory", "lmPwdHistory", "supplementalCredentials",
		"currentValue", "priorValue", "initialAuthIncoming", "initialAuthOutgoing", "trustAuthIncoming",
		"trustAuthOutgoing", "msDS-ManagedPassword", "msFVE-RecoveryPassword", "msFVE-KeyPackage",
	} {
		m[n] = true
	}
	for i := 1; i <= 15; i++ {
		m[fmt.Sprintf("extensionAttribute%d", i)] = true
	}
	return m
}()

// confidentialFlag is searchFlags' fCONFIDENTIAL bit ([MS-ADTS] 2.2.9):
// such attributes are readable only with extra rights, and not offered.
const confidentialFlag = 0x80

// ExtensionType says what a schema attribute syncs as, and false when it can't
// be synced as a directory extension: only string, integer, boolean and binary
// attributes that are not systemOnly, confidential or in the exclusion list.
func ExtensionType(a directory.Attribute) (string, bool) {
	if a.SystemOnly || a.SearchFlags&confidentialFlag != 0 || extensionExcluded[a.Name] {
		return "", false
	}
	for n := range extensionExcluded {
		if strings.EqualFold(n, a.Name) {
			return "", false
		}
	}
	switch a.Syntax {
	case "2.5.5.3", "2.5.5.4", "2.5.5.5", "2.5.5.6", "2.5.5.12":
		return ExtString, true
	case "2.5.5.9":
		return ExtInteger, true
	case "2.5.5.8":
		return ExtBoolean, true
	case "2.5.5.10":
		if a.OMSyntax == 127 { // replica links are the directory's own
			return "", false
		}
		return ExtBinary, true
	}
	return "", false
}

// extensionSchema reads a forest's schema; the StoreChecker has it
// (extensions_check.go). Unit tests give a fake.
type extensionSchema interface {
	SchemaAttributes(ctx context.Context, fc ForestConn) ([]directory.Attribute, error)
}

// ExtensionsView is what the Directory extensions page shows.
type ExtensionsView struct {
	// Available are the attributes matching the filter (all without one).
	Available []ExtensionAttr
	// Total counts every attribute that can be synced.
	Total int
	// Problems names the forests whose schema could not be read.
	Problems map[string]string
}

// extensionCandidates merges the eligible attributes of every forest's schema.
func extensionCandidates(ctx context.Context, a *Answers, chk Checker) (map[string]ExtensionAttr, map[string]string) {
	out, problems := map[string]ExtensionAttr{}, map[string]string{}
	sr, ok := chk.(extensionSchema)
	if !ok {
		return out, problems
	}
	for _, fc := range a.Directories.Forests {
		attrs, err := sr.SchemaAttributes(ctx, fc)
		if err != nil {
			problems[fc.Forest] = CheckMessage(err)
			continue
		}
		for _, at := range attrs {
			typ, ok := ExtensionType(at)
			if !ok {
				continue
			}
			c, seen := out[at.Name]
			if !seen {
				c = ExtensionAttr{Name: at.Name, Type: typ, MultiValued: !at.SingleValued}
			}
			c.Forests = append(c.Forests, fc.Forest)
			out[at.Name] = c
		}
	}
	return out, problems
}

// IsSelected reports whether an attribute is chosen.
func (x Extensions) IsSelected(name string) bool {
	for _, s := range x.Selected {
		if s.Name == name {
			return true
		}
	}
	return false
}

// Matches applies the filter: a case-sensitive substring of the name.
func (x Extensions) Matches(name string) bool { return strings.Contains(name, x.Filter) }

var extensionsPage = Page{
	ID:        PageExtensions,
	Title:     "Directory extensions",
	Section:   "Sync",
	ShownWhen: func(a *Answers) bool { return a.Features.DirectoryExtensions },
	Bind: func(a *Answers, f Form) {
		x := &a.Extensions
		// Case is kept: the filter matches case-sensitively.
		x.Filter = strings.TrimSpace(f.raw("ext_filter"))
		if f.Values == nil {
			return
		}
		// Only the attributes the page showed (ext_seen) can have been
		// cleared; the ones the filter hid stay as they were.
		seen := map[string]bool{}
		for _, n := range f.Values["ext_seen"] {
			seen[n] = true
		}
		keep := map[string]ExtensionAttr{}
		for _, s := range x.Selected {
			if !seen[s.Name] {
				keep[s.Name] = s
			}
		}
		for _, n := range f.Values["ext_attr"] {
			if n = strings.TrimSpace(n); n != "" {
				if _, ok := keep[n]; !ok {
					keep[n] = ExtensionAttr{Name: n}
				}
			}
		}
		// Unchanged entries keep their type and forests; new ones get them
		// from the schema when the page is validated.
		for i := range x.Selected {
			if s, ok := keep[x.Selected[i].Name]; ok && s.Type == "" {
				keep[s.Name] = x.Selected[i]
			}
		}
		x.Selected = x.Selected[:0]
		for _, s := range keep {
			x.Selected = append(x.Selected, s)
		}
		sort.Slice(x.Selected, func(i, j int) bool { return x.Selected[i].Name < x.Selected[j].Name })
		if len(x.Selected) == 0 {
			x.Selected = nil
		}
	},
	Validate: validateExtensions,
	Act: func(_ context.Context, a *Answers, action string, _ Form, _ Checker) Errors {
		switch action {
		case ActionExtFilter:
			return Errors{}
		case ActionExtClearFilter:
			a.Extensions.Filter = ""
			return Errors{}
		}
		return Errors{"": "This page has no such button. Reload the page and try again."}
	},
	View: func(ctx context.Context, a *Answers, chk Checker) any {
		cands, problems := extensionCandidates(ctx, a, chk)
		v := ExtensionsView{Total: len(cands), Problems: problems}
		for _, c := range cands {
			if a.Extensions.Matches(c.Name) {
				v.Available = append(v.Available, c)
			}
		}
		sort.Slice(v.Available, func(i, j int) bool { return v.Available[i].Name < v.Available[j].Name })
		// What the schema says fills in the choices' type and forests.
		for i, s := range a.Extensions.Selected {
			if c, ok := cands[s.Name]; ok {
				a.Extensions.Selected[i] = c
			}
		}
		return v
	},
	Notices: func(a *Answers) []Notice {
		return []Notice{{Level: "info", Text: MsgExtValueLimit, PageOnly: true}}
	},
}

// validateExtensions enforces the limit and, when the forests can be read,
// that every choice is an attribute of their schema that can be synced; it
// records each choice's type and forests from the schema.
func validateExtensions(ctx context.Context, a *Answers, chk Checker) Errors {
	e := Errors{}
	x := &a.Extensions
	if len(x.Selected) > MaxExtensions {
		e.Add("ext_attr", fmt.Sprintf("%s You selected %d.", MsgExtTooMany, len(x.Selected)))
		return e
	}
	if len(x.Selected) == 0 {
		return e
	}
	if _, ok := chk.(extensionSchema); !ok {
		return e
	}
	cands, problems := extensionCandidates(ctx, a, chk)
	if len(problems) > 0 {
		for forest, msg := range problems {
			e.Add("ext-forest-"+forest, msg)
		}
		e.Add("", "hybridsync can't read the schema of every forest to check your choices. "+firstProblem(problems))
		return e
	}
	var bad []string
	for i, s := range x.Selected {
		c, ok := cands[s.Name]
		if !ok {
			bad = append(bad, s.Name)
			continue
		}
		x.Selected[i] = c
	}
	if len(bad) > 0 {
		e.Add("ext_attr", "These are not attributes of your forests' schema that can be synced as directory extensions: "+strings.Join(bad, ", ")+".")
	}
	return e
}

func firstProblem(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys[0] + ": " + p[keys[0]]
}

// summarizeExtensions is the page's part of the summary.
func summarizeExtensions(a Answers) []SummaryRow {
	if !a.Features.DirectoryExtensions {
		return nil
	}
	if len(a.Extensions.Selected) == 0 {
		return []SummaryRow{{"Directory extensions", "None selected"}}
	}
	names := make([]string, 0, len(a.Extensions.Selected))
	for _, s := range a.Extensions.Selected {
		names = append(names, s.Name)
	}
	return []SummaryRow{{"Directory extensions", fmt.Sprintf("%d: %s", len(names), strings.Join(names, ", "))}}
}
