package setup

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// EntraAttributes is the Microsoft Entra attributes page: of the attributes
// the selected apps synchronize, the ones the admin keeps unsynchronized.
// Only clearings are recorded, so an attribute a newly selected app brings
// starts selected, and one cleared stays cleared while apps come and go.
type EntraAttributes struct {
	// Cleared are the attributes cleared, by their catalog name, sorted. One
	// no selected app uses any more stays here (and has no effect) so that it
	// is cleared again if its app comes back.
	Cleared []string `json:"cleared,omitempty"`
	// Unknown are names a form posted that the page did not list; kept so
	// that the error can name them.
	Unknown []string `json:"unknown,omitempty"`
}

// AttrField is the form field of an attribute's checkbox.
func AttrField(name string) string { return "attr_" + name }

// MsgAttrWarning is the seed's warning on the page, word for word.
const MsgAttrWarning = "Removing attributes can affect functionality. For best practices and recommendations, see Attributes to synchronize."

// AttributesToSynchronize is the page the warning points at.
const AttributesToSynchronize = "https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-sync-attributes-synchronized#attributes-to-synchronize"

// appAttr is one attribute an app synchronizes: on which object types
// (U user, C contact, G group, D device) and whether Microsoft calls it a
// mechanical property (one sync itself relies on).
type appAttr struct {
	name       string
	types      string
	mechanical bool
}

