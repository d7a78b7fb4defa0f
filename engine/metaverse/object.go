package metaverse

// SourceID names one connector-space object: its connector (forest) and
// anchor (objectGUID).
type SourceID struct {
	Connector string `json:"connector"`
	Anchor    string `json:"anchor"`
}

// Object is one metaverse object: what its cloud object should be.
type Object struct {
	// Key is the sourceAnchor (users) or objectGUID (other kinds), Base64.
	Key  string `json:"key"`
	Kind string `json:"kind"`
	// Attrs are the cloud attributes by Graph property name. Every value is
	// text: booleans "true"/"false", multi-valued properties sorted.
	Attrs map[string][]string `json:"attrs"`
	// Members are a group's members by their keys, sorted.
	Members []string `json:"members,omitempty"`
	// Sources are the joined connector-space objects, the primary first.
	Sources []SourceID `json:"sources"`
	// Source is the primary's connector and DN ("forest: DN").
	Source string `json:"source"`
}

// Attr is a property's first value, or "".
func (o *Object) Attr(name string) string {
	if v := o.Attrs[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Trace is one connector-space object's path through the sync rules, worded
// for the helpdesk: "why is this user (not) in the cloud?".
type Trace struct {
	Connector string `json:"connector"`
	Anchor    string `json:"anchor"`
	DN        string `json:"dn"`
	Class     string `json:"class"`
	// Synced: the object is part of a metaverse object bound for the cloud.
	Synced bool `json:"synced"`
	// Reason is the rule that decided (the last step), one sentence.
	Reason string `json:"reason"`
	Steps  []Step `json:"steps"`
	// Key and Kind name the metaverse object it projected to or joined.
	Key  string `json:"key,omitempty"`
	Kind string `json:"kind,omitempty"`
	// Primary: its values take precedence in the metaverse object.
	Primary bool `json:"primary,omitempty"`
	// JoinedWith are the other objects of the same metaverse object.
	JoinedWith []SourceID `json:"joinedWith,omitempty"`
	// Cloud are the computed cloud attributes (filled by Why, not stored
	// with the trace: the metaverse object has them).
	Cloud map[string][]string `json:"cloud,omitempty"`
}

// Step is one rule applied to an object.
type Step struct {
	Rule    string `json:"rule"`
	Outcome string `json:"outcome"` // one of the Outcome* values
	Detail  string `json:"detail"`
}

// Outcomes of a step.
const (
	OutcomeKept    = "kept"
	OutcomeDropped = "dropped"
	OutcomeInfo    = "info"
)

// Rules named in a trace.
const (
	RuleScope        = "Domain, OU and group filtering"
	RuleClass        = "Object type"
	RuleSystem       = "System objects"
	RuleMatching     = "Matching across forests"
	RuleJoin         = "Join"
	RuleSourceAnchor = "sourceAnchor"
	RuleSignIn       = "Sign-in name"
	RuleMembers      = "Group members"
	RuleExtensions   = "Directory extensions"
)

// Writeback is one object whose objectGUID must be written into its
// ms-DS-ConsistencyGuid (the ms-DS-ConsistencyGuid logic): the writer is
// the export to the forest, not this package.
type Writeback struct {
	Connector string `json:"connector"`
	Anchor    string `json:"anchor"`
	DN        string `json:"dn"`
	// Value is the objectGUID, Base64 (standard encoding) of its 16 bytes.
	Value string `json:"value"`
}
