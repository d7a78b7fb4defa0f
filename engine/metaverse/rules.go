package metaverse

import (
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"github.com/hybridsync/hybridsync/engine/connector"
	"github.com/hybridsync/hybridsync/engine/directory"
	"github.com/hybridsync/hybridsync/engine/setup"
)

// userAccountControl bits.
const (
	uacDisabled = 0x2
)

// groupType's security bit (ADS_GROUP_TYPE_SECURITY_ENABLED).
const groupSecurity = 0x80000000

// selfSID is S-1-5-10 (SELF), Base64: msExchMasterAccountSid holds it on a
// regular (not linked) mailbox, where it points at no account forest.
const selfSID = "AQEAAAAAAAUKAAAA"

// kindOf maps a connector class to a cloud kind.
func kindOf(class string) string {
	switch class {
	case connector.ClassUser:
		return KindUser
	case connector.ClassGroup:
		return KindGroup
	case connector.ClassContact:
		return KindContact
	case connector.ClassComputer:
		return KindDevice
	}
	return ""
}

// syncAccountPrefixes are sAMAccountNames of the sync's own accounts and the
// directory's built-in ones, which Microsoft Entra Connect's default rules
// never synchronize.
var syncAccountPrefixes = []string{"msol_", "aad_", "sync_", "support_388945a0", "krbtgt"}

// eligible applies the rules that look at one object alone: scope, class,
// system objects, the per-kind conditions. It records them in t and returns
// false when the object is not synced.
func eligible(o *csObject, t *trace) bool {
	if o.Deleted {
		t.drop(rScope, "Deleted in the forest (or moved out of the imported partitions).")
		return false
	}
	if !o.InScope {
		reason := o.Reason
		if reason == "" {
			reason = "Out of scope."
		}
		t.drop(rScope, reason)
		return false
	}
	t.step(rScope, oKept, orDefault(o.Reason, "In scope."))
	kind := kindOf(o.Class)
	if kind == "" {
		t.drop(rClass, "Objects of class "+o.Class+" are not synchronized.")
		return false
	}
	if strings.EqualFold(o.Attr("iscriticalsystemobject"), "TRUE") {
		t.drop(rSystem, "A critical system object (isCriticalSystemObject is TRUE): never synchronized.")
		return false
	}
	switch kind {
	case KindUser:
		sam := strings.ToLower(o.Attr("samaccountname"))
		for _, p := range syncAccountPrefixes {
			if strings.HasPrefix(sam, p) {
				t.drop(rSystem, "sAMAccountName "+o.Attr("samaccountname")+" is a built-in or synchronization account: never synchronized.")
				return false
			}
		}
	case KindGroup:
		gt, _ := strconv.ParseInt(o.Attr("grouptype"), 10, 64)
		if gt&groupSecurity == 0 && o.Attr("mail") == "" && o.count("proxyaddresses") == 0 {
			t.drop(rClass, "A distribution group that is not mail-enabled: only security groups and mail-enabled groups are synchronized.")
			return false
		}
	case KindDevice:
		if o.count("usercertificate") == 0 {
			t.drop(rClass, "A computer without userCertificate: only computers registered for hybrid join (userCertificate populated) become devices.")
			return false
		}
		if _, keys := deviceIdentity(o); len(keys) == 0 {
			t.drop(rClass, "userCertificate holds no certificate that can be read: the computer can't be identified as a hybrid-joined device.")
			return false
		}
	}
	t.add(tstep{rule: rClass, outcome: oKept, msg: msgClass, a: o.Class, b: kind})
	return true
}

