package metaverse

import (
	"strconv"
	"strings"

	"github.com/hybridsync/hybridsync/engine/store"
)

// The engine holds each object's trace compactly — a step is a rule, an
// outcome and a message code with up to two parameters, most of them
// strings the object or the configuration already holds — and words the
// sentences only when a trace is read (Why, WhyKey) or persisted. The
// sentences are the same as if they had been kept.

// rule and outcome indexes of a tstep.
const (
	rScope uint8 = iota
	rClass
	rSystem
	rMatching
	rJoin
	rSourceAnchor
	rSignIn
	rMembers
	rExtensions
)

var ruleNames = [...]string{RuleScope, RuleClass, RuleSystem, RuleMatching, RuleJoin, RuleSourceAnchor, RuleSignIn, RuleMembers, RuleExtensions}

const (
	oKept uint8 = iota
	oDropped
	oInfo
)

var outcomeNames = [...]string{OutcomeKept, OutcomeDropped, OutcomeInfo}

// Message codes: how a tstep's parameters a and b become its sentence.
const (
	msgText              uint8 = iota // a, as it is
	msgClass                          // "A <a>: synchronized as a <b>."
	msgMatchMail                      // "Joins users and contacts whose mail is <a>."
	msgMatchSIDLinked                 // a disabled user whose <attr a> is <SID b>: joins the enabled user …
	msgMatchSID                       // joins a disabled user in a resource forest whose … is <SID a>
	msgMatchSAMNick                   // "Joins users whose sAMAccountName is <a> and mailNickname <b>."
	msgMatchAttr                      // "Joins users whose <a> is <b>."
	msgAnchorKept                     // "<a>: <b>"
	msgSignInNotAddress               // "<a> is <b>, which is not an address …"
	msgSignInUnknown                  // userPrincipalName <a> (from <b>); the tenant's domains are not known …
	msgSignInUnknownSAM               // the same, from sAMAccountName@domain because <b> is unpopulated
	msgSignInVerified                 // userPrincipalName <a> (from <b>): <a's suffix> is a verified domain.
	msgSignInVerifiedSAM              // the same, from sAMAccountName@domain because <b> is unpopulated
	msgProjected                      // "Projected into the metaverse as a <a>."
	msgSynced                         // "Synchronized as a <a> (sourceAnchor <b>)."
)

// tstep is one Step, compactly.
type tstep struct {
	rule, outcome, msg uint8
	a, b               string
}

// text is the step's sentence.
func (s tstep) text() string {
	switch s.msg {
	case msgClass:
		return "A " + s.a + ": synchronized as a " + s.b + "."
	case msgMatchMail:
		return "Joins users and contacts whose mail is " + s.a + "."
	case msgMatchSIDLinked:
		return "A disabled user whose " + attrName(s.a) + " is " + sidText(s.b) +
			": joins the enabled user of that objectSID in an account forest (a linked mailbox)."
	case msgMatchSID:
		return "Joins a disabled user in a resource forest whose msExchMasterAccountSid or msRTCSIP-OriginatorSID is " + sidText(s.a) + "."
	case msgMatchSAMNick:
		return "Joins users whose sAMAccountName is " + s.a + " and mailNickname " + s.b + "."
	case msgMatchAttr:
		return "Joins users whose " + s.a + " is " + s.b + "."
	case msgAnchorKept:
		return s.a + ": " + s.b
	case msgSignInNotAddress:
		return s.a + " is " + s.b + ", which is not an address (RFC 822): it can't be the sign-in name."
	case msgSignInUnknown, msgSignInUnknownSAM:
		return "userPrincipalName " + s.a + " (from " + signInFrom(s.b, s.msg == msgSignInUnknownSAM) +
			"); the tenant's domains are not known, so the suffix is not checked."
	case msgSignInVerified, msgSignInVerifiedSAM:
		_, suffix, _ := strings.Cut(s.a, "@")
		return "userPrincipalName " + s.a + " (from " + signInFrom(s.b, s.msg == msgSignInVerifiedSAM) + "): " + suffix + " is a verified domain."
	case msgProjected:
		return "Projected into the metaverse as a " + s.a + "."
	case msgSynced:
		return "Synchronized as a " + s.a + " (sourceAnchor " + s.b + ")."
	}
	return s.a
}