// The attribute lists come from Microsoft's "Microsoft Entra Connect Sync:
// Attributes synchronized to Microsoft Entra ID" (reference-connect-sync-
// attributes-synchronized, ms.date 04/09/2025), one table per app. Each line
// is "name types", then "mech" where the table says "mechanical property".
// Names are AD's lDAPDisplayName where AD has the attribute (the tables spell
// a few differently: objectSID, otherFacsimileTelephone, userSMIMECertificates)
// and the metaverse's name for the computed ones (sourceAnchor,
// accountEnabled, usageLocation, securityEnabled, deviceTrustType).
var appTables = map[string]string{
	AppOfficeProPlus: `
accountEnabled U
cn U
displayName U
objectSid U mech
pwdLastSet U mech
sAMAccountName U
sourceAnchor U mech
usageLocation U mech
userPrincipalName U`,
	// The table lists no mail; we add it (a guess): Exchange Online can't
	// deliver to a recipient without its primary address, and the other
	// mail apps' tables have it.
	AppExchange: `
accountEnabled U
altRecipient U
authOrig UCG
c UC
cn UG
co UC
company UC
countryCode UC
department UC
description G
displayName UCG
dLMemRejectPerms UCG
dLMemSubmitPerms UCG
` + numbered("extensionAttribute", 15, "UCG") + `
facsimileTelephoneNumber UC
givenName UC
homePhone UC
info UCG
initials UC
l UC
legacyExchangeDN UCG
mail UCG
mailNickname UCG
managedBy G
manager UC
member G
mobile UC
msDS-HABSeniorityIndex UCG
msDS-PhoneticDisplayName UCG
msExchArchiveGUID U
msExchArchiveName U
msExchAssistantName UC
msExchAuditAdmin U
msExchAuditDelegate U
msExchAuditDelegateAdmin U
msExchAuditOwner U
msExchBlockedSendersHash UC
msExchBypassAudit U
msExchBypassModerationLink G
msExchCoManagedByLink G
msExchDelegateListLink U
msExchELCExpirySuspensionEnd U
msExchELCExpirySuspensionStart U
msExchELCMailboxFlags U
msExchEnableModeration UG
` + numbered("msExchExtensionCustomAttribute", 5, "UCG") + `
msExchHideFromAddressLists UCG
msExchImmutableID U
msExchLitigationHoldDate UCG
msExchLitigationHoldOwner UCG
msExchMailboxAuditEnable U
msExchMailboxAuditLogAgeLimit U
msExchMailboxGuid U
msExchModeratedByLink UCG
msExchModerationFlags UCG
msExchRecipientDisplayType UCG
msExchRecipientTypeDetails UCG
msExchRemoteRecipientType U
msExchRequireAuthToSendTo UCG
msExchResourceCapacity U
msExchResourceDisplay U
msExchResourceMetaData U
msExchResourceSearchProperties U
msExchRetentionComment UCG
msExchRetentionURL UCG
msExchSafeRecipientsHash UC
msExchSafeSendersHash UC
msExchSenderHintTranslations UCG
msExchTeamMailboxExpiration U
msExchTeamMailboxOwners U
msExchTeamMailboxSharePointUrl U
msExchUserHoldPolicies U
msOrg-IsOrganizational G
objectSid UG mech
oOFReplyToOriginator G
otherFacsimileTelephoneNumber UC
otherHomePhone UC
otherTelephone UC
pager UC
physicalDeliveryOfficeName UC
postalCode UC
proxyAddresses UCG
publicDelegates UCG
pwdLastSet U mech
reportToOriginator G
reportToOwner G
securityEnabled G
sn UC
sourceAnchor UCG mech
st UC
streetAddress UC
targetAddress UC
telephoneAssistant UC
telephoneNumber UC
thumbnailPhoto UC
title UC
unauthOrig UCG
usageLocation U mech
userCertificate UC
userPrincipalName U
userSMIMECertificate UC
wWWHomePage UC`,
	AppSharePoint: `
accountEnabled U
authOrig UCG
c UC
cn UG
co UC
company UC
countryCode UC
department UC
description UCG
displayName UCG
dLMemRejectPerms UCG
dLMemSubmitPerms UCG
` + numbered("extensionAttribute", 15, "UCG") + `
facsimileTelephoneNumber UC
givenName UC
hideDLMembership G
homePhone UC
info UCG
initials UC
ipPhone UC
l UC
mail UCG
mailNickname UCG
managedBy G
manager UC
member G
middleName UC
mobile UC
msExchTeamMailboxExpiration U
msExchTeamMailboxOwners U
msExchTeamMailboxSharePointLinkedBy U
msExchTeamMailboxSharePointUrl U
objectSid UG mech
oOFReplyToOriginator G
otherFacsimileTelephoneNumber UC
otherHomePhone UC
otherIpPhone UC
otherMobile UC
otherPager UC
otherTelephone UC
pager UC
physicalDeliveryOfficeName UC
postalCode UC
postOfficeBox UC
preferredLanguage U
proxyAddresses UCG
pwdLastSet U mech
reportToOriginator G
reportToOwner G
securityEnabled G
sn UC
sourceAnchor UCG mech
st UC
streetAddress UC
targetAddress UC
telephoneAssistant UC
telephoneNumber UC
thumbnailPhoto UC
title UC
unauthOrig UCG
url UC
usageLocation U mech
userPrincipalName U
wWWHomePage UC`,
	// "Teams and Skype for Business Online" in today's table.
	AppLync: `
accountEnabled U
c UC
cn UG
co UC
company UC
department UC
description UCG
displayName UCG
facsimileTelephoneNumber UCG
givenName UC
homePhone UC
ipPhone UC
l UC
mail UCG
mailNickname UCG
managedBy G
manager UC
member G
mobile UC
msExchHideFromAddressLists UCG
msRTCSIP-ApplicationOptions U
msRTCSIP-DeploymentLocator UC
msRTCSIP-Line UC
msRTCSIP-OptionFlags UC
msRTCSIP-OwnerUrn U
msRTCSIP-PrimaryUserAddress UC
msRTCSIP-UserEnabled UC
objectSid UG mech
otherTelephone UC
physicalDeliveryOfficeName UC
postalCode UC
preferredLanguage U
proxyAddresses UCG
pwdLastSet U mech
securityEnabled G
sn UC
sourceAnchor UCG mech
st UC
streetAddress UC
telephoneNumber UC
thumbnailPhoto UC
title UC
usageLocation U mech
userPrincipalName U
wWWHomePage UC`,
	AppAzureRMS: `
accountEnabled U
cn UG
displayName UCG
mail UCG
member G
objectSid UG mech
proxyAddresses UCG mech
pwdLastSet U mech
securityEnabled G
sourceAnchor UCG mech
usageLocation U mech
userPrincipalName U`,
	AppIntune: `
accountEnabled U
c UC
cn UG
description UCG
displayName UCG
mail UCG
mailNickname UCG
member G
objectSid UG mech
proxyAddresses UCG
pwdLastSet U mech
securityEnabled G
sourceAnchor UCG mech
usageLocation U mech
userPrincipalName U`,
	AppDynamicsCRM: `
accountEnabled U
c UC
cn UG
co UC
company UC
countryCode UC
description UCG
displayName UCG
facsimileTelephoneNumber UC
givenName UC
l UC
managedBy G
manager UC
member G
mobile UC
objectSid UG mech
physicalDeliveryOfficeName UC
postalCode UC
preferredLanguage U
pwdLastSet U mech
securityEnabled G
sn UC
sourceAnchor UCG mech
st UC
streetAddress UC
telephoneNumber UC
title UC
usageLocation U mech
userPrincipalName U`,
	AppThirdParty: `
accountEnabled U
cn UG
displayName UCG
employeeID U
givenName UC
mail UG
managedBy G
mailNickname UCG
member G
objectSid U mech
proxyAddresses UCG
pwdLastSet U mech
securityEnabled G
sn UC
sourceAnchor UCG mech
usageLocation U mech
userPrincipalName U`,
}

