// Package metaverse joins the connector spaces into one identity per person,
// group, contact and device — projection, join across forests by the chosen
// matching rule, the sourceAnchor, the sign-in name, attribute flow — and
// computes what the tenant must be told: the pending exports.
package metaverse

// Kinds of cloud object.
const (
	KindUser    = "user"
	KindGroup   = "group"
	KindContact = "contact"
	KindDevice  = "device"
)

// Operations of a pending export.
const (
	OpAdd    = "add"
	OpUpdate = "update"
	OpDelete = "delete"
)

// Change is one pending export: what one cloud object must become.
type Change struct {
	// Key identifies the cloud object for good: its sourceAnchor
	// (onPremisesImmutableId for users; the same anchor for other kinds).
	Key  string `json:"key"`
	Kind string `json:"kind"`
	Op   string `json:"op"`
	// CloudID is the object's id in the tenant once it was exported ("" for
	// an add).
	CloudID string `json:"cloudId,omitempty"`
	// Attrs are the attribute changes, by Graph property name.
	Attrs []AttrChange `json:"attrs,omitempty"`
	// AddMembers and RemoveMembers are a group's membership changes, by the
	// members' keys: one membership each, never the whole list.
	AddMembers    []string `json:"addMembers,omitempty"`
	RemoveMembers []string `json:"removeMembers,omitempty"`
	// Source says where the object comes from (connector and DN), for the
	// staging review and the helpdesk.
	Source string `json:"source"`
}

// AttrChange is one attribute's old and new values (nil: absent).
type AttrChange struct {
	Name string   `json:"name"`
	Old  []string `json:"old,omitempty"`
	New  []string `json:"new,omitempty"`
}
