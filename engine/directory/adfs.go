package directory

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// What the AD FS pages of the wizard look up in the forest: the AD FS
// servers' computer accounts, duplicate SPNs of the federation service name,
// the KDS root keys a group managed service account needs, and the service
// account itself.

// Object classes FindAccount reports.
const (
	ClassUser = "user"
	ClassGMSA = "msDS-GroupManagedServiceAccount"
)

// kdsClass is the schema class of a KDS root key.
const kdsClass = "msKds-ProvRootKey"

// kdsTimeAttrs are the time attributes of a KDS root key we read when the
// schema has them (research A2.5: the names are third-party; the schema is
// asked at run time).
var kdsTimeAttrs = []string{"msKds-CreateTime", "msKds-UseStartTime"}

// KDSState is what the forest holds for group managed service accounts.
type KDSState struct {
	SchemaHasKDS bool // the schema has the class msKds-ProvRootKey
	Keys         []KDSKey
}

// Usable reports whether some key can already be used at now (domain
// controllers refuse to create a gMSA before a key's UsableFrom).
func (s KDSState) Usable(now time.Time) bool {
	for _, k := range s.Keys {
		if k.UsableFrom.IsZero() || !k.UsableFrom.After(now) {
			return true
		}
	}
	return false
}

// KDSKey is one KDS root key.
type KDSKey struct {
	ID         string    // the key id: the object's cn (a GUID)
	Created    time.Time // msKds-CreateTime; zero when absent
	UsableFrom time.Time // msKds-UseStartTime; zero when absent
}

// domainSearch runs filter, subtree, in every domain NC of the forest and
// returns the entries found. A DC holds only its own domain's naming context:
// a domain it answers for with a referral is skipped and logged (the
// connection's DC cannot see it).
func (c *Conn) domainSearch(ctx context.Context, filter string, attrs []string, what string) ([]*ldap.Entry, error) {
	fi, err := c.Forest(ctx)
	if err != nil {
		return nil, err
	}
	var all []*ldap.Entry
	for _, d := range fi.Domains {
		req := ldap.NewSearchRequest(d.DN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil)
		entries, err := c.searchAll(ctx, req)
		if err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultReferral) {
				slog.Warn("directory: domain not held by this domain controller; skipped", "domain", d.DNS, "dc", c.dc, "search", what)
				continue
			}
			return nil, opError(err, "%s in %s", what, d.DNS)
		}
		all = append(all, entries...)
	}
	return all, nil
}

// FindComputer finds the computer account of host in the forest: an FQDN
// (adfs1.corp.example.test) matches dNSHostName, or else sAMAccountName
// "ADFS1$" in the domain named by the rest of the FQDN; a short name matches
// sAMAccountName "NAME$" in any domain (more than one is an error: the admin
// must give the FQDN). It returns the computer's DN, or found=false.
func (c *Conn) FindComputer(ctx context.Context, host string) (dn string, found bool, err error) {
	host = strings.TrimSuffix(strings.TrimSpace(host), ".")
	if host == "" || !validDNSName(host) || strings.Contains(host, "_") {
		return "", false, newError(ErrInvalidInput, nil, "%q is not a valid computer name. Enter the server's name, for example adfs1.%s.", host, c.target.Forest)
	}
	short, suffix, fqdn := strings.Cut(host, ".")
	if len(short) > 15 {
		// A NetBIOS computer name (sAMAccountName without $) has at most 15 characters.
		short = short[:15]
	}
	sam := ldap.EscapeFilter(strings.ToUpper(short) + "$")
	if fqdn {
		entries, err := c.domainSearch(ctx, "(&(objectCategory=computer)(dNSHostName="+ldap.EscapeFilter(host)+"))", []string{"1.1"}, "look for the computer "+host)
		if err != nil {
			return "", false, err
		}
		if len(entries) > 0 {
			return entries[0].DN, true, nil
		}
		fi, err := c.Forest(ctx)
		if err != nil {
			return "", false, err
		}
		d, ok := fi.DomainByName(suffix)
		if !ok || !strings.EqualFold(d.DNS, suffix) {
			return "", false, nil
		}
		req := ldap.NewSearchRequest(d.DN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
			"(&(objectCategory=computer)(sAMAccountName="+sam+"))", []string{"1.1"}, nil)
		entries, err = c.search(ctx, req, false)
		if err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultReferral) {
				return "", false, nil
			}
			return "", false, opError(err, "look for the computer %s in %s", host, d.DNS)
		}
		if len(entries) == 0 {
			return "", false, nil
		}
		return entries[0].DN, true, nil
	}
	entries, err := c.domainSearch(ctx, "(&(objectCategory=computer)(sAMAccountName="+sam+"))", []string{"1.1"}, "look for the computer "+host)
	if err != nil {
		return "", false, err
	}
	switch len(entries) {
	case 0:
		return "", false, nil
	case 1:
		return entries[0].DN, true, nil
	}
	var dns []string
	for _, e := range entries {
		dns = append(dns, e.DN)
	}
	return "", false, newError(ErrInvalidInput, nil, "More than one domain of the forest has a computer named %s (%s). Enter the server's full name (FQDN).",
		host, strings.Join(dns, "; "))
}

