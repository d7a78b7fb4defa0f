// Package connector is a forest's connector space: what hybridsync last read
// from each Active Directory forest (full and delta imports), with the scope
// each object fell in or out of and why.
package connector

// Object is one object of a connector space as last imported.
type Object struct {
	// Connector names the connector space: the forest's DNS name.
	Connector string `json:"connector"`
	// Anchor is the object's objectGUID in its canonical string form
	// (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx): unique in the connector space
	// and unchanged by renames and moves.
	Anchor string `json:"anchor"`
	DN     string `json:"dn"`
	// Class is ClassUser, ClassGroup, ClassContact or ClassComputer.
	Class string `json:"class"`
	// Attrs holds the imported attributes by their LDAP display name in
	// lower case; binary attributes (BinaryAttributes) are base64 (standard
	// encoding). Multi-valued attributes keep every value.
	Attrs map[string][]string `json:"attrs"`
	// Members are a group's direct members, by DN (membership by reference:
	// the members themselves are objects of their own).
	Members []string `json:"members,omitempty"`
	// USN is the uSNChanged the object was read at.
	USN int64 `json:"usn"`
	// InScope says whether domain, OU and group filtering keep the object;
	// Reason says which rule decided it, worded for the helpdesk.
	InScope bool   `json:"inScope"`
	Reason  string `json:"reason"`
	// Deleted marks an object a delta import saw deleted or moved out of the
	// imported partitions.
	Deleted bool `json:"deleted,omitempty"`
}

// Object classes.
const (
	ClassUser     = "user"
	ClassGroup    = "group"
	ClassContact  = "contact"
	ClassComputer = "computer"
)

// BinaryAttributes are imported as base64.
var BinaryAttributes = map[string]bool{
	"objectguid": true, "objectsid": true, "ms-ds-consistencyguid": true,
	"msexchmasteraccountsid": true, "msrtcsip-originatorsid": true, "sidhistory": true,
	"usercertificate": true,
}

// Attr is an attribute's first value, or "".
func (o *Object) Attr(name string) string {
	if v := o.Attrs[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}
