package entra

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/hybridsync/hybridsync/engine/cloud"
)

// Messages shown on Connect to Microsoft Entra ID.
const (
	MsgNoClientID  = "hybridsync has no application (client) id to sign in to Microsoft Entra ID with. Register an application for hybridsync in your tenant and start the console with --entra-client-id (HYBRIDSYNC_ENTRA_CLIENT_ID)."
	MsgNotAdmin    = "%s is not a Hybrid Identity Administrator or Global Administrator of %s. Sign in with an account that has one of these roles (an active assignment: an eligible role must be activated first)."
	MsgMFA         = "This account must use multi-factor authentication, which a password alone can't do. Select Sign in interactively: you enter the password again in the sign-in window and complete the challenge there."
	MsgBadPassword = "The account or password is incorrect."
	MsgNoAccount   = "Microsoft Entra ID has no account %s. Check the spelling, or use an account in your tenant's onmicrosoft.com domain."
	MsgLocked      = "The account %s is locked because it signed in too many times with a wrong password. Wait a while and try again, or ask another administrator to unlock it."
	MsgDisabled    = "The account %s is disabled in Microsoft Entra ID."
	MsgExpired     = "The password of %s has expired. Sign in to the Microsoft Entra admin center once to change it, then try again."
)

// signInError words a token-endpoint failure for the administrator.
func signInError(err error, authority, user string) error {
	var te *cloud.TokenError
	if errors.As(err, &te) {
		switch {
		case errors.Is(err, cloud.ErrMFARequired):
			return &Error{Msg: MsgMFA, Err: err, MFA: true}
		case te.AADSTS() == 50053:
			return &Error{Msg: fmt.Sprintf(MsgLocked, user), Err: err}
		case te.AADSTS() == 50057:
			return &Error{Msg: fmt.Sprintf(MsgDisabled, user), Err: err}
		case te.AADSTS() == 50055:
			return &Error{Msg: fmt.Sprintf(MsgExpired, user), Err: err}
		case te.AADSTS() == 50034:
			return &Error{Msg: fmt.Sprintf(MsgNoAccount, user), Err: err}
		case errors.Is(err, cloud.ErrBadCredentials):
			return &Error{Msg: MsgBadPassword, Err: err}
		case errors.Is(err, cloud.ErrBadClient):
			return &Error{Msg: "Microsoft Entra ID doesn't know hybridsync's application (client) id, or refused its secret (" + fmt.Sprintf("AADSTS%d", te.AADSTS()) + "). Check --entra-client-id against the application registered in your tenant.", Err: err}
		}
		return &Error{Msg: "Microsoft Entra ID refused the sign-in: " + firstSentence(te.Description), Err: err}
	}
	return reachError(err, authority, "the Microsoft Entra sign-in service")
}

// graphError words a Graph failure for the administrator.
func graphError(err error, graphURL, what string) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	var ge *cloud.Error
	if errors.As(err, &ge) {
		switch {
		case ge.Status == 401:
			return &Error{Msg: "Microsoft Graph refused hybridsync's sign-in while trying to " + what + " (" + ge.Code + "). Sign in again.", Err: err}
		case ge.Status == 403:
			return &Error{Msg: "The account may not " + what + " (" + ge.Code + ": " + ge.Message + ").", Err: err}
		case ge.Status == 429:
			return &Error{Msg: "Microsoft Graph is throttling this tenant; hybridsync could not " + what + ". Wait a few minutes and try again.", Err: err}
		}
		return &Error{Msg: fmt.Sprintf("Microsoft Graph answered %d %s when hybridsync tried to %s: %s", ge.Status, ge.Code, what, ge.Message), Err: err}
	}
	return reachError(err, graphURL, "Microsoft Graph")
}

// reachError words a transport failure: a name that doesn't resolve, a
// refused connection, a certificate that isn't trusted, a time-out.
func reachError(err error, address, service string) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	host := address
	if u, perr := url.Parse(address); perr == nil && u.Host != "" {
		host = u.Host
	}
	if host == "" {
		host = "its address"
	}
	var (
		unknownCA *x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
		recordErr tls.RecordHeaderError
		dnsErr    *net.DNSError
		opErr     *net.OpError
	)
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &verify):
		return &Error{Msg: fmt.Sprintf("The certificate of %s (%s) isn't trusted by this server, so hybridsync did not sign in over that connection. If a proxy inspects TLS, add its CA to the system's trust store or start hybridsync with --entra-ca FILE.", service, host), Err: err}
	case errors.As(err, &hostname):
		return &Error{Msg: fmt.Sprintf("The certificate of %s isn't valid for %s, so hybridsync did not sign in over that connection.", service, host), Err: err}
	case errors.As(err, &invalid):
		return &Error{Msg: fmt.Sprintf("The certificate of %s (%s) is not valid (expired or not yet valid), so hybridsync did not sign in over that connection.", service, host), Err: err}
	case errors.As(err, &recordErr):
		return &Error{Msg: fmt.Sprintf("%s (%s) did not answer with TLS. Check the address: it must be https://.", service, host), Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Msg: fmt.Sprintf("%s (%s) did not answer in time. Check the network, proxy and firewall between this server and the internet.", service, host), Err: err}
	case errors.As(err, &dnsErr):
		return &Error{Msg: fmt.Sprintf("hybridsync can't find %s: the name %s does not resolve. Check this server's DNS.", service, dnsErr.Name), Err: err}
	case errors.As(err, &opErr):
		return &Error{Msg: fmt.Sprintf("hybridsync can't reach %s at %s (%s). Check the network, proxy and firewall between this server and the internet.", service, host, shortOp(opErr)), Err: err}
	}
	return &Error{Msg: fmt.Sprintf("hybridsync can't reach %s at %s. Check the network, proxy and firewall between this server and the internet.", service, host), Err: err}
}

func shortOp(e *net.OpError) string {
	msg := e.Err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// firstSentence is an AADSTS description without its trace and timestamps.
func firstSentence(d string) string {
	d, _, _ = strings.Cut(d, " Trace ID:")
	d, _, _ = strings.Cut(d, "\r\n")
	return strings.TrimSpace(d)
}

// Message words any error of this package for the administrator.
func Message(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return "hybridsync could not complete the sign-in. Try again; if it keeps failing, the server log has the details."
}
