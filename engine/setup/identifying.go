package setup

import (
	"context"
	"slices"
	"strings"

	"github.com/hybridsync/hybridsync/engine/directory"
)

// Identifying is the Identifying users page: how users are matched across
// forests, and the sourceAnchor that links each of them to Microsoft Entra ID.
// The zero value is the default: users represented only once, and a source
// anchor Microsoft Entra Connect manages.
type Identifying struct {
	Matching          string `json:"matching"`                    // one of the Match* ids; "" is MatchOnce
	MatchingAttribute string `json:"matchingAttribute,omitempty"` // with MatchAttribute
	SourceAnchor      string `json:"sourceAnchor"`                // AnchorManaged or AnchorAttribute; "" is AnchorManaged
	// SourceAnchorAttribute is the attribute chosen with AnchorAttribute.
	SourceAnchorAttribute string `json:"sourceAnchorAttribute,omitempty"`
	// Resolved is the attribute that is the sourceAnchor: with AnchorManaged,
	// ms-DS-ConsistencyGuid or objectGUID as the selection logic decided on the
	// live forests; with AnchorAttribute, the attribute chosen. Why says why.
	Resolved string `json:"resolved,omitempty"`
	Why      string `json:"why,omitempty"`

	// anchorPosted: this request's form said something about the sourceAnchor
	// (a read-only page posts nothing about it).
	anchorPosted bool
}

// Matching across forests.
const (
	MatchOnce            = "once"
	MatchMail            = "mail"
	MatchSIDs            = "objectsid"
	MatchSAMMailNickname = "samaccountname"
	MatchAttribute       = "attribute"
)

// sourceAnchor choices and the attributes the selection logic picks from.
const (
	AnchorManaged   = "managed"
	AnchorAttribute = "attribute"

	AttrConsistencyGuid = "ms-DS-ConsistencyGuid"
	AttrObjectGUID      = "objectGUID"
)

// MatchOption is one way of matching users across forests, as the seed words it.
type MatchOption struct {
	ID, Label, Desc string
	// Exchange: the option joins on attributes of the Exchange schema.
	Exchange bool
}

// MatchOptions are the five matching-across-forests options, in the seed's order.
var MatchOptions = []MatchOption{
	{ID: MatchOnce, Label: "Users are represented only once across all forests",
		Desc: "All users are created as individual objects in Microsoft Entra ID. The objects aren't joined in the metaverse."},
	{ID: MatchMail, Label: "Mail attribute",
		Desc: "This option joins users and contacts if the mail attribute has the same value in different forests. Use this option when your contacts were created by using GALSync. If you choose this option, user objects whose mail attribute is unpopulated aren't synchronized to Microsoft Entra ID."},
	{ID: MatchSIDs, Label: "ObjectSID and msExchangeMasterAccountSID/msRTCSIP-OriginatorSID attributes", Exchange: true,
		Desc: "This option joins an enabled user in an account forest with a disabled user in a resource forest. In Exchange, this configuration is known as a linked mailbox. You can use this option if you use only Lync and if Exchange isn't present in the resource forest."},
	{ID: MatchSAMMailNickname, Label: "SAMAccountName and MailNickName attributes", Exchange: true,
		Desc: "This option joins on attributes where the sign-in ID for the user is expected to be found."},
	{ID: MatchAttribute, Label: "Choose a specific attribute",
		Desc: "This option allows you to select your own attribute. If you choose this option, user objects whose (selected) attribute is unpopulated aren't synchronized to Microsoft Entra ID."},
}