// Attributes synchronized whatever the apps. Sources shown in the Apps column.
const (
	SourceWindows10  = "Windows 10"
	SourceHybridsync = "hybridsync"
)

// windows10Attrs: the same page says a domain-joined Windows 10 computer
// always synchronizes these, and that Windows 10 is not an app one can clear.
const windows10Attrs = `
accountEnabled D
deviceTrustType D
displayName D
mS-DS-CreatorSID D
objectGUID D
objectSid D
operatingSystem D
operatingSystemVersion D
userCertificate D
domainFQDN U
domainNetBios U
msDS-KeyCredentialLink U`

// coreAttrs are the attributes hybridsync's own sync needs whatever the
// apps (our choice, not Microsoft's list; see coreReasons): the identifiers
// and the properties Microsoft Graph requires to create a user or a group.
const coreAttrs = `
sourceAnchor UCG mech
objectSid UG mech
userPrincipalName U
sAMAccountName UG
displayName UCG
mailNickname UCG
accountEnabled U
securityEnabled G`

// Why an attribute can't be cleared. The mechanical reasons paraphrase the
// Microsoft page's comments; the core ones are ours.
var (
	mechanicalReasons = map[string]string{
		"sourceAnchor":   "A mechanical property: the immutable identifier that keeps an on-premises object and its Microsoft Entra object together.",
		"objectSid":      "A mechanical property: the AD identifier used to keep AD and Microsoft Entra ID in sync.",
		"pwdLastSet":     "A mechanical property: it tells when to invalidate tokens already issued (password hash sync, pass-through authentication and federation).",
		"usageLocation":  "A mechanical property: the user's country or region, used for license assignment.",
		"proxyAddresses": "A mechanical property for Azure RMS: it holds the user's secondary email addresses.",
	}
	msgWindows10 = "Domain-joined Windows 10 computers always synchronize it."
	// Guesses of ours, from what Microsoft Graph requires to create a user
	// (accountEnabled, displayName, mailNickname, userPrincipalName) or a
	// group (displayName, mailNickname, securityEnabled), and what the
	// metaverse falls back on.
	coreReasons = map[string]string{
		"userPrincipalName": "The user's sign-in name: Microsoft Entra ID needs it to create a user.",
		"sAMAccountName":    "hybridsync falls back on it for display names and mail aliases, and keeps it as the on-premises account name.",
		"displayName":       "Microsoft Entra ID needs a display name to create a user or a group.",
		"mailNickname":      "Microsoft Entra ID needs a mail alias to create a user or a group.",
		"accountEnabled":    "Microsoft Entra ID needs to know whether an account is enabled to create it.",
		"securityEnabled":   "Microsoft Entra ID needs to know whether a group is a security group to create it.",
	}
)

