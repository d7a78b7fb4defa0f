package tenant

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// guidBytes is a GUID's 16 bytes in Microsoft's mixed-endian order (the
// first three fields little-endian), as .NET's Guid.ToByteArray gives them;
// a string that is not a GUID gives its SHA-256 prefix instead.
func guidBytes(s string) []byte {
	h, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(h) != 16 {
		sum := sha256.Sum256([]byte(s))
		return sum[:16]
	}
	return []byte{h[3], h[2], h[1], h[0], h[5], h[4], h[7], h[6], h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]}
}

// cloudSID is the securityIdentifier Entra ID gives a cloud object:
// S-1-12-1- followed by the object id's 16 bytes read as four
// little-endian 32-bit numbers (the documented mapping of an Entra object
// id to a SID, used for cloud groups and Entra-joined devices).
func cloudSID(objectID string) string {
	b := guidBytes(objectID)
	return fmt.Sprintf("S-1-12-1-%d-%d-%d-%d", binary.LittleEndian.Uint32(b[0:4]), binary.LittleEndian.Uint32(b[4:8]),
		binary.LittleEndian.Uint32(b[8:12]), binary.LittleEndian.Uint32(b[12:16]))
}