// joinValue is the object's join cluster under the matching rule: objects
// with the same value form one metaverse object; "" when the object is a
// cluster of its own. ok false: the object is not synced (an unpopulated
// matching attribute), the reason in t.
func (c Config) joinValue(o *csObject, t *trace) (string, bool) {
	const single = ""
	kind := kindOf(o.Class)
	if kind == KindContact && c.Matching == setup.MatchMail {
		if m := o.Attr("mail"); m != "" {
			t.add(tstep{rule: rMatching, outcome: oKept, msg: msgMatchMail, a: m})
			return "m:" + strings.ToLower(m), true
		}
		t.step(rMatching, oInfo, "mail is unpopulated: the contact is not joined.")
		return single, true
	}
	if kind != KindUser {
		return single, true
	}
	switch c.Matching {
	case setup.MatchMail:
		m := o.Attr("mail")
		if m == "" {
			t.drop(rMatching, "mail is unpopulated, and users are matched across forests on mail: users whose mail is unpopulated aren't synchronized.")
			return "", false
		}
		t.add(tstep{rule: rMatching, outcome: oKept, msg: msgMatchMail, a: m})
		return "m:" + strings.ToLower(m), true
	case setup.MatchSIDs:
		if disabled(o) {
			for _, a := range []string{"msexchmasteraccountsid", "msrtcsip-originatorsid"} {
				if v := o.Attr(a); v != "" && v != selfSID {
					t.add(tstep{rule: rMatching, outcome: oKept, msg: msgMatchSIDLinked, a: a, b: v})
					return "s:" + v, true
				}
			}
		}
		if v := o.Attr("objectsid"); v != "" {
			t.add(tstep{rule: rMatching, outcome: oKept, msg: msgMatchSID, a: v})
			return "s:" + v, true
		}
		t.step(rMatching, oInfo, "objectSID is unpopulated: the user is not joined.")
		return single, true
	case setup.MatchSAMMailNickname:
		sam, nick := o.Attr("samaccountname"), o.Attr("mailnickname")
		if sam == "" || nick == "" {
			t.step(rMatching, oInfo, "sAMAccountName or mailNickname is unpopulated: the user is not joined, it is projected on its own.")
			return single, true
		}
		t.add(tstep{rule: rMatching, outcome: oKept, msg: msgMatchSAMNick, a: sam, b: nick})
		return "n:" + strings.ToLower(sam) + "\x00" + strings.ToLower(nick), true
	case setup.MatchAttribute:
		name := strings.ToLower(c.MatchingAttribute)
		v := o.Attr(name)
		if v == "" {
			t.drop(rMatching, c.MatchingAttribute+" is unpopulated, and users are matched across forests on it: users whose "+
				c.MatchingAttribute+" is unpopulated aren't synchronized.")
			return "", false
		}
		if !connector.BinaryAttributes[name] {
			v = strings.ToLower(v)
		}
		t.add(tstep{rule: rMatching, outcome: oKept, msg: msgMatchAttr, a: c.MatchingAttribute, b: o.Attr(name)})
		return "a:" + v, true
	}
	t.step(rMatching, oInfo, "Users are represented only once across all forests: not joined.")
	return single, true
}

func disabled(o *csObject) bool {
	uac, err := strconv.ParseInt(o.Attr("useraccountcontrol"), 10, 64)
	return err == nil && uac&uacDisabled != 0
}

// anchor is a metaverse object's sourceAnchor, computed from its primary
// object: its value, where it came from, and whether objectGUID must be
// written back into ms-DS-ConsistencyGuid. "" when the attribute is
// unpopulated.
func (c Config) anchor(kind string, o *csObject) (value, why string, writeback bool) {
	guid := objectGUID(o)
	if kind != KindUser {
		if guid == "" {
			return "", "objectGUID is unpopulated.", false
		}
		return guid, anchorOfEvery(kind), false
	}
	switch c.anchorMode() {
	case setup.AttrConsistencyGuid:
		if v := o.Attr("ms-ds-consistencyguid"); v != "" {
			return v, "ms-DS-ConsistencyGuid (Base64): it is populated.", false
		}
		if guid == "" {
			return "", "Neither ms-DS-ConsistencyGuid nor objectGUID is populated.", false
		}
		return guid, "objectGUID (Base64): ms-DS-ConsistencyGuid is not populated yet, so objectGUID is used and written back into it.", true
	case setup.AttrObjectGUID:
		if guid == "" {
			return "", "objectGUID is unpopulated.", false
		}
		return guid, "objectGUID (Base64).", false
	}
	name := strings.ToLower(c.AnchorAttribute)
	v := o.Attr(name)
	if v == "" {
		return "", c.AnchorAttribute + ", the chosen sourceAnchor attribute, is unpopulated: the user can't be linked to Microsoft Entra ID.", false
	}
	if connector.BinaryAttributes[name] {
		return v, c.AnchorAttribute + " (Base64: a binary attribute).", false
	}
	return v, c.AnchorAttribute + " (as it is: a text attribute).", false
}

