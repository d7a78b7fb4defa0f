package directory

// A small codec for the binary security descriptors AD keeps in
// nTSecurityDescriptor ([MS-DTYP] 2.4): self-relative SECURITY_DESCRIPTOR,
// ACL, ACCESS_ALLOWED/DENIED_ACE, ACCESS_ALLOWED/DENIED_OBJECT_ACE and SID.
// ACE types it does not model are kept byte for byte.

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SID is a security identifier in binary form ([MS-DTYP] 2.4.2.2).
type SID []byte

// ParseSID parses the string form S-1-5-21-….
func ParseSID(s string) (SID, error) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 || !strings.EqualFold(parts[0], "S") {
		return nil, fmt.Errorf("sid %q: not S-R-I-…", s)
	}
	rev, err := strconv.ParseUint(parts[1], 10, 8)
	if err != nil {
		return nil, fmt.Errorf("sid %q: revision: %w", s, err)
	}
	auth, err := strconv.ParseUint(parts[2], 10, 48)
	if err != nil {
		return nil, fmt.Errorf("sid %q: authority: %w", s, err)
	}
	subs := parts[3:]
	if len(subs) > 15 {
		return nil, fmt.Errorf("sid %q: more than 15 sub-authorities", s)
	}
	b := make([]byte, 8+4*len(subs))
	b[0] = byte(rev)
	b[1] = byte(len(subs))
	for i := 0; i < 6; i++ {
		b[2+i] = byte(auth >> (8 * (5 - i)))
	}
	for i, p := range subs {
		v, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("sid %q: sub-authority %d: %w", s, i, err)
		}
		binary.LittleEndian.PutUint32(b[8+4*i:], uint32(v))
	}
	return SID(b), nil
}

// readSID reads a SID at the start of b and returns it and its length.
func readSID(b []byte) (SID, int, error) {
	if len(b) < 8 {
		return nil, 0, errors.New("sid: truncated header")
	}
	n := 8 + 4*int(b[1])
	if b[1] > 15 || len(b) < n {
		return nil, 0, fmt.Errorf("sid: %d sub-authorities do not fit in %d bytes", b[1], len(b))
	}
	return SID(append([]byte(nil), b[:n]...)), n, nil
}

// SIDFromBytes checks and copies a binary SID (an objectSid value).
func SIDFromBytes(b []byte) (SID, error) {
	s, n, err := readSID(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, fmt.Errorf("sid: %d trailing bytes", len(b)-n)
	}
	return s, nil
}

// String is the S-1-5-21-… form ("" for an empty SID).
func (s SID) String() string {
	if len(s) < 8 {
		return ""
	}
	var auth uint64
	for i := 0; i < 6; i++ {
		auth = auth<<8 | uint64(s[2+i])
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "S-%d-%d", s[0], auth)
	for i := 0; i < int(s[1]) && 8+4*i+4 <= len(s); i++ {
		fmt.Fprintf(&sb, "-%d", binary.LittleEndian.Uint32(s[8+4*i:]))
	}
	return sb.String()
}

// Equal compares two SIDs.
func (s SID) Equal(o SID) bool { return bytes.Equal(s, o) }

// GUID is a GUID in AD's binary byte order: the first three fields
// little-endian, the last eight bytes as written ("mixed-endian"), which is
// how objectGUID, schemaIDGUID, rightsGuid and ACE object types are stored.
type GUID [16]byte

// ParseGUID parses "bf967aba-0de6-11d0-a285-00aa003049e2".
func ParseGUID(s string) (GUID, error) {
	var g GUID
	s = strings.Trim(s, "{}")
	parts := strings.Split(s, "-")
	if len(parts) != 5 || len(parts[0]) != 8 || len(parts[1]) != 4 || len(parts[2]) != 4 || len(parts[3]) != 4 || len(parts[4]) != 12 {
		return g, fmt.Errorf("guid %q: not 8-4-4-4-12 hex digits", s)
	}
	raw, err := hex.DecodeString(strings.Join(parts, ""))
	if err != nil {
		return g, fmt.Errorf("guid %q: %w", s, err)
	}
	// raw is big-endian text order; swap the first three fields.
	g[0], g[1], g[2], g[3] = raw[3], raw[2], raw[1], raw[0]
	g[4], g[5] = raw[5], raw[4]
	g[6], g[7] = raw[7], raw[6]
	copy(g[8:], raw[8:])
	return g, nil
}