// Messages of the Identifying users rules; the sourceAnchor ones are the seed's.
const (
	MsgMetaverseLimit = "Limitation: only attributes that are already in the metaverse are available for this option. " +
		"hybridsync has no metaverse before its first synchronization, so in this version the list holds the single-valued attributes " +
		"of every connected forest's schema that sync reads (text, numbers and binary values)."
	MsgNeedsExchange = "This option needs the Exchange schema (mailNickname, msExchMasterAccountSid), and none of the connected forests has it. " +
		"Extend a forest's schema for Exchange, then connect it again."
	MsgAnchorAt   = "You can't use attributes that include an at sign (@), so you can't use email and userPrincipalName."
	MsgAnchorCase = "The attribute is also case sensitive, so when you move an object between forests, make sure to preserve uppercase and lowercase. " +
		"Binary attributes are Base64-encoded, but other attribute types remain in their unencoded state."
	MsgAnchorImmutable = "The sourceAnchor attribute is immutable during the lifetime of a user object. It's the primary key that links the on-premises user with the user in Microsoft Entra ID."
	MsgAnchorGood      = "Because the sourceAnchor attribute can't be changed, you must choose an appropriate attribute. A good candidate is objectGUID. " +
		"This attribute isn't changed unless the user account is moved between forests or domains. Don't choose attributes that can change when a person marries or changes assignments."
	MsgAnchorFixed = "The sourceAnchor can't be changed after the first configuration: Microsoft Entra ID links every synchronized user through it. " +
		"The applied choice is kept."
)

// emailLike are attributes that hold email addresses or UPNs: their values
// contain an at sign whether or not a sample shows one.
var emailLike = []string{"mail", "userPrincipalName", "proxyAddresses", "otherMailbox", "targetAddress", "msRTCSIP-PrimaryUserAddress"}

// MatchingMode is the matching option, the default for none.
func (id Identifying) MatchingMode() string {
	if id.Matching == "" {
		return MatchOnce
	}
	return id.Matching
}

// AnchorMode is the sourceAnchor choice, the default for none.
func (id Identifying) AnchorMode() string {
	if id.SourceAnchor == "" {
		return AnchorManaged
	}
	return id.SourceAnchor
}

// MatchLabel names a matching option for people.
func MatchLabel(id string) string {
	for _, o := range MatchOptions {
		if o.ID == id {
			return o.Label
		}
	}
	return id
}

// MatchUnavailable says why a matching option is not offered, or "".
func MatchUnavailable(a *Answers, id string) string {
	for _, o := range MatchOptions {
		if o.ID == id && o.Exchange && !anyExchange(a) {
			return MsgNeedsExchange
		}
	}
	return ""
}

func anyExchange(a *Answers) bool {
	for _, fc := range a.Directories.Forests {
		if fc.HasExchange {
			return true
		}
	}
	return false
}

// identifyingChecker reads what the page needs from the forests and the
// store; StoreChecker has it (identifying_check.go).
type identifyingChecker interface {
	// ConsistencyGuidDomain returns a domain of the forest in which some
	// user already has ms-DS-ConsistencyGuid populated, or "".
	ConsistencyGuidDomain(ctx context.Context, fc ForestConn) (string, error)
	// SchemaAttributes lists the forest's schema attributes.
	SchemaAttributes(ctx context.Context, fc ForestConn) ([]directory.Attribute, error)
	// SampleValues returns up to n values of attr in the forest.
	SampleValues(ctx context.Context, fc ForestConn, attr string, n int) ([]string, error)
	// AppliedIdentifying returns the active configuration's Identifying
	// answers, and whether a configuration was applied.
	AppliedIdentifying(ctx context.Context) (Identifying, bool, error)
}

// AnchorAttr is an attribute the page offers.
type AnchorAttr struct {
	Name, Type string
}

// Binary reports whether sync Base64-encodes the attribute's values.
func (a AnchorAttr) Binary() bool { return a.Type == "Binary" || a.Type == "SID" }

// IdentifyingView is what the page shows beyond the answers.
type IdentifyingView struct {
	// Attributes are the single-valued schema attributes found in every
	// forest; AnchorAttributes leaves out the email-like ones.
	Attributes       []AnchorAttr
	AnchorAttributes []AnchorAttr
	SchemaError      string
	// AnchorError says why the selection logic could not run.
	AnchorError string
	// Locked: a configuration was applied, so the sourceAnchor is read-only.
	Locked bool
}

