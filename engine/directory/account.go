package directory

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/go-ldap/ldap/v3"
)

// Rights are the optional features the connector account needs rights for.
// "Replicating Directory Changes" is always granted.
type Rights struct {
	PasswordHashSync  bool // + Replicating Directory Changes All
	PasswordWriteback bool // + Reset/Change Password, write lockoutTime and pwdLastSet on users
	ConsistencyGuid   bool // + write ms-DS-ConsistencyGuid on users
}

// Account is a created connector account. Password is shown to no one: the
// caller stores it encrypted and never logs it.
type Account struct {
	DN       string
	SAM      string
	UPN      string
	Password string
	SID      string
}

// GUIDs of the extended rights and attributes granted (schemaIDGUID /
// rightsGuid values, identical in every AD forest).
var (
	GUIDReplicatingChanges    = MustGUID("1131f6aa-9c07-11d1-f79f-00c04fc2dcd2") // DS-Replication-Get-Changes
	GUIDReplicatingChangesAll = MustGUID("1131f6ad-9c07-11d1-f79f-00c04fc2dcd2") // DS-Replication-Get-Changes-All
	GUIDConsistencyGuid       = MustGUID("23773dc2-b63a-11d2-90e1-00c04fd91ab1") // attribute ms-DS-ConsistencyGuid
	GUIDResetPassword         = MustGUID("00299570-246d-11d0-a768-00aa006e0529") // User-Force-Change-Password
	GUIDChangePassword        = MustGUID("ab721a53-1e2f-11d0-9819-00aa0040529b") // User-Change-Password
	GUIDLockoutTime           = MustGUID("28630ebf-41d5-11d1-a9c1-0000f80367c1") // attribute lockoutTime
	GUIDPwdLastSet            = MustGUID("bf967a0a-0de6-11d0-a285-00aa003049e2") // attribute pwdLastSet
	GUIDUserClass             = MustGUID("bf967aba-0de6-11d0-a285-00aa003049e2") // class user
)

// grant is one right the connector account needs on the domain root.
type grant struct {
	Name   string // for CheckRights' report
	Mask   uint32
	Object GUID
	// ForUsers: inherited by descendant user objects (CONTAINER_INHERIT |
	// INHERIT_ONLY, inherited object type user) rather than on the root itself.
	ForUsers bool
}

// grantsFor lists the rights r needs, "Replicating Directory Changes" first.
func grantsFor(r Rights) []grant {
	g := []grant{{Name: "Replicating Directory Changes", Mask: RightDSControlAccess, Object: GUIDReplicatingChanges}}
	if r.PasswordHashSync {
		g = append(g, grant{Name: "Replicating Directory Changes All", Mask: RightDSControlAccess, Object: GUIDReplicatingChangesAll})
	}
	if r.ConsistencyGuid {
		g = append(g, grant{Name: "Write ms-DS-ConsistencyGuid on users", Mask: RightDSReadProperty | RightDSWriteProperty, Object: GUIDConsistencyGuid, ForUsers: true})
	}
	if r.PasswordWriteback {
		g = append(g,
			grant{Name: "Reset Password on users", Mask: RightDSControlAccess, Object: GUIDResetPassword, ForUsers: true},
			grant{Name: "Change Password on users", Mask: RightDSControlAccess, Object: GUIDChangePassword, ForUsers: true},
			grant{Name: "Write lockoutTime on users", Mask: RightDSReadProperty | RightDSWriteProperty, Object: GUIDLockoutTime, ForUsers: true},
			grant{Name: "Write pwdLastSet on users", Mask: RightDSReadProperty | RightDSWriteProperty, Object: GUIDPwdLastSet, ForUsers: true},
		)
	}
	return g
}

// ace is the allow ACE that gives sid the grant.
func (g grant) ace(sid SID) ACE {
	obj := g.Object
	a := ACE{Type: AceTypeAccessAllowedObject, Mask: g.Mask, ObjectType: &obj, SID: sid}
	if g.ForUsers {
		user := GUIDUserClass
		a.Flags = AceFlagContainerInherit | AceFlagInheritOnly
		a.InheritedObjectType = &user
	}
	return a
}

// satisfiedBy reports whether allow ACE a (for one of the right SIDs) gives g.
func (g grant) satisfiedBy(a ACE) bool {
	if a.Type != AceTypeAccessAllowed && a.Type != AceTypeAccessAllowedObject {
		return false
	}
	if a.Mask&RightGenericAll == 0 && a.Mask&g.Mask != g.Mask {
		return false
	}
	if a.ObjectType != nil && *a.ObjectType != g.Object {
		return false
	}
	if g.ForUsers {
		// Must reach user objects below the root.
		if a.Flags&AceFlagContainerInherit == 0 {
			return false
		}
		return a.InheritedObjectType == nil || *a.InheritedObjectType == GUIDUserClass
	}
	// Must apply to the domain root itself.
	return a.Flags&AceFlagInheritOnly == 0 && a.InheritedObjectType == nil
}