// MustGUID is ParseGUID for constants.
func MustGUID(s string) GUID {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// String is the canonical lower-case text form.
func (g GUID) String() string {
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%x",
		g[3], g[2], g[1], g[0], g[5], g[4], g[7], g[6], g[8], g[9], g[10:])
}

// ACE types ([MS-DTYP] 2.4.4.1).
const (
	AceTypeAccessAllowed       = 0x00
	AceTypeAccessDenied        = 0x01
	AceTypeAccessAllowedObject = 0x05
	AceTypeAccessDeniedObject  = 0x06
)

// ACE flags.
const (
	AceFlagObjectInherit    = 0x01
	AceFlagContainerInherit = 0x02
	AceFlagNoPropagate      = 0x04
	AceFlagInheritOnly      = 0x08
	AceFlagInherited        = 0x10
)

// Object ACE flags: which GUIDs follow the mask.
const (
	aceObjectTypePresent          = 0x1
	aceInheritedObjectTypePresent = 0x2
)

// Directory access rights used here.
const (
	RightDSReadProperty  = 0x00000010
	RightDSWriteProperty = 0x00000020
	RightDSControlAccess = 0x00000100
	RightGenericAll      = 0x10000000
)

// ACE is one access control entry. Types other than (object) allow/deny keep
// their whole encoding in Raw.
type ACE struct {
	Type  byte
	Flags byte
	Mask  uint32
	// ObjectType and InheritedObjectType are set only for object ACEs that
	// carry them.
	ObjectType          *GUID
	InheritedObjectType *GUID
	SID                 SID
	// Tail holds bytes after the SID inside the ACE's declared size (padding
	// or application data); Raw is the whole ACE for unmodelled types.
	Tail []byte
	Raw  []byte
}

// IsObject reports whether a is an object ACE.
func (a ACE) IsObject() bool {
	return a.Type == AceTypeAccessAllowedObject || a.Type == AceTypeAccessDeniedObject
}

// Inherited reports whether a was inherited from a parent.
func (a ACE) Inherited() bool { return a.Flags&AceFlagInherited != 0 }

// Equal compares two ACEs field by field.
func (a ACE) Equal(b ACE) bool {
	if a.Raw != nil || b.Raw != nil {
		return bytes.Equal(a.Raw, b.Raw)
	}
	eqG := func(x, y *GUID) bool { return (x == nil && y == nil) || (x != nil && y != nil && *x == *y) }
	return a.Type == b.Type && a.Flags == b.Flags && a.Mask == b.Mask &&
		eqG(a.ObjectType, b.ObjectType) && eqG(a.InheritedObjectType, b.InheritedObjectType) &&
		a.SID.Equal(b.SID) && bytes.Equal(a.Tail, b.Tail)
}

func (a ACE) size() int {
	if a.Raw != nil {
		return len(a.Raw)
	}
	n := 4 + 4 + len(a.SID) + len(a.Tail)
	if a.IsObject() {
		n += 4
		if a.ObjectType != nil {
			n += 16
		}
		if a.InheritedObjectType != nil {
			n += 16
		}
	}
	return n
}

func (a ACE) appendTo(b []byte) ([]byte, error) {
	if a.Raw != nil {
		return append(b, a.Raw...), nil
	}
	size := a.size()
	if size > 0xffff {
		return nil, errors.New("ace: too large")
	}
	if size%4 != 0 {
		return nil, fmt.Errorf("ace: size %d is not a multiple of 4", size)
	}
	b = append(b, a.Type, a.Flags)
	b = binary.LittleEndian.AppendUint16(b, uint16(size))
	b = binary.LittleEndian.AppendUint32(b, a.Mask)
	if a.IsObject() {
		var f uint32
		if a.ObjectType != nil {
			f |= aceObjectTypePresent
		}
		if a.InheritedObjectType != nil {
			f |= aceInheritedObjectTypePresent
		}
		b = binary.LittleEndian.AppendUint32(b, f)
		if a.ObjectType != nil {
			b = append(b, a.ObjectType[:]...)
		}
		if a.InheritedObjectType != nil {
			b = append(b, a.InheritedObjectType[:]...)
		}
	}
	b = append(b, a.SID...)
	return append(b, a.Tail...), nil
}

