package directory

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// The objects group and device writeback write (engine/writeback): found by
// their anchor, created whole, changed a value at a time, renamed, deleted.

// ErrNoSuchObject is returned when the object to change or delete is not
// there (any more).
var ErrNoSuchObject = errors.New("directory: no such object")

// Found is an object found by FindObjects: its DN and the values read, by
// the names asked for (binary values as their bytes).
type Found struct {
	DN    string
	Attrs map[string][]string
}

// FindObjects searches the subtree of base with an LDAP filter (built with
// ldap.EscapeFilter by the caller) and returns the objects with attrs; a base
// that does not exist gives none.
func (c *Conn) FindObjects(ctx context.Context, base, filter string, attrs []string) ([]Found, error) {
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil)
	entries, err := c.searchAll(ctx, req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil, nil
	}
	if err != nil {
		return nil, opError(err, "search %s", base)
	}
	out := make([]Found, 0, len(entries))
	for _, e := range entries {
		f := Found{DN: e.DN, Attrs: map[string][]string{}}
		for _, a := range e.Attributes {
			vals := make([]string, len(a.ByteValues))
			for i, v := range a.ByteValues {
				vals[i] = string(v)
			}
			f.Attrs[a.Name] = vals
		}
		out = append(out, f)
	}
	return out, nil
}

// AddObject creates dn with the attributes (objectClass among them), in a
// stable order. An object already at dn is ldap's EntryAlreadyExists.
func (c *Conn) AddObject(ctx context.Context, dn string, attrs map[string][]string) error {
	req := ldap.NewAddRequest(dn, nil)
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(attrs[k]) > 0 {
			req.Attribute(k, attrs[k])
		}
	}
	return c.add(ctx, req)
}

// ReplaceValues replaces the values of attributes of dn (an empty list
// clears the attribute).
func (c *Conn) ReplaceValues(ctx context.Context, dn string, attrs map[string][]string) error {
	if len(attrs) == 0 {
		return nil
	}
	req := ldap.NewModifyRequest(dn, nil)
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		req.Replace(k, attrs[k])
	}
	err := c.modify(ctx, req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return ErrNoSuchObject
	}
	return err
}

// AddValue adds one value to a multi-valued attribute of dn (one member, say):
// a value already there counts as added.
func (c *Conn) AddValue(ctx context.Context, dn, attr, value string) error {
	req := ldap.NewModifyRequest(dn, nil)
	req.Add(attr, []string{value})
	err := c.modify(ctx, req)
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultAttributeOrValueExists):
		return nil
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return ErrNoSuchObject
	}
	return err
}

// DeleteValue removes one value of an attribute of dn: a value already gone
// counts as removed.
func (c *Conn) DeleteValue(ctx context.Context, dn, attr, value string) error {
	req := ldap.NewModifyRequest(dn, nil)
	req.Delete(attr, []string{value})
	err := c.modify(ctx, req)
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchAttribute):
		return nil
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return ErrNoSuchObject
	}
	return err
}

// RenameObject gives dn the new RDN (as "CN=…", escaped), in the same parent,
// and returns the new DN.
func (c *Conn) RenameObject(ctx context.Context, dn, newRDN string) (string, error) {
	var err error
	c.guard(ctx, func() { err = c.l.ModifyDN(ldap.NewModifyDNRequest(dn, newRDN, true, "")) })
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return "", ErrNoSuchObject
	}
	if err != nil {
		return "", err
	}
	parent := ""
	if i := indexUnescapedComma(dn); i >= 0 {
		parent = dn[i:]
	}
	return newRDN + parent, nil
}

// DeleteObject deletes dn (a leaf): an object already gone counts as deleted.
func (c *Conn) DeleteObject(ctx context.Context, dn string) error {
	err := c.del(ctx, dn)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil
	}
	return err
}

// IsAlreadyExists reports the directory's "entry already exists".
func IsAlreadyExists(err error) bool {
	return ldap.IsErrorWithCode(err, ldap.LDAPResultEntryAlreadyExists)
}

// indexUnescapedComma is the index of the first comma of dn not escaped by a
// backslash (the end of its RDN), or -1.
func indexUnescapedComma(dn string) int {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return i
		}
	}
	return -1
}

// RDNValue is the escaped "CN=value" RDN of a name.
func RDNValue(attr, value string) string { return attr + "=" + ldap.EscapeDN(strings.TrimSpace(value)) }