// sdFlagsDACL is the LDAP_SERVER_SD_FLAGS control asking for (and writing)
// the DACL only.
func sdFlagsDACL() ldap.Control {
	return &ldap.ControlMicrosoftSDFlags{Criticality: true, ControlValue: 4}
}

// ReadDACL reads the security descriptor of dn (DACL only).
func (c *Conn) ReadDACL(ctx context.Context, dn string) (*SecurityDescriptor, error) {
	e, err := c.readEntry(ctx, dn, []string{"nTSecurityDescriptor"}, sdFlagsDACL())
	if err != nil {
		return nil, opError(err, "read the permissions of %s", dn)
	}
	raw := e.GetRawAttributeValue("nTSecurityDescriptor")
	if len(raw) == 0 {
		return nil, newError(nil, nil, "Could not read the permissions of %s: the account may not be allowed to read them.", dn)
	}
	sd, err := ParseSecurityDescriptor(raw)
	if err != nil {
		return nil, newError(nil, err, "The permissions of %s could not be decoded.", dn)
	}
	if sd.DACL == nil {
		sd.DACL = &ACL{Revision: 4}
	}
	return sd, nil
}

// writeDACL replaces dn's DACL (and only it, by the SD-flags control).
func (c *Conn) writeDACL(ctx context.Context, dn string, sd *SecurityDescriptor) error {
	b, err := sd.Bytes()
	if err != nil {
		return fmt.Errorf("directory: encode security descriptor of %s: %w", dn, err)
	}
	m := ldap.NewModifyRequest(dn, []ldap.Control{sdFlagsDACL()})
	m.Replace("nTSecurityDescriptor", []string{string(b)})
	if err := c.modify(ctx, m); err != nil {
		return opError(err, "change the permissions of %s", dn)
	}
	return nil
}

// Grant adds to the domain root's DACL the ACEs that give sid rights (exact
// duplicates are skipped). It returns how many ACEs were added.
func (c *Conn) Grant(ctx context.Context, domain Domain, sid string, rights Rights) (int, error) {
	s, err := ParseSID(sid)
	if err != nil {
		return 0, newError(ErrInvalidInput, err, "%q is not a valid security identifier.", sid)
	}
	sd, err := c.ReadDACL(ctx, domain.DN)
	if err != nil {
		return 0, err
	}
	var aces []ACE
	for _, g := range grantsFor(rights) {
		aces = append(aces, g.ace(s))
	}
	n := sd.DACL.Add(aces...)
	if n == 0 {
		return 0, nil
	}
	sd.Owner, sd.Group, sd.SACL = nil, nil, nil
	return n, c.writeDACL(ctx, domain.DN, sd)
}

// CheckRights reports, by name, which of the rights rights needs the account
// accountSID does not have on domain's root. Allow ACEs for the account or for
// any group in its tokenGroups count; deny ACEs are not evaluated.
func (c *Conn) CheckRights(ctx context.Context, domain Domain, accountSID string, rights Rights) ([]string, error) {
	sid, err := ParseSID(accountSID)
	if err != nil {
		return nil, newError(ErrInvalidInput, err, "%q is not a valid security identifier.", accountSID)
	}
	sids := map[string]bool{sid.String(): true}
	if dn, err := c.dnOfSID(ctx, domain, sid); err == nil && dn != "" {
		groups, err := c.tokenGroups(ctx, dn)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			sids[g.String()] = true
		}
	}
	sd, err := c.ReadDACL(ctx, domain.DN)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, g := range grantsFor(rights) {
		ok := false
		for _, a := range sd.DACL.ACEs {
			if a.Raw == nil && sids[a.SID.String()] && g.satisfiedBy(a) {
				ok = true
				break
			}
		}
		if !ok {
			missing = append(missing, g.Name)
		}
	}
	return missing, nil
}

// dnOfSID finds the object with objectSid sid in domain.
func (c *Conn) dnOfSID(ctx context.Context, domain Domain, sid SID) (string, error) {
	var f strings.Builder
	f.WriteString("(objectSid=")
	for _, b := range sid {
		fmt.Fprintf(&f, `\%02x`, b)
	}
	f.WriteString(")")
	req := ldap.NewSearchRequest(domain.DN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 1, 0, false,
		f.String(), []string{"1.1"}, nil)
	entries, err := c.search(ctx, req, false)
	if err != nil || len(entries) == 0 {
		return "", err
	}
	return entries[0].DN, nil
}