// FederationSPNs are the SPNs the AD FS service account must hold alone for
// the federation service name fsName: HOST/<fsname>, which AD FS registers on
// its service account, and HTTP/<fsname>, which would shadow it for HTTP
// Kerberos (research A2.4).
func FederationSPNs(fsName string) []string {
	fsName = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(fsName), "."))
	return []string{"HOST/" + fsName, "HTTP/" + fsName}
}

// SPNOwners lists, for each SPN asked for, the DNs of the accounts in the
// forest (every domain NC, subtree) that hold it. AD compares SPNs without
// regard to case, and so does the result: an SPN held in another case is
// reported under the name asked for. SPNs nobody holds have no key.
func (c *Conn) SPNOwners(ctx context.Context, spns ...string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(spns) == 0 {
		return out, nil
	}
	for _, s := range spns {
		s = strings.TrimSpace(s)
		if s == "" || strings.ContainsAny(s, "\x00\r\n") {
			return nil, newError(ErrInvalidInput, nil, "%q is not a service principal name.", s)
		}
	}
	entries, err := c.domainSearch(ctx, spnsFilter(spns), []string{"servicePrincipalName"}, "look for accounts holding the service principal names "+strings.Join(spns, ", "))
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		held := e.GetAttributeValues("servicePrincipalName")
		for _, s := range spns {
			for _, h := range held {
				if strings.EqualFold(strings.TrimSpace(s), h) {
					out[s] = append(out[s], e.DN)
					break
				}
			}
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out, nil
}

// kdsContainer is where the KDS root keys live, under the configuration NC.
func kdsContainer(configNC string) string {
	return "CN=Master Root Keys,CN=Group Key Distribution Service,CN=Services," + configNC
}

// KDSRootKeys reads the KDS root keys (msKds-ProvRootKey objects, one level
// under CN=Master Root Keys,CN=Group Key Distribution Service,CN=Services of
// the configuration NC) with their creation and usable-from times when the
// schema defines those attributes. A missing container is no keys, not an
// error (Samba 4.17 has neither the class nor the container); SchemaHasKDS
// says whether the schema has the class at all.
func (c *Conn) KDSRootKeys(ctx context.Context) (KDSState, error) {
	fi, err := c.Forest(ctx)
	if err != nil {
		return KDSState{}, err
	}
	var st KDSState
	var names strings.Builder
	fmt.Fprintf(&names, "(&(objectClass=classSchema)(lDAPDisplayName=%s))", kdsClass)
	for _, a := range kdsTimeAttrs {
		fmt.Fprintf(&names, "(&(objectClass=attributeSchema)(lDAPDisplayName=%s))", a)
	}
	req := ldap.NewSearchRequest(fi.SchemaNC, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(|"+names.String()+")", []string{"lDAPDisplayName"}, nil)
	schema, err := c.search(ctx, req, false)
	if err != nil {
		return KDSState{}, opError(err, "read the forest's schema for the Key Distribution Service")
	}
	var attrs []string
	for _, e := range schema {
		n := e.GetAttributeValue("lDAPDisplayName")
		if strings.EqualFold(n, kdsClass) {
			st.SchemaHasKDS = true
			continue
		}
		attrs = append(attrs, n)
	}
	if !st.SchemaHasKDS {
		return st, nil
	}
	sort.Strings(attrs)
	base := kdsContainer(fi.ConfigurationNC)
	req = ldap.NewSearchRequest(base, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass="+kdsClass+")", append([]string{"cn"}, attrs...), nil)
	keys, err := c.search(ctx, req, false)
	if err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			return st, nil
		}
		return KDSState{}, opError(err, "read the KDS root keys (%s)", base)
	}
	for _, e := range keys {
		k := KDSKey{ID: e.GetAttributeValue("cn")}
		if k.Created, err = adTime(e.GetAttributeValue("msKds-CreateTime")); err != nil {
			return KDSState{}, newError(nil, err, "The KDS root key %s has an unreadable creation time.", k.ID)
		}
		if k.UsableFrom, err = adTime(e.GetAttributeValue("msKds-UseStartTime")); err != nil {
			return KDSState{}, newError(nil, err, "The KDS root key %s has an unreadable start time.", k.ID)
		}
		st.Keys = append(st.Keys, k)
	}
	sort.Slice(st.Keys, func(i, j int) bool { return st.Keys[i].Created.Before(st.Keys[j].Created) })
	return st, nil
}

// adTime reads a time attribute as AD stores it: a FILETIME in a Large
// Integer (100 ns since 1601-01-01 UTC; the msKds-*Time attributes are
// Large Integers on Windows) or a GeneralizedTime. "" and 0 are the zero time.
func adTime(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return time.Time{}, nil
	}
	if strings.HasSuffix(v, "Z") {
		for _, layout := range []string{"20060102150405.0Z", "20060102150405Z", "20060102150405.000000Z"} {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("unknown generalized time %q", v)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", v, err)
	}
	return FileTime(n), nil
}