var identifyingPage = Page{
	ID:      PageIdentifying,
	Title:   "Identifying users",
	Section: "Sync",
	Bind: func(a *Answers, f Form) {
		id := &a.Identifying
		id.Matching = f.str("matching")
		if _, ok := f.Values["matching_attribute"]; ok {
			id.MatchingAttribute = f.str("matching_attribute")
		}
		// A read-only sourceAnchor posts nothing: keep what is saved.
		if _, ok := f.Values["source_anchor"]; ok {
			id.SourceAnchor, id.anchorPosted = f.str("source_anchor"), true
		}
		if _, ok := f.Values["source_anchor_attribute"]; ok {
			id.SourceAnchorAttribute, id.anchorPosted = f.str("source_anchor_attribute"), true
		}
	},
	Validate: validateIdentifying,
	View:     viewIdentifying,
	Notices:  identifyingNotices,
}

func validateIdentifying(ctx context.Context, a *Answers, chk Checker) Errors {
	e := Errors{}
	id := &a.Identifying
	ic, _ := chk.(identifyingChecker)
	id.Matching = id.MatchingMode()
	switch id.Matching {
	case MatchOnce, MatchMail, MatchSIDs, MatchSAMMailNickname:
		if msg := MatchUnavailable(a, id.Matching); msg != "" {
			e.Add("matching", msg)
		}
	case MatchAttribute:
		if id.MatchingAttribute == "" {
			e.Add("matching_attribute", "Choose the attribute that joins users across forests.")
		}
	default:
		e.Add("matching", "Choose how users should be identified in your on-premises directories.")
	}

	// Schemas are read once, and only when an attribute was chosen.
	var schemas [][]directory.Attribute
	schema := func() ([][]directory.Attribute, error) {
		if schemas != nil || ic == nil {
			return schemas, nil
		}
		for _, fc := range a.Directories.Forests {
			attrs, err := ic.SchemaAttributes(ctx, fc)
			if err != nil {
				return nil, err
			}
			schemas = append(schemas, attrs)
		}
		return schemas, nil
	}
	if id.Matching == MatchAttribute && id.MatchingAttribute != "" {
		if s, err := schema(); err != nil {
			e.Add("matching_attribute", CheckMessage(err))
		} else if name, msg := schemaAttribute(a, s, id.MatchingAttribute); msg != "" {
			e.Add("matching_attribute", msg)
		} else if s != nil {
			id.MatchingAttribute = name
		}
	}

	// After the first configure the sourceAnchor is fixed.
	if ic != nil {
		applied, ok, err := ic.AppliedIdentifying(ctx)
		if err != nil {
			e.Add("source_anchor", CheckMessage(err))
			return e
		}
		if ok && applied.Resolved != "" {
			changed := id.anchorPosted && (id.AnchorMode() != applied.AnchorMode() ||
				(applied.AnchorMode() == AnchorAttribute && !strings.EqualFold(id.SourceAnchorAttribute, applied.SourceAnchorAttribute)))
			keepAnchor(id, applied)
			if changed {
				e.Add("source_anchor", MsgAnchorFixed)
			}
			return e
		}
	}

	id.SourceAnchor = id.AnchorMode()
	switch id.SourceAnchor {
	case AnchorManaged:
		if ic == nil || len(a.Directories.Forests) == 0 {
			id.Resolved, id.Why = "", ""
			break
		}
		attr, why, err := resolveManaged(ctx, a.Directories.Forests, ic)
		if err != nil {
			e.Add("source_anchor", CheckMessage(err))
			break
		}
		id.Resolved, id.Why = attr, why
	case AnchorAttribute:
		attr := id.SourceAnchorAttribute
		if attr == "" {
			e.Add("source_anchor_attribute", "Choose the attribute to use as the sourceAnchor. objectGUID is a good candidate.")
			break
		}
		if isEmailLike(attr) {
			e.Add("source_anchor_attribute", MsgAnchorAt)
			break
		}
		s, err := schema()
		if err != nil {
			e.Add("source_anchor_attribute", CheckMessage(err))
			break
		}
		name, msg := schemaAttribute(a, s, attr)
		if msg != "" {
			e.Add("source_anchor_attribute", msg)
			break
		}
		if ic != nil {
			id.SourceAnchorAttribute = name
			for _, fc := range a.Directories.Forests {
				vals, err := ic.SampleValues(ctx, fc, name, 50)
				if err != nil {
					e.Add("source_anchor_attribute", CheckMessage(err))
					return e
				}
				if slices.ContainsFunc(vals, func(v string) bool { return strings.Contains(v, "@") }) {
					e.Add("source_anchor_attribute", "Values of "+name+" in "+fc.Forest+" include an at sign (@). "+MsgAnchorAt)
					return e
				}
			}
		}
		id.Resolved, id.Why = id.SourceAnchorAttribute, "You chose this attribute on Identifying users."
	default:
		e.Add("source_anchor", "Choose how users should be identified with Microsoft Entra ID.")
	}
	return e
}

