package directory

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Error is an error a wizard page shows: Msg is worded for an administrator
// and is what Error returns; Err keeps the cause (often the raw LDAP error) for
// the logs and for a "details" disclosure. Pages never show Err's text as the
// message.
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Err }

// Detail is the underlying cause's text, for a details disclosure ("" when
// there is none).
func (e *Error) Detail() string {
	if e.Err == nil {
		return ""
	}
	return e.Err.Error()
}

// Kinds of failure, wrapped inside (*Error).Err so callers can branch with
// errors.Is without parsing messages.
var (
	ErrNoDC               = errors.New("no domain controller found")
	ErrUnreachable        = errors.New("domain controller unreachable")
	ErrTLS                = errors.New("tls failure")
	ErrBadCredentials     = errors.New("invalid credentials")
	ErrAccountRestricted  = errors.New("account restricted")
	ErrStrongAuthRequired = errors.New("strong authentication required")
	ErrInvalidInput       = errors.New("invalid input")
	ErrNotSecure          = errors.New("operation needs an encrypted connection")
	ErrWrongDomain        = errors.New("domain not in forest")
	ErrAdminAccount       = errors.New("administrator account not allowed")
)

// MsgAdminNotAllowed is the wizard's text when the "existing account" is an
// Enterprise or Domain Admin (see Conn.IsAdmin): the seed's, word for word,
// with hybridsync where it names Microsoft Entra Connect as the one acting.
const MsgAdminNotAllowed = "Using an Enterprise or Domain administrator account for your AD forest account is not allowed. Let hybridsync create the account for you or specify a synchronization account with the correct permissions."

// newError builds an *Error whose Err wraps kind (may be nil) and cause (may be nil).
func newError(kind, cause error, format string, args ...any) *Error {
	var err error
	switch {
	case kind != nil && cause != nil:
		err = fmt.Errorf("%w: %w", kind, cause)
	case kind != nil:
		err = kind
	default:
		err = cause
	}
	return &Error{Msg: fmt.Sprintf(format, args...), Err: err}
}

// opError wraps an LDAP failure of an ordinary operation: the message says
// what we were doing, in the admin's terms; the LDAP text stays in Err.
func opError(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var de *Error
	if errors.As(err, &de) {
		return err
	}
	what := fmt.Sprintf(format, args...)
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights):
		return newError(nil, err, "Could not %s: the account does not have permission to do this.", what)
	case ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		return newError(nil, err, "Could not %s: the object was not found in the directory.", what)
	case ldap.IsErrorAnyOf(err, ldap.ErrorNetwork, ldap.LDAPResultServerDown, ldap.LDAPResultUnavailable, ldap.LDAPResultBusy, ldap.LDAPResultTimeout):
		return newError(ErrUnreachable, err, "Could not %s: the connection to the domain controller was lost or timed out.", what)
	}
	return newError(nil, err, "Could not %s: the domain controller refused the request.", what)
}

// AD puts a "data XXX" code into the diagnostic text of a failed bind
// ("80090308: LdapErr: DSID-0C09042A, comment: AcceptSecurityContext error,
// data 52e, v3839"); Samba does the same.
var dataCodeRE = regexp.MustCompile(`(?i)\bdata ([0-9a-f]{3,8})\b`)

// bindDataCode extracts AD's sub-code from a failed bind's diagnostic text.
func bindDataCode(err error) string {
	var le *ldap.Error
	if !errors.As(err, &le) {
		return ""
	}
	text := ""
	if le.Err != nil {
		text = le.Err.Error()
	}
	m := dataCodeRE.FindStringSubmatch(text)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

// bindError turns a failed simple bind into the admin's message.
func bindError(err error, user string) *Error {
	if ldap.IsErrorWithCode(err, ldap.LDAPResultStrongAuthRequired) {
		return newError(ErrStrongAuthRequired, err,
			"The domain controller requires strong authentication and refuses a plain (unencrypted) LDAP sign-in. Choose LDAPS or StartTLS.")
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		switch bindDataCode(err) {
		case "530":
			return newError(ErrAccountRestricted, err, "The account %s is not allowed to sign in at this time (logon hours).", user)
		case "531":
			return newError(ErrAccountRestricted, err, "The account %s is not allowed to sign in from this computer (logon workstations).", user)
		case "532":
			return newError(ErrAccountRestricted, err, "The password of %s has expired. Change it in Active Directory and try again.", user)
		case "533":
			return newError(ErrAccountRestricted, err, "The account %s is disabled. Enable it in Active Directory or use another account.", user)
		case "701":
			return newError(ErrAccountRestricted, err, "The account %s has expired. Extend it in Active Directory or use another account.", user)
		case "773":
			return newError(ErrAccountRestricted, err, "The password of %s must be changed before it can be used. Change it in Active Directory and try again.", user)
		case "775":
			return newError(ErrAccountRestricted, err, "The account %s is locked out. Unlock it in Active Directory or wait, then try again.", user)
		}
		// 525 (no such user) and 52e (wrong password) read the same on purpose.
		return newError(ErrBadCredentials, err, "The user name or password is incorrect.")
	}
	if ldap.IsErrorWithCode(err, ldap.LDAPResultConfidentialityRequired) {
		return newError(ErrStrongAuthRequired, err,
			"The domain controller only accepts this sign-in over an encrypted connection. Choose LDAPS or StartTLS.")
	}
	return newError(nil, err, "The domain controller refused the sign-in of %s.", user)
}