// FileTime converts a Windows FILETIME (100 ns intervals since 1601-01-01 UTC).
func FileTime(n int64) time.Time {
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	return time.Unix(0, 0).UTC().Add(time.Duration(n-epochDiff) * 100)
}

// FindAccount finds the AD FS service account name: a group managed service
// account (objectClass msDS-GroupManagedServiceAccount, sAMAccountName
// NAME$) or a user, given as DOMAIN\name, dns.domain\name, name@upn-suffix or
// a bare sAMAccountName (then in every domain; more than one is an error).
// "$" may be left off a gMSA's name. class is ClassGMSA or ClassUser.
func (c *Conn) FindAccount(ctx context.Context, name string) (dn string, class string, found bool, err error) {
	s := strings.TrimSpace(name)
	if s == "" || strings.ContainsAny(s, "\x00\r\n") {
		return "", "", false, newError(ErrInvalidInput, nil, "Enter the service account as DOMAIN\\name, name@domain or name.")
	}
	fi, err := c.Forest(ctx)
	if err != nil {
		return "", "", false, err
	}
	domains := fi.Domains
	user := s
	var upn string
	if dom, u, ok := strings.Cut(s, `\`); ok {
		d, found := fi.DomainByName(strings.TrimSuffix(strings.TrimSpace(dom), "."))
		if !found {
			return "", "", false, newError(ErrWrongDomain, nil, "%s is not a domain of the forest %s.", dom, fi.Name)
		}
		domains, user = []Domain{d}, strings.TrimSpace(u)
	} else if u, suffix, ok := strings.Cut(s, "@"); ok {
		upn = s
		user = u
		if d, found := fi.DomainByName(suffix); found && strings.EqualFold(d.DNS, suffix) {
			domains = []Domain{d}
		}
	}
	if user == "" || strings.ContainsAny(user, `\@/[]:;|=+*?<>",`) {
		return "", "", false, newError(ErrInvalidInput, nil, "%q is not a valid account name.", s)
	}
	filter := accountFilter(user, upn)
	if upn != "" {
		// A UPN is forest-wide: look in every domain too.
		domains = fi.Domains
	}
	var hits []*ldap.Entry
	for _, d := range domains {
		req := ldap.NewSearchRequest(d.DN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"objectClass"}, nil)
		entries, err := c.search(ctx, req, false)
		if err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultReferral) {
				continue
			}
			return "", "", false, opError(err, "look for the account %s in %s", s, d.DNS)
		}
		hits = append(hits, entries...)
	}
	switch len(hits) {
	case 0:
		return "", "", false, nil
	case 1:
	default:
		var dns []string
		for _, e := range hits {
			dns = append(dns, e.DN)
		}
		return "", "", false, newError(ErrInvalidInput, nil, "More than one account matches %s (%s). Enter it as DOMAIN\\name.", s, strings.Join(dns, "; "))
	}
	class = ClassUser
	for _, oc := range hits[0].GetAttributeValues("objectClass") {
		if strings.EqualFold(oc, ClassGMSA) {
			class = ClassGMSA
		}
	}
	return hits[0].DN, class, true, nil
}

// CheckPassword checks a domain user's password by a simple bind to a domain
// controller of t, then closes the connection. The password is neither logged
// nor kept. A wrong password is an *Error wrapping ErrBadCredentials, worded
// as every bind failure of this package.
func CheckPassword(ctx context.Context, t Target, user, password string) error {
	c, err := Dial(ctx, t, user, password)
	if err != nil {
		return err
	}
	_ = c.Close() // the bind is what was asked; a close error says nothing of the password
	return nil
}

// spnsFilter is SPNOwners' filter: any account holding one of spns (trimmed),
// each escaped so that it is only ever one literal value.
func spnsFilter(spns []string) string {
	var or strings.Builder
	for _, s := range spns {
		fmt.Fprintf(&or, "(servicePrincipalName=%s)", ldap.EscapeFilter(strings.TrimSpace(s)))
	}
	return "(|" + or.String() + ")"
}

// accountFilter is FindAccount's filter: a gMSA named user$ ("$" added when
// left off), a person named user, or, when upn is not empty, the account whose
// userPrincipalName it is. Every typed part is escaped so that it is only ever
// one literal value.
func accountFilter(user, upn string) string {
	bare := strings.TrimSuffix(user, "$")
	gmsa := "(&(objectClass=" + ClassGMSA + ")(sAMAccountName=" + ldap.EscapeFilter(bare+"$") + "))"
	person := "(&(objectCategory=person)(objectClass=user)(sAMAccountName=" + ldap.EscapeFilter(user) + "))"
	var upnFilter string
	if upn != "" {
		upnFilter = "(userPrincipalName=" + ldap.EscapeFilter(upn) + ")"
	}
	return "(|" + gmsa + person + upnFilter + ")"
}