// keepAnchor puts the applied sourceAnchor back into the answers.
func keepAnchor(id *Identifying, applied Identifying) {
	id.SourceAnchor, id.SourceAnchorAttribute = applied.AnchorMode(), applied.SourceAnchorAttribute
	id.Resolved, id.Why = applied.Resolved, applied.Why
	id.anchorPosted = false
}

// resolveManaged is the ms-DS-ConsistencyGuid selection logic of a custom
// installation: ms-DS-ConsistencyGuid, unless some object of some forest
// already has it populated — then another application may own it, and
// objectGUID is used instead.
func resolveManaged(ctx context.Context, forests []ForestConn, ic identifyingChecker) (attr, why string, err error) {
	var names []string
	for _, fc := range forests {
		domain, err := ic.ConsistencyGuidDomain(ctx, fc)
		if err != nil {
			return "", "", err
		}
		if domain != "" {
			return AttrObjectGUID, "objectGUID is used: ms-DS-ConsistencyGuid is already populated on at least one user in " + domain +
				" (forest " + fc.Forest + "), so another application may be using it, and the sourceAnchor selection logic hybridsync applies leaves it alone.", nil
		}
		names = append(names, fc.Forest)
	}
	return AttrConsistencyGuid, "ms-DS-ConsistencyGuid is used: no user in " + strings.Join(names, ", ") +
		" has it populated yet. The sync engine writes each user's objectGUID into it.", nil
}

// schemaAttribute finds attr in every forest's schema (case-insensitive) and
// returns its spelling there; s is nil when there is no checker.
func schemaAttribute(a *Answers, s [][]directory.Attribute, attr string) (string, string) {
	if s == nil {
		return attr, ""
	}
	name := attr
	for i, attrs := range s {
		k := slices.IndexFunc(attrs, func(x directory.Attribute) bool { return strings.EqualFold(x.Name, attr) })
		forest := a.Directories.Forests[i].Forest
		if k < 0 {
			return attr, "The schema of " + forest + " has no attribute " + attr + "."
		}
		if !attrOffered(attrs[k]) {
			return attr, attrs[k].Name + " can't be used here: only single-valued text, number and binary attributes can (it is " + attrs[k].Type + ")."
		}
		name = attrs[k].Name
	}
	return name, ""
}

// attrOffered: single-valued, and of a syntax that can identify a user
// (text, numbers, binary values; not DNs, booleans, times or descriptors).
func attrOffered(x directory.Attribute) bool {
	if !x.SingleValued {
		return false
	}
	switch x.Syntax {
	case "2.5.5.3", "2.5.5.4", "2.5.5.5", "2.5.5.6", "2.5.5.12", "2.5.5.16", "2.5.5.17":
		return true
	case "2.5.5.9":
		return x.OMSyntax != 10 // integers, not enumerations
	case "2.5.5.10":
		return x.OMSyntax != 127 // octet strings, not replica links
	}
	return false
}

