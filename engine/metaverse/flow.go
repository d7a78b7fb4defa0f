package metaverse

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hybridsync/hybridsync/engine/setup"
)

// flowSpec maps one LDAP attribute (lower case) to a Graph property.
type flowSpec struct {
	prop, ldap string
	multi      bool
}

// Attribute flow by kind: the attributes that flow as they are. Computed
// properties (accountEnabled, userPrincipalName, onPremises*, …) are set in
// flowAttrs.
var (
	userFlows = []flowSpec{
		{"givenName", "givenname", false}, {"surname", "sn", false}, {"mail", "mail", false},
		{"proxyAddresses", "proxyaddresses", true}, {"jobTitle", "title", false},
		{"department", "department", false}, {"companyName", "company", false},
		{"employeeId", "employeeid", false}, {"officeLocation", "physicaldeliveryofficename", false},
		{"streetAddress", "streetaddress", false}, {"city", "l", false}, {"state", "st", false},
		{"postalCode", "postalcode", false}, {"country", "co", false}, {"usageLocation", "c", false},
		{"businessPhones", "telephonenumber", true}, {"mobilePhone", "mobile", false},
		{"faxNumber", "facsimiletelephonenumber", false}, {"preferredLanguage", "preferredlanguage", false},
	}
	groupFlows = []flowSpec{
		{"description", "description", false}, {"mail", "mail", false}, {"proxyAddresses", "proxyaddresses", true},
	}
	contactFlows = []flowSpec{
		{"givenName", "givenname", false}, {"surname", "sn", false}, {"mail", "mail", false},
		{"proxyAddresses", "proxyaddresses", true}, {"companyName", "company", false},
		{"jobTitle", "title", false}, {"department", "department", false},
	}
	// Devices: operatingSystem, operatingSystemVersion, deviceId and
	// alternativeSecurityIds are computed (deviceAttrs).
	deviceFlows = []flowSpec{}
)

// graphReadOnly are computed properties Microsoft Graph v1.0 does not let a
// client write (the user and group resources document them "Read-only"; a
// write is refused with 400 "Property '…' is read-only and cannot be set.").
// The metaverse keeps them — the object lookup shows them, and the export's
// soft match reads the primary SMTP address from proxyAddresses — but the
// export never sends them. A user's SMTP address reaches the cloud through
// mail, which Graph adds to the user's proxyAddresses.
var graphReadOnly = map[string]map[string]bool{
	KindUser: {"proxyAddresses": true, "onPremisesSamAccountName": true, "onPremisesUserPrincipalName": true,
		"onPremisesDistinguishedName": true, "onPremisesDomainName": true, "onPremisesSecurityIdentifier": true},
	// A group's mail and proxyAddresses are Exchange's; mailEnabled is set
	// only at creation (a synced group is created as a security group).
	KindGroup: {"mail": true, "proxyAddresses": true, "mailEnabled": true, "onPremisesSamAccountName": true,
		"onPremisesDomainName": true, "onPremisesSecurityIdentifier": true},
	// Devices: Graph's device resource takes trustType and
	// onPremisesSecurityIdentifier from the device registration service,
	// not from a client.
	KindDevice: {"trustType": true, "onPremisesSecurityIdentifier": true},
}

// GraphWritable reports whether the export may send a computed property of
// an object of kind through Microsoft Graph v1.0. Organizational contacts
// can't be written at all (Graph's orgContact resource is read-only).
func GraphWritable(kind, prop string) bool {
	if kind == KindContact {
		return false
	}
	return !graphReadOnly[kind][prop]
}

// mailboxAttrs are the attributes a linked mailbox's resource-forest user
// gives precedence for (objectSID ↔ msExchMasterAccountSid matching): the
// mailbox is there, the account elsewhere.
var mailboxAttrs = map[string]bool{
	"mail": true, "proxyaddresses": true, "mailnickname": true, "targetaddress": true, "legacyexchangedn": true,
}

// sources is a metaverse object's joined objects in precedence order.
type sources struct {
	all     []*csObject // primary first
	mailbox *csObject   // with SID matching: the disabled resource-forest user
}

// holder is the first object that has values of an attribute, or nil.
func (s sources) holder(name string) *csObject {
	if s.mailbox != nil && mailboxAttrs[name] && s.mailbox.count(name) > 0 {
		return s.mailbox
	}
	for _, o := range s.all {
		if o.count(name) > 0 {
			return o
		}
	}
	return nil
}

// get is an attribute's values from the first object that has it.
func (s sources) get(name string) []string {
	if o := s.holder(name); o != nil {
		return o.values(name)
	}
	return nil
}