// CreateConnectorAccount creates the AD DS connector account in CN=Users of
// domain — a normal user named hybridsync-xxxxxx with a long random password
// that never expires — and grants it rights on the domain root. It needs an
// encrypted connection (the password is sent) and an account allowed to
// create users and change the domain's permissions (an Enterprise Admin).
// On failure after the user was created, the user is deleted again.
func (c *Conn) CreateConnectorAccount(ctx context.Context, domain Domain, rights Rights) (Account, error) {
	if !c.Security().Encrypted() {
		return Account{}, newError(ErrNotSecure, nil,
			"Creating the connector account sets its password, which is only ever sent over an encrypted connection. Connect with LDAPS or StartTLS.")
	}
	domain, err := c.fillDomain(ctx, domain)
	if err != nil {
		return Account{}, err
	}
	suffix, err := randomString(6, lowerAlnum)
	if err != nil {
		return Account{}, err
	}
	pw, err := RandomPassword(64)
	if err != nil {
		return Account{}, err
	}
	sam := "hybridsync-" + suffix // 17 characters; sAMAccountName allows 20
	acct := Account{
		DN:       "CN=" + ldap.EscapeDN(sam) + ",CN=Users," + domain.DN,
		SAM:      sam,
		UPN:      sam + "@" + domain.DNS,
		Password: pw,
	}
	add := ldap.NewAddRequest(acct.DN, nil)
	add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	add.Attribute("sAMAccountName", []string{sam})
	add.Attribute("userPrincipalName", []string{acct.UPN})
	add.Attribute("displayName", []string{"hybridsync AD DS connector account"})
	add.Attribute("description", []string{"Account used by hybridsync to synchronize this forest with Microsoft Entra ID."})
	if err := c.add(ctx, add); err != nil {
		return Account{}, opError(err, "create the connector account %s", acct.DN)
	}
	cleanup := func(cause error) (Account, error) {
		if derr := c.del(context.WithoutCancel(ctx), acct.DN); derr != nil {
			return Account{}, &Error{Msg: cause.Error() + fmt.Sprintf(" The half-created account %s could not be removed; delete it by hand.", acct.DN),
				Err: errors.Join(cause, derr)}
		}
		return Account{}, cause
	}
	setPw := ldap.NewModifyRequest(acct.DN, nil)
	setPw.Replace("unicodePwd", []string{UnicodePwd(pw)})
	if err := c.modify(ctx, setPw); err != nil {
		return cleanup(opError(err, "set the password of the connector account"))
	}
	uac := ldap.NewModifyRequest(acct.DN, nil)
	uac.Replace("userAccountControl", []string{strconv.Itoa(uacNormalAccount | uacDontExpirePassword)})
	if err := c.modify(ctx, uac); err != nil {
		return cleanup(opError(err, "enable the connector account"))
	}
	u, err := c.readUser(ctx, acct.DN)
	if err != nil {
		return cleanup(err)
	}
	acct.SID = u.SID
	if _, err := c.Grant(ctx, domain, acct.SID, rights); err != nil {
		return cleanup(err)
	}
	return acct, nil
}

// userAccountControl bits.
const (
	uacWorkstationTrust   = 0x1000
	uacNormalAccount      = 0x0200
	uacDontExpirePassword = 0x10000
)

// fillDomain completes a Domain the caller built by hand (DN and SID from
// the forest when missing).
func (c *Conn) fillDomain(ctx context.Context, d Domain) (Domain, error) {
	if d.DN != "" && d.SID != "" && d.DNS != "" {
		return d, nil
	}
	fi, err := c.Forest(ctx)
	if err != nil {
		return d, err
	}
	for _, fd := range fi.Domains {
		if (d.DN != "" && strings.EqualFold(fd.DN, d.DN)) || (d.DNS != "" && strings.EqualFold(fd.DNS, d.DNS)) ||
			(d.NetBIOS != "" && strings.EqualFold(fd.NetBIOS, d.NetBIOS)) {
			if fd.SID == "" {
				return d, newError(nil, nil, "The domain %s cannot be changed through %s; connect to one of its own domain controllers.", fd.DNS, c.dc)
			}
			return fd, nil
		}
	}
	return d, newError(ErrWrongDomain, nil, "The domain %s is not part of the forest %s.", firstNonEmpty(d.DNS, d.NetBIOS, d.DN), fi.Name)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// UnicodePwd encodes a password for AD's unicodePwd: the password in double
// quotes, UTF-16LE.
func UnicodePwd(pw string) string {
	u := utf16.Encode([]rune(`"` + pw + `"`))
	b := make([]byte, 2*len(u))
	for i, r := range u {
		b[2*i], b[2*i+1] = byte(r), byte(r>>8)
	}
	return string(b)
}

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	pwUpper    = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	pwLower    = "abcdefghijkmnopqrstuvwxyz"
	pwDigit    = "23456789"
	pwSymbol   = "!#%*+-=?@_~.:"
)

func randomString(n int, alphabet string) (string, error) {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("directory: random: %w", err)
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b), nil
}

// RandomPassword is n (≥ 8) random characters with at least one upper-case
// letter, lower-case letter, digit and symbol (AD's complexity rule).
func RandomPassword(n int) (string, error) {
	if n < 8 {
		n = 8
	}
	for {
		s, err := randomString(n, pwUpper+pwLower+pwDigit+pwSymbol)
		if err != nil {
			return "", err
		}
		if strings.ContainsAny(s, pwUpper) && strings.ContainsAny(s, pwLower) &&
			strings.ContainsAny(s, pwDigit) && strings.ContainsAny(s, pwSymbol) {
			return s, nil
		}
	}
}
