package directory

import (
	"context"
	"errors"

	"github.com/go-ldap/ldap/v3"
)

// ErrAlreadySet is returned by WriteConsistencyGuid when the object has a
// value already: hybridsync never overwrites one.
var ErrAlreadySet = errors.New("directory: ms-DS-ConsistencyGuid is already set")

// WriteConsistencyGuid writes an object's objectGUID (its 16 bytes) into
// ms-DS-ConsistencyGuid, the sourceAnchor write-back of the
// ms-DS-ConsistencyGuid logic. It adds the value rather than replacing, so a
// value that appeared meanwhile is left alone (ErrAlreadySet).
func (c *Conn) WriteConsistencyGuid(ctx context.Context, dn string, guid []byte) error {
	req := ldap.NewModifyRequest(dn, nil)
	req.Add("mS-DS-ConsistencyGuid", []string{string(guid)})
	err := c.modify(ctx, req)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultAttributeOrValueExists) || ldap.IsErrorWithCode(err, ldap.LDAPResultConstraintViolation) {
		return ErrAlreadySet
	}
	return opError(err, "write ms-DS-ConsistencyGuid of %s", dn)
}

// IsPermissionDenied reports whether the directory refused an operation
// because the account lacks the right to do it.
func IsPermissionDenied(err error) bool {
	return ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights)
}