func (s sources) first(names ...string) string {
	for _, n := range names {
		if o := s.holder(n); o != nil {
			if v := o.Attr(n); v != "" {
				return v
			}
		}
	}
	return ""
}

// flowAttrs computes the cloud attributes of a metaverse object into out,
// which must be empty (nil: a new map), and returns it (t nil: recording
// nothing, the trace already has its steps). The single-valued properties'
// values are appended to single, returned for reuse, when it has room (a
// capacity); else each is a slice of its own.
func (c Config) flowAttrs(kind, key, upn string, s sources, t *trace, out map[string][]string, single []string) (map[string][]string, []string) {
	p := s.all[0]
	if out == nil {
		out = make(map[string][]string, 24)
	}
	// In a full sync's write the single values share one array, each its
	// own element of it (a slice of length and capacity 1): one allocation
	// an object, not one a property. Elsewhere each has its own: a delta
	// holds its changes, whose one changed value would hold the array.
	shared := cap(single) > 0
	set := func(prop, v string) {
		if v == "" || c.Unsynced[prop] {
			return
		}
		if !shared {
			out[prop] = []string{v}
			return
		}
		single = append(single, v)
		out[prop] = single[len(single)-1 : len(single) : len(single)]
	}
	setMulti := func(prop string, v []string) {
		if len(v) > 0 && !c.Unsynced[prop] {
			slices.Sort(v) // v is new: get and deviceIdentity make it
			out[prop] = slices.Compact(v)
		}
	}
	flow := func(specs []flowSpec) {
		for _, f := range specs {
			if f.multi {
				setMulti(f.prop, s.get(f.ldap))
			} else {
				set(f.prop, s.first(f.ldap))
			}
		}
	}
	switch kind {
	case KindUser:
		flow(userFlows)
		set("displayName", s.first("displayname", "cn", "samaccountname"))
		set("mailNickname", s.first("mailnickname", "samaccountname"))
		set("accountEnabled", strconv.FormatBool(!disabled(p)))
		set("userPrincipalName", upn)
		set("onPremisesImmutableId", key)
		set("onPremisesSamAccountName", p.Attr("samaccountname"))
		set("onPremisesUserPrincipalName", p.Attr("userprincipalname"))
		set("onPremisesDistinguishedName", p.DN)
		set("onPremisesDomainName", dnsDomain(p.DN))
		if sid := p.Attr("objectsid"); sid != "" {
			set("onPremisesSecurityIdentifier", sidText(sid))
		}
	case KindGroup:
		flow(groupFlows)
		set("displayName", s.first("displayname", "cn", "samaccountname"))
		set("mailNickname", s.first("mailnickname", "samaccountname", "cn"))
		gt, _ := strconv.ParseInt(p.Attr("grouptype"), 10, 64)
		set("securityEnabled", strconv.FormatBool(gt&groupSecurity != 0))
		set("mailEnabled", strconv.FormatBool(p.Attr("mail") != "" || p.count("proxyaddresses") > 0))
		set("onPremisesSamAccountName", p.Attr("samaccountname"))
		set("onPremisesDomainName", dnsDomain(p.DN))
		if sid := p.Attr("objectsid"); sid != "" {
			set("onPremisesSecurityIdentifier", sidText(sid))
		}
	case KindContact:
		flow(contactFlows)
		set("displayName", s.first("displayname", "cn"))
		set("mailNickname", s.first("mailnickname", "cn"))
	case KindDevice:
		flow(deviceFlows)
		set("displayName", s.first("cn", "dnshostname"))
		id, keys := deviceIdentity(p)
		set("deviceId", id)
		setMulti("alternativeSecurityIds", keys)
		set("operatingSystem", deviceOS(p.Attr("operatingsystem")))
		set("operatingSystemVersion", deviceOSVersion(p.Attr("operatingsystemversion")))
		set("accountEnabled", strconv.FormatBool(!disabled(p)))
		set("trustType", "ServerAd")
		if sid := p.Attr("objectsid"); sid != "" {
			set("onPremisesSecurityIdentifier", sidText(sid))
		}
	}
	c.flowExtensions(s, out, t)
	return out, single
}