func numbered(prefix string, n int, types string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		b.WriteString(prefix + strconv.Itoa(i) + " " + types + "\n")
	}
	return b.String()
}

func parseAttrTable(s string) []appAttr {
	var out []appAttr
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) < 2 || len(f) > 3 || (len(f) == 3 && f[2] != "mech") {
			panic("setup: bad attribute table line " + line)
		}
		out = append(out, appAttr{name: f[0], types: f[1], mechanical: len(f) == 3})
	}
	return out
}

var (
	appAttrs     = map[string][]appAttr{}
	alwaysWin10  = parseAttrTable(windows10Attrs)
	alwaysCore   = parseAttrTable(coreAttrs)
	catalogNames = map[string]string{} // lower case → catalog name
)

func init() {
	for id, table := range appTables {
		appAttrs[id] = parseAttrTable(table)
	}
	lists := [][]appAttr{alwaysWin10, alwaysCore}
	for _, l := range appAttrs {
		lists = append(lists, l)
	}
	for _, list := range lists {
		for _, at := range list {
			if prev, ok := catalogNames[strings.ToLower(at.name)]; ok && prev != at.name {
				panic("setup: attribute spelt two ways: " + prev + ", " + at.name)
			}
			catalogNames[strings.ToLower(at.name)] = at.name
		}
	}
}

// CatalogAttributes are every attribute any app (or sync itself) may
// synchronize, sorted.
func CatalogAttributes() []string {
	out := make([]string, 0, len(catalogNames))
	for _, n := range catalogNames {
		out = append(out, n)
	}
	sortNames(out)
	return out
}

func sortNames(s []string) { sort.Slice(s, func(i, j int) bool { return lessName(s[i], s[j]) }) }

// lessName orders attribute names case-insensitively, as AD compares them.
func lessName(a, b string) bool {
	if x, y := strings.ToLower(a), strings.ToLower(b); x != y {
		return x < y
	}
	return a < b
}

// AttributeRow is one line of the Microsoft Entra attributes page.
type AttributeRow struct {
	Name                         string
	User, Contact, Group, Device bool
	// Sources are the selected apps that synchronize it, then SourceWindows10
	// or SourceHybridsync when it is synchronized whatever the apps.
	Sources []string
	// Required says why it can't be cleared; "" when it can.
	Required string
	// Selected: it is synchronized (not cleared, or required).
	Selected bool
}

// AttributeRows lists every attribute the selected apps synchronize, over
// all object types, sorted by name (case-insensitively).
func AttributeRows(a *Answers) []AttributeRow {
	rows := map[string]*AttributeRow{}
	mech := map[string]bool{}
	add := func(source string, list []appAttr) {
		for _, at := range list {
			r, ok := rows[at.name]
			if !ok {
				r = &AttributeRow{Name: at.name}
				rows[at.name] = r
			}
			r.User = r.User || strings.Contains(at.types, "U")
			r.Contact = r.Contact || strings.Contains(at.types, "C")
			r.Group = r.Group || strings.Contains(at.types, "G")
			r.Device = r.Device || strings.Contains(at.types, "D")
			if !slices.Contains(r.Sources, source) {
				r.Sources = append(r.Sources, source)
			}
			if at.mechanical && mechanicalReasons[at.name] != "" {
				mech[at.name] = true
			}
		}
	}
	for _, app := range EntraAppList {
		if a.EntraApps.IsSelected(app.ID) {
			add(app.Label, appAttrs[app.ID])
		}
	}
	add(SourceWindows10, alwaysWin10)
	add(SourceHybridsync, alwaysCore)
	out := make([]AttributeRow, 0, len(rows))
	for _, r := range rows {
		switch {
		case mech[r.Name]:
			r.Required = mechanicalReasons[r.Name]
		case slices.Contains(r.Sources, SourceWindows10):
			r.Required = msgWindows10
		case coreReasons[r.Name] != "":
			r.Required = coreReasons[r.Name]
		}
		r.Selected = r.Required != "" || !slices.Contains(a.EntraAttributes.Cleared, r.Name)
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return lessName(out[i].Name, out[j].Name) })
	return out
}