// signInFrom says where a sign-in name came from: the sign-in attribute,
// or sAMAccountName@domain because the attribute is unpopulated.
func signInFrom(attr string, sam bool) string {
	if sam {
		return "sAMAccountName@domain, because " + attr + " is unpopulated"
	}
	return attr
}

// trace is an object's Trace as the engine holds it; the connector, anchor,
// DN and class are the object's, the key and kind the entry's.
type trace struct {
	steps      []tstep
	base       int   // steps of the object's own rules; a rebuild keeps these
	reason     tstep // the zero value words ""
	synced     bool
	primary    bool
	joinedWith []SourceID
	// first are steps' first, in the same allocation: a full sync holds
	// every object's trace until it is written.
	first [6]tstep // a user's steps, without growing
}

func newTrace() *trace {
	t := &trace{}
	t.steps = t.first[:0]
	return t
}

func (t *trace) add(s tstep) { t.steps = append(t.steps, s) }

func (t *trace) step(rule, outcome uint8, detail string) {
	t.add(tstep{rule: rule, outcome: outcome, a: detail})
}

// drop ends the trace: not synced, for the reason given. (The entry's key
// and kind are "" whenever a trace is dropped.)
func (t *trace) drop(rule uint8, detail string) {
	s := tstep{rule: rule, outcome: oDropped, a: detail}
	t.add(s)
	t.synced, t.reason, t.primary, t.joinedWith = false, s, false, nil
}

// render is an entry's Trace, its sentences worded.
func (en *entry) render() Trace {
	o := en.cs()
	t := Trace{Connector: en.Connector, Anchor: en.Anchor, DN: o.DN, Class: o.Class, Synced: en.tr.synced,
		Reason: en.tr.reason.text(), Key: en.key, Kind: en.kindName(), Primary: en.tr.primary, JoinedWith: en.tr.joinedWith}
	if en.tr.steps != nil {
		t.Steps = make([]Step, len(en.tr.steps))
		for i, s := range en.tr.steps {
			t.Steps[i] = Step{Rule: ruleNames[s.rule], Outcome: outcomeNames[s.outcome], Detail: s.text()}
		}
	}
	return t
}

func pick(cond bool, yes, no uint8) uint8 {
	if cond {
		return yes
	}
	return no
}

// appendJSON appends the entry's Trace as json.Marshal encodes
// en.render(), without building it: the joins of a full sync are encoded
// one after the other. reason is en.tr.reason.text(), which the caller
// writes beside it.
func (en *entry) appendJSON(b []byte, reason string) []byte {
	o := en.cs()
	b = append(b, `{"connector":`...)
	b = store.AppendJSONString(b, en.Connector)
	b = append(b, `,"anchor":`...)
	b = store.AppendJSONString(b, en.Anchor)
	b = append(b, `,"dn":`...)
	b = store.AppendJSONString(b, o.DN)
	b = append(b, `,"class":`...)
	b = store.AppendJSONString(b, o.Class)
	b = append(b, `,"synced":`...)
	b = strconv.AppendBool(b, en.tr.synced)
	b = append(b, `,"reason":`...)
	b = store.AppendJSONString(b, reason)
	b = append(b, `,"steps":`...)
	if en.tr.steps == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, s := range en.tr.steps {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"rule":`...)
			b = store.AppendJSONString(b, ruleNames[s.rule])
			b = append(b, `,"outcome":`...)
			b = store.AppendJSONString(b, outcomeNames[s.outcome])
			b = append(b, `,"detail":`...)
			b = store.AppendJSONString(b, s.text())
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if en.key != "" {
		b = append(b, `,"key":`...)
		b = store.AppendJSONString(b, en.key)
	}
	if en.kind != 0 {
		b = append(b, `,"kind":`...)
		b = store.AppendJSONString(b, en.kindName())
	}
	if en.tr.primary {
		b = append(b, `,"primary":true`...)
	}
	if len(en.tr.joinedWith) > 0 {
		b = append(b, `,"joinedWith":[`...)
		for i, s := range en.tr.joinedWith {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"connector":`...)
			b = store.AppendJSONString(b, s.Connector)
			b = append(b, `,"anchor":`...)
			b = store.AppendJSONString(b, s.Anchor)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}