// flowExtensions adds the directory extension attributes an object has to
// out, and the values it leaves out to t (either may be nil).
// Values longer than setup.MaxExtensionValue characters are not synced.
func (c Config) flowExtensions(s sources, out map[string][]string, t *trace) {
	for _, x := range c.Extensions {
		vals := s.get(strings.ToLower(x.Name))
		if len(vals) == 0 {
			continue
		}
		var keep []string
		for _, v := range vals {
			if len([]rune(v)) > setup.MaxExtensionValue {
				if t != nil {
					t.step(rExtensions, oInfo, "A value of "+x.Name+" is longer than 250 characters: not synced.")
				}
				continue
			}
			if x.Type == setup.ExtBoolean {
				v = strings.ToLower(v) // AD says TRUE/FALSE, Graph true/false
			}
			keep = append(keep, v)
		}
		if len(keep) == 0 {
			continue
		}
		if !x.MultiValued {
			keep = keep[:1]
		} else {
			slices.Sort(keep)
		}
		if out == nil {
			continue
		}
		prop := ExtensionProperty(c.ExtensionAppID, x.Name)
		if !c.Unsynced[prop] {
			out[prop] = keep
		}
	}
}

// PropertyType says how a property's text values become Graph JSON:
// "bool", "int", "strings" (a collection) or "string".
func (c Config) PropertyType(prop string) string {
	switch prop {
	case "accountEnabled", "mailEnabled", "securityEnabled":
		return "bool"
	case "proxyAddresses", "businessPhones", "alternativeSecurityIds":
		return "strings"
	}
	for _, x := range c.Extensions {
		if ExtensionProperty(c.ExtensionAppID, x.Name) == prop {
			switch {
			case x.MultiValued:
				return "strings"
			case x.Type == setup.ExtBoolean:
				return "bool"
			case x.Type == setup.ExtInteger:
				return "int"
			}
		}
	}
	return "string"
}

// deviceIdentity is a hybrid-joined computer's deviceId and its
// alternativeSecurityIds keys, from the certificates in userCertificate.
// Windows writes a self-signed certificate there when it registers the
// device, its subject CN the device id (as recalled of dsregcmd's
// certificate, not checked); the key is what MS-DVRE 2.3.3 gives for a
// device's certificate, X509:<SHA1-TP-PUBKEY><thumbprint><public key hash>
// (the SHA-1 thumbprint in hex, the Base64 SHA-256 of the public key), in
// UTF-16LE and Base64 as Graph's Edm.Binary takes it. Values that are not
// certificates are skipped; the deviceId falls back to objectGUID.
func deviceIdentity(o *csObject) (id string, keys []string) {
	id = o.Anchor
	for _, v := range o.values("usercertificate") {
		cert, err := parseCertificate(v)
		if err != nil {
			continue
		}
		if guidText.MatchString(cert.Subject.CommonName) && id == o.Anchor {
			id = strings.ToLower(cert.Subject.CommonName)
		}
		keys = append(keys, AlternativeSecurityKey(cert))
	}
	return id, keys
}

var guidText = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// parseCertificate reads one userCertificate value (Base64 of DER, as the
// connector keeps binary attributes).
func parseCertificate(b64 string) (*x509.Certificate, error) {
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// AlternativeSecurityKey is a device certificate's alternativeSecurityId key
// (type 2), Base64 of the UTF-16LE text
// X509:<SHA1-TP-PUBKEY><SHA-1 thumbprint, hex><Base64 SHA-256 of the public key>.
// The public key hashed is the subjectPublicKey bit string's content (what
// .NET's PublicKey.EncodedKeyValue.RawData holds).
func AlternativeSecurityKey(cert *x509.Certificate) string {
	thumb := sha1.Sum(cert.Raw)
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	pub := cert.RawSubjectPublicKeyInfo
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err == nil {
		pub = spki.PublicKey.Bytes
	}
	hash := sha256.Sum256(pub)
	text := "X509:<SHA1-TP-PUBKEY>" + fmt.Sprintf("%X", thumb) + base64.StdEncoding.EncodeToString(hash[:])
	u := make([]byte, 0, 2*len(text))
	for _, r := range text { // ASCII: one UTF-16 unit each
		u = binary.LittleEndian.AppendUint16(u, uint16(r))
	}
	return base64.StdEncoding.EncodeToString(u)
}

// deviceOS is Graph's operatingSystem for a computer's: Windows computers
// are "Windows" in the cloud (the operatingSystem attribute says "Windows 11
// Enterprise"); another value flows as it is, none is "Windows" (Graph
// requires one; hybrid join is a Windows feature).
func deviceOS(ad string) string {
	if ad == "" || strings.HasPrefix(strings.ToLower(ad), "windows") {
		return "Windows"
	}
	return ad
}

// deviceOSVersion turns AD's "10.0 (22631)" into "10.0.22631", the form
// devices register with (assumed from registered devices' values).
func deviceOSVersion(ad string) string {
	if m := osVersion.FindStringSubmatch(ad); m != nil {
		return m[1] + "." + m[2]
	}
	if ad == "" {
		return "0.0"
	}
	return ad
}

var osVersion = regexp.MustCompile(`^(\d+\.\d+) \((\d+)\)$`)