// ClearedAttributes are the attributes the admin keeps unsynchronized: the
// ones cleared among those the selected apps synchronize. Nil when the
// feature is off.
func ClearedAttributes(a *Answers) []string {
	if !a.Features.AppAttributeFiltering {
		return nil
	}
	var out []string
	for _, r := range AttributeRows(a) {
		if !r.Selected {
			out = append(out, r.Name)
		}
	}
	return out
}

// UnsyncedAttributes are every catalog attribute that is not synchronized:
// cleared, or used by no selected app. Nil when the feature is off (then
// every attribute synchronizes as by default).
func UnsyncedAttributes(a *Answers) []string {
	if !a.Features.AppAttributeFiltering {
		return nil
	}
	synced := map[string]bool{}
	for _, r := range AttributeRows(a) {
		if r.Selected {
			synced[r.Name] = true
		}
	}
	var out []string
	for _, n := range CatalogAttributes() {
		if !synced[n] {
			out = append(out, n)
		}
	}
	return out
}

var attributeFilteringPage = Page{
	ID:        PageAttributeFiltering,
	Title:     "Microsoft Entra attributes",
	Section:   "Sync",
	ShownWhen: func(a *Answers) bool { return a.Features.AppAttributeFiltering },
	Bind:      bindEntraAttributes,
	Validate:  func(_ context.Context, a *Answers, _ Checker) Errors { return validateEntraAttributes(a) },
	Notices: func(a *Answers) []Notice {
		// Ready lists the attributes cleared: the caution is the page's.
		return []Notice{{Level: "warn", Text: MsgAttrWarning, PageOnly: true}}
	},
}

// bindEntraAttributes records which of the listed attributes (attr_seen)
// are cleared; the ones not listed keep their state. Names the page did not
// list are kept in Unknown for the error.
func bindEntraAttributes(a *Answers, f Form) {
	x := &a.EntraAttributes
	if f.Values == nil {
		return
	}
	listed := map[string]bool{}
	for _, r := range AttributeRows(a) {
		listed[r.Name] = true
	}
	cleared := map[string]bool{}
	for _, n := range x.Cleared {
		cleared[n] = true
	}
	unknown := map[string]bool{}
	for _, n := range f.Values["attr_seen"] {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		name, ok := catalogNames[strings.ToLower(n)]
		if !ok || !listed[name] {
			unknown[n] = true
			continue
		}
		cleared[name] = !f.on(AttrField(n))
	}
	for k := range f.Values {
		n, ok := strings.CutPrefix(k, "attr_")
		if !ok || n == "seen" {
			continue
		}
		if name, ok := catalogNames[strings.ToLower(n)]; !ok || !listed[name] {
			unknown[n] = true
		}
	}
	x.Cleared, x.Unknown = nil, nil
	for n, c := range cleared {
		if c {
			x.Cleared = append(x.Cleared, n)
		}
	}
	for n := range unknown {
		x.Unknown = append(x.Unknown, n)
	}
	sortNames(x.Cleared)
	sortNames(x.Unknown)
}

func validateEntraAttributes(a *Answers) Errors {
	e := Errors{}
	x := a.EntraAttributes
	if len(x.Unknown) > 0 {
		e.Add("attrs", "These are not attributes the selected apps synchronize: "+strings.Join(x.Unknown, ", ")+
			". Only the attributes this page lists can be selected or cleared.")
	}
	for _, r := range AttributeRows(a) {
		if r.Required != "" && slices.Contains(x.Cleared, r.Name) {
			e.Add(AttrField(r.Name), r.Name+" can't be cleared. "+r.Required)
		}
	}
	return e
}