// objectGUID is the object's objectGUID as Base64 of its 16 bytes: the
// imported attribute, or else the anchor's string form converted.
func objectGUID(o *csObject) string {
	if v := o.Attr("objectguid"); v != "" {
		return v
	}
	b, ok := guidBytes(o.Anchor)
	if !ok {
		return ""
	}
	return base64.StdEncoding.EncodeToString(b)
}

// guidBytes turns xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx into the GUID's 16
// bytes as Active Directory stores them: the first three groups little-endian.
func guidBytes(s string) ([]byte, bool) {
	h := strings.ReplaceAll(s, "-", "")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != 16 || len(s) != 36 {
		return nil, false
	}
	slices.Reverse(b[0:4])
	slices.Reverse(b[4:6])
	slices.Reverse(b[6:8])
	return b, true
}

// sidText is a Base64 SID in its S-1-… form (or as it is when not a SID).
func sidText(b64 string) string {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return b64
	}
	sid, err := directory.SIDFromBytes(b)
	if err != nil {
		return b64
	}
	return sid.String()
}

// signIn computes a user's userPrincipalName in the tenant: the sign-in
// attribute's value (userPrincipalName or the alternate ID), else
// sAMAccountName@<domain> (Microsoft Entra Connect's default rule); a
// suffix that is not a verified domain becomes the initial onmicrosoft.com
// domain. It records each decision in t.
func (c Config) signIn(o *csObject, t *trace) string {
	attr := c.SignInAttribute
	if attr == "" {
		attr = setup.AttributeUPN
	}
	v := o.Attr(strings.ToLower(attr))
	var sam bool // v is sAMAccountName@domain
	if v != "" && !strings.Contains(v, "@") {
		t.add(tstep{rule: rSignIn, outcome: oInfo, msg: msgSignInNotAddress, a: attr, b: v})
		v = ""
	}
	if v == "" {
		name := o.Attr("samaccountname")
		if name == "" {
			name = o.Attr("cn")
		}
		v = name + "@" + dnsDomain(o.DN)
		sam = true
	}
	prefix, suffix, _ := strings.Cut(v, "@")
	if !c.tenantKnown() {
		t.add(tstep{rule: rSignIn, outcome: oKept, msg: pick(sam, msgSignInUnknownSAM, msgSignInUnknown), a: v, b: attr})
		return v
	}
	if c.VerifiedDomains[strings.ToLower(suffix)] {
		t.add(tstep{rule: rSignIn, outcome: oKept, msg: pick(sam, msgSignInVerifiedSAM, msgSignInVerified), a: v, b: attr})
		return v
	}
	nv := prefix + "@" + c.InitialDomain
	t.step(rSignIn, oKept, "userPrincipalName "+nv+": "+v+" (from "+signInFrom(attr, sam)+") has the suffix "+suffix+
		", which is not a verified domain of the tenant, so the initial domain "+c.InitialDomain+" replaces it.")
	return nv
}

// dnsDomain is the DNS name of the domain a DN is in (its DC= parts).
func dnsDomain(dn string) string {
	// Built in place: every object's onPremisesDomainName is computed in
	// each full sync.
	var buf [64]byte
	b, n := buf[:0], 0
	for rest := dn; rest != ""; {
		var rdn string
		rdn, rest, _ = strings.Cut(rest, ",")
		k, v, ok := strings.Cut(strings.TrimSpace(rdn), "=")
		if ok && strings.EqualFold(k, "dc") {
			if n > 0 {
				b = append(b, '.')
			}
			b, n = append(b, v...), n+1
		}
	}
	return strings.ToLower(string(b))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// attrName spells an attribute for people.
func attrName(lower string) string {
	switch lower {
	case "msexchmasteraccountsid":
		return "msExchMasterAccountSid"
	case "msrtcsip-originatorsid":
		return "msRTCSIP-OriginatorSID"
	}
	return lower
}

// anchorOfEvery says where a non-user kind's sourceAnchor comes from (one
// string per kind, shared by every object's trace).
func anchorOfEvery(kind string) string {
	switch kind {
	case KindGroup:
		return "objectGUID (Base64), the anchor of every group."
	case KindContact:
		return "objectGUID (Base64), the anchor of every contact."
	case KindDevice:
		return "objectGUID (Base64), the anchor of every device."
	}
	return "objectGUID (Base64), the anchor of every " + kind + "."
}