func isEmailLike(attr string) bool {
	return slices.ContainsFunc(emailLike, func(n string) bool { return strings.EqualFold(n, attr) })
}

func viewIdentifying(ctx context.Context, a *Answers, chk Checker) any {
	v := IdentifyingView{}
	ic, ok := chk.(identifyingChecker)
	if !ok || len(a.Directories.Forests) == 0 {
		return v
	}
	id := &a.Identifying
	if applied, ok, err := ic.AppliedIdentifying(ctx); err != nil {
		v.AnchorError = CheckMessage(err)
	} else if ok && applied.Resolved != "" {
		v.Locked = true
		keepAnchor(id, applied)
	}
	// The attributes found, single-valued and usable, in every forest.
	var common map[string]AnchorAttr
	for _, fc := range a.Directories.Forests {
		attrs, err := ic.SchemaAttributes(ctx, fc)
		if err != nil {
			v.SchemaError = CheckMessage(err)
			common = nil
			break
		}
		here := map[string]AnchorAttr{}
		for _, x := range attrs {
			if attrOffered(x) {
				k := strings.ToLower(x.Name)
				if _, in := common[k]; common == nil || in {
					here[k] = AnchorAttr{Name: x.Name, Type: x.Type}
				}
			}
		}
		common = here
	}
	for _, x := range common {
		v.Attributes = append(v.Attributes, x)
		if !isEmailLike(x.Name) {
			v.AnchorAttributes = append(v.AnchorAttributes, x)
		}
	}
	byName := func(x, y AnchorAttr) int { return strings.Compare(strings.ToLower(x.Name), strings.ToLower(y.Name)) }
	slices.SortFunc(v.Attributes, byName)
	slices.SortFunc(v.AnchorAttributes, byName)

	if !v.Locked && id.AnchorMode() == AnchorManaged {
		attr, why, err := resolveManaged(ctx, a.Directories.Forests, ic)
		if err != nil {
			v.AnchorError = CheckMessage(err)
		} else {
			id.Resolved, id.Why = attr, why
		}
	}
	return v
}

func identifyingNotices(a *Answers) []Notice {
	id := a.Identifying
	var n []Notice
	switch id.MatchingMode() {
	case MatchMail:
		n = append(n, Notice{Level: "warn", Text: "User objects whose mail attribute is unpopulated aren't synchronized to Microsoft Entra ID.", ReadyOnly: true})
	case MatchAttribute:
		if id.MatchingAttribute != "" {
			n = append(n, Notice{Level: "warn", Text: "User objects whose " + id.MatchingAttribute + " attribute is unpopulated aren't synchronized to Microsoft Entra ID.", About: "matching_attribute"})
		}
	}
	return n
}

// summarizeIdentifying is the page's part of the summary.
func summarizeIdentifying(a Answers) []SummaryRow {
	id := a.Identifying
	match := MatchLabel(id.MatchingMode())
	if id.MatchingMode() == MatchAttribute {
		match += ": " + id.MatchingAttribute
	}
	rows := []SummaryRow{{"Users across forests", match}}
	anchor := "Let Azure manage the source anchor"
	if id.AnchorMode() == AnchorAttribute {
		anchor = "Chosen: " + id.SourceAnchorAttribute
	}
	switch {
	case id.Resolved != "":
		anchor = id.Resolved + " (" + anchor + "). " + id.Why
	case id.AnchorMode() == AnchorManaged:
		anchor += " (ms-DS-ConsistencyGuid or objectGUID, decided on the forests when you select Next)"
	}
	return append(rows, SummaryRow{"sourceAnchor", anchor})
}
