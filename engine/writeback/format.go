package writeback

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/hybridsync/hybridsync/engine/cloud"
	"github.com/hybridsync/hybridsync/engine/directory"
)

// The values written whose format no public source fixes (research B2,
// "UNCERTAIN"); each choice is also in ARCHITECTURE.md under Writeback.

// DeviceIDBytes is msDS-DeviceID: the deviceId's 16 bytes in the byte order
// of .NET's Guid.ToByteArray and of objectGUID (the first three fields
// little-endian), the order Windows gives every binary GUID attribute.
func DeviceIDBytes(deviceID string) ([]byte, error) {
	g, err := directory.ParseGUID(deviceID)
	if err != nil {
		return nil, fmt.Errorf("writeback: the deviceId %q is not a GUID", deviceID)
	}
	return g[:], nil
}

// CloudAnchor is msDS-CloudAnchor (an octet string): "Device_<objectId>" in
// ASCII, after the Group_<objectId> anchor group writeback writes. Assumed.
func CloudAnchor(objectID string) string { return "Device_" + objectID }

// GroupAnchor is adminDescription (and msDS-ExternalDirectoryObjectId) of a
// written-back group, Entra Connect's and Cloud Sync's documented value.
func GroupAnchor(objectID string) string { return "Group_" + objectID }

// AltSecurityIdentities are the altSecurityIdentities of a device: each
// alternativeSecurityId's key, which Graph gives as the bytes of the UTF-16LE
// string "X509:<SHA1-TP-PUBKEY>…" (AADInternals reads it so; MS-DVRE): that
// string is written. A key that is already UTF-8 text starting with "X509:"
// is taken as it is. Keys of another shape are left out.
func AltSecurityIdentities(ids []cloud.AlternativeSecurityID) []string {
	var out []string
	for _, id := range ids {
		if s, ok := decodeAltKey(id.Key); ok {
			out = append(out, s)
		}
	}
	return out
}

func decodeAltKey(key []byte) (string, bool) {
	if len(key) >= 2 && len(key)%2 == 0 {
		u := make([]uint16, len(key)/2)
		for i := range u {
			u[i] = binary.LittleEndian.Uint16(key[2*i:])
		}
		s := strings.TrimRight(string(utf16.Decode(u)), "\x00")
		if strings.HasPrefix(s, "X509:") {
			return s, true
		}
	}
	if utf8.Valid(key) && strings.HasPrefix(string(key), "X509:") {
		return strings.TrimRight(string(key), "\x00"), true
	}
	return "", false
}

// ldapBool is an LDAP Boolean.
func ldapBool(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
}

// description is a group's description as written: trimmed, at most 448
// characters (Cloud Sync's Left(Trim([description]),448)).
func description(s string) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) > 448 {
		r = r[:448]
	}
	return string(r)
}
