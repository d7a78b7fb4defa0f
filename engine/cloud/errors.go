package cloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Error is a Microsoft Graph error response:
// {"error":{"code","message","innerError":{...},"details":[{"code","message","target"}]}}
// (learn.microsoft.com/graph/errors).
type Error struct {
	Status     int
	Code       string
	Message    string
	Details    []ErrorDetail
	InnerCode  string
	RequestID  string
	Date       string
	RetryAfter time.Duration // from the Retry-After header, when sent
}

// ErrorDetail is one entry of error.details.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("cloud: graph %d %s: %s", e.Status, e.Code, e.Message)
}

// conflictTarget is the property of an ObjectConflict detail, or "" .
func (e *Error) conflictTarget() (string, bool) {
	for _, d := range e.Details {
		if d.Code == "ObjectConflict" {
			return d.Target, true
		}
	}
	if e.Code == "ObjectConflict" {
		return "", true
	}
	return "", false
}

// parseError turns a Graph error body into *Error; a body that is not one
// keeps its first bytes as the message.
func parseError(status int, body []byte, retryAfter time.Duration) *Error {
	var env struct {
		Error struct {
			Code       string        `json:"code"`
			Message    string        `json:"message"`
			Details    []ErrorDetail `json:"details"`
			InnerError struct {
				Code      string `json:"code"`
				RequestID string `json:"request-id"`
				Date      string `json:"date"`
			} `json:"innerError"`
		} `json:"error"`
	}
	e := &Error{Status: status, RetryAfter: retryAfter}
	if json.Unmarshal(body, &env) == nil && env.Error.Code+env.Error.Message != "" {
		e.Code, e.Message, e.Details = env.Error.Code, env.Error.Message, env.Error.Details
		e.InnerCode, e.RequestID, e.Date = env.Error.InnerError.Code, env.Error.InnerError.RequestID, env.Error.InnerError.Date
		return e
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		// Cut at a character's start: the message is shown and stored as text.
		n := 200
		for n > 0 && n > 200-utf8.UTFMax && !utf8.RuneStart(msg[n]) {
			n--
		}
		msg = msg[:n]
	}
	e.Message = msg
	return e
}

func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// IsConflict reports whether err is a uniqueness conflict (ObjectConflict).
func IsConflict(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	_, c := e.conflictTarget()
	return c
}

func isConflictOn(err error, property string) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	t, c := e.conflictTarget()
	return c && strings.EqualFold(t, property)
}

// IsDuplicateUPN reports whether another object already has the userPrincipalName.
func IsDuplicateUPN(err error) bool { return isConflictOn(err, "userPrincipalName") }

// IsDuplicateProxyAddress reports whether another object already has one of
// the proxyAddresses (or the mail address).
func IsDuplicateProxyAddress(err error) bool { return isConflictOn(err, "proxyAddresses") }

// IsDuplicateImmutableID reports whether another object already has the
// onPremisesImmutableId (sourceAnchor).
func IsDuplicateImmutableID(err error) bool { return isConflictOn(err, "onPremisesImmutableId") }

// IsReadOnly reports Graph's refusal to write a read-only property: 400
// "Property '<name>' is read-only and cannot be set." (proxyAddresses, the
// on-premises properties of users and groups).
func IsReadOnly(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == 400 && strings.HasSuffix(e.Message, "is read-only and cannot be set.")
}

// IsUnverifiedDomain reports whether a userPrincipalName was refused because
// its domain is not a verified domain of the tenant.
func IsUnverifiedDomain(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == 400 && strings.Contains(e.Message, "domain portion of the userPrincipalName")
}

// IsNotFound reports a 404 (Request_ResourceNotFound).
func IsNotFound(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == 404
}

// IsThrottled reports a 429 that outlasted the client's retries.
func IsThrottled(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == 429
}

// IsUnauthorized reports a 401 (InvalidAuthenticationToken).
func IsUnauthorized(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == 401
}

// IsForbidden reports a 403 (Authorization_RequestDenied).
func IsForbidden(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == 403
}

// IsAlreadyMember reports Graph's answer to adding a group member twice:
// "One or more added object references already exist for the following
// modified properties: 'members'.".
func IsAlreadyMember(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == 400 && strings.Contains(e.Message, "added object references already exist")
}

// IsNotMember reports a member removal of an object that is not a member.
func IsNotMember(err error) bool {
	e, ok := asError(err)
	return ok && strings.Contains(e.Message, "removed object references do not exist")
}

// IsDomainVerificationFailed reports that POST /domains/{id}/verify found no
// verification record ("Domain verification failed with the following error: …").
func IsDomainVerificationFailed(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == 400 && strings.HasPrefix(e.Message, "Domain verification failed")
}

// IsDelegatedOnly reports a call that needs a signed-in user (/me with an
// app-only token).
func IsDelegatedOnly(err error) bool {
	e, ok := asError(err)
	return ok && e.Status == 400 && strings.Contains(e.Message, "only valid with delegated authentication flow")
}