func parseACE(b []byte) (ACE, int, error) {
	if len(b) < 4 {
		return ACE{}, 0, errors.New("ace: truncated header")
	}
	typ, flags, size := b[0], b[1], int(binary.LittleEndian.Uint16(b[2:]))
	if size < 4 || size > len(b) {
		return ACE{}, 0, fmt.Errorf("ace: size %d does not fit in %d bytes", size, len(b))
	}
	body := b[4:size]
	a := ACE{Type: typ, Flags: flags}
	switch typ {
	case AceTypeAccessAllowed, AceTypeAccessDenied, AceTypeAccessAllowedObject, AceTypeAccessDeniedObject:
	default:
		a.Raw = append([]byte(nil), b[:size]...)
		return a, size, nil
	}
	if len(body) < 4 {
		return ACE{}, 0, errors.New("ace: no mask")
	}
	a.Mask = binary.LittleEndian.Uint32(body)
	body = body[4:]
	if a.IsObject() {
		if len(body) < 4 {
			return ACE{}, 0, errors.New("object ace: no flags")
		}
		f := binary.LittleEndian.Uint32(body)
		body = body[4:]
		if f&^uint32(aceObjectTypePresent|aceInheritedObjectTypePresent) != 0 {
			return ACE{}, 0, fmt.Errorf("object ace: unknown flags %#x", f)
		}
		for _, want := range []uint32{aceObjectTypePresent, aceInheritedObjectTypePresent} {
			if f&want == 0 {
				continue
			}
			if len(body) < 16 {
				return ACE{}, 0, errors.New("object ace: truncated guid")
			}
			var g GUID
			copy(g[:], body)
			body = body[16:]
			if want == aceObjectTypePresent {
				a.ObjectType = &g
			} else {
				a.InheritedObjectType = &g
			}
		}
	}
	sid, n, err := readSID(body)
	if err != nil {
		return ACE{}, 0, fmt.Errorf("ace: %w", err)
	}
	a.SID = sid
	if n < len(body) {
		a.Tail = append([]byte(nil), body[n:]...)
	}
	return a, size, nil
}

// ACL is an access control list ([MS-DTYP] 2.4.5).
type ACL struct {
	Revision byte // 2 (ACL_REVISION) or 4 (ACL_REVISION_DS, needed for object ACEs)
	ACEs     []ACE
}

func parseACL(b []byte) (*ACL, error) {
	if len(b) < 8 {
		return nil, errors.New("acl: truncated header")
	}
	size := int(binary.LittleEndian.Uint16(b[2:]))
	count := int(binary.LittleEndian.Uint16(b[4:]))
	if size < 8 || size > len(b) {
		return nil, fmt.Errorf("acl: size %d does not fit in %d bytes", size, len(b))
	}
	acl := &ACL{Revision: b[0]}
	rest := b[8:size]
	for i := 0; i < count; i++ {
		a, n, err := parseACE(rest)
		if err != nil {
			return nil, fmt.Errorf("acl: ace %d: %w", i, err)
		}
		acl.ACEs = append(acl.ACEs, a)
		rest = rest[n:]
	}
	return acl, nil
}

func (acl *ACL) size() int {
	n := 8
	for _, a := range acl.ACEs {
		n += a.size()
	}
	return n
}

