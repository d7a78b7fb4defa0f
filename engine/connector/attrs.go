package connector

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// ObjectFilter selects what an import reads: users (and inetOrgPersons),
// computers (a subclass of user), groups and contacts.
const ObjectFilter = "(|(objectClass=user)(objectClass=group)(objectClass=contact))"

// BaseAttributes are what sync needs of every object, whatever the wizard
// chose: the anchors (objectGUID, ms-DS-ConsistencyGuid), the identifiers the
// matching rules join on (objectSid, msExchMasterAccountSID,
// msRTCSIP-OriginatorSID, sAMAccountName, mailNickname, mail), the sign-in
// names, the attributes Microsoft Entra Connect's default rules flow for
// users, contacts, groups and devices, and what the rules filter on
// (userAccountControl, isCriticalSystemObject, msExchRecipientTypeDetails…),
// and userCertificate, which makes a computer a hybrid-joined device.
// Attributes a forest's schema lacks (the Exchange ones on Samba) are simply
// not returned. memberOf is not read: memberships are read from member.
var BaseAttributes = []string{
	"objectGUID", "objectSid", "ms-DS-ConsistencyGuid", "objectClass", "uSNChanged",
	"cn", "name", "sAMAccountName", "userPrincipalName", "mail", "proxyAddresses", "mailNickname", "targetAddress",
	"legacyExchangeDN", "msExchMasterAccountSID", "msRTCSIP-OriginatorSID", "msExchRecipientTypeDetails",
	"msExchHideFromAddressLists", "sIDHistory",
	"givenName", "sn", "initials", "displayName", "description", "department", "title", "company", "manager",
	"employeeID", "employeeNumber", "employeeType", "physicalDeliveryOfficeName", "telephoneNumber", "mobile",
	"facsimileTelephoneNumber", "otherTelephone", "homePhone", "ipPhone", "pager", "streetAddress", "postOfficeBox",
	"l", "st", "postalCode", "c", "co", "countryCode", "info", "preferredLanguage", "wWWHomePage",
	"userAccountControl", "accountExpires", "pwdLastSet", "isCriticalSystemObject", "adminDescription",
	"groupType", "member",
	"dNSHostName", "operatingSystem", "operatingSystemVersion", "userCertificate",
	"extensionAttribute1", "extensionAttribute2", "extensionAttribute3", "extensionAttribute4", "extensionAttribute5",
	"extensionAttribute6", "extensionAttribute7", "extensionAttribute8", "extensionAttribute9", "extensionAttribute10",
	"extensionAttribute11", "extensionAttribute12", "extensionAttribute13", "extensionAttribute14", "extensionAttribute15",
}

// attributeList is BaseAttributes plus extra (the alternate sign-in ID, the
// matching and sourceAnchor attributes, directory extensions), without
// duplicates. member is asked for as its first window (member;range=0-1499)
// when ranged is set, so that every group's members come in windows on
// Windows AD and on Samba alike.
func attributeList(extra []string, ranged bool) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range append(slices.Clone(BaseAttributes), extra...) {
		a = strings.TrimSpace(a)
		if a == "" || seen[strings.ToLower(a)] {
			continue
		}
		seen[strings.ToLower(a)] = true
		if ranged && strings.EqualFold(a, "member") {
			a = fmt.Sprintf("member;range=0-%d", directory.MemberWindow-1)
		}
		out = append(out, a)
	}
	return out
}

// FormatGUID is the canonical text of an objectGUID's 16 bytes (the first
// three fields little-endian, as Windows prints it).
func FormatGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("connector: an objectGUID has 16 bytes, not %d", len(b))
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]), b[8:10], b[10:16]), nil
}

// classOf picks the connector space class from objectClass ("" when the
// object is none of the four).
func classOf(objectClass []string) string {
	var computer, group, contact, user bool
	for _, c := range objectClass {
		switch {
		case strings.EqualFold(c, "computer"):
			computer = true
		case strings.EqualFold(c, "group"):
			group = true
		case strings.EqualFold(c, "contact"):
			contact = true
		case strings.EqualFold(c, "user"):
			user = true
		}
	}
	switch {
	case computer:
		return ClassComputer
	case group:
		return ClassGroup
	case contact:
		return ClassContact
	case user:
		return ClassUser
	}
	return ""
}

// entryValues is one entry's attributes by lower-case name, binary ones in
// base64, ranged member windows and uSNChanged set aside.
type entryValues struct {
	attrs map[string][]string
	// ranged are the ranged attributes as returned, by lower-case name
	// ("member;range=0-1499"), for the caller to read further or apply.
	ranged map[string][]string
	guid   string
	usn    int64
}

func readEntry(e *ldap.Entry, binary map[string]bool) (entryValues, error) {
	v := entryValues{attrs: map[string][]string{}}
	for _, a := range e.Attributes {
		name := strings.ToLower(a.Name)
		if _, _, _, ok := directory.ParseRange(name); ok {
			if v.ranged == nil {
				v.ranged = map[string][]string{}
			}
			v.ranged[name] = a.Values
			continue
		}
		switch name {
		case "objectguid":
			if len(a.ByteValues) > 0 {
				g, err := FormatGUID(a.ByteValues[0])
				if err != nil {
					return v, fmt.Errorf("connector: %s: %w", e.DN, err)
				}
				v.guid = g
			}
			continue
		case "usnchanged":
			if len(a.Values) > 0 {
				v.usn, _ = strconv.ParseInt(a.Values[0], 10, 64)
			}
			continue
		}
		if binary[name] || BinaryAttributes[name] {
			vals := make([]string, len(a.ByteValues))
			for i, b := range a.ByteValues {
				vals[i] = base64.StdEncoding.EncodeToString(b)
			}
			v.attrs[name] = vals
			continue
		}
		v.attrs[name] = a.Values
	}
	if v.guid == "" {
		return v, fmt.Errorf("connector: %s came without its objectGUID", e.DN)
	}
	return v, nil
}