func (acl *ACL) appendTo(b []byte) ([]byte, error) {
	size := acl.size()
	if size > 0xffff {
		return nil, fmt.Errorf("acl: %d bytes is larger than an ACL can be", size)
	}
	rev := acl.Revision
	for _, a := range acl.ACEs {
		if a.IsObject() {
			rev = 4
		}
	}
	if rev == 0 {
		rev = 2
	}
	b = append(b, rev, 0)
	b = binary.LittleEndian.AppendUint16(b, uint16(size))
	b = binary.LittleEndian.AppendUint16(b, uint16(len(acl.ACEs)))
	b = append(b, 0, 0)
	for _, a := range acl.ACEs {
		var err error
		if b, err = a.appendTo(b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// Add appends each ACE that is not already present (exactly) after the last
// explicit ACE and before the first inherited one, keeping everything else in
// the order found. It returns how many were added.
func (acl *ACL) Add(aces ...ACE) int {
	added := 0
	for _, n := range aces {
		dup := false
		for _, a := range acl.ACEs {
			if a.Equal(n) {
				dup = true
				break
			}
		}
		if dup {
			continue
		}
		at := len(acl.ACEs)
		for i, a := range acl.ACEs {
			if a.Inherited() {
				at = i
				break
			}
		}
		acl.ACEs = append(acl.ACEs, ACE{})
		copy(acl.ACEs[at+1:], acl.ACEs[at:])
		acl.ACEs[at] = n
		added++
	}
	return added
}

// Security descriptor control bits used here.
const (
	SEDACLPresent  = 0x0004
	SESACLPresent  = 0x0010
	SESelfRelative = 0x8000
)

// SecurityDescriptor is a self-relative security descriptor. Owner, Group and
// the SACL are optional (a read with the SD-flags control asking for the DACL
// only returns just the DACL); the SACL is kept as raw bytes.
type SecurityDescriptor struct {
	Revision byte
	Control  uint16
	Owner    SID
	Group    SID
	SACL     []byte
	DACL     *ACL
}

// ParseSecurityDescriptor parses a self-relative SECURITY_DESCRIPTOR.
func ParseSecurityDescriptor(b []byte) (*SecurityDescriptor, error) {
	if len(b) < 20 {
		return nil, errors.New("security descriptor: shorter than its 20-byte header")
	}
	sd := &SecurityDescriptor{Revision: b[0], Control: binary.LittleEndian.Uint16(b[2:])}
	if sd.Revision != 1 {
		return nil, fmt.Errorf("security descriptor: revision %d", sd.Revision)
	}
	if sd.Control&SESelfRelative == 0 {
		return nil, errors.New("security descriptor: not self-relative")
	}
	off := func(i int) (int, error) {
		o := int(binary.LittleEndian.Uint32(b[4+4*i:]))
		if o != 0 && (o < 20 || o >= len(b)) {
			return 0, fmt.Errorf("security descriptor: offset %d outside %d bytes", o, len(b))
		}
		return o, nil
	}
	var offs [4]int
	for i := range offs {
		o, err := off(i)
		if err != nil {
			return nil, err
		}
		offs[i] = o
	}
	var err error
	if offs[0] != 0 {
		if sd.Owner, _, err = readSID(b[offs[0]:]); err != nil {
			return nil, fmt.Errorf("security descriptor: owner: %w", err)
		}
	}
	if offs[1] != 0 {
		if sd.Group, _, err = readSID(b[offs[1]:]); err != nil {
			return nil, fmt.Errorf("security descriptor: group: %w", err)
		}
	}
	if offs[2] != 0 && sd.Control&SESACLPresent != 0 {
		s := b[offs[2]:]
		if len(s) < 8 {
			return nil, errors.New("security descriptor: sacl truncated")
		}
		n := int(binary.LittleEndian.Uint16(s[2:]))
		if n < 8 || n > len(s) {
			return nil, errors.New("security descriptor: sacl size")
		}
		sd.SACL = append([]byte(nil), s[:n]...)
	}
	if offs[3] != 0 && sd.Control&SEDACLPresent != 0 {
		if sd.DACL, err = parseACL(b[offs[3]:]); err != nil {
			return nil, fmt.Errorf("security descriptor: dacl: %w", err)
		}
	}
	return sd, nil
}

// Bytes serializes sd self-relative: header, SACL, DACL, owner, group (the
// order Windows writes).
func (sd *SecurityDescriptor) Bytes() ([]byte, error) {
	b := make([]byte, 20)
	b[0] = 1
	ctl := sd.Control | SESelfRelative
	if sd.DACL != nil {
		ctl |= SEDACLPresent
	} else {
		ctl &^= SEDACLPresent
	}
	if sd.SACL != nil {
		ctl |= SESACLPresent
	} else {
		ctl &^= SESACLPresent
	}
	binary.LittleEndian.PutUint16(b[2:], ctl)
	var err error
	if sd.SACL != nil {
		binary.LittleEndian.PutUint32(b[12:], uint32(len(b)))
		b = append(b, sd.SACL...)
	}
	if sd.DACL != nil {
		binary.LittleEndian.PutUint32(b[16:], uint32(len(b)))
		if b, err = sd.DACL.appendTo(b); err != nil {
			return nil, err
		}
	}
	if sd.Owner != nil {
		binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
		b = append(b, sd.Owner...)
	}
	if sd.Group != nil {
		binary.LittleEndian.PutUint32(b[8:], uint32(len(b)))
		b = append(b, sd.Group...)
	}
	return b, nil
}
